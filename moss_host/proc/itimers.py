"""Interval timers (setitimer/getitimer; Linux's kernel/time/itimer.c): one set per process,
kept on its thread group as `task.group.itimer_real`.

ITIMER_REAL is a loop timer: SIGALRM at `deadline` (loop time), then every `interval_ns`.
ITIMER_VIRTUAL (user CPU time, SIGVTALRM) and ITIMER_PROF (user + system CPU time,
SIGPROF) expire against the process's CPU clocks; while one is armed a loop timer checks
them every tick, as Linux's tick-based accounting does (so they fire up to a tick late).
The timers die with the process: exit calls disarm().
"""
from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from moss_host.uapi import NSEC_PER_SEC

from .signals import SI_KERNEL, SIGALRM, SIGPROF, SIGVTALRM, SigInfo, send_signal
from .task import State

if TYPE_CHECKING:
    from .task import Task

ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2
TICK_NS = 4_000_000                     # Linux's TICK_NSEC at HZ=250 (Debian arm64)
CPU_TICK = 0.004                        # how often armed CPU-time timers are checked (seconds)


class ProcessTimers:
    """A process's three interval timers."""

    def __init__(self, process: Task):
        self.process = process
        self.deadline: float | None = None
        self.interval_ns = 0
        self.handle: asyncio.TimerHandle | None = None
        # which -> (interval_ns, expires_ns: the CPU time it fires at, None while disarmed)
        self.cpu: dict[int, tuple[int, int | None]] = {ITIMER_VIRTUAL: (0, None), ITIMER_PROF: (0, None)}
        self.tick: asyncio.TimerHandle | None = None

    def get(self, which: int) -> tuple[int, int]:
        """(interval, time left) of timer `which`, in ns."""
        if which == ITIMER_REAL:
            return self.interval_ns, self.remaining_ns()
        return self.get_cpu(which)

    def set(self, which: int, value_ns: int, interval_ns: int) -> None:
        """Arm timer `which` (a zero value disarms it)."""
        if which == ITIMER_REAL:
            self.arm(value_ns, interval_ns)
        else:
            self.set_cpu(which, value_ns, interval_ns)

    def disarm(self) -> None:
        """The process is gone: cancel the loop timers (the timers' state goes with the task)."""
        for handle in (self.handle, self.tick):
            if handle is not None:
                handle.cancel()

    # -- ITIMER_REAL
    def remaining_ns(self) -> int:
        if self.deadline is None:
            return 0
        left = int((self.deadline - asyncio.get_running_loop().time()) * NSEC_PER_SEC)
        return max(left, 1000)                  # an expired-but-pending timer shows 1 us, as Linux

    def arm(self, value_ns: int, interval_ns: int) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        self.interval_ns = interval_ns
        if value_ns == 0:
            self.deadline = None
            return
        loop = asyncio.get_running_loop()
        self.deadline = loop.time() + value_ns / NSEC_PER_SEC
        self.handle = loop.call_at(self.deadline, self._expire)

    def _expire(self) -> None:
        self.handle = None
        if self._process_gone() or self.deadline is None:
            self.deadline = None
            return
        if self.interval_ns:
            loop = asyncio.get_running_loop()
            step = self.interval_ns / NSEC_PER_SEC
            self.deadline += step
            now = loop.time()
            if self.deadline <= now:            # overrun (hrtimer_forward): skip to the next period
                self.deadline += ((now - self.deadline) // step + 1) * step
            self.handle = loop.call_at(self.deadline, self._expire)
        else:
            self.deadline = None
        send_signal(self.process, SIGALRM, SigInfo(SIGALRM, SI_KERNEL))

    # -- ITIMER_VIRTUAL / ITIMER_PROF
    def _process_gone(self) -> bool:
        """The timers outlive a leader that exited before its other threads (pthread_exit)."""
        return self.process.state is State.ZOMBIE and not self.process.group.threads

    def cpu_ns(self, which: int) -> int:
        """The process's user (VIRTUAL) or user + system (PROF) CPU time, the current slice included."""
        utime, stime = self.process.group.cpu_times()
        total = utime + (stime if which == ITIMER_PROF else 0)
        for t in self.process.group.threads:
            cpu = t.on_cpu
            if cpu is not None and not cpu.trapped:
                total += max(0, time.monotonic_ns() - cpu.resumed_at)      # running user code now
        return total

    def get_cpu(self, which: int) -> tuple[int, int]:
        interval, expires = self.cpu[which]
        if expires is None:
            return interval, 0
        left = expires - self.cpu_ns(which)
        return interval, left if left > 0 else TICK_NS      # "about to fire"

    def set_cpu(self, which: int, value_ns: int, interval_ns: int) -> None:
        self.cpu[which] = (interval_ns, self.cpu_ns(which) + value_ns + TICK_NS if value_ns else None)
        self._schedule_tick()

    def _schedule_tick(self) -> None:
        armed = any(expires is not None for _, expires in self.cpu.values())
        if armed and self.tick is None:
            self.tick = asyncio.get_running_loop().call_later(CPU_TICK, self._on_tick)
        elif not armed and self.tick is not None:
            self.tick.cancel()
            self.tick = None

    def _on_tick(self) -> None:
        self.tick = None
        if self._process_gone():
            return
        for which, signo in ((ITIMER_VIRTUAL, SIGVTALRM), (ITIMER_PROF, SIGPROF)):
            interval, expires = self.cpu[which]
            if expires is not None and self.cpu_ns(which) >= expires:
                self.cpu[which] = (interval, expires + interval if interval else None)
                send_signal(self.process, signo, SigInfo(signo, SI_KERNEL))
        self._schedule_tick()


def process_timers(task: Task) -> ProcessTimers:
    """The timers of task's process (kept on its thread group), made on first use."""
    group = task.group
    if group.itimer_real is None:
        group.itimer_real = ProcessTimers(group.leader or task)
    return group.itimer_real
