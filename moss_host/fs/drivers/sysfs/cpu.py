"""/sys/devices/system/cpu and /sys/devices/system/node: which CPUs exist and are online
(what lscpu, nproc and glibc's get_nprocs read), each CPU's topology, caches and
identification registers, in Linux 6.1's formats (values as Linux shows them in the same
QEMU). The count is the scheduler's, so more CPUs show up here when it has more: they are
cores of one cluster in one package (QEMU's cpu-map for -smp N), one node."""
from __future__ import annotations

from ....arch.arm64.cpuid import MIDR_EL1
from ....arch.arm64.hwcap import HWCAP
from .nodes import SysDir

NR_CPUS = 256           # CONFIG_NR_CPUS of Debian's arm64 kernel: kernel_max is NR_CPUS - 1
CPU_CAPACITY = 1024     # SCHED_CAPACITY_SCALE: every CPU alike
# cpu:type:aarch64:feature: lists the hwcap bits the CPU has (cpu_feature() numbers).
MODALIAS = "cpu:type:aarch64:feature:" + "".join(f",{bit:04X}" for bit in range(64) if HWCAP >> bit & 1)


def cpu_list(cpus: range) -> str:
    """A cpulist ("%*pbl"): "0", "0-3", "2"."""
    first, last = cpus[0], cpus[-1]
    return str(first) if first == last else f"{first}-{last}"


def cpu_mask(cpus: range) -> str:
    """A cpumask in hex ("%*pb"): 32-bit groups separated by commas, the top one unpadded."""
    bits = sum(1 << i for i in cpus)
    groups = [f"{bits & 0xFFFFFFFF:08x}"]
    while bits >> 32:
        bits >>= 32
        groups.append(f"{bits & 0xFFFFFFFF:08x}")
    groups[-1] = f"{int(groups[-1], 16):x}"
    return ",".join(reversed(groups))


def build_cpus(root: SysDir, ncpu: int) -> None:
    cpu = root.subdir(b"devices/system/cpu")
    everyone = range(ncpu)
    for name in (b"online", b"possible", b"present"):
        cpu.add_text(name, cpu_list(everyone))
    cpu.add_text(b"offline", "")
    cpu.add_text(b"isolated", "")
    cpu.add_text(b"kernel_max", str(NR_CPUS - 1))
    cpu.add_text(b"modalias", MODALIAS)
    cpu.add_file(b"uevent", lambda: b"", 0o644)
    node = root.subdir(b"devices/system/node")
    for name in (b"online", b"possible", b"has_cpu", b"has_memory", b"has_normal_memory"):
        node.add_text(name, "0")
    node0 = node.subdir(b"node0")
    node0.add_text(b"cpulist", cpu_list(everyone))
    node0.add_text(b"cpumap", cpu_mask(everyone))
    node0.add_text(b"distance", "10")
    for i in range(ncpu):
        name = f"cpu{i}".encode()
        build_cpu(cpu.subdir(name), i, everyone)
        node0.add_link(name, b"../../cpu/" + name)
        root.add_link(b"bus/cpu/devices/" + name, b"../../../devices/system/cpu/" + name)


def build_cpu(d: SysDir, i: int, everyone: range) -> None:
    d.add_text(b"uevent", f"OF_NAME=cpu\nOF_FULLNAME=/cpus/cpu@{i}\nOF_TYPE=cpu\n"
                      f"OF_COMPATIBLE_0=arm,cortex-a72\nOF_COMPATIBLE_N=1\nMODALIAS={MODALIAS}", 0o644)
    if i != 0:
        d.add_text(b"online", "1", 0o644)        # CPU 0 cannot go offline on arm64: it has no online file
    d.add_text(b"cpu_capacity", str(CPU_CAPACITY))
    own = range(i, i + 1)
    topo = d.subdir(b"topology")
    topo.add_text(b"core_id", str(i))
    topo.add_text(b"cluster_id", "0")
    topo.add_text(b"physical_package_id", "0")
    for name, cpus in ((b"thread_siblings", own), (b"core_cpus", own), (b"cluster_cpus", everyone),
                       (b"core_siblings", everyone), (b"package_cpus", everyone)):
        topo.add_text(name, cpu_mask(cpus))
        topo.add_text(name + b"_list", cpu_list(cpus))
    cache = d.subdir(b"cache")
    cache.add_file(b"uevent", lambda: b"", 0o644)
    for index, kind in ((b"index0", "Data"), (b"index1", "Instruction")):
        level = cache.subdir(index)
        level.add_text(b"level", "1")
        level.add_text(b"type", kind)
        level.add_text(b"shared_cpu_list", cpu_list(own))
        level.add_text(b"shared_cpu_map", cpu_mask(own))
        level.add_file(b"uevent", lambda: b"", 0o644)
    ident = d.subdir(b"regs/identification")
    ident.add_text(b"midr_el1", f"0x{MIDR_EL1:016x}")
    ident.add_text(b"revidr_el1", f"0x{0:016x}")
    d.add_link(b"node0", b"../../node/node0")
    d.add_link(b"subsystem", b"../../../../bus/cpu")
