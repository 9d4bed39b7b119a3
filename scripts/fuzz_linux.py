#!/usr/bin/env python3
"""Linux's rate for `just fuzz`: the same trinity command (scripts/fuzz.sh's: seed, children,
--dropprivs -q -l off, sockets off) for the same seconds, inside Linux 6.1 booted on a copy of
the same Debian image in the same QEMU (tests/qemu/linux_debian_oracle.py), -smp 1 or 2.

    python3 scripts/fuzz_linux.py [--seconds N] [--seed S] [--children C] [--smp N]

Prints trinity's tail, the syscalls it made (and per second) and where the guest's CPU time
went (/proc/stat's cpu line before and after: user, system, idle ticks), as fuzz.sh prints
them for moss-py.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.qemu.linux_debian_oracle import LinuxDebian  # noqa: E402


# trinity stops at any new taint flag; Linux 6.1 sets TAINT_AUX (65536) within seconds of this
# run (seed 1), which is no kernel bug: watch only the flags a bug sets, as moss-py's
# kernel-bug count does (moss-py never taints).
TAINTS = "DIE,WARN,BAD_PAGE"


def guest_command(seconds: int, seed: int, children: int) -> str:
    """fuzz.sh's trinity line, with /proc/stat's cpu line around it."""
    return (f"mkdir -p /tmp/victim; cd /tmp; head -1 /proc/stat; cat /proc/loadavg; "
            f"timeout -s INT {seconds} trinity --dropprivs -q -l off -s {seed} -C {children} "
            f"-V /tmp/victim --disable-fds=sockets -T {TAINTS} 2>&1 | tail -n 12; head -1 /proc/stat; cat /proc/loadavg")


def cpu_split(out: str) -> str:
    """'user U% system S% idle I%' of the guest's CPU ticks between the two /proc/stat lines."""
    lines = [list(map(int, line.split()[1:])) for line in out.splitlines() if line.startswith("cpu ")]
    if len(lines) < 2:
        return "no /proc/stat"
    d = [b - a for a, b in zip(lines[0], lines[-1])]
    total = sum(d[:8]) or 1
    user, system, idle = d[0] + d[1], d[2] + d[5] + d[6], d[3] + d[4]
    return f"user {100 * user // total}% system {100 * system // total}% idle {100 * idle // total}%"


def qemu_cpu_s() -> float:
    """User + system CPU seconds of this process's children (the VM's QEMU) so far."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_pressure() -> str:
    """/proc/pressure/cpu's some avg10: how loaded the shared machine was."""
    return Path("/proc/pressure/cpu").read_text().split()[1]


def processes_created(out: str) -> int:
    """/proc/loadavg's last pid after the run less the one before."""
    pids = [int(m) for m in re.findall(r"^[\d.]+ [\d.]+ [\d.]+ \d+/\d+ (\d+)$", out, re.M)]
    return pids[-1] - pids[0] if len(pids) >= 2 else -1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--children", type=int, default=2)
    ap.add_argument("--smp", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="fuzz-linux.") as tmp:
        disk = Path(tmp) / "disk.ext4"
        subprocess.run(["cp", "--sparse=always", str(REPO / "build/debian.ext4"), str(disk)], check=True)
        vm = LinuxDebian(disk, name="fuzz-linux")
        vm.smp = args.smp
        vm.start()
        try:
            cpu0 = qemu_cpu_s()
            out, err, status = vm.run_argv(["/bin/sh", "-c", guest_command(args.seconds, args.seed, args.children)],
                                           timeout=args.seconds + 180)
            cpu_ms = int(1000 * (qemu_cpu_s() - cpu0))
        finally:
            vm.stop()
    print(out + err)
    ran = re.findall(r"Ran (\d+) syscalls", out + err)
    calls = int(ran[-1]) if ran else 0
    print(f"fuzz-linux: -smp {args.smp}, seed {args.seed}, {args.children} children, {args.seconds}s: "
          f"syscalls {calls} ({calls // args.seconds}/s), guest CPU {cpu_split(out)}; "
          f"processes created {processes_created(out)}; host CPU (QEMU) "
          f"{cpu_ms} ms, {cpu_ms * 1000 // max(calls, 1)} us per syscall, CPU pressure {cpu_pressure()}")
    return 0 if ran else 1


if __name__ == "__main__":
    sys.exit(main())
