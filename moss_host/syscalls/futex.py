"""futex(2) and futex_waitv(2): decode the operation and its arguments, in the order Linux's
sys_futex, do_futex and sys_futex_waitv check them; the waiting and waking are
proc/futex.py's, the priority-inheritance operations proc/futex_pi.py's."""
from __future__ import annotations

import asyncio
import struct

from moss_host.errors import EINVAL, ENOSYS, ERESTART_RESTARTBLOCK, ERESTARTNOINTR, Errno
from moss_host.proc import futex_pi
from moss_host.proc.futex import BITSET_MATCH_ANY, queue_prio
from moss_host.proc.task import State
from moss_host.uapi import NSEC_PER_SEC, TIMESPEC, timespec_valid

from .args import Hex, Int, Ptr
from .table import SLOW, syscall
from .time import clock_ns

FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP = range(6)
FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = range(6, 11)
FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, FUTEX_LOCK_PI2 = range(11, 14)
FUTEX_PRIVATE_FLAG = 128
FUTEX_CLOCK_REALTIME = 256
FUTEX_CMD_MASK = ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
CLOCK_REALTIME, CLOCK_MONOTONIC = 0, 1

# The operations whose fourth argument is a timeout (futex_cmd_has_timeout); for the
# others it is a count (val2).
TIMED = (FUTEX_WAIT, FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI)


def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v


# Linux 6.1 takes FUTEX_CLOCK_REALTIME on these only (on FUTEX_WAIT: ENOSYS).
REALTIME_OK = (FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_LOCK_PI2)
WAITS = (FUTEX_WAIT, FUTEX_WAIT_BITSET)
NOW_OPS = (FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP)     # never sleep

# What futex_now answers without the async handler: the wakes and requeues at once, the
# plain waits by parking the caller (FutexTable.park); the PI operations sleep as jobs.
FAST = frozenset(WAITS + NOW_OPS)


def futex_now(task, uaddr: int, op: int, val: int, utime: int, uaddr2: int, val3: int):
    """futex's synchronous try (table.py): the same checks in the same order as futex()
    below, for the operations in FAST; SLOW for the others."""
    op &= 0xFFFF_FFFF
    cmd = op & FUTEX_CMD_MASK
    if cmd == FUTEX_WAKE and not op & FUTEX_CLOCK_REALTIME:      # (first: half of all calls)
        return task.kernel.futexes.wake(task.mm, uaddr, _s32(val), BITSET_MATCH_ANY,
                                        private=bool(op & FUTEX_PRIVATE_FLAG))
    if cmd not in FAST:
        return SLOW
    deadline = _deadline_checked(task, cmd, op, utime)
    private = bool(op & FUTEX_PRIVATE_FLAG)
    val3 &= 0xFFFF_FFFF
    if cmd in WAITS:
        bitset = BITSET_MATCH_ANY if cmd == FUTEX_WAIT else val3
        on_signal = None if deadline is None else _restart_block(task, uaddr, val, deadline, bitset, private)
        return task.kernel.futexes.park(task, task.mm, uaddr, val, deadline, bitset, private=private,
                                        prio=_prio(task), on_signal=on_signal)
    return _wake_or_requeue(task, cmd, uaddr, val, utime, uaddr2, val3, private)


def _deadline_checked(task, cmd: int, op: int, utime: int) -> float | None:
    """do_futex's first checks, in its order: a timed operation's timeout, then whether the
    operation takes FUTEX_CLOCK_REALTIME. The deadline, or None."""
    deadline = _deadline(task, utime, cmd, op) if utime and cmd in TIMED else None
    if op & FUTEX_CLOCK_REALTIME and cmd not in REALTIME_OK:
        raise Errno(ENOSYS)
    return deadline


def _wake_or_requeue(task, cmd: int, uaddr: int, val: int, utime: int, uaddr2: int, val3: int,
                     private: bool) -> int:
    """The operations in NOW_OPS, which never sleep; utime is their val2."""
    table = task.kernel.futexes
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        return table.wake(task.mm, uaddr, _s32(val), BITSET_MATCH_ANY if cmd == FUTEX_WAKE else val3,
                          private=private)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        return table.requeue(task.mm, uaddr, uaddr2, _s32(val), _s32(utime),
                             None if cmd == FUTEX_REQUEUE else val3, private=private)
    return table.wake_op(task.mm, uaddr, uaddr2, _s32(val), _s32(utime), val3, private=private)


def _restart_block(task, uaddr: int, val: int, deadline: float, bitset: int, private: bool):
    """A signal during a parked timed wait: as _wait's, -ERESTART_RESTARTBLOCK resuming
    towards the same deadline."""
    def interrupted() -> int:
        task.restart_block = lambda: _wait(task, uaddr, val, deadline, bitset, private)
        return -ERESTART_RESTARTBLOCK
    return interrupted


@syscall("futex", fast=futex_now)
async def futex(task, uaddr: "Ptr", op: "Hex", val: "Int", utime: "Ptr", uaddr2: "Ptr", val3: "Hex") -> int:
    """Wait on or wake the futex word at uaddr (FUTEX_WAIT, WAKE, REQUEUE, CMP_REQUEUE,
    WAKE_OP, WAIT_BITSET, WAKE_BITSET; PRIVATE_FLAG and CLOCK_REALTIME), or lock, unlock
    and requeue to a priority-inheritance futex (LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI,
    WAIT_REQUEUE_PI, CMP_REQUEUE_PI)."""
    op &= 0xFFFF_FFFF
    cmd = op & FUTEX_CMD_MASK
    deadline = _deadline_checked(task, cmd, op, utime)
    table = task.kernel.futexes
    mm = task.mm
    private = bool(op & FUTEX_PRIVATE_FLAG)
    val3 &= 0xFFFF_FFFF
    if cmd in WAITS:
        bitset = BITSET_MATCH_ANY if cmd == FUTEX_WAIT else val3
        return await _wait(task, uaddr, val, deadline, bitset, private)
    if cmd in NOW_OPS:
        return _wake_or_requeue(task, cmd, uaddr, val, utime, uaddr2, val3, private)
    if cmd in (FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_TRYLOCK_PI):
        return await _lock_pi(task, uaddr, None if cmd == FUTEX_TRYLOCK_PI else deadline, private,
                              cmd == FUTEX_TRYLOCK_PI)
    if cmd == FUTEX_UNLOCK_PI:
        return futex_pi.unlock_pi(table, mm, uaddr, task.tid, private)
    if cmd == FUTEX_WAIT_REQUEUE_PI:
        return await _restart_no_intr(task, futex_pi.wait_requeue_pi(table, mm, uaddr, val, deadline, uaddr2,
                                                                     task.tid, private, _prio(task)))
    if cmd == FUTEX_CMP_REQUEUE_PI:
        return futex_pi.cmp_requeue_pi(table, mm, uaddr, uaddr2, _s32(val), _s32(utime), val3, private,
                                       _alive(task))
    raise Errno(ENOSYS)


def _prio(task) -> int:
    """Where the caller queues among a futex's sleepers."""
    return queue_prio(task.sched_policy, task.sched_priority)


def _alive(task):
    """Whether a TID names a thread that has not exited (any process's: PI owners are
    looked up system-wide, as find_get_task_by_vpid does)."""
    pids = task.kernel.pids

    def alive(tid: int) -> bool:
        owner = pids.get(tid)
        return owner is not None and owner.state is not State.ZOMBIE
    return alive


async def _lock_pi(task, uaddr: int, deadline: float | None, private: bool, trylock: bool) -> int:
    return await _restart_no_intr(task, futex_pi.lock_pi(task.kernel.futexes, task.mm, uaddr, task.tid, deadline,
                                                         private, _alive(task), trylock, _prio(task)))


async def _restart_no_intr(task, call) -> int:
    """futex_lock_pi() turns -EINTR into -ERESTARTNOINTR: a signal never makes locking fail;
    the call is redone (the deadline is absolute, so it stays the same)."""
    try:
        return await call
    except asyncio.CancelledError:
        if task.state is State.ZOMBIE:
            raise
    raise Errno(ERESTARTNOINTR)


def _deadline(task, utime: int, cmd: int, op: int) -> float:
    """futex_init_timeout(): FUTEX_WAIT's timeout is relative, made absolute on
    CLOCK_MONOTONIC; the others' absolute, on CLOCK_REALTIME with FUTEX_CLOCK_REALTIME,
    CLOCK_MONOTONIC otherwise. As a loop time."""
    sec, nsec = TIMESPEC.unpack(task.mm.read(utime, TIMESPEC.size))
    if not timespec_valid(sec, nsec):
        raise Errno(EINVAL)
    ns = sec * NSEC_PER_SEC + nsec
    if cmd == FUTEX_WAIT:
        ns += clock_ns(CLOCK_MONOTONIC)
    # FUTEX_LOCK_PI's timeout is always on CLOCK_REALTIME; LOCK_PI2 lets the flag choose.
    realtime = op & FUTEX_CLOCK_REALTIME or cmd == FUTEX_LOCK_PI
    return _loop_time(ns, CLOCK_REALTIME if realtime else CLOCK_MONOTONIC)


def _loop_time(ns: int, clock: int) -> float:
    """An absolute time on clock as a time of the event loop."""
    return asyncio.get_running_loop().time() + (ns - clock_ns(clock)) / NSEC_PER_SEC


async def _wait(task, uaddr: int, val: int, deadline: float | None, bitset: int, private: bool) -> int:
    """A signal ends the wait with -ERESTARTSYS (no timeout: the wait is simply redone) or,
    with a timeout, -ERESTART_RESTARTBLOCK resuming towards the same deadline."""
    try:
        return await task.kernel.futexes.wait(task.mm, uaddr, val, deadline, bitset, private=private,
                                              prio=_prio(task))
    except asyncio.CancelledError:
        if deadline is None or task.state is State.ZOMBIE:
            raise
    task.restart_block = lambda: _wait(task, uaddr, val, deadline, bitset, private)
    raise Errno(ERESTART_RESTARTBLOCK)


# -- futex_waitv ------------------------------------------------------------------------------

FUTEX_WAITV_MAX = 128
FUTEX2_SIZE_U32 = 2
FUTEX2_PRIVATE = FUTEX_PRIVATE_FLAG
FUTEXV_WAITER_MASK = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE      # Linux 6.1: only 32-bit words
FUTEX_WAITV = struct.Struct("<QQII")        # struct futex_waitv: val, uaddr, flags, __reserved


@syscall("futex_waitv")
async def futex_waitv(task, waiters: "Ptr", nr_futexes: "Int", flags: "Hex", timeout: "Ptr", clockid: "Int") -> int:
    """Wait on up to 128 futex words at once until one is woken; its index."""
    nr_futexes &= 0xFFFF_FFFF
    if flags & 0xFFFF_FFFF:
        raise Errno(EINVAL)
    if not nr_futexes or nr_futexes > FUTEX_WAITV_MAX or not waiters:
        raise Errno(EINVAL)
    deadline = None
    if timeout:
        clockid = _s32(clockid)
        if clockid not in (CLOCK_REALTIME, CLOCK_MONOTONIC):
            raise Errno(EINVAL)
        sec, nsec = TIMESPEC.unpack(task.mm.read(timeout, TIMESPEC.size))
        if not timespec_valid(sec, nsec):
            raise Errno(EINVAL)
        deadline = _loop_time(sec * NSEC_PER_SEC + nsec, clockid)
    words = [_waitv_entry(task, waiters + i * FUTEX_WAITV.size) for i in range(nr_futexes)]
    return await task.kernel.futexes.wait_multiple(words, deadline, _prio(task))


def _waitv_entry(task, ptr: int):
    """futex_parse_waitv(): only FUTEX2_SIZE_U32 words and FUTEX2_PRIVATE, __reserved 0;
    the value is compared as 32 bits."""
    val, uaddr, flags, reserved = FUTEX_WAITV.unpack(task.mm.read(ptr, FUTEX_WAITV.size))
    if flags & ~FUTEXV_WAITER_MASK or reserved:
        raise Errno(EINVAL)
    if not flags & FUTEX2_SIZE_U32:
        raise Errno(EINVAL)
    return task.mm, uaddr, val & 0xFFFF_FFFF, bool(flags & FUTEX2_PRIVATE)
