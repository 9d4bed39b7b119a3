"""Pipes and poll/select in the real kernel: tests/programs/pipe_*.c and poll_*.c run by moss-py,
and the same binaries under qemu-aarch64 (Linux answers) as the specification."""
import pytest

from tests.covers import covers

from .conftest import moss_run, qemu_user_run

pytestmark = pytest.mark.qemu


def lines(completed) -> list[str]:
    return completed.stdout.decode().splitlines()


def failures(completed) -> list[str]:
    return [line for line in lines(completed) if line.endswith(": FAIL")]


# qemu-aarch64 keeps both descriptors open when pipe2 cannot store them (the host kernel made
# them); Linux installs none. That line is checked against moss-py alone.
QEMU_USER_QUIRKS = ("EFAULT installed no fds",)


def comparable(completed) -> list[str]:
    return [line for line in lines(completed) if not line.startswith(QEMU_USER_QUIRKS)]


@covers("pipe2", "read", "write", "fstat", "fcntl", "ioctl", "close_range", "lseek", "pread64", "dup")
def test_pipe_in_one_process_data_eof_nonblock_capacity_and_errors():
    r = moss_run("/tests/pipe_basic")
    assert r.returncode == 0, r.stderr.decode()
    assert failures(r) == []
    out = lines(r)
    assert "mode: 600" in out and "F_GETPIPE_SZ: 65536" in out
    assert "filled with 1000-byte writes: 64000" in out      # Linux's page merging
    assert "drained: 64001" in out
    assert "F_SETPIPE_SZ 5000: 8192" in out


@covers("pipe2", "read", "write", "fcntl", "ioctl", "close_range")
def test_pipe_basic_matches_qemu_user():
    moss, linux = moss_run("/tests/pipe_basic"), qemu_user_run("pipe_basic")
    assert comparable(moss) == comparable(linux)
    assert moss.returncode == linux.returncode == 0


@covers("pipe2", "read", "write", "clone", "wait4")
def test_pipe_between_processes_blocks_is_atomic_and_kills_writer_with_sigpipe():
    r = moss_run("/tests/pipe_fork")
    assert r.returncode == 0, r.stderr.decode()
    assert lines(r) == [
        "child to parent: 307200 bytes, 0 out of order, eof yes, child exit 0",
        "parent to child: child read 100000 bytes",
        "atomic blocks: total 524288, mixed blocks 0, X blocks 64",
        "writer killed by SIGPIPE: ok",
        "blocked writer killed by SIGPIPE when the reader closes: ok",
    ]


def test_pipe_fork_matches_qemu_user():
    moss, linux = moss_run("/tests/pipe_fork"), qemu_user_run("pipe_fork")
    assert moss.stdout == linux.stdout
    assert moss.returncode == linux.returncode == 0


@covers("ppoll", "pselect6", "setitimer")
def test_poll_and_select_readiness_timeouts_and_wakeups():
    r = moss_run("/tests/poll_basic")
    assert r.returncode == 0, r.stderr.decode()
    assert failures(r) == []
    out = lines(r)
    assert "poll empty pipe: 2 revents 0 4 20 0" in out              # POLLOUT, POLLNVAL
    assert "poll after write: 2 revents 41 4" in out                 # POLLIN|POLLRDNORM
    assert "poll full pipe for POLLOUT: 0 revents 0" in out
    assert "hup with data: 1 revents 11" in out and "hup empty: 1 revents 10" in out
    assert "writer without reader: 1 revents c" in out               # POLLOUT|POLLERR
    assert "select after write: 2 rd 1 wr 1" in out
    assert "poll woken by child: 1 revents 1" in out and "select woken by child: 1 rd 1" in out


@covers("ppoll", "pselect6")
def test_poll_basic_matches_qemu_user():
    moss, linux = moss_run("/tests/poll_basic"), qemu_user_run("poll_basic")
    assert moss.stdout == linux.stdout
    assert moss.returncode == linux.returncode == 0


@covers("mknodat", "openat", "ppoll", "unlinkat", "newfstatat")
def test_fifo_open_rules_data_and_eof():
    r = moss_run("/tests/pipe_fifo")
    assert r.returncode == 0, r.stderr.decode()
    assert failures(r) == []
    assert "read 20 bytes: hello through a fifo" in lines(r)


@covers("mknodat")
def test_pipe_fifo_matches_qemu_user():
    moss, linux = moss_run("/tests/pipe_fifo"), qemu_user_run("pipe_fifo")
    assert moss.stdout == linux.stdout
    assert moss.returncode == linux.returncode == 0


@covers("write", "rt_sigaction")
def test_sigpipe_caught_or_ignored_leaves_epipe():
    r = moss_run("/tests/pipe_sigpipe")
    assert r.returncode == 0, r.stderr.decode()
    assert failures(r) == [] and len(lines(r)) == 4


@covers("ppoll", "pselect6", "read", "rt_sigprocmask")
def test_poll_and_select_interrupted_by_handlers_and_temporary_masks():
    r = moss_run("/tests/poll_signals")
    assert r.returncode == 0, r.stderr.decode()
    assert failures(r) == []
    assert "ppoll restored the blocking mask: ok" in lines(r)
    assert "read restarted by SA_RESTART gets the data: ok" in lines(r)


@pytest.mark.parametrize("program", ["pipe_sigpipe", "poll_signals"])
def test_signal_programs_match_qemu_user(program):
    moss, linux = moss_run(f"/tests/{program}"), qemu_user_run(program)
    assert moss.stdout == linux.stdout
    assert moss.returncode == linux.returncode == 0
