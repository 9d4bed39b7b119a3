#!/usr/bin/env python3
"""Regenerate tests/golden/trace/*.txt: Debian's strace output of the tests/programs/trace_*.c
programs under Linux (the Debian oracle VM, tests/qemu/linux_debian_oracle.py), which
tests/qemu/test_trace.py compares `moss-host run --trace` against.

    python3 scripts/trace_golden.py          (needs build/debian.ext4: `just image-debian`,
                                              and build/programs: `just programs`)

strace runs as `strace -f -s 32` on the static program copied into the chroot's /tmp;
addresses, pids and times stay as Linux printed them (the test masks them).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.qemu.linux_debian_oracle import LinuxDebian  # noqa: E402

GOLDEN = REPO / "tests" / "golden" / "trace"


def programs() -> list[Path]:
    return sorted((REPO / "build" / "programs").glob("trace_*"))


def main() -> int:
    progs = programs()
    if not progs:
        print("no build/programs/trace_*: run `just programs` first", file=sys.stderr)
        return 1
    GOLDEN.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        disk = Path(tmp) / "debian.ext4"
        subprocess.run(["cp", "--sparse=always", str(REPO / "build" / "debian.ext4"), str(disk)], check=True)
        vm = LinuxDebian(disk, name="trace-golden")
        vm.add_files({f"/tests/{p.name}": p for p in progs})
        vm.start()
        try:
            for p in progs:
                name = p.name
                out, status = vm.run(
                    f"cp /tests/{name} /debian/tmp/{name} && "
                    f"chroot /debian /usr/bin/strace -f -s 32 -o /tmp/{name}.strace /tmp/{name} >/dev/null; "
                    f"cat /debian/tmp/{name}.strace; rm -f /debian/tmp/{name}.strace /debian/tmp/{name}",
                    timeout=120)
                (GOLDEN / f"{name}.txt").write_text(out.replace("\r\n", "\n").rstrip("\n") + "\n")
                print(f"{name}: {len(out.splitlines())} lines")
        finally:
            vm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
