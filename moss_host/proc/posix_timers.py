"""POSIX per-process timers: timer_create/settime/gettime/getoverrun/delete (Linux's
kernel/time/posix-timers.c), kept per thread group.

A timer runs on a wall or monotonic clock (REALTIME, MONOTONIC, BOOTTIME, TAI, the _ALARM
clocks) as a loop timer at its expiry, or on the CPU time of the process or of the creating
thread (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID), checked every tick as Linux's
run_posix_cpu_timers does (so it fires up to a tick late). It notifies as its sigevent says: SIGEV_SIGNAL (the
process), SIGEV_SIGNAL|SIGEV_THREAD_ID (one thread of it) or SIGEV_NONE (nothing; the timer
is only read with timer_gettime). As in Linux, each timer owns one queued signal (si_code
SI_TIMER, si_timerid, si_value): a periodic timer is re-armed when that signal is taken off
the queue (posixtimer_rearm, through SigInfo.on_dequeue), and the periods that went by
meanwhile become si_overrun and timer_getoverrun's answer. A timer whose signal is ignored
keeps running from its own expiry.

Ids are per process, handed out in increasing order (posix_timer_add's next_posix_timer_id).
Timers end with their process and at exec (exit_itimers): a table belongs to one address
space, and a new one after exec starts empty.
"""
from __future__ import annotations

import asyncio
import functools
import time
import weakref
from typing import TYPE_CHECKING, Callable, Optional

from moss_host.clock import REALTIME, REALTIME_CLOCKS
from moss_host.errors import EINVAL, Errno
from moss_host.fs.timerfd import forward
from moss_host.uapi import NSEC_PER_SEC, SIGEV_NONE, SIGEV_THREAD_ID

from .signals import SigInfo, send_signal
from .task import State

if TYPE_CHECKING:
    from .task import Task, ThreadGroup

SI_TIMER = -2
TIMER_ABSTIME = 1
INT_MAX = 0x7FFF_FFFF
TIMER_CLOCKS = {0: time.CLOCK_REALTIME, 1: time.CLOCK_MONOTONIC, 7: time.CLOCK_BOOTTIME,
                8: time.CLOCK_REALTIME, 9: time.CLOCK_BOOTTIME, 11: time.CLOCK_TAI}
CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 2, 3
CPU_CLOCKS = (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID)
ALARM_CLOCKS = (8, 9)
CPU_TICK = 0.004                        # how often CPU-time timers are checked (HZ=250)


def _running_ns(task: Task) -> int:
    """The user time of task's slice on a CPU now, not yet charged to it."""
    cpu = task.on_cpu
    if cpu is None or cpu.trapped:
        return 0
    return max(0, time.monotonic_ns() - cpu.resumed_at)


def process_cpu_ns(group: ThreadGroup) -> int:
    """CLOCK_PROCESS_CPUTIME_ID: every thread's user and system time, the running slices too."""
    utime, stime = group.cpu_times()
    return utime + stime + sum(_running_ns(t) for t in group.threads)


def thread_cpu_ns(task: Task) -> int:
    """CLOCK_THREAD_CPUTIME_ID of task."""
    return task.utime_ns + task.stime_ns + _running_ns(task)


def clock_reader(clockid: int, task: Task) -> Callable[[], int]:
    """The clock a timer of clockid made by task runs on, in ns."""
    if clockid == CLOCK_PROCESS_CPUTIME_ID:
        return functools.partial(process_cpu_ns, task.group)
    if clockid == CLOCK_THREAD_CPUTIME_ID:
        return functools.partial(thread_cpu_ns, task)
    if clockid == CLOCK_REALTIME:
        return _REALTIME
    if clockid in REALTIME_CLOCKS:
        return functools.partial(REALTIME.read_ns, TIMER_CLOCKS[clockid])
    return functools.partial(time.clock_gettime_ns, TIMER_CLOCKS[clockid])


CLOCK_REALTIME = 0
_REALTIME = functools.partial(REALTIME.read_ns, time.CLOCK_REALTIME)
_MONOTONIC = functools.partial(time.clock_gettime_ns, time.CLOCK_MONOTONIC)


class PosixTimer:
    def __init__(self, table: "TimerTable", timer_id: int, clock: Callable[[], int], cpu_time: bool,
                 notify: int, signo: int, value: int, target: Task):
        self.table = table
        self.id = timer_id
        self.clock = clock                  # the clock it was created on, ns
        self.now = clock                    # the clock of its current setting (see set())
        self.cpu_time = cpu_time            # a CPU-time clock: checked every tick
        self.notify = notify                # SIGEV_SIGNAL, SIGEV_NONE or SIGEV_SIGNAL|SIGEV_THREAD_ID
        self.signo = signo
        self.value = value
        self.target = target                # the process's leader, or the thread of SIGEV_THREAD_ID
        self.expires = 0                    # on the timer's clock, ns (0: never armed)
        self.interval = 0
        self.active = False                 # armed and not yet fired (it_active)
        self.requeue_pending = False        # fired; its signal waits to be dequeued to re-arm it
        self.generation = 0                 # bumped by settime: a signal from before re-arms nothing
        self.overrun = -1                   # it_overrun: periods missed since the last re-arm, less one
        self.overrun_last = 0               # timer_getoverrun: the last delivered signal's count
        self.info: Optional[SigInfo] = None     # the queued signal, while it is queued
        self.handle: Optional[asyncio.TimerHandle] = None
        self.deleted = False

    @property
    def sigev_none(self) -> bool:
        return self.notify == SIGEV_NONE

    # -- timer_settime / timer_gettime
    def get(self) -> tuple[int, int]:
        """common_timer_get: (interval, time left); 1 ns for an expired timer whose signal is
        still pending, 0 for a disarmed or spent one."""
        if not self.interval and not self.active and not self.sigev_none:
            return 0, 0
        if not self.expires:
            return self.interval, 0
        now = self.now()
        if self.interval and (self.requeue_pending or self.sigev_none):
            self.expires, periods = forward(self.expires, self.interval, now)
            self.overrun += periods
        left = self.expires - now
        if left <= 0:
            return self.interval, 0 if self.sigev_none else 1
        return self.interval, left

    def set(self, flags: int, value: int, interval: int) -> tuple[int, int]:
        """common_timer_set: the old (interval, left), then arm (value 0: disarm)."""
        old = self.get()
        self.interval = 0
        self._cancel()
        self.active = False
        self.requeue_pending = False
        self.generation += 1
        if not value:
            self.expires = 0
            return old
        self.interval = interval
        # common_hrtimer_arm: a relative CLOCK_REALTIME timer runs on CLOCK_MONOTONIC, so a
        # set of the clock leaves it be; an absolute one follows the wall clock.
        relative_realtime = self.clock is _REALTIME and not flags & TIMER_ABSTIME
        self.now = _MONOTONIC if relative_realtime else self.clock
        self.expires = value if flags & TIMER_ABSTIME else self.now() + value
        if not self.sigev_none:
            self._start()
            self.active = True
        return old

    # -- expiry
    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.cpu_time:                   # CPU time runs only while the guest does: look each tick
            self.handle = loop.call_later(CPU_TICK, self._fire)
            return
        self.handle = loop.call_at(loop.time() + (self.expires - self.now()) / NSEC_PER_SEC, self._fire)

    def _cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def _fire(self) -> None:
        """posix_timer_fn."""
        self.handle = None
        if self.deleted or not self.table.alive():
            self.table.delete_all()
            return
        if self.now() < self.expires:           # the loop's clock ran ahead of the timer's
            self._start()
            return
        self.active = False
        if self._send():
            self.requeue_pending = bool(self.interval)
        elif self.interval:                     # ignored: keep running, a handler may come
            self.expires, _ = forward(self.expires, self.interval, self.now())
            self._start()
            self.active = True

    def _queued(self) -> bool:
        info, t = self.info, self.target
        if info is None:
            return False
        queue = (t.siginfo if self.notify & SIGEV_THREAD_ID else t.group.shared_siginfo).get(self.signo, [])
        return any(q is info for q in queue)

    def _send(self) -> bool:
        """send_sigqueue: queue the timer's signal, or count an overrun if it is still queued;
        False if it was not queued (ignored, or its thread is gone)."""
        if self._queued():
            assert self.info is not None
            self.info.overrun += 1
            return True
        target = self.target
        if target.state is State.ZOMBIE and (self.notify & SIGEV_THREAD_ID or not target.group.threads):
            return False
        self.info = SigInfo(self.signo, SI_TIMER, pid=self.id, value=self.value,
                            on_dequeue=functools.partial(self._rearm, self.generation))
        send_signal(target, self.signo, self.info, thread=bool(self.notify & SIGEV_THREAD_ID))
        return self._queued()

    def _rearm(self, generation: int, info: SigInfo) -> None:
        """posixtimer_rearm: the signal left the queue; a periodic timer goes on."""
        if self.info is info:
            self.info = None
        if self.deleted or not self.interval or generation != self.generation or not self.requeue_pending:
            return
        self.expires, periods = forward(self.expires, self.interval, self.now())
        self.overrun += periods
        self._start()
        self.active = True
        self.requeue_pending = False
        self.overrun_last, self.overrun = self.overrun, -1
        info.overrun = min(INT_MAX, self.overrun_last + info.overrun)

    def getoverrun(self) -> int:
        return min(INT_MAX, self.overrun_last)

    def delete(self) -> None:
        self.deleted = True
        self._cancel()


class TimerTable:
    """One process's timers, for one address space (exec starts a new table)."""

    def __init__(self, group: ThreadGroup, mm: object):
        self.group = group
        self.mm = mm
        self.timers: dict[int, PosixTimer] = {}
        self.next_id = 0

    def alive(self) -> bool:
        """The process lives and has not exec'd since."""
        threads = self.group.threads
        return bool(threads) and threads[0].mm is self.mm

    def alloc_id(self) -> int:
        """posix_timer_add: the next id not in use (ids are consumed even if the create then fails)."""
        while self.next_id in self.timers:
            self.next_id = (self.next_id + 1) & INT_MAX
        timer_id = self.next_id
        self.next_id = (self.next_id + 1) & INT_MAX
        return timer_id

    def add(self, timer: PosixTimer) -> None:
        """A new timer; its preallocated signal queue entry counts against RLIMIT_SIGPENDING
        until it is deleted (sigqueue_alloc at timer_create)."""
        self.timers[timer.id] = timer
        self.group.posix_timers += 1

    def get(self, timer_id: int) -> PosixTimer:
        timer = self.timers.get(timer_id)
        if timer is None:
            raise Errno(EINVAL)
        return timer

    def delete(self, timer_id: int) -> None:
        self.get(timer_id).delete()
        del self.timers[timer_id]
        self.group.posix_timers -= 1

    def delete_all(self) -> None:
        for timer in self.timers.values():
            timer.delete()
        self.group.posix_timers -= len(self.timers)
        self.timers.clear()


_tables: "weakref.WeakKeyDictionary[ThreadGroup, TimerTable]" = weakref.WeakKeyDictionary()


def _clock_was_set() -> None:
    """The realtime clock was set: armed timers re-time their loop timer from their clock
    (a wall-clock timer's expiry is now nearer or further; the others' is unchanged)."""
    for table in list(_tables.values()):
        for timer in list(table.timers.values()):
            if timer.handle is not None and not timer.cpu_time:
                timer._cancel()
                timer._start()


REALTIME.on_set(_clock_was_set)


def exit_itimers(group: ThreadGroup) -> None:
    """exec (begin_new_exec): the process's timers are deleted now, and their signal queue
    entries given back (RLIMIT_SIGPENDING)."""
    table = _tables.pop(group, None)
    if table is not None:
        table.delete_all()


def timer_table(task: Task) -> TimerTable:
    """task's process's timers; a process that exec'd since they were made has none."""
    table = _tables.get(task.group)
    if table is None or table.mm is not task.mm:
        if table is not None:
            table.delete_all()
        table = TimerTable(task.group, task.mm)
        _tables[task.group] = table
    return table
