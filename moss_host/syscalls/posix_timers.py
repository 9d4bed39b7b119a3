"""timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete. The timers are
proc/posix_timers.py."""
from __future__ import annotations

import struct

from moss_host.cred import CAP_WAKE_ALARM, capable
from moss_host.errors import EAGAIN, EINVAL, EOPNOTSUPP, EPERM, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.proc.posix_timers import ALARM_CLOCKS, CPU_CLOCKS, TIMER_CLOCKS, PosixTimer, clock_reader, timer_table
from moss_host.proc.rlimits import sigqueue_full
from moss_host.uapi import (ITIMERSPEC, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID, pack_itimerspec,
                            unpack_itimerspec)

from .args import Hex, Int, Ptr
from .table import syscall

SIGRTMAX = 64
SIGALRM = 14
# struct sigevent (64 bytes): sigev_value, sigev_signo, sigev_notify, then the union whose
# first int is sigev_notify_thread_id.
SIGEVENT = struct.Struct("<Qiii44x")
# Clocks with no timers (clock_monotonic_raw, the coarse clocks): EOPNOTSUPP. The CPU-time
# clocks of other processes and threads (negative ids) are not timed yet: EINVAL.
NO_TIMER_CLOCKS = (4, 5, 6)


def _target(task, notify: int, signo: int, tid: int):
    """good_sigevent: the task to signal, or EINVAL."""
    target = task.group.leader or task
    if notify == SIGEV_SIGNAL | SIGEV_THREAD_ID:
        t = task.kernel.pids.get(tid) if tid > 0 else None
        if t is None or t.group is not task.group:
            raise Errno(EINVAL)
        target = t
    elif notify not in (SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_NONE):
        raise Errno(EINVAL)
    if notify != SIGEV_NONE and not 0 < signo <= SIGRTMAX:
        raise Errno(EINVAL)
    return target


@syscall("timer_create")
async def timer_create(task, clockid: "Int", sevp: "Ptr", timerid: "Ptr") -> int:
    """A new timer on clockid notifying as *sevp says (NULL: SIGALRM with the id as its value);
    its id goes to *timerid."""
    event = SIGEVENT.unpack(task.mm.read(sevp, SIGEVENT.size)) if sevp else None    # EFAULT first
    clock = fd_arg(clockid)
    if clock in NO_TIMER_CLOCKS:
        raise Errno(EOPNOTSUPP)
    if clock not in TIMER_CLOCKS and clock not in CPU_CLOCKS:
        raise Errno(EINVAL)
    table = timer_table(task)
    if sigqueue_full(task):
        raise Errno(EAGAIN)                     # alloc_posix_timer's sigqueue_alloc
    timer_id = table.alloc_id()
    if event is None:
        value, signo, notify, target = timer_id, SIGALRM, SIGEV_SIGNAL, task.group.leader or task
    else:
        value, signo, notify, tid = event
        target = _target(task, notify, signo, tid)
    task.mm.write(timerid, struct.pack("<i", timer_id))
    if clock in ALARM_CLOCKS and not capable(task.creds, CAP_WAKE_ALARM):       # alarm_timer_create
        raise Errno(EPERM)
    table.add(PosixTimer(table, timer_id, clock_reader(clock, task), clock in CPU_CLOCKS,
                         notify, signo, value, target))
    return 0


def _timer(task, timer_id: int) -> PosixTimer:
    return timer_table(task).get(fd_arg(timer_id))


@syscall("timer_settime")
async def timer_settime(task, timer_id: "Int", flags: "Hex", new: "Ptr", old: "Ptr") -> int:
    """Arm (TIMER_ABSTIME: at a time of its clock) or disarm the timer; the old setting to *old."""
    if not new:
        raise Errno(EINVAL)
    value, interval = unpack_itimerspec(task.mm.read(new, ITIMERSPEC.size))
    timer = _timer(task, timer_id)
    interval, left = timer.set(flags, value, interval)
    if old:
        task.mm.write(old, pack_itimerspec(interval, left))
    return 0


@syscall("timer_gettime")
async def timer_gettime(task, timer_id: "Int", cur: "Ptr") -> int:
    """The timer's interval and the time left to its next expiry."""
    interval, left = _timer(task, timer_id).get()
    task.mm.write(cur, pack_itimerspec(interval, left))
    return 0


@syscall("timer_getoverrun")
async def timer_getoverrun(task, timer_id: "Int") -> int:
    """How many expirations the last signal of the timer stood for, less one."""
    return _timer(task, timer_id).getoverrun()


@syscall("timer_delete")
async def timer_delete(task, timer_id: "Int") -> int:
    """Disarm and forget the timer (a signal it queued stays pending)."""
    timer_table(task).delete(fd_arg(timer_id))
    return 0
