"""Signal-driven I/O (fs/fasync.py, proc/sigio.py, syscalls/fcntl_owner.py): tests/programs/fasync.c
under moss-py and under Linux 6.1 booted in the same QEMU, byte for byte. The program blocks
SIGIO, SIGURG and an F_SETSIG real-time signal and prints what sigtimedwait takes after each
step (si_code, si_band, si_fd), so the number and order of the queued signals is compared.
"""

import pytest

from tests.covers import covers

from .conftest import moss_run, same_as_linux
from .test_inet import loopback_up

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


@covers("fcntl", "ioctl", "pipe2", "socketpair", "sendto", "recvfrom", "socket", "bind", "listen",
        "connect", "accept", "inotify_init1", "inotify_add_watch", "eventfd2", "rt_sigtimedwait",
        "setpgid", "setresuid")
def test_sigio_sigurg_owners_and_f_setsig_match_linux(linux_oracle):
    with loopback_up(linux_oracle):
        out = same_as_linux(linux_oracle, "fasync", status=0)
    assert "F_SETSIG RTMIN+1, two writes: RTMIN+1(code 1 band 0x41 fd 3) RTMIN+1(code 1 band 0x41 fd 3)\n" in out
    assert "one page read from the full pipe: RTMIN+1(code 2 band 0x304 fd 4)\n" in out
    assert ("MSG_OOB with O_ASYNC and F_SETSIG: SIGURG(code 128) RTMIN+1(code 5 band 0x82 fd 3) "
            "RTMIN+1(code 1 band 0x41 fd 3)\n") in out
    assert "peer closed: RTMIN+1(code 6 band 0x18 fd 3)\n" in out
    assert "eventfd FIOASYNC: ENOTTY\n" in out
    assert "owner set by uid 1000: none\n" in out
    assert out.endswith("owner set by root: SIGIO(kernel)\ndone\nrunner exit 0\n")


@covers("fcntl", "openat", "write", "read", "rt_sigtimedwait")
def test_a_pty_master_names_its_owner_as_o_async_goes_on_match_linux(linux_oracle):
    """tty_fasync: O_ASYNC on a tty makes the caller its owner (no foreground group here).
    The oracle gets devpts for the moment, as test_console's on_linux_pty does."""
    linux, status = linux_oracle.run("mkdir -p /dev/pts && mount -t devpts devpts /dev/pts && "
                                     "/tests/fasync pty; s=$?; umount /dev/pts; exit $s")
    moss = moss_run("/tests/fasync", "pty")
    assert (moss.stdout.decode(), moss.returncode) == (linux, status)
    assert "pty master after O_ASYNC: getown self, getown_ex ok type 1 pid self, getsig 35\n" in linux
    assert "pty slave wrote: RTMIN+1(code 1 band 0x41 fd 3)\n" in linux


@covers("fcntl", "pipe2", "write", "read", "mknodat", "openat", "prlimit64", "rt_sigtimedwait")
def test_pipe_and_fifo_signals_at_linuxs_points_and_the_full_queue_fallback_match_linux(linux_oracle):
    """fs/pipe.c's kill_fasync: every read signals the write ends' owners (POLL_OUT), every
    write the read ends' (POLL_IN), a refused one too; a close that leaves one side without
    ends signals both; a FIFO open nothing. A real-time signal that finds the queue full
    (RLIMIT_SIGPENDING) is a plain SIGIO instead (send_sigio_to_task)."""
    out = same_as_linux(linux_oracle, "fasync_pipe", status=0)
    assert "a read, then an EAGAIN read: RTMIN+1(code 2 band 0x304 fd 4) RTMIN+1(code 2 band 0x304 fd 4)\n" in out
    assert "EAGAIN write to the full pipe: RTMIN+1(code 1 band 0x41 fd 3)\n" in out
    assert ("six writes, RLIMIT_SIGPENDING 3: SIGIO(kernel) RTMIN+1(code 1 band 0x41 fd 3) "
            "RTMIN+1(code 1 band 0x41 fd 3) RTMIN+1(code 1 band 0x41 fd 3)\n") in out
    assert "FIFO writer opened: none\n" in out
    assert "one write of 16 pages: RTMIN+1(code 1 band 0x41 fd 3)\n" in out      # per call, not per buffer
    assert out.endswith("a reader went to sleep: RTMIN+1(code 2 band 0x304 fd 4)\n"
                        "it read the byte: RTMIN+1(code 2 band 0x304 fd 4)\ndone\n")
