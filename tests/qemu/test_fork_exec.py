"""fork and exec as Linux 6.1 does them, for what the fast paths take short cuts around
(the hot pages fork copies at once, exec's unshared signal table), compared with Linux
booted in the same QEMU (the `linux_oracle` fixture)."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("clone", "execve", "rt_sigaction")
def test_exec_by_a_sharer_of_the_signal_handlers_leaves_the_other_sharer_its_handler(linux_oracle):
    out = same_as_linux(linux_oracle, "exec_sighand", status=0)
    assert "sharer: SIGUSR1 a handler" in out and "exec'd: SIGUSR1 SIG_DFL, SIGUSR2 SIG_IGN" in out


@pytest.mark.differential
@covers("clone", "wait4")
def test_forks_in_a_loop_keep_each_side_s_stores_to_the_same_pages_apart(linux_oracle):
    out = same_as_linux(linux_oracle, "fork_loop_cow", status=0)
    assert "round 5 child: counter 1105 local 51 big dc" in out
