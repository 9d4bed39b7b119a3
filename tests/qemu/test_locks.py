"""File locks in real programs, run by moss-py and by Linux 6.1 booted in the same QEMU (the
`linux_oracle` fixture): fcntl record locks between forked processes (tests/programs/locks_posix.c),
flock (locks_flock.c), and 4 processes appending under F_SETLKW without losing or tearing a record
(locks_append.c). Both kernels must print the same and exit the same."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


@covers("fcntl", "openat", "close", "dup", "clone", "wait4", "setitimer")
def test_fcntl_record_locks_split_merge_block_deadlock_and_release_as_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "locks_posix", status=0)
    assert "child [6,10] WR: WRLCK whence 0 start 8 len 2 pid parent" in out
    assert "parent SETLKW [301]: EDEADLK" in out
    assert "SETLKW interrupted by SIGALRM: EINTR" in out
    assert "/proc/locks: POSIX ADVISORY WRITE parent dev ok 7 11" in out
    assert out.endswith("done\n")


@covers("flock")
def test_flock_shared_exclusive_upgrade_inheritance_and_nonblocking_as_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "locks_flock", status=0)
    assert "b EX|NB: EAGAIN" in out
    assert "parent SH interrupted: EINTR" in out
    assert "/proc/locks: 1: -> FLOCK  ADVISORY  WRITE child DEV:INO 0 EOF\n" in out
    assert out.endswith("done\n")


@covers("fcntl", "pwrite64", "lseek")
def test_four_processes_appending_under_setlkw_lose_and_tear_nothing_as_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "locks_append", status=0)
    assert "torn 0, out of order 0, failed writers 0" in out
