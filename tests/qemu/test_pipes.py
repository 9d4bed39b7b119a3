"""Pipes and poll/select in the real kernel: tests/programs/pipe_*.c and poll_*.c run by moss-py,
and the same binaries under Linux as the specification: qemu-aarch64 on this machine, or Linux
booted in the same QEMU (the `linux_oracle` fixture) where qemu-aarch64 is not Linux. The
programs check their own timings against generous bounds and print ok/FAIL; a literal beside a
comparison only shows that the program got far (two empty outputs must not match)."""
import pytest

from tests.covers import covers

from .conftest import failures, moss_run, same_as_qemu_user

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


@covers("pipe2", "read", "write", "fstat", "fcntl", "ioctl", "close_range", "lseek", "pread64", "dup")
def test_pipe_in_one_process_data_eof_nonblock_capacity_and_errors(linux_oracle):
    """Against booted Linux: qemu-aarch64 keeps both descriptors open when pipe2 cannot store
    them (the host kernel made them), where Linux installs none."""
    moss = moss_run("/tests/pipe_basic")
    out, err, status = linux_oracle.run3("/tests/pipe_basic")
    assert moss.returncode == 0, moss.stderr.decode(errors="replace")
    assert failures(moss) == []
    assert (moss.stdout.decode(), moss.returncode) == (out, status)
    assert "F_GETPIPE_SZ" in out and "close_range" in out


@covers("pipe2", "read", "write", "clone", "wait4")
def test_pipe_between_processes_blocks_is_atomic_and_kills_writer_with_sigpipe():
    assert "atomic blocks" in same_as_qemu_user("pipe_fork").stdout.decode()


@covers("ppoll", "pselect6", "setitimer")
def test_poll_and_select_readiness_timeouts_and_wakeups():
    assert "select woken by child" in same_as_qemu_user("poll_basic").stdout.decode()


@covers("mknodat", "openat", "ppoll", "unlinkat", "newfstatat")
def test_fifo_open_rules_data_and_eof():
    assert "read 20 bytes" in same_as_qemu_user("pipe_fifo").stdout.decode()


@covers("write", "rt_sigaction")
def test_sigpipe_caught_or_ignored_leaves_epipe():
    assert "ignored: write EPIPE" in same_as_qemu_user("pipe_sigpipe").stdout.decode()


@covers("ppoll", "pselect6", "read", "rt_sigprocmask")
def test_poll_and_select_interrupted_by_handlers_and_temporary_masks():
    assert "read restarted by SA_RESTART" in same_as_qemu_user("poll_signals").stdout.decode()
