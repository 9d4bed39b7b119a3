"""I/O scheduling classes and priorities: ioprio_get and ioprio_set (block/ioprio.c, Linux 6.1).

The value is recorded per thread (Task.ioprio, 0 until set: IOPRIO_CLASS_NONE) and reported
back; moss-py's disks serve requests in order whatever the class. ioprio_get of one process
answers the raw value as set (0 if never); of a process group or a user it answers the best
effective priority among their threads, an unset one standing for the class and level the
thread's scheduling policy and nice value give it (__get_task_ioprio).
"""
from __future__ import annotations

from moss_host.cred import CAP_SYS_ADMIN, CAP_SYS_NICE, capable
from moss_host.errors import EINVAL, EPERM, ESRCH, Errno
from moss_host.proc.task import State
from moss_host.sched import policy as P

from .args import Int, c_int
from .table import syscall

IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER = 1, 2, 3
IOPRIO_CLASS_NONE, IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE = 0, 1, 2, 3
IOPRIO_CLASS_SHIFT = 13
IOPRIO_NR_LEVELS = 8


def _class(ioprio: int) -> int:
    return (ioprio >> IOPRIO_CLASS_SHIFT) & 7


def _data(ioprio: int) -> int:
    return ioprio & ((1 << IOPRIO_CLASS_SHIFT) - 1)


def _check_cap(task, ioprio: int) -> None:
    """ioprio_check_cap: the real-time class needs CAP_SYS_ADMIN or CAP_SYS_NICE. Only the low
    three bits are the level (Debian's 6.1 has the I/O priority hints: the bits above the
    level are a hint, not checked), so RT or BE "level 8" is level 0 with a hint."""
    cls, data = _class(ioprio), _data(ioprio) & (IOPRIO_NR_LEVELS - 1)
    if cls == IOPRIO_CLASS_RT and not capable(task.creds, CAP_SYS_ADMIN) and \
            not capable(task.creds, CAP_SYS_NICE):
        raise Errno(EPERM)
    if cls in (IOPRIO_CLASS_RT, IOPRIO_CLASS_BE) and data >= IOPRIO_NR_LEVELS:
        raise Errno(EINVAL)
    if cls == IOPRIO_CLASS_NONE and data:
        raise Errno(EINVAL)
    if cls > IOPRIO_CLASS_IDLE:
        raise Errno(EINVAL)


def _threads(task, which: int, who: int, uid_of_zero: int) -> list:
    """The live threads `which`/`who` names; EINVAL for an unknown which."""
    pids = task.kernel.pids
    if which == IOPRIO_WHO_PROCESS:
        t = pids.get(who) if who else task
        return [t] if t is not None else []
    if which == IOPRIO_WHO_PGRP:
        pgid = who if who else task.pgid
        return [t for t in pids.live() if t.pgid == pgid]
    if which == IOPRIO_WHO_USER:
        uid = who if who else uid_of_zero
        return [t for t in pids.live() if t.creds.uid == uid]
    raise Errno(EINVAL)


def _set_one(task, t, ioprio: int) -> None:
    """set_task_ioprio: another user's thread needs CAP_SYS_NICE; an exiting one is gone."""
    if t.creds.uid not in (task.creds.euid, task.creds.uid) and not capable(task.creds, CAP_SYS_NICE):
        raise Errno(EPERM)
    if t.state is State.ZOMBIE:
        raise Errno(ESRCH)
    t.ioprio = ioprio & 0xFFFF          # an unsigned short in the io_context


@syscall("ioprio_set")
async def ioprio_set(task, which: "Int", who: "Int", ioprio: "Int") -> int:
    """Set the I/O priority of a thread, the threads of a process group, or a user's threads;
    the first refusal ends the walk (those before it keep the new value)."""
    which, who, ioprio = c_int(which), c_int(who), c_int(ioprio)
    _check_cap(task, ioprio)
    # Linux compares a user's threads with uid `who` itself, even for who == 0 (root).
    targets = _threads(task, which, who, 0)
    if not targets:
        raise Errno(ESRCH)
    for t in targets:
        _set_one(task, t, ioprio)
    return 0


def _effective(t) -> int:
    """__get_task_ioprio: an unset class stands for the one the CPU policy and nice give."""
    if _class(t.ioprio) != IOPRIO_CLASS_NONE:
        return t.ioprio
    if t.sched_policy == P.SCHED_IDLE:
        cls = IOPRIO_CLASS_IDLE
    elif t.sched_policy in P.RT_POLICIES or t.sched_policy == P.SCHED_DEADLINE:
        cls = IOPRIO_CLASS_RT
    else:
        cls = IOPRIO_CLASS_BE
    return cls << IOPRIO_CLASS_SHIFT | (t.nice + 20) // 5


@syscall("ioprio_get")
async def ioprio_get(task, which: "Int", who: "Int") -> int:
    """One thread's I/O priority as set, or the best (lowest value) effective one of a
    process group's or a user's threads; ESRCH if none."""
    which, who = c_int(which), c_int(who)
    targets = _threads(task, which, who, task.creds.uid)
    if not targets:
        raise Errno(ESRCH)
    if which == IOPRIO_WHO_PROCESS:
        return targets[0].ioprio & 0xFFFF
    return min(_effective(t) & 0xFFFF for t in targets)
