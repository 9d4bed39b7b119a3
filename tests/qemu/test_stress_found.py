"""Kernel bugs stress-ng found (`just stress`), each reduced to a C program whose output must
be Linux's (the oracle boots Linux 6.1 in the same QEMU)."""
import pytest

from tests.covers import covers

from .conftest import moss_run, same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("clone", "wait4")
def test_clone_with_an_exit_signal_above_64_sends_nothing_and_the_parent_waits_with_wall(linux_oracle):
    out = same_as_linux(linux_oracle, "clone_exit_signal")
    assert "exit signal 100: waitpid without __WALL: ECHILD" in out
    assert "waitpid __WALL: the child, exited 1, status 100, signals seen 0" in out


@pytest.mark.differential
@covers("ioctl")
def test_system_v_termio_ioctls_and_the_locked_termios_of_a_pty_match_linux(linux_oracle):
    """The oracle gets devpts for the moment, as test_fd_events' epoll_pty test does."""
    linux, status = linux_oracle.run("mkdir -p /dev/pts && mount -t devpts devpts /dev/pts && "
                                     "/tests/pty_termio; s=$?; umount /dev/pts; exit $s")
    out = moss_run("/tests/pty_termio").stdout.decode()
    assert status == 0 and out == linux
    assert "TCSETA: 0" in out and "locked bits all zero: yes" in out and "TCGETA on a pipe: -1 ENOTTY" in out
