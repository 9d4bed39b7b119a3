"""The CPU-time clocks as clock_gettime and clock_getres read them (kernel/time/posix-cpu-timers.c):
CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID, and the ids clock_getcpuclockid(3) and
pthread_getcpuclockid(3) make for another process or thread: ((~pid) << 3) | which, bit 2
set for a thread, which = PROF (user + system), VIRT (user) or SCHED (the time run).

The time is the task's own (its utime/stime plus the slice running now), never the host's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .posix_timers import _running_ns, process_cpu_ns, thread_cpu_ns

if TYPE_CHECKING:
    from .task import Task

CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 2, 3
CPUCLOCK_PROF, CPUCLOCK_VIRT, CPUCLOCK_SCHED, CPUCLOCK_MAX = 0, 1, 2, 3
CPUCLOCK_PERTHREAD = 4
CLOCKFD, CLOCKFD_MASK = 3, 7


def is_cpu_clock(clockid: int) -> bool:
    """clockid (as the syscall's u32) is a CPU-time clock: answered here, not by a host clock."""
    return clockid in (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID) or clockid >> 31 == 1


def cpu_clock_ticks(clockid: int) -> bool:
    """Whether the clock counts in jiffies (PROF, VIRT) rather than in ns (SCHED: the two
    named clocks among them), for clock_getres."""
    return clockid >> 31 == 1 and clockid & 3 in (CPUCLOCK_PROF, CPUCLOCK_VIRT)


def cpu_clock_sleeps(clockid: int) -> bool | None:
    """clock_nanosleep on it: True (a process clock, another thread's), False when the clock
    has no nsleep (CLOCK_THREAD_CPUTIME_ID, a posix clock fd: EOPNOTSUPP), None if no CPU clock."""
    if not is_cpu_clock(clockid):
        return None
    if clockid == CLOCK_THREAD_CPUTIME_ID or (clockid >> 31 and clockid & CLOCKFD_MASK == CLOCKFD):
        return False
    return True


def cpu_clock_is_own_thread(task: Task, clockid: int) -> bool:
    """A thread clock naming the caller (pid 0 or its own tid): posix_cpu_nsleep's EINVAL."""
    return clockid >> 31 == 1 and bool(clockid & CPUCLOCK_PERTHREAD) and ~((clockid - (1 << 32)) >> 3) in (0, task.tid)


def cpu_clock_ns(task: Task, clockid: int) -> Optional[int]:
    """The clock's reading in ns, or None where Linux answers EINVAL (no such thread or
    process for it, a thread of another process, a posix clock fd, an unknown `which`)."""
    if clockid == CLOCK_PROCESS_CPUTIME_ID:
        return process_cpu_ns(task.group)
    if clockid == CLOCK_THREAD_CPUTIME_ID:
        return thread_cpu_ns(task)
    clockid -= 1 << 32                          # the signed id
    which = clockid & 3
    if clockid & CLOCKFD_MASK == CLOCKFD or which >= CPUCLOCK_MAX:
        return None
    thread = bool(clockid & CPUCLOCK_PERTHREAD)
    target = _target(task, ~(clockid >> 3), thread)
    if target is None:
        return None
    if thread:
        user, system, running = target.utime_ns, target.stime_ns, _running_ns(target)
    else:
        (user, system), running = target.group.cpu_times(), sum(_running_ns(t) for t in target.group.threads)
    if which == CPUCLOCK_VIRT:
        return user + running
    return user + system + running


def _target(task: Task, pid: int, thread: bool) -> Optional[Task]:
    """pid_for_clock(clock, gettime=true): 0 is the caller; a thread clock names a thread of
    the caller's process; a process clock names a process (or the caller's own thread id)."""
    if pid == 0:
        return task
    target = task.kernel.pids.get(pid)
    if target is None:
        return None
    if thread:
        return target if target.group is task.group else None
    return target if target is task or target.tid == target.tgid else None
