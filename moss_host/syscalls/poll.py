"""Waiting for file descriptors: ppoll and pselect6 (arm64 has neither poll nor select;
glibc builds them on these two).

Readiness comes from each file's `poll_events(events)`, which answers with the file's
POLL* mask now (files that never block, like regular files, are always ready). To sleep
until something may have changed, a poll subscribes one future to every watched file:
to its `poll_wq` WaitQueue when it has one (pipes; woken on every change of state), and
through its `poll_watch(events, callback)` when it is backed by a host descriptor (the
console: the event loop watches the host fd). After each wake-up everything is scanned
again, as Linux's do_poll/do_select do. Never a busy wait: the timeout is a loop timer.

Both calls may swap in a temporary signal mask for the wait (task.saved_blocked keeps the
caller's). On a normal return we put it back; when a signal interrupts the wait the call
ends with -ERESTARTNOHAND and leaves task.saved_blocked for signal delivery to restore
after it built the handler's frame (so the handler runs under the caller's own mask).
The time left is written back to the timeout, as Linux does for both calls.
"""
from __future__ import annotations

import asyncio
import functools
import struct
from typing import Any, Callable

from moss_host.errors import EBADF, EINTR, EINVAL, ERESTARTNOHAND, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import POLLER, OpenFile, poll_mask
from moss_host.proc import signals
from moss_host.proc.task import State
from moss_host.sched.parked import Parked
from moss_host.uapi import NSEC_PER_SEC, TIMESPEC, pack_timespec, timespec_valid

from .args import Int, Ptr, Size, UInt
from .table import SLOW, syscall

POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND = 0x40, 0x80, 0x100, 0x200
# What select counts as readable / writable / exceptional (fs/select.c).
POLLIN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR
POLLOUT_SET = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR
POLLEX_SET = POLLPRI
ALL_EVENTS = POLLIN | POLLPRI | POLLOUT | POLLRDNORM | POLLRDBAND | POLLWRNORM | POLLWRBAND

POLLFD = struct.Struct("<ihh")          # struct pollfd { int fd; short events; short revents; }
SIGSET_SIZE = 8
UNCATCHABLE = (1 << (9 - 1)) | (1 << (19 - 1))      # SIGKILL, SIGSTOP: never blocked


# ---------------------------------------------------------------- readiness

def file_mask(f) -> int:
    """The file's POLL* mask now, with the *NORM twins Linux files report alongside IN/OUT."""
    return poll_mask(f)


def _open_file(task, fd: int):
    """The file behind fd for polling, or None (not open, or an O_PATH descriptor)."""
    try:
        f = task.files.get(fd)
    except Errno:
        return None
    return None if f.is_path else f


async def sleep_on(files: list[tuple[OpenFile, int]], deadline: float | None, poller=None) -> None:
    """Sleep until any of files may have become ready for its events, or the loop time deadline.
    `poller` is the task asking (file.POLLER while subscribing: a signalfd's queue is its).

    Cancellation (a signal) propagates as CancelledError.
    """
    loop = asyncio.get_running_loop()
    woken = loop.create_future()

    def wake() -> None:
        if not woken.done():
            woken.set_result(None)

    stops = _subscribe(files, woken, wake, poller)
    try:
        timer = loop.call_at(deadline, wake) if deadline is not None else None
        try:
            await woken
        finally:
            if timer is not None:
                timer.cancel()
    finally:
        for stop in stops:
            stop()


def _subscribe(files: list[tuple[OpenFile, int]], woken: asyncio.Future, wake: Callable[[], None],
               poller) -> list[Callable[[], None]]:
    """Hang woken on every file's poll queue (wake on its watches); the functions that undo it."""
    stops: list[Callable[[], None]] = []
    token = POLLER.set(poller)
    try:
        for f, events in files:
            wq = f.poll_wq
            if wq is not None:
                # One future on many WaitQueues: wake_all() resolves it wherever it sits.
                wq.add_waiter(woken)
                stops.append(functools.partial(wq.remove_waiter, woken))
            stops += f.poll_watch(events, wake)
    except BaseException:
        for stop in stops:
            stop()
        raise
    finally:
        POLLER.reset(token)
    return stops


def _signal_pending(task) -> bool:
    return bool(signals.pending(task) & ~task.blocked)


async def wait_until_ready(task, scan: Callable[[], int], watched: Callable[[], list],
                           deadline: float | None) -> int:
    """Scan until something is ready (the count), the deadline passes (0), or a signal
    is pending or arrives (ERESTARTNOHAND), in do_poll's order of checks."""
    loop = asyncio.get_running_loop()
    while True:
        token = POLLER.set(task)
        try:
            count = scan()
        finally:
            POLLER.reset(token)
        if count:
            return count
        if _signal_pending(task):
            raise Errno(ERESTARTNOHAND)
        if deadline is not None and loop.time() >= deadline:
            return 0
        try:
            await sleep_on(watched(), deadline, task)
        except asyncio.CancelledError:
            if task.state is State.ZOMBIE:
                raise                   # the task is gone: nothing to write back
            raise Errno(ERESTARTNOHAND) from None


# ---------------------------------------------------------------- timeouts and masks

class Timeout:
    """A struct timespec timeout argument: None (wait forever) or a loop-time deadline."""

    def __init__(self, task, ptr: int):
        self.ptr = ptr
        self.deadline: float | None = None
        self.write_back = False             # a non-zero timeout: the time left is written back
        if ptr:
            sec, nsec = TIMESPEC.unpack(task.mm.read(ptr, TIMESPEC.size))    # EFAULT
            if not timespec_valid(sec, nsec):
                raise Errno(EINVAL)
            self.deadline = asyncio.get_running_loop().time() + sec + nsec / NSEC_PER_SEC
            self.write_back = bool(sec or nsec)     # Linux leaves a zero timeout alone

    def finish(self, task, result: int) -> int:
        """poll_select_finish: write the time left; if that faults, an interrupted call is EINTR."""
        if not self.write_back or self.deadline is None:
            return result
        left = max(0.0, self.deadline - asyncio.get_running_loop().time())
        try:
            task.mm.write(self.ptr, pack_timespec(int(left * NSEC_PER_SEC)))
        except Errno:
            if result == -ERESTARTNOHAND:
                return -EINTR           # cannot update the timeout, so cannot restart
        return result


def set_user_sigmask(task, ptr: int, size: int) -> bool:
    """Install the temporary mask at ptr (if any) for the wait; True if one was installed."""
    if not ptr:
        return False
    if size != SIGSET_SIZE:
        raise Errno(EINVAL)
    mask = struct.unpack("<Q", task.mm.read(ptr, SIGSET_SIZE))[0] & ~UNCATCHABLE
    if task.saved_blocked is None:      # (else an earlier swap was never undone: keep the original)
        task.saved_blocked = task.blocked
    task.blocked = mask
    return True


def check_user_sigmask(task, ptr: int, size: int) -> None:
    """set_user_sigmask's checks of a non-NULL mask without installing it: EINVAL for a size
    other than a sigset's, EFAULT if it cannot be read."""
    if size != SIGSET_SIZE:
        raise Errno(EINVAL)
    task.mm.read(ptr, SIGSET_SIZE)


def restore_sigmask_unless(task, swapped: bool, interrupted: bool) -> None:
    """Put the caller's mask back unless a signal will be delivered (delivery restores it)."""
    if swapped and not interrupted and task.saved_blocked is not None:
        task.blocked = task.saved_blocked
        task.saved_blocked = None


async def _with_mask_and_timeout(task, timeout: Timeout, swapped: bool, body) -> int:
    try:
        result = await body()
    except Errno as e:
        result = -e.code
    except BaseException:
        restore_sigmask_unless(task, swapped, False)
        raise
    restore_sigmask_unless(task, swapped, result == -ERESTARTNOHAND)
    result = timeout.finish(task, result)
    if result < 0:
        raise Errno(-result)
    return result


# ---------------------------------------------------------------- ppoll

class _PollFds:
    """ppoll's struct pollfd array: read once, scanned as often as the wait needs."""

    def __init__(self, task, fds_ptr: int, nfds: int):
        n = nfds & 0xFFFF_FFFF
        if n > task.files.limit:
            raise Errno(EINVAL)
        self.task = task
        self.ptr = fds_ptr
        self.raw = task.mm.read(fds_ptr, n * POLLFD.size) if n else b""
        self.events = [(fd, ev & 0xFFFF) for fd, ev, _ in POLLFD.iter_unpack(self.raw)]
        self.revents = [0] * n

    def scan(self) -> int:
        """do_pollfd over the array: how many have events (revents kept for store())."""
        task, revents = self.task, self.revents
        for i, (fd, ev) in enumerate(self.events):
            if fd < 0:
                revents[i] = 0
                continue
            f = _open_file(task, fd)
            revents[i] = POLLNVAL if f is None else file_mask(f) & (ev | POLLERR | POLLHUP)
        return sum(1 for r in revents if r)

    def watched(self) -> list:
        files = ((_open_file(self.task, fd), ev) for fd, ev in self.events if fd >= 0)
        return [(f, ev) for f, ev in files if f is not None]

    def store(self) -> None:
        out = bytearray(self.raw)
        for i, r in enumerate(self.revents):
            struct.pack_into("<h", out, i * POLLFD.size + 6, r - 0x10000 if r & 0x8000 else r)
        self.task.mm.write(self.ptr, bytes(out))


def _answer_now(task, timeout: Timeout, swapped: bool, arguments: Callable) -> Any:
    """The synchronous try of ppoll and pselect6 (table.py), after the timeout and the mask:
    something ready at the first scan, or a zero timeout with no signal pending, answers
    without a coroutine; SLOW otherwise (the mask put back: the async handler starts over).
    `arguments()` reads and checks the descriptors (their errors end the call as in
    _with_mask_and_timeout)."""
    try:
        fds = arguments()
        token = POLLER.set(task)
        try:
            count = fds.scan()
        finally:
            POLLER.reset(token)
        if not count and (timeout.deadline is None or timeout.write_back or _signal_pending(task)):
            if not _signal_pending(task):
                return _park_wait(task, timeout, swapped, fds)
            restore_sigmask_unless(task, swapped, False)
            return SLOW                 # it ends with ERESTARTNOHAND: the async path's
        fds.store()
        result = count
    except Errno as e:
        result = -e.code
    except BaseException:
        restore_sigmask_unless(task, swapped, False)
        raise
    restore_sigmask_unless(task, swapped, False)
    result = timeout.finish(task, result)
    if result < 0:
        raise Errno(-result)
    return result


def _park_wait(task, timeout: Timeout, swapped: bool, fds) -> Parked:
    """Wait parked (sched/parked.py) until a watched file may have become ready, the timeout
    or a signal: a lasting watch of every file (PollSubscription, epoll's) calls back inline,
    in whatever changed the file (another task's write, the console's input), scans again,
    and answers there if something is ready. The async path's wake-up went through a
    future, a Task step and a done callback, two loop turns before the reply: a key typed at
    a busybox prompt (ash waits in ppoll) came back in 117 us that way, 83 us parked."""
    subs: list = []
    parked: Parked

    def stop() -> None:
        for sub in subs:
            sub.stop()
        subs.clear()

    def answer(count: int) -> None:
        stop()
        result = count
        try:
            fds.store()
        except Errno as e:
            result = -e.code
        restore_sigmask_unless(task, swapped, False)
        parked.finish(timeout.finish(task, result))

    def changed(key: int = 0) -> bool:
        if not parked.wakeable(changed):
            return False
        token = POLLER.set(task)
        try:
            count = fds.scan()
        finally:
            POLLER.reset(token)
        if count:
            answer(count)
            return True
        for sub in subs:
            sub.rearm()                 # (a host fd's or tty's watch calls back once)
        return False

    def timed_out() -> None:
        parked.timer = None             # (it fired: nothing to cancel)
        if not changed():
            answer(0)

    def interrupted() -> int:
        stop()
        if task.state is State.ZOMBIE:
            return -ERESTARTNOHAND      # the task is gone: nothing to write back
        restore_sigmask_unless(task, swapped, True)     # delivery puts the caller's mask back
        return timeout.finish(task, -ERESTARTNOHAND)

    parked = Parked(task, interrupted)
    token = POLLER.set(task)            # (a signalfd's queue is the poller's)
    try:
        for f, events in fds.watched():
            subs.append(f.poll_subscribe(events, changed))
    except BaseException:
        stop()
        restore_sigmask_unless(task, swapped, False)
        raise
    finally:
        POLLER.reset(token)
    if timeout.deadline is not None:
        parked.timer = asyncio.get_running_loop().call_at(timeout.deadline, timed_out)
    return parked


def _ppoll_now(task, fds_ptr: int, nfds: int, tmo_ptr: int, sigmask: int, sigsetsize: int):
    """ppoll's synchronous try (_answer_now)."""
    timeout = Timeout(task, tmo_ptr)
    swapped = set_user_sigmask(task, sigmask, sigsetsize)
    return _answer_now(task, timeout, swapped, lambda: _PollFds(task, fds_ptr, nfds))


@syscall("ppoll", fast=_ppoll_now)
async def ppoll(task, fds_ptr: "Ptr", nfds: "UInt", tmo_ptr: "Ptr", sigmask: "Ptr", sigsetsize: "Size") -> int:
    """Wait for events on an array of struct pollfd; how many have non-zero revents (0 on timeout)."""
    timeout = Timeout(task, tmo_ptr)
    swapped = set_user_sigmask(task, sigmask, sigsetsize)

    async def body() -> int:
        fds = _PollFds(task, fds_ptr, nfds)
        count = await wait_until_ready(task, fds.scan, fds.watched, timeout.deadline)
        fds.store()
        return count

    return await _with_mask_and_timeout(task, timeout, swapped, body)


# ---------------------------------------------------------------- pselect6

def _fd_set_bytes(n: int) -> int:
    """FDS_BYTES: an fd_set of n bits is copied as whole 64-bit words."""
    return (n + 63) // 64 * 8


def _read_fd_set(task, ptr: int, n: int) -> int:
    if not ptr or not n:
        return 0
    bits = int.from_bytes(task.mm.read(ptr, _fd_set_bytes(n)), "little")
    return bits & ((1 << n) - 1)


class _SelectSets:
    """pselect6's three fd_sets: read and checked once, scanned as often as the wait needs."""

    def __init__(self, task, nfds: int, readfds: int, writefds: int, exceptfds: int):
        n = fd_arg(nfds)
        if n < 0:
            raise Errno(EINVAL)
        n = min(n, task.files.limit)
        self.task = task
        self.n = n
        self.ptrs = (readfds, writefds, exceptfds)
        self.want = [_read_fd_set(task, p, n) for p in self.ptrs]
        all_bits = self.want[0] | self.want[1] | self.want[2]
        self.fds = [fd for fd in range(n) if all_bits >> fd & 1]
        for fd in self.fds:
            if fd not in task.files:
                raise Errno(EBADF)
        self.got = [0, 0, 0]

    def scan(self) -> int:
        want, got = self.want, self.got
        got[:] = [0, 0, 0]
        for fd in self.fds:
            f = _open_file(self.task, fd)
            if f is None:
                continue
            mask = file_mask(f)
            for k, wanted_set in enumerate((POLLIN_SET, POLLOUT_SET, POLLEX_SET)):
                if want[k] >> fd & 1 and mask & wanted_set:
                    got[k] |= 1 << fd
        return sum(bin(g).count("1") for g in got)

    def watched(self) -> list:
        want = self.want
        out = []
        for fd in self.fds:
            f = _open_file(self.task, fd)
            if f is not None:
                ev = (POLLIN if want[0] >> fd & 1 else 0) | (POLLOUT if want[1] >> fd & 1 else 0) \
                    | (POLLPRI if want[2] >> fd & 1 else 0)
                out.append((f, ev))
        return out

    def store(self) -> None:
        size = _fd_set_bytes(self.n)
        for ptr, bits in zip(self.ptrs, self.got):
            if ptr and self.n:
                self.task.mm.write(ptr, bits.to_bytes(size, "little"))


def _select_mask(task, sig: int) -> tuple[int, int]:
    """pselect6's sixth argument: {sigset pointer, its size} (both 0 without one)."""
    if not sig:
        return 0, 0
    ss_ptr, ss_len = struct.unpack("<QQ", task.mm.read(sig, 16))
    return ss_ptr, ss_len


def _pselect6_now(task, nfds: int, readfds: int, writefds: int, exceptfds: int, tmo_ptr: int, sig: int):
    """pselect6's synchronous try, as _ppoll_now's."""
    ss_ptr, ss_len = _select_mask(task, sig)
    timeout = Timeout(task, tmo_ptr)
    swapped = set_user_sigmask(task, ss_ptr, ss_len)
    return _answer_now(task, timeout, swapped,
                       lambda: _SelectSets(task, nfds, readfds, writefds, exceptfds))


@syscall("pselect6", fast=_pselect6_now)
async def pselect6(task, nfds: "Int", readfds: "Ptr", writefds: "Ptr", exceptfds: "Ptr", tmo_ptr: "Ptr",
                   sig: "Ptr") -> int:
    """select(2) with a timespec timeout and a temporary mask ({sigset ptr, size} at sig):
    the ready descriptors replace the three fd_sets; returns how many bits are set."""
    ss_ptr, ss_len = _select_mask(task, sig)
    timeout = Timeout(task, tmo_ptr)
    swapped = set_user_sigmask(task, ss_ptr, ss_len)

    async def body() -> int:
        sets = _SelectSets(task, nfds, readfds, writefds, exceptfds)
        count = await wait_until_ready(task, sets.scan, sets.watched, timeout.deadline)
        sets.store()
        return count

    return await _with_mask_and_timeout(task, timeout, swapped, body)
