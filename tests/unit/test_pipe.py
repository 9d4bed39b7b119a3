"""Pipes, FIFOs, ppoll/pselect6, sleeps and interval timers without QEMU: the Pipe logic driven
by asyncio directly, the handlers through a fake task (tests/unit/test_fs_syscalls.py)."""
import asyncio
import errno
import stat as S
import struct

import pytest

from moss_host.errors import ERESTART_RESTARTBLOCK, ERESTARTNOHAND, Errno
from moss_host.fs.file import O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, open_location
from moss_host.fs.pipe import PIPE_BUF, PIPE_DEF_SIZE, Pipe
from moss_host.fs.vfs import vfs_create
from moss_host.proc.signals import SIGALRM, SIGPIPE, bit, pending
from moss_host.proc.task import State, ThreadGroup
from moss_host.syscalls import load_all
from moss_host.syscalls.numbers import SYSCALL_NUMBERS
from moss_host.syscalls.table import SYSCALLS
from tests.covers import covers
from tests.unit.test_fs_syscalls import make_task as make_fs_task

load_all()

POLLIN, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x4, 0x8, 0x10, 0x20
POLLRDNORM, POLLWRNORM = 0x40, 0x100
FIONREAD = 0x541B

from moss_host.proc.ptrace_state import PtraceState  # noqa: E402


def run(coro):
    return asyncio.run(coro)


def make_task():
    t = make_fs_task()
    t.state, t.on_cpu, t.sighand, t.sigpending, t.siginfo = State.RUNNABLE, None, None, 0, {}
    t.blocked, t.saved_blocked, t.tgid, t.tid, t.kernel, t.pending = 0, None, 2, 2, None, None
    t.group = ThreadGroup(2)
    t.group.threads.append(t)
    t.real_blocked = 0
    t.utime_ns = t.stime_ns = 0
    t.ptrace = PtraceState()
    return t


async def acall(task, name, *args):
    try:
        result = SYSCALLS[SYSCALL_NUMBERS[name]].handler(task, *args)
        return await result if asyncio.iscoroutine(result) else result   # plain handlers never sleep
    except Errno as e:
        return -e.code


def call(task, name, *args):
    return run(acall(task, name, *args))


def new_pipe(task, flags=0):
    ptr = task.mm.alloc(8)
    assert call(task, "pipe2", ptr, flags) == 0
    return struct.unpack("<ii", task.mm.read(ptr, 8))


# ---------------------------------------------------------------- the Pipe itself

def test_pipe_read_returns_what_was_written_then_eof_when_writers_close():
    async def main():
        r, w = Pipe().open_pair(0)
        assert await w.write(b"hello") == 5
        assert await r.read(3) == b"hel"
        assert await r.read(100) == b"lo"
        w.release()
        return await r.read(100)
    assert run(main()) == b""


def test_pipe_nonblocking_read_of_empty_pipe_is_eagain():
    async def main():
        r, _w = Pipe().open_pair(O_NONBLOCK)
        with pytest.raises(Errno) as e:
            await r.read(1)
        return e.value.code
    assert run(main()) == errno.EAGAIN


def test_pipe_write_with_no_reader_is_epipe_but_empty_write_succeeds():
    async def main():
        r, w = Pipe().open_pair(0)
        r.release()
        assert await w.write(b"") == 0
        with pytest.raises(Errno) as e:
            await w.write(b"x")
        return e.value.code
    assert run(main()) == errno.EPIPE


def test_pipe_small_writes_are_atomic_and_merge_into_the_last_page():
    async def main():
        r, w = Pipe().open_pair(O_NONBLOCK)
        assert await w.write(b"a" * (PIPE_DEF_SIZE - 100)) == PIPE_DEF_SIZE - 100   # 16 pages, 100 free
        with pytest.raises(Errno) as e:
            await w.write(b"b" * 200)              # does not fit the last page, no free page: EAGAIN
        assert e.value.code == errno.EAGAIN
        with pytest.raises(Errno):
            await w.write(b"c" * 8192)             # whole pages only: none free
        assert await w.write(b"d" * 100) == 100     # the odd tail merges into the last page
        assert len(await r.read(PIPE_DEF_SIZE)) == PIPE_DEF_SIZE
    run(main())


def test_pipe_thousand_byte_writes_fill_64000_bytes_like_linux():
    async def main():
        r, w = Pipe().open_pair(O_NONBLOCK)
        total = 0
        while True:
            try:
                total += await w.write(b"x" * 1000)
            except Errno:
                break
        assert await w.write(b"y") == 1             # still merges into the last page
        return total
    assert run(main()) == 64000


def test_pipe_packet_mode_reads_one_write_at_a_time():
    async def main():
        r, w = Pipe().open_pair(O_DIRECT)
        await w.write(b"one")
        await w.write(b"three")
        first, second = await r.read(100), await r.read(2)
        w.release()
        return first, second, await r.read(100)
    assert run(main()) == (b"one", b"th", b"")


def test_pipe_blocking_writer_waits_for_the_reader_and_wakes():
    async def main():
        r, w = Pipe().open_pair(0)
        writer = asyncio.ensure_future(w.write(b"x" * (PIPE_DEF_SIZE + 5000)))
        await asyncio.sleep(0.01)
        assert not writer.done()
        got = b""
        while len(got) < PIPE_DEF_SIZE + 5000:
            got += await r.read(10000)
        return await writer, got
    n, got = run(main())
    assert n == PIPE_DEF_SIZE + 5000 and got == b"x" * n


def test_pipe_blocked_reader_wakes_on_data_and_on_last_writer_close():
    async def main():
        r, w = Pipe().open_pair(0)
        reader = asyncio.ensure_future(r.read(10))
        await asyncio.sleep(0.01)
        assert not reader.done()
        await w.write(b"hi")
        first = await reader
        reader = asyncio.ensure_future(r.read(10))
        await asyncio.sleep(0.01)
        w.release()
        return first, await reader
    assert run(main()) == (b"hi", b"")


def test_pipe_interrupted_large_write_reports_the_bytes_written():
    async def main():
        r, w = Pipe().open_pair(0)
        writer = asyncio.ensure_future(w.write(b"x" * (PIPE_DEF_SIZE * 2)))
        await asyncio.sleep(0.01)
        writer.cancel()
        return await writer
    assert run(main()) == PIPE_DEF_SIZE


def test_pipe_poll_masks_follow_linux():
    async def main():
        pipe = Pipe()
        r, w = pipe.open_pair(0)
        assert r.poll_events(0xFFFF) == 0
        assert w.poll_events(0xFFFF) == POLLOUT | POLLWRNORM
        await w.write(b"x")
        assert r.poll_events(0xFFFF) == POLLIN | POLLRDNORM
        await w.write(b"y" * (PIPE_DEF_SIZE - PIPE_BUF))
        assert not w.poll_events(0xFFFF) & POLLOUT        # less than a page free
        w.release()
        assert r.poll_events(0xFFFF) == POLLIN | POLLRDNORM | POLLHUP
        await r.read(PIPE_DEF_SIZE)
        assert r.poll_events(0xFFFF) == POLLHUP
        r2, w2 = Pipe().open_pair(0)
        r2.release()
        assert w2.poll_events(0xFFFF) == POLLOUT | POLLWRNORM | POLLERR
    run(main())


def test_pipe_resize_rounds_to_pages_and_refuses_to_drop_data():
    pipe = Pipe()
    assert pipe.resize(1, privileged=False) == 4096
    assert pipe.resize(5000, privileged=False) == 8192
    with pytest.raises(Errno) as e:
        pipe.resize(1 << 21, privileged=False)
    assert e.value.code == errno.EPERM
    pipe.resize(PIPE_DEF_SIZE, privileged=False)

    async def fill():
        r, w = pipe.open_pair(0)
        await w.write(b"x" * 10000)                         # three page buffers
        return r, w
    reader, _ = run(fill())
    with pytest.raises(Errno) as e:
        pipe.resize(4096, privileged=False)
    assert e.value.code == errno.EBUSY
    assert pipe.resize(16384, privileged=False) == 16384 and reader.poll_events(0xFFFF) & POLLIN


# ---------------------------------------------------------------- FIFOs

def make_fifo(task):
    return vfs_create(task.fs.root, b"fifo", S.S_IFIFO | 0o644, None)


def test_fifo_nonblocking_opens_read_succeeds_write_without_reader_is_enxio():
    task = make_task()
    loc = make_fifo(task)

    async def main():
        with pytest.raises(Errno) as e:
            await open_location(loc, O_WRONLY | O_NONBLOCK)
        assert e.value.code == errno.ENXIO
        r = await open_location(loc, O_RDONLY | O_NONBLOCK)
        assert r.poll_events(0xFFFF) == 0                   # no POLLHUP before any writer
        w = await open_location(loc, O_WRONLY | O_NONBLOCK)
        await w.write(b"through the fifo")
        data = await r.read(100)
        w.release()
        assert r.poll_events(0xFFFF) == POLLHUP             # a writer came and went
        assert S.S_ISFIFO(r.stat().st_mode) and r.stat().st_ino == loc.inode.ino
        r.release()
        assert getattr(loc.inode, "fifo_pipe", None) is None
        return data
    assert run(main()) == b"through the fifo"


def test_fifo_blocking_open_for_read_waits_for_a_writer():
    task = make_task()
    loc = make_fifo(task)

    async def main():
        opener = asyncio.ensure_future(open_location(loc, O_RDONLY))
        await asyncio.sleep(0.01)
        assert not opener.done()
        w = await open_location(loc, O_WRONLY)              # a reader is there: no wait
        r = await opener
        rw = await open_location(loc, O_RDWR)               # never waits
        return r, w, rw
    r, w, rw = run(main())
    assert loc.inode.fifo_pipe.readers == 2 and loc.inode.fifo_pipe.writers == 2


def test_fifo_interrupted_open_leaves_no_end_behind():
    task = make_task()
    loc = make_fifo(task)

    async def main():
        opener = asyncio.ensure_future(open_location(loc, O_WRONLY))
        await asyncio.sleep(0.01)
        opener.cancel()
        with pytest.raises(asyncio.CancelledError):
            await opener
    run(main())
    assert getattr(loc.inode, "fifo_pipe", None) is None


# ---------------------------------------------------------------- pipe2, write's SIGPIPE, fcntl, ioctl

@covers("pipe2", "read", "write", "fstat")
def test_pipe2_installs_two_descriptors_that_talk():
    task = make_task()
    rfd, wfd = new_pipe(task)
    assert (rfd, wfd) == (0, 1)
    assert call(task, "write", wfd, task.mm.put(b"abc"), 3) == 3
    buf = task.mm.alloc(8)
    assert call(task, "read", rfd, buf, 8) == 3 and task.mm.read(buf, 3) == b"abc"
    st = task.mm.alloc(128)
    assert call(task, "fstat", rfd, st) == 0
    mode, = struct.unpack_from("<I", task.mm.read(st, 128), 16)
    assert mode == S.S_IFIFO | 0o600


@covers("pipe2")
def test_pipe2_flags_cloexec_nonblock_and_bad_flags():
    task = make_task()
    rfd, wfd = new_pipe(task, O_CLOEXEC | O_NONBLOCK)
    assert task.files.cloexec(rfd) and task.files.cloexec(wfd)
    assert task.files.get(rfd).flags & O_NONBLOCK
    assert call(task, "pipe2", task.mm.alloc(8), 0x1) == -errno.EINVAL


@covers("pipe2")
def test_pipe2_bad_pointer_is_efault_and_installs_nothing():
    task = make_task()
    assert call(task, "pipe2", 0xDEAD_0000, 0) == -errno.EFAULT
    assert list(task.files.items()) == []


@covers("write", "writev")
def test_write_to_pipe_without_reader_is_epipe_and_raises_sigpipe():
    task = make_task()
    rfd, wfd = new_pipe(task)
    call(task, "close", rfd)
    assert call(task, "write", wfd, task.mm.put(b"x"), 1) == -errno.EPIPE
    assert task.sigpending & bit(SIGPIPE)


@covers("fcntl", "ioctl")
def test_pipe_size_fcntl_and_fionread():
    task = make_task()
    rfd, wfd = new_pipe(task)
    assert call(task, "fcntl", rfd, 1032, 0) == PIPE_DEF_SIZE          # F_GETPIPE_SZ
    assert call(task, "fcntl", wfd, 1031, 100000) == 131072            # F_SETPIPE_SZ
    call(task, "write", wfd, task.mm.put(b"12345"), 5)
    p = task.mm.alloc(4)
    assert call(task, "ioctl", rfd, FIONREAD, p) == 0 and struct.unpack("<i", task.mm.read(p, 4))[0] == 5


@covers("close_range")
def test_close_range_closes_or_marks_cloexec():
    task = make_task()
    for _ in range(3):
        new_pipe(task)                          # fds 0..5
    assert call(task, "close_range", 1, 2, 4) == 0          # CLOSE_RANGE_CLOEXEC
    assert task.files.cloexec(1) and task.files.cloexec(2) and not task.files.cloexec(3)
    assert call(task, "close_range", 3, 0xFFFFFFFF, 0) == 0
    assert [fd for fd, _ in task.files.items()] == [0, 1, 2]
    assert call(task, "close_range", 2, 1, 0) == -errno.EINVAL
    assert call(task, "close_range", 0, 1, 1) == -errno.EINVAL


# ---------------------------------------------------------------- ppoll and pselect6

def pollfds(task, *pairs):
    return task.mm.put(b"".join(struct.pack("<ihh", fd, ev, 0) for fd, ev in pairs))


def revents(task, ptr, n):
    return [struct.unpack_from("<ihh", task.mm.read(ptr, 8 * n), 8 * i)[2] for i in range(n)]


def timespec(task, sec, nsec=0):
    return task.mm.put(struct.pack("<qq", sec, nsec))


@covers("ppoll")
def test_ppoll_reports_readiness_nval_and_hup():
    task = make_task()
    rfd, wfd = new_pipe(task)
    fds = pollfds(task, (rfd, POLLIN), (wfd, POLLOUT), (77, POLLIN), (-1, POLLIN))
    assert call(task, "ppoll", fds, 4, timespec(task, 0), 0, 8) == 2
    assert revents(task, fds, 4) == [0, POLLOUT, POLLNVAL, 0]
    call(task, "close", wfd)
    fds = pollfds(task, (rfd, POLLIN))
    assert call(task, "ppoll", fds, 1, 0, 0, 8) == 1 and revents(task, fds, 1) == [POLLHUP]
    assert call(task, "ppoll", fds, 2000, 0, 0, 8) == -errno.EINVAL


@covers("ppoll")
def test_ppoll_times_out_and_writes_back_the_time_left():
    task = make_task()
    rfd, _ = new_pipe(task)
    fds, tmo = pollfds(task, (rfd, POLLIN)), timespec(task, 0, 30_000_000)
    assert call(task, "ppoll", fds, 1, tmo, 0, 8) == 0
    assert struct.unpack("<qq", task.mm.read(tmo, 16)) == (0, 0)


@covers("ppoll")
def test_ppoll_sleeping_wakes_when_another_task_writes():
    task = make_task()
    rfd, wfd = new_pipe(task)
    fds = pollfds(task, (rfd, POLLIN))

    async def main():
        poller = asyncio.ensure_future(acall(task, "ppoll", fds, 1, 0, 0, 8))
        await asyncio.sleep(0.01)
        assert not poller.done()
        await task.files.get(wfd).write(b"x")
        return await poller
    assert run(main()) == 1 and revents(task, fds, 1) == [POLLIN]


@covers("ppoll")
def test_ppoll_interrupted_returns_erestartnohand_and_keeps_saved_mask_for_delivery():
    task = make_task()
    rfd, _ = new_pipe(task)
    task.blocked = bit(SIGALRM)
    fds, mask = pollfds(task, (rfd, POLLIN)), task.mm.put(struct.pack("<Q", 0))

    async def main():
        poller = asyncio.ensure_future(acall(task, "ppoll", fds, 1, 0, mask, 8))
        await asyncio.sleep(0.01)
        assert task.blocked == 0 and task.saved_blocked == bit(SIGALRM)
        poller.cancel()                                 # what a signal does to a sleep
        return await poller
    assert run(main()) == -ERESTARTNOHAND
    assert task.saved_blocked == bit(SIGALRM)           # delivery puts it back after the frame


@covers("ppoll")
def test_ppoll_unblocking_a_pending_signal_is_interrupted_at_once_else_mask_restored():
    task = make_task()
    rfd, wfd = new_pipe(task)
    task.blocked = task.sigpending = bit(SIGALRM)
    fds, mask = pollfds(task, (rfd, POLLIN)), task.mm.put(struct.pack("<Q", 0))
    assert call(task, "ppoll", fds, 1, 0, mask, 8) == -ERESTARTNOHAND
    task.blocked, task.saved_blocked, task.sigpending = bit(SIGALRM), None, 0
    fds = pollfds(task, (wfd, POLLOUT))
    assert call(task, "ppoll", fds, 1, 0, mask, 8) == 1
    assert task.blocked == bit(SIGALRM) and task.saved_blocked is None
    assert call(task, "ppoll", fds, 1, 0, mask, 4) == -errno.EINVAL


def fdset(task, *fds):
    bits = 0
    for fd in fds:
        bits |= 1 << fd
    return task.mm.put(bits.to_bytes(128, "little"))


def fdset_bits(task, ptr):
    bits = int.from_bytes(task.mm.read(ptr, 8), "little")
    return [fd for fd in range(64) if bits >> fd & 1]


@covers("pselect6")
def test_pselect6_marks_ready_descriptors_and_counts_bits():
    task = make_task()
    rfd, wfd = new_pipe(task)
    rd, wr = fdset(task, rfd), fdset(task, wfd, rfd)
    assert call(task, "pselect6", 64, rd, wr, 0, timespec(task, 0), 0) == 1
    assert fdset_bits(task, rd) == [] and fdset_bits(task, wr) == [wfd]
    call(task, "write", wfd, task.mm.put(b"x"), 1)
    rd, wr = fdset(task, rfd), fdset(task, wfd)
    assert call(task, "pselect6", 64, rd, wr, 0, 0, 0) == 2
    assert fdset_bits(task, rd) == [rfd] and fdset_bits(task, wr) == [wfd]
    assert call(task, "pselect6", 64, fdset(task, 9), 0, 0, 0, 0) == -errno.EBADF
    assert call(task, "pselect6", -1, 0, 0, 0, 0, 0) == -errno.EINVAL


@covers("pselect6")
def test_pselect6_timeout_with_a_sigmask_argument():
    task = make_task()
    rfd, _ = new_pipe(task)
    mask = task.mm.put(struct.pack("<Q", 0))
    sig = task.mm.put(struct.pack("<QQ", mask, 8))
    rd = fdset(task, rfd)
    assert call(task, "pselect6", rfd + 1, rd, 0, 0, timespec(task, 0, 20_000_000), sig) == 0
    assert fdset_bits(task, rd) == []


# ---------------------------------------------------------------- sleeps and timers

@covers("nanosleep")
def test_nanosleep_sleeps_about_the_requested_time():
    task = make_task()
    req = timespec(task, 0, 50_000_000)

    async def main():
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        r = await acall(task, "nanosleep", req, 0)
        return r, loop.time() - t0
    r, took = run(main())
    assert r == 0 and 0.05 <= took < 0.5
    assert call(task, "nanosleep", timespec(task, 0, 1_000_000_000), 0) == -errno.EINVAL
    assert call(task, "nanosleep", timespec(task, -1), 0) == -errno.EINVAL


@covers("nanosleep", "restart_syscall")
def test_nanosleep_interrupted_stores_the_time_left():
    task = make_task()
    req, rem = timespec(task, 10), timespec(task, 0)

    async def main():
        sleeper = asyncio.ensure_future(acall(task, "nanosleep", req, rem))
        await asyncio.sleep(0.02)
        sleeper.cancel()
        return await sleeper
    assert run(main()) == -ERESTART_RESTARTBLOCK
    sec, nsec = struct.unpack("<qq", task.mm.read(rem, 16))
    assert 9 <= sec < 10
    assert task.restart_block is not None


@covers("clock_nanosleep")
def test_clock_nanosleep_absolute_and_bad_clocks():
    import time
    task = make_task()
    target = time.clock_gettime_ns(time.CLOCK_MONOTONIC) + 30_000_000
    req = timespec(task, target // 10**9, target % 10**9)
    assert call(task, "clock_nanosleep", 1, 1, req, 0) == 0
    assert time.clock_gettime_ns(time.CLOCK_MONOTONIC) >= target
    assert call(task, "clock_nanosleep", 4, 0, req, 0) == -errno.EOPNOTSUPP
    assert call(task, "clock_nanosleep", 99, 0, req, 0) == -errno.EINVAL


@covers("setitimer", "getitimer")
def test_setitimer_real_sends_sigalrm_and_reloads():
    task = make_task()
    new = task.mm.put(struct.pack("<qqqq", 0, 20_000, 0, 20_000))       # every 20 ms
    cur = task.mm.alloc(32)

    async def main():
        assert await acall(task, "setitimer", 0, new, 0) == 0
        await asyncio.sleep(0.03)
        assert pending(task) & bit(SIGALRM)
        assert await acall(task, "getitimer", 0, cur) == 0
        interval, value = struct.unpack("<qqqq", task.mm.read(cur, 32))[:2], \
            struct.unpack("<qqqq", task.mm.read(cur, 32))[2:]
        assert interval == (0, 20_000) and value[0] == 0 and 0 < value[1] <= 20_000
        old = task.mm.alloc(32)
        assert await acall(task, "setitimer", 0, task.mm.put(bytes(32)), old) == 0
        assert struct.unpack("<qqqq", task.mm.read(old, 32))[:2] == (0, 20_000)
        assert task.group.itimer_real.handle is None
    run(main())
    assert call(task, "setitimer", 5, 0, 0) == -errno.EINVAL
    assert call(task, "setitimer", 0, task.mm.put(struct.pack("<qqqq", 0, 0, 0, 1_000_000)), 0) == -errno.EINVAL


@covers("mknodat")
def test_mknodat_makes_fifos_and_checks_type_and_privilege():
    task = make_task()
    AT_FDCWD = 0xFFFF_FF9C
    assert call(task, "mknodat", AT_FDCWD, task.mm.cstr(b"/tmp/f"), S.S_IFIFO | 0o666, 0) == 0
    st = task.fs.root.inode.lookup(b"tmp").lookup(b"f")
    assert S.S_ISFIFO(st.mode) and st.mode & 0o777 == 0o644          # umask 022
    assert call(task, "mknodat", AT_FDCWD, task.mm.cstr(b"/tmp/f"), S.S_IFIFO | 0o666, 0) == -errno.EEXIST
    assert call(task, "mknodat", AT_FDCWD, task.mm.cstr(b"/tmp/d"), S.S_IFDIR | 0o755, 0) == -errno.EPERM
    assert call(task, "mknodat", AT_FDCWD, task.mm.cstr(b"/tmp/x"), 0o170000, 0) == -errno.EINVAL
    assert call(task, "mknodat", AT_FDCWD, task.mm.cstr(b"/tmp/c"), S.S_IFCHR | 0o600, 0x103) == 0
    assert task.fs.root.inode.lookup(b"tmp").lookup(b"c").rdev == 0x103
    task.creds.euid, task.creds.cap_effective = 1000, 0
    assert call(task, "mknodat", AT_FDCWD, task.mm.cstr(b"/tmp/c2"), S.S_IFCHR | 0o600, 0x103) == -errno.EPERM


def test_host_fd_watchers_share_one_loop_registration():
    import os
    from moss_host.fs.hostfile import _watchers, watch_host_fd
    r, w = os.pipe()

    async def main():
        hits = []
        stop_a = watch_host_fd(r, False, lambda: hits.append("a"))
        stop_b = watch_host_fd(r, False, lambda: hits.append("b"))
        os.write(w, b"x")
        await asyncio.sleep(0.01)
        stop_a()
        assert (r, False) in _watchers                  # b still watches
        hits.clear()
        await asyncio.sleep(0.01)
        assert hits and set(hits) == {"b"}
        stop_b()
        assert (r, False) not in _watchers
        return True
    try:
        assert run(main())
    finally:
        os.close(r)
        os.close(w)


@covers("ppoll")
def test_ppoll_on_a_host_pipe_wakes_when_the_host_writes():
    import os
    from moss_host.fs.hostfile import HostFile
    task = make_task()
    r, w = os.pipe()
    fd = task.files.install(HostFile(r, O_RDONLY))
    fds = pollfds(task, (fd, POLLIN))

    async def main():
        asyncio.get_running_loop().call_later(0.02, os.write, w, b"x")
        return await acall(task, "ppoll", fds, 1, 0, 0, 8)
    try:
        assert run(main()) == 1 and revents(task, fds, 1) == [POLLIN]
    finally:
        os.close(r)
        os.close(w)


@covers("setitimer", "getitimer")
def test_itimer_virtual_and_prof_fire_on_cpu_time():
    from moss_host.proc.signals import SIGPROF, SIGVTALRM
    task = make_task()
    ten_ms = task.mm.put(struct.pack("<qqqq", 0, 0, 0, 10_000))
    cur = task.mm.alloc(32)

    async def main():
        assert await acall(task, "setitimer", 1, ten_ms, 0) == 0
        assert await acall(task, "setitimer", 2, ten_ms, 0) == 0
        await acall(task, "getitimer", 1, cur)
        assert 0 < struct.unpack("<qqqq", task.mm.read(cur, 32))[3] <= 14_000
        await asyncio.sleep(0.02)
        assert not pending(task)                  # no CPU time used: nothing fires
        task.utime_ns += 20_000_000                 # 20 ms of user time
        await asyncio.sleep(0.02)
        assert pending(task) & bit(SIGVTALRM) and pending(task) & bit(SIGPROF)
        assert task.group.itimer_real.tick is None        # one-shot: disarmed, no more ticks
    run(main())


@covers("write")
def test_reader_leaving_mid_write_returns_the_bytes_written_and_raises_sigpipe():
    task = make_task()
    rfd, wfd = new_pipe(task)
    n = 2 * PIPE_DEF_SIZE
    buf = task.mm.put(b"x" * n)

    async def main():
        writer = asyncio.ensure_future(acall(task, "write", wfd, buf, n))
        await asyncio.sleep(0.01)
        assert not writer.done()
        task.files.close(rfd)
        return await writer
    assert run(main()) == PIPE_DEF_SIZE
    assert task.sigpending & bit(SIGPIPE)


@covers("restart_syscall")
def test_restart_syscall_resumes_an_interrupted_sleep_with_the_time_left():
    task = make_task()
    req, rem = timespec(task, 0, 200_000_000), timespec(task, 0)

    async def main():
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        sleeper = asyncio.ensure_future(acall(task, "nanosleep", req, rem))
        await asyncio.sleep(0.05)
        sleeper.cancel()
        assert await sleeper == -ERESTART_RESTARTBLOCK
        assert await acall(task, "restart_syscall") == 0       # sleeps only what was left
        return loop.time() - t0
    took = run(main())
    assert 0.2 <= took < 0.35
    assert call(task, "restart_syscall") == -errno.EINTR        # nothing left to restart
