"""futex(2): decode the operation and its arguments, in the order Linux's sys_futex and
do_futex check them; the waiting and waking are proc/futex.py's."""
from __future__ import annotations

import asyncio

from moss_host.errors import EINVAL, ENOSYS, ERESTART_RESTARTBLOCK, Errno
from moss_host.proc.futex import BITSET_MATCH_ANY
from moss_host.proc.task import State
from moss_host.uapi import NSEC_PER_SEC, TIMESPEC, timespec_valid

from .args import Hex, Int, Ptr
from .table import syscall
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


@syscall("futex")
async def futex(task, uaddr: "Ptr", op: "Hex", val: "Int", utime: "Ptr", uaddr2: "Ptr", val3: "Hex") -> int:
    """Wait on or wake the futex word at uaddr (FUTEX_WAIT, WAKE, REQUEUE, CMP_REQUEUE,
    WAKE_OP, WAIT_BITSET, WAKE_BITSET; PRIVATE_FLAG and CLOCK_REALTIME)."""
    op &= 0xFFFF_FFFF
    cmd = op & FUTEX_CMD_MASK
    deadline = None
    if utime and cmd in TIMED:
        deadline = _deadline(task, utime, cmd, op)
    # Linux 6.1 takes FUTEX_CLOCK_REALTIME on these only (not on FUTEX_WAIT: ENOSYS).
    if op & FUTEX_CLOCK_REALTIME and cmd not in (FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_LOCK_PI2):
        raise Errno(ENOSYS)
    table = task.kernel.futexes
    mm = task.mm
    private = bool(op & FUTEX_PRIVATE_FLAG)
    val3 &= 0xFFFF_FFFF
    if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        bitset = BITSET_MATCH_ANY if cmd == FUTEX_WAIT else val3
        return await _wait(task, uaddr, val, deadline, bitset, private)
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        return table.wake(mm, uaddr, _s32(val), BITSET_MATCH_ANY if cmd == FUTEX_WAKE else val3,
                          private=private)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        return table.requeue(mm, uaddr, uaddr2, _s32(val), _s32(utime),
                             None if cmd == FUTEX_REQUEUE else val3, private=private)
    if cmd == FUTEX_WAKE_OP:
        return table.wake_op(mm, uaddr, uaddr2, _s32(val), _s32(utime), val3, private=private)
    raise Errno(ENOSYS, f"futex op {cmd} (priority inheritance) is not implemented")


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
    clock = CLOCK_REALTIME if op & FUTEX_CLOCK_REALTIME else CLOCK_MONOTONIC
    return asyncio.get_running_loop().time() + (ns - clock_ns(clock)) / NSEC_PER_SEC


async def _wait(task, uaddr: int, val: int, deadline: float | None, bitset: int, private: bool) -> int:
    """A signal ends the wait with -ERESTARTSYS (no timeout: the wait is simply redone) or,
    with a timeout, -ERESTART_RESTARTBLOCK resuming towards the same deadline."""
    try:
        return await task.kernel.futexes.wait(task.mm, uaddr, val, deadline, bitset, private=private)
    except asyncio.CancelledError:
        if deadline is None or task.state is State.ZOMBIE:
            raise
    task.restart_block = lambda: _wait(task, uaddr, val, deadline, bitset, private)
    raise Errno(ERESTART_RESTARTBLOCK)
