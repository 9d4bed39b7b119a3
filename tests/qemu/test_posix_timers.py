"""POSIX timers in a real program (tests/programs/posix_timers.c), run by moss-py and by Linux 6.1
booted in the same QEMU (the `linux_oracle` fixture): both must print the same and exit the same.
Timings are printed as ok/FAIL against generous bounds; the test spells out lines that only a run
to the end (the exec'd child included) prints."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


@covers("timer_create", "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
        "rt_sigtimedwait", "execve")
def test_posix_timers_signals_overruns_ids_and_errors_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "posix_timers")
    assert "FAIL" not in out
    assert "SIGUSR1: code -2 timerid 1 value 77" in out
    assert "thread got signo 12 code -2 value 9" in out
    assert out.endswith("after exec, timer 0: EINVAL\nchild status 0\n")
