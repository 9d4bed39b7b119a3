"""Debian's trinity and stress-ng inside moss-py, under --strict (the suite's MOSS_STRICT=1):
a short fuzz with a fixed seed and a handful of stressors for a few seconds each, with
--verify. `just fuzz` and `just stress` are the long runs (scripts/fuzz.sh, stress.sh)."""
import re
from pathlib import Path

import pytest

from .test_debian import run_in_moss

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

SEED = 1
STRESSORS = ["fork", "clone", "pipe", "signal", "sigsegv", "mmap", "futex", "sem", "dir", "timerfd", "pty",
             "udp"]   # `just stress`: all of them


def test_trinity_fuzzes_for_20_seconds_without_a_kernel_bug(moss_disk: Path):
    guest = (f"mkdir -p /tmp/victim && cd /tmp && timeout -s INT 20 trinity --dropprivs -q -s {SEED} -C 2 "
             "-l off -V /tmp/victim --disable-fds=sockets 2>&1 | tail -n 5")
    run = run_in_moss(moss_disk, ["/bin/sh", "-c", guest], timeout=600)
    err = run.stderr.decode(errors="replace")
    assert run.returncode == 0 and "kernel bug" not in err, err[-3000:]
    ran = re.search(r"Ran (\d+) syscalls", run.stdout.decode(errors="replace"))
    assert ran and int(ran[1]) > 100, run.stdout.decode(errors="replace")


@pytest.mark.parametrize("stressor", STRESSORS)
def test_stress_ng_stressor_passes_its_verification(moss_disk: Path, stressor: str):
    guest = f"cd /tmp && stress-ng --{stressor} 1 --timeout 3s --verify 2>&1; echo exit=$?"
    run = run_in_moss(moss_disk, ["/bin/sh", "-c", guest], timeout=600)
    out, err = run.stdout.decode(errors="replace"), run.stderr.decode(errors="replace")
    assert run.returncode == 0 and "kernel bug" not in err, err[-3000:]
    assert out.rstrip().endswith("exit=0"), out
