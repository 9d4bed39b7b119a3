"""epoll_create1, epoll_ctl, epoll_pwait, epoll_pwait2 (arm64 has neither epoll_create nor
epoll_wait; glibc builds those on these). The interest and ready lists are fs/epoll.py.

epoll_pwait* swap in the temporary signal mask as ppoll does (syscalls/poll.py); a wait a
signal interrupts ends with EINTR (never restarted) and leaves the saved mask for signal
delivery to restore.
"""
from __future__ import annotations

import asyncio
from typing import Sequence

from moss_host.errors import EFAULT, EINTR, EINVAL, Errno
from moss_host.fs.epoll import (EPOLL_CTL_DEL, EPOLL_EVENT, EPOLLET, EPOLLONESHOT, Epoll, EpollFile, EpItem,
                                check_ctl)
from moss_host.fs.drivers.procfs.sysctl_values import TUNABLES, epoll_watches
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import O_CLOEXEC, file_needs
from moss_host.proc.task import State
from moss_host.sched.parked import Parked
from moss_host.uapi import NSEC_PER_SEC, TIMESPEC, timespec_valid

from .args import Fd, Hex, Int, Ptr, Size
from .poll import _signal_pending, check_user_sigmask, restore_sigmask_unless, set_user_sigmask
from .table import SLOW, syscall

EPOLL_CLOEXEC = O_CLOEXEC
EP_MAX_EVENTS = 0x7FFF_FFFF // EPOLL_EVENT.size
TASK_SIZE = 1 << 48                  # access_ok: the user half of the address space

EPOLL_EVENT_SIZE = EPOLL_EVENT.size
_pack_event = EPOLL_EVENT.pack_into
_NOT_LEVEL = EPOLLONESHOT | EPOLLET


@syscall("epoll_create1")
async def epoll_create1(task, flags: "Hex") -> int:
    """A new epoll instance."""
    flags &= 0xFFFF_FFFF
    if flags & ~EPOLL_CLOEXEC:
        raise Errno(EINVAL)
    return task.files.install(EpollFile(uid=task.creds.uid), cloexec=bool(flags & EPOLL_CLOEXEC))


@syscall("epoll_ctl")
async def epoll_ctl(task, epfd: "Fd", op: "Int", fd: "Fd", event: "Ptr") -> int:
    """Add (EPOLL_CTL_ADD), change (MOD) or remove (DEL) fd in epfd's interest list."""
    op = fd_arg(op)
    events = data = 0
    if op != EPOLL_CTL_DEL:
        events, data = EPOLL_EVENT.unpack(task.mm.read(event, EPOLL_EVENT.size))    # EFAULT first
    ep_file = file_needs(task.files.get(fd_arg(epfd)))      # (fdget: an O_PATH descriptor is EBADF)
    target_fd = fd_arg(fd)
    target = file_needs(task.files.get(target_fd))
    ep = check_ctl(ep_file, target, op, events)
    ep.ctl(op, target, target_fd, events, data, _max_user_watches(task))
    return 0


def _max_user_watches(task) -> int:
    """/proc/sys/fs/epoll/max_user_watches: as set, else eventpoll_init's share of memory."""
    if TUNABLES.epoll_watches is not None:
        return TUNABLES.epoll_watches
    return epoll_watches(task.kernel.memory_kb()[0])


def _wait_args(task, epfd: int, events_ptr: int, maxevents: int) -> Epoll:
    """do_epoll_wait's checks: maxevents, the buffer's range, then the descriptor."""
    maxevents = fd_arg(maxevents)
    if maxevents <= 0 or maxevents > EP_MAX_EVENTS:
        raise Errno(EINVAL)
    if events_ptr + maxevents * EPOLL_EVENT.size > TASK_SIZE:
        raise Errno(EFAULT)
    f = file_needs(task.files.get(fd_arg(epfd)))
    if not isinstance(f, EpollFile):
        raise Errno(EINVAL)
    return f.ep


async def _epoll_wait(task, epfd: int, events_ptr: int, maxevents: int, timeout: float | None) -> int:
    ep = _wait_args(task, epfd, events_ptr, maxevents)
    try:
        got = await ep.wait(task, fd_arg(maxevents), timeout, lambda: _signal_pending(task))
    except asyncio.CancelledError:
        if task.state is State.ZOMBIE:
            raise                       # the task is gone
        raise Errno(EINTR) from None    # a signal: epoll_wait is never restarted
    return _store(task, ep, events_ptr, got)


def _store(task, ep: Epoll, events_ptr: int, got: Sequence[EpItem]) -> int:
    """ep_send_events' copy-out of what wait() or harvest() found; how many were stored."""
    if len(got) == 1:                   # the usual answer: one event, packed in place
        item = got[0]
        mm = task.mm
        at = mm.direct_offset(events_ptr, EPOLL_EVENT_SIZE)
        if at < 0:
            return _store_many(task, ep, events_ptr, got)
        _pack_event(mm.mem.physmem.mv, at, item.revents, item.data)
        if item.events & _NOT_LEVEL or not item.ready or ep.ready[-1] is not item:
            ep.settle(got)
        return 1                        # (level-triggered, last on the ready list: settle() keeps it so)
    if not got:
        return 0
    return _store_many(task, ep, events_ptr, got)


def _store_many(task, ep: Epoll, events_ptr: int, got: Sequence[EpItem]) -> int:
    stored: Sequence[EpItem] = got
    try:
        task.mm.write(events_ptr, b"".join([EPOLL_EVENT.pack(item.revents, item.data) for item in got]))
    except Errno:
        stored = _store_one_by_one(task, events_ptr, got)
    ep.settle(stored)
    return len(stored)


def _epoll_pwait_now(task, epfd: int, events: int, maxevents: int, timeout: int, sigmask: int,
                     sigsetsize: int):
    """epoll_pwait's synchronous try (_wait_now), its timeout in ms (negative: none)."""
    ms = fd_arg(timeout)
    return _wait_now(task, epfd, events, maxevents, None if ms < 0 else ms / 1000, sigmask, sigsetsize)


def _wait_now(task, epfd: int, events: int, maxevents: int, seconds: float | None, sigmask: int,
              sigsetsize: int):
    """epoll_pwait*'s synchronous try (table.py): events already ready, or a zero timeout,
    answer without a coroutine; a wait parks (_park_wait). SLOW for any argument the checks
    would refuse (the async path raises the errors in Linux's order).

    A temporary signal mask is checked (EINVAL, EFAULT) but not installed: an answer that
    needs no sleep is the same under either mask (readiness never depends on the blocked
    set), and Linux puts the caller's back before returning it. Only a sleep runs under it."""
    if sigmask:
        check_user_sigmask(task, sigmask, sigsetsize)
    maxevents &= 0xFFFF_FFFF
    if not 0 < maxevents <= EP_MAX_EVENTS or events + maxevents * EPOLL_EVENT_SIZE > TASK_SIZE:
        return SLOW
    f = task.files.get(epfd & 0xFFFF_FFFF)    # (a negative fd is as far out of range: EBADF)
    if type(f) is not EpollFile:
        return SLOW
    ep = f.ep
    steady = ep.steady
    if steady is not None:              # the usual answer: the same one event again, packed in place
        mm = task.mm
        at = mm.direct_offset(events, EPOLL_EVENT_SIZE)
        if at >= 0:
            _pack_event(mm.mem.physmem.mv, at, steady.revents, steady.data)
            return 1
    if ep.ready:
        got = ep.ready_now(task, maxevents) if ep.askers else ep.harvest(maxevents)
        if got:
            return _store(task, ep, events, got)
    if seconds == 0:
        return 0
    return _park_wait(task, ep, events, maxevents, seconds, sigmask, sigsetsize)


def _park_wait(task, ep: Epoll, events_ptr: int, maxevents: int, seconds: float | None, sigmask: int,
               sigsetsize: int):
    """Wait parked (sched/parked.py) under the temporary mask: a watch of the epoll's wait
    queue calls back inline when an item becomes ready (in the write, the close, the timer
    that made it so), harvests and answers there. The async path's wake-up took a future, a
    Task step and a done callback, two loop turns before the reply (epoll_pingpong: 171 us
    a round trip against pipe_pingpong's 58). A signal ends it with EINTR (never
    restarted), the mask left for delivery; one already pending takes the async path."""
    swapped = set_user_sigmask(task, sigmask, sigsetsize)
    if _signal_pending(task):
        restore_sigmask_unless(task, swapped, False)
        return SLOW                     # EINTR at once: the async path's
    parked: Parked
    stops: list = []

    def stop() -> None:
        if stops:
            stops.pop()()
            ep.parked -= 1

    def answer(got: Sequence[EpItem]) -> None:
        stop()
        try:
            result = _store(task, ep, events_ptr, got)
        except Errno as e:
            result = -e.code
        restore_sigmask_unless(task, swapped, False)
        parked.finish(result)

    def woken(key: int = 0) -> bool:
        if not parked.wakeable(woken):
            return False
        got = ep.ready_now(task, maxevents)
        if got:
            answer(got)
        return bool(got)

    def timed_out() -> None:
        parked.timer = None             # (it fired: nothing to cancel)
        if not parked.finished:
            answer(ep.ready_now(task, maxevents))

    def interrupted() -> int:
        stop()
        if task.state is not State.ZOMBIE:
            restore_sigmask_unless(task, swapped, True)     # delivery puts the caller's mask back
        return -EINTR

    parked = Parked(task, interrupted)
    stops.append(ep.wq.watch(woken))
    ep.parked += 1
    if seconds is not None:
        parked.timer = asyncio.get_running_loop().call_later(seconds, timed_out)
    return parked


def _store_one_by_one(task, events_ptr: int, got: Sequence[EpItem]) -> list[EpItem]:
    """epoll_put_uevent stops at the first event it cannot store: the ones before it count
    (EFAULT if none); the rest stay on the ready list."""
    stored: list[EpItem] = []
    for item in got:
        try:
            task.mm.write(events_ptr + len(stored) * EPOLL_EVENT_SIZE, EPOLL_EVENT.pack(item.revents, item.data))
        except Errno:
            if not stored:
                raise
            break
        stored.append(item)
    return stored


async def _with_sigmask(task, sigmask: int, sigsetsize: int, body) -> int:
    """do_epoll_pwait: the temporary mask around the wait; kept for delivery after EINTR."""
    swapped = set_user_sigmask(task, sigmask, sigsetsize)
    try:
        result = await body()
    except Errno as e:
        restore_sigmask_unless(task, swapped, e.code == EINTR)
        raise
    except BaseException:
        restore_sigmask_unless(task, swapped, False)
        raise
    restore_sigmask_unless(task, swapped, False)
    return result


@syscall("epoll_pwait", fast=_epoll_pwait_now)
async def epoll_pwait(task, epfd: "Fd", events: "Ptr", maxevents: "Int", timeout: "Int", sigmask: "Ptr",
                      sigsetsize: "Size") -> int:
    """Wait up to timeout ms (-1: forever, 0: not at all) for events on epfd's interest list;
    how many struct epoll_event were stored at events."""
    ms = fd_arg(timeout)
    seconds = None if ms < 0 else ms / 1000
    return await _with_sigmask(task, sigmask, sigsetsize,
                               lambda: _epoll_wait(task, epfd, events, maxevents, seconds))


def _epoll_pwait2_now(task, epfd: int, events: int, maxevents: int, timeout: int, sigmask: int,
                      sigsetsize: int):
    """epoll_pwait2's synchronous try: its timespec read and checked first, as the handler does."""
    seconds = None
    if timeout:
        sec, nsec = TIMESPEC.unpack(task.mm.read(timeout, TIMESPEC.size))     # EFAULT
        if not timespec_valid(sec, nsec):
            raise Errno(EINVAL)
        seconds = sec + nsec / NSEC_PER_SEC
    return _wait_now(task, epfd, events, maxevents, seconds, sigmask, sigsetsize)


@syscall("epoll_pwait2", fast=_epoll_pwait2_now)
async def epoll_pwait2(task, epfd: "Fd", events: "Ptr", maxevents: "Int", timeout: "Ptr", sigmask: "Ptr",
                       sigsetsize: "Size") -> int:
    """epoll_pwait with a struct timespec timeout (NULL: forever)."""
    seconds = None
    if timeout:
        sec, nsec = TIMESPEC.unpack(task.mm.read(timeout, TIMESPEC.size))     # EFAULT
        if not timespec_valid(sec, nsec):
            raise Errno(EINVAL)
        seconds = sec + nsec / NSEC_PER_SEC
    return await _with_sigmask(task, sigmask, sigsetsize,
                               lambda: _epoll_wait(task, epfd, events, maxevents, seconds))


