"""The vDSO's clock calls (guest_stub/vdso.S, proc/vvar.py) against Linux 6.1's arm64 vDSO:
the symbols and their versions, no clock going backwards over a million mixed vDSO and
syscall reads, clock_getres, the unserved clocks falling back to the kernel, settimeofday
seen through the vDSO, and `date` under strace making no clock syscall at all."""
from __future__ import annotations

import pytest

from tests.covers import covers

from .conftest import same_as_linux
from .test_debian import bash, same_as_linux as debian_same_as_linux

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("clock_gettime", "clock_getres", "gettimeofday", "settimeofday")
def test_the_vdso_answers_the_clock_calls_in_step_with_the_syscalls(linux_oracle):
    out = same_as_linux(linux_oracle, "vdso_clocks", status=0)
    for name in ("clock_gettime", "gettimeofday", "clock_getres"):
        assert f"__kernel_{name}@LINUX_2.6.39: yes" in out
    assert "MONOTONIC backwards: 0" in out and "TAI backwards: 0" in out
    assert "getres 5: vdso 0 0.004000000 syscall 0 0.004000000 null 0" in out
    assert "settimeofday 0: vdso realtime moved, tod moved, tz -60 0" in out


# A program calling the clock many times (moss-py measures the counter against its clock with
# the first few hundred vDSO calls after boot, which go to the kernel meanwhile), then `date`
# traced: no clock syscall, as on Linux.
STRACE_DATE = r"""
python3 -c 'import time
for _ in range(12000): time.monotonic()'
strace -f -e trace=clock_gettime,gettimeofday,clock_getres date +%Y 2>&1 >/dev/null | grep -c -E 'clock_|gettimeofday'
strace -f -e trace=clock_gettime date +%s >/dev/null 2>/tmp/trace; echo "strace $?"
python3 -c 'import time
a = time.time(); b = time.monotonic(); c = time.perf_counter_ns()
print("python clocks", a > 1.6e9, b > 0, c > 0)'
"""


@pytest.mark.slow
@pytest.mark.differential
@covers("clock_gettime")
def test_date_under_strace_makes_no_clock_syscall_like_linux(linux_debian_oracle, moss_disk):
    out = debian_same_as_linux(linux_debian_oracle, moss_disk, bash(STRACE_DATE))
    assert out.startswith("0\nstrace 0\n"), out
