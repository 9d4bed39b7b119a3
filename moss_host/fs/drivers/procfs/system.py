"""The system-wide files of /proc, in Linux 6.1's formats: meminfo, cpuinfo, uptime, loadavg,
stat, version, filesystems.

Each function takes the kernel (a KernelView: its pid table, scheduler and memory figures)
and returns the whole text; nothing is cached.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Optional, Protocol

from ....arch.arm64.cpuid import MIDR_EL1
from ....arch.arm64.hwcap import HWCAP, HWCAP_NAMES
from ....clock import realtime_ns
from ....errors import EINVAL, Errno
from ...filesystems import FILESYSTEMS
from .pid import NS_PER_TICK, USER_HZ

if TYPE_CHECKING:
    from moss_host.fs.vfs import FsContext
    from moss_host.ipc.namespace import IpcNamespace
    from moss_host.proc.pidtable import PidTable
    from moss_host.sched.scheduler import Scheduler


class KernelView(Protocol):
    """What procfs reads of the kernel it describes (kernel.py's Kernel is one): procfs sits
    below the process layer and is handed this at mount time instead of importing it."""
    pids: PidTable
    sched: Scheduler
    root_fs: Optional[FsContext]        # the tree the kernel itself sees /proc's links from
    ipc: IpcNamespace                   # /proc/sysvipc and the IPC limits of /proc/sys/kernel

    def memory_kb(self) -> tuple[int, int]:
        """(total, free) RAM in kB."""


# The fields of MIDR_EL1 that c_show prints (its architecture line is always 8 on arm64).
MIDR = {"implementer": MIDR_EL1 >> 24, "architecture": 8, "variant": (MIDR_EL1 >> 20) & 0xF,
        "part": (MIDR_EL1 >> 4) & 0xFFF, "revision": MIDR_EL1 & 0xF}
BOGOMIPS = "125.00"        # 2 * the 62.5 MHz generic timer of QEMU's virt machine


# ---------------------------------------------------------------- identity (uname's strings)

def uts() -> dict:
    """The kernel's uname strings (the live table: sethostname changes it)."""
    from moss_host.utsname import UTSNAME
    return UTSNAME


def version_text() -> bytes:
    u = uts()
    return (b"Linux version " + u["release"] + b" (moss-py@moss-py) (Python "
            + sys.version.split()[0].encode() + b") " + u["version"] + b"\n")


# ---------------------------------------------------------------- time and load

def uptime_seconds(kernel: KernelView) -> float:
    return max(0.0, kernel.sched.uptime())


def cpu_count(kernel: KernelView) -> int:
    return kernel.sched.cpu_count


def busy_ns(kernel: KernelView) -> tuple[int, int]:
    """User and system time of the live tasks and of the children they reaped."""
    user = system = 0
    for t in kernel.pids.all():
        user += t.utime_ns + t.cutime_ns
        system += t.stime_ns + t.cstime_ns
    return user, system


def uptime_text(kernel: KernelView) -> bytes:
    """`uptime idle` in seconds with two decimals; idle is summed over CPUs, as Linux does."""
    up = uptime_seconds(kernel)
    user, system = busy_ns(kernel)
    idle = max(0.0, up * cpu_count(kernel) - (user + system) / 1e9)
    return f"{up:.2f} {idle:.2f}\n".encode()


def running_count(kernel: KernelView) -> int:
    return sum(1 for t in kernel.pids.all() if t.state.value == "R")


def loadavg_text(kernel: KernelView) -> bytes:
    """`1 5 15-minute averages, running/total threads, last pid`; averages are not tracked yet."""
    loads = kernel.sched.loadavg
    return (f"{loads[0]:.2f} {loads[1]:.2f} {loads[2]:.2f} "
            f"{running_count(kernel)}/{len(kernel.pids)} {kernel.pids.last_pid}\n").encode()


def stat_text(kernel: KernelView) -> bytes:
    """/proc/stat: CPU time in USER_HZ ticks (user nice system idle iowait irq softirq steal guest guest_nice)."""
    up = uptime_seconds(kernel)
    user, system = busy_ns(kernel)
    ncpu = cpu_count(kernel)
    idle = max(0, int(up * ncpu * USER_HZ) - (user + system) // NS_PER_TICK)
    cpu = f"{user // NS_PER_TICK} 0 {system // NS_PER_TICK} {idle} 0 0 0 0 0 0"
    lines = [f"cpu  {cpu}"]
    for i in range(ncpu):      # per-CPU accounting does not exist yet: CPU 0 gets it all
        lines.append(f"cpu{i} {cpu if i == 0 else f'0 0 0 {int(up * USER_HZ)} 0 0 0 0 0 0'}")
    btime = int(realtime_ns() / 1e9 - up)     # boot time moves with a set of the clock
    lines += [
        "intr 0",
        f"ctxt {kernel.sched.context_switches}",
        f"btime {btime}",
        f"processes {kernel.pids.next_pid - 1}",
        f"procs_running {running_count(kernel)}",
        "procs_blocked 0",
        "softirq 0 0 0 0 0 0 0 0 0 0 0",
    ]
    return ("\n".join(lines) + "\n").encode()


# ---------------------------------------------------------------- memory and CPU

def meminfo_text(kernel: KernelView) -> bytes:
    """/proc/meminfo in Linux 6.1 arm64's order: `Name:` padded to 16 columns, the value
    right-aligned in 8, then ` kB` (HardwareCorrupted and the HugePages_ counts differ).
    What this kernel does not have (swap, zswap, CMA, page tables apart) is an honest 0."""
    total, free = kernel.memory_kb()
    rows = [
        ("MemTotal", total), ("MemFree", free), ("MemAvailable", free), ("Buffers", 0), ("Cached", 0),
        ("SwapCached", 0), ("Active", 0), ("Inactive", 0), ("Active(anon)", 0), ("Inactive(anon)", 0),
        ("Active(file)", 0), ("Inactive(file)", 0), ("Unevictable", 0), ("Mlocked", 0),
        ("SwapTotal", 0), ("SwapFree", 0), ("Zswap", 0), ("Zswapped", 0), ("Dirty", 0), ("Writeback", 0),
        ("AnonPages", total - free), ("Mapped", 0), ("Shmem", 0), ("KReclaimable", 0), ("Slab", 0),
        ("SReclaimable", 0), ("SUnreclaim", 0), ("KernelStack", 0), ("PageTables", 0), ("SecPageTables", 0),
        ("NFS_Unstable", 0), ("Bounce", 0), ("WritebackTmp", 0), ("CommitLimit", total // 2),
        ("Committed_AS", total - free), ("VmallocTotal", 133143592960), ("VmallocUsed", 0),
        ("VmallocChunk", 0), ("Percpu", 0),
    ]
    out = [f"{name + ':':<16}{kb:8d} kB\n" for name, kb in rows]
    out.append("HardwareCorrupted:     0 kB\n")                        # printed with %5lu
    out += [f"{name + ':':<16}{0:8d} kB\n" for name in
            ("AnonHugePages", "ShmemHugePages", "ShmemPmdMapped", "FileHugePages", "FilePmdMapped",
             "CmaTotal", "CmaFree")]
    out += [f"{name + ':':<16}{0:8d}\n" for name in
            ("HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp")]
    out += [f"{'Hugepagesize:':<16}{2048:8d} kB\n", f"{'Hugetlb:':<16}{0:8d} kB\n"]
    return "".join(out).encode()


def cpuinfo_text(kernel: KernelView) -> bytes:
    """/proc/cpuinfo as arm64 Linux prints it (c_show): one block per CPU, then a blank line."""
    caps = HWCAP                                     # what exec tells programs in AT_HWCAP
    features = " ".join(name for bit, name in enumerate(HWCAP_NAMES) if caps & (1 << bit))
    blocks = []
    for i in range(cpu_count(kernel)):
        blocks.append(
            f"processor\t: {i}\n"
            f"BogoMIPS\t: {BOGOMIPS}\n"
            f"Features\t: {features}\n"
            f"CPU implementer\t: {MIDR['implementer']:#04x}\n"
            f"CPU architecture: {MIDR['architecture']}\n"
            f"CPU variant\t: {MIDR['variant']:#x}\n"
            f"CPU part\t: {MIDR['part']:#05x}\n"
            f"CPU revision\t: {MIDR['revision']}\n\n")
    return "".join(blocks).encode()


def filesystems_text() -> bytes:
    return "".join(f"{'' if block else 'nodev'}\t{name}\n" for name, block in FILESYSTEMS).encode()


def sysinfo_values(kernel: KernelView) -> dict:
    """What sysinfo(2) reports, from the same figures as /proc: uptime in seconds, loads as
    1/65536 fixed point, memory in bytes (mem_unit 1)."""
    total, free = kernel.memory_kb()
    loads = kernel.sched.loadavg
    return {"uptime": int(uptime_seconds(kernel)), "loads": [int(x * 65536) for x in loads],
            "totalram": total * 1024, "freeram": free * 1024, "sharedram": 0, "bufferram": 0,
            "totalswap": 0, "freeswap": 0, "procs": len(kernel.pids), "totalhigh": 0, "freehigh": 0,
            "mem_unit": 1}
