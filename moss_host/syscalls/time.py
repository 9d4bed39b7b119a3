"""Clocks, sleeps and interval timers: the kernel's time is the host's time.

Sleeps and timers are event-loop timers (loop.call_at on the loop's monotonic clock),
never busy waits. A relative sleep interrupted by a signal stores the time left and
ends with -ERESTART_RESTARTBLOCK: a handled signal makes that EINTR; with no handler
Linux resumes through restart_syscall(2) with the time left (task.restart_block holds
how). An absolute clock_nanosleep ends with -ERESTARTNOHAND (restarting it as it was
is right).
"""
from __future__ import annotations

import asyncio
import struct
import time

from moss_host.errors import (EINTR, EINVAL, EOPNOTSUPP, ERESTART_RESTARTBLOCK, ERESTARTNOHAND,
                              Errno)
from moss_host.fs.fdtable import fd_arg
from moss_host.proc.signals import SI_KERNEL, SIGALRM, SIGPROF, SIGVTALRM, SigInfo, send_signal
from moss_host.proc.task import State

from .args import Hex, Int, Ptr
from .table import syscall

# Linux clock ids -> the host clock that answers them (CPU-time clocks use the host
# process's figures until per-task accounting exists).
CLOCKS = {
    0: time.CLOCK_REALTIME, 1: time.CLOCK_MONOTONIC, 2: time.CLOCK_PROCESS_CPUTIME_ID,
    3: time.CLOCK_THREAD_CPUTIME_ID, 4: time.CLOCK_MONOTONIC_RAW, 5: 5, 6: 6, 7: time.CLOCK_BOOTTIME,
    8: time.CLOCK_REALTIME, 9: time.CLOCK_BOOTTIME, 11: time.CLOCK_TAI,
}
TIMESPEC = struct.Struct("<qq")


def clock_ns(clockid: int) -> int:
    host = CLOCKS.get(clockid & 0xFFFF_FFFF)
    if host is None:
        raise Errno(EINVAL)
    return time.clock_gettime_ns(host)


@syscall("clock_gettime")
async def clock_gettime(task, clockid: "Int", tp: "Ptr") -> int:
    ns = clock_ns(clockid)
    task.mm.write(tp, TIMESPEC.pack(ns // 1_000_000_000, ns % 1_000_000_000))
    return 0


@syscall("clock_getres")
async def clock_getres(task, clockid: "Int", res: "Ptr") -> int:
    host = CLOCKS.get(clockid & 0xFFFF_FFFF)
    if host is None:
        raise Errno(EINVAL)
    if res:
        coarse = clockid in (5, 6)
        task.mm.write(res, TIMESPEC.pack(0, 4_000_000 if coarse else 1))
    return 0


@syscall("gettimeofday")
async def gettimeofday(task, tv: "Ptr", tz: "Ptr") -> int:
    ns = time.time_ns()
    if tv:
        task.mm.write(tv, TIMESPEC.pack(ns // 1_000_000_000, ns % 1_000_000_000 // 1000))
    if tz:
        task.mm.write(tz, struct.pack("<ii", 0, 0))
    return 0


# ---------------------------------------------------------------- sleeping

TIMER_ABSTIME = 1
NSEC = 1_000_000_000
# Clocks clock_nanosleep can sleep on; the others: EOPNOTSUPP (no nsleep) or EINVAL (CPU time).
SLEEP_CLOCKS = {0, 1, 7, 8, 9, 11}          # REALTIME, MONOTONIC, BOOTTIME, *_ALARM, TAI
NO_SLEEP_CLOCKS = {4, 5, 6}                 # MONOTONIC_RAW and the coarse clocks


def _timespec_ns(task, ptr: int) -> int:
    """A struct timespec argument in ns: EFAULT if unreadable, EINVAL unless valid (timespec64_valid)."""
    sec, nsec = TIMESPEC.unpack(task.mm.read(ptr, TIMESPEC.size))
    if sec < 0 or not 0 <= nsec < NSEC:
        raise Errno(EINVAL)
    return sec * NSEC + nsec


async def _sleep_until(deadline: float) -> None:
    """Sleep until the loop time `deadline` (a loop timer; cancellable by a signal)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    timer = loop.call_at(deadline, _resolve, done)
    try:
        await done
    finally:
        timer.cancel()


def _resolve(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


async def _relative_sleep(task, deadline: float, rem: int) -> int:
    """Sleep to a loop-time deadline; interrupted: store the time left at rem and return
    -ERESTART_RESTARTBLOCK, recording how restart_syscall would go on sleeping."""
    try:
        await _sleep_until(deadline)
        return 0
    except asyncio.CancelledError:
        if task.state is State.ZOMBIE:
            raise                       # the task is gone (and its memory with it)
    left = max(0, int((deadline - asyncio.get_running_loop().time()) * NSEC))
    task.restart_block = lambda: _relative_sleep(task, deadline, rem)
    if rem:
        task.mm.write(rem, TIMESPEC.pack(left // NSEC, left % NSEC))     # EFAULT wins, as in Linux
    raise Errno(ERESTART_RESTARTBLOCK)


@syscall("nanosleep")
async def nanosleep(task, req: "Ptr", rem: "Ptr") -> int:
    """Sleep for the struct timespec at req (CLOCK_MONOTONIC); interrupted by a handled
    signal: EINTR with the time left stored at rem (when rem is not NULL)."""
    ns = _timespec_ns(task, req)
    return await _relative_sleep(task, asyncio.get_running_loop().time() + ns / NSEC, rem)


@syscall("clock_nanosleep")
async def clock_nanosleep(task, clockid: "Int", flags: "Hex", req: "Ptr", rem: "Ptr") -> int:
    """nanosleep on a chosen clock; with TIMER_ABSTIME, until that clock reads req (rem unused)."""
    clock = clockid & 0xFFFF_FFFF
    if clock in NO_SLEEP_CLOCKS:
        raise Errno(EOPNOTSUPP)
    if clock not in SLEEP_CLOCKS:
        raise Errno(EINVAL)
    ns = _timespec_ns(task, req)
    loop = asyncio.get_running_loop()
    if not flags & TIMER_ABSTIME:
        return await _relative_sleep(task, loop.time() + ns / NSEC, rem)
    deadline = loop.time() + (ns - clock_ns(clock)) / NSEC
    try:
        await _sleep_until(deadline)
    except asyncio.CancelledError:
        raise Errno(ERESTARTNOHAND) from None     # absolute: restarting with the same args is right
    return 0


@syscall("restart_syscall")
async def restart_syscall(task) -> int:
    """Resume a sleep interrupted with -ERESTART_RESTARTBLOCK (nanosleep's time left); EINTR if none."""
    resume = getattr(task, "restart_block", None)
    task.restart_block = None
    if resume is None:
        raise Errno(EINTR)
    return await resume()


# ---------------------------------------------------------------- interval timers

ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2
ITIMERVAL = struct.Struct("<qqqq")      # it_interval {sec, usec}, it_value {sec, usec}
USEC = 1_000_000
TICK_NS = 4_000_000                     # Linux's TICK_NSEC at HZ=250 (Debian arm64)
CPU_TICK = 0.004                        # how often armed CPU-time timers are checked (seconds)


class ProcessTimers:
    """A process's three interval timers (kept on its thread-group leader as task.itimer_real).

    ITIMER_REAL is a loop timer: SIGALRM at `deadline` (loop time), then every `interval_ns`.
    ITIMER_VIRTUAL (user CPU time, SIGVTALRM) and ITIMER_PROF (user + system CPU time,
    SIGPROF) expire against the process's CPU clocks; while one is armed a loop timer checks
    them every tick, as Linux's tick-based accounting does (so they fire up to a tick late).
    """

    def __init__(self, process):
        self.process = process
        self.deadline: float | None = None
        self.interval_ns = 0
        self.handle: asyncio.TimerHandle | None = None
        self.cpu = {ITIMER_VIRTUAL: [0, None], ITIMER_PROF: [0, None]}  # which -> [interval_ns, expires_ns]
        self.tick: asyncio.TimerHandle | None = None

    # -- ITIMER_REAL
    def remaining_ns(self) -> int:
        if self.deadline is None:
            return 0
        left = int((self.deadline - asyncio.get_running_loop().time()) * NSEC)
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
        self.deadline = loop.time() + value_ns / NSEC
        self.handle = loop.call_at(self.deadline, self._expire)

    def _expire(self) -> None:
        self.handle = None
        if self.process.state is State.ZOMBIE:
            self.deadline = None
            return
        if self.interval_ns:
            loop = asyncio.get_running_loop()
            step = self.interval_ns / NSEC
            self.deadline += step
            now = loop.time()
            if self.deadline <= now:            # overrun (hrtimer_forward): skip to the next period
                self.deadline += ((now - self.deadline) // step + 1) * step
            self.handle = loop.call_at(self.deadline, self._expire)
        else:
            self.deadline = None
        send_signal(self.process, SIGALRM, SigInfo(SIGALRM, SI_KERNEL))

    # -- ITIMER_VIRTUAL / ITIMER_PROF
    def cpu_ns(self, which: int) -> int:
        """The process's user (VIRTUAL) or user + system (PROF) CPU time, the current slice included."""
        process = self.process
        kernel = getattr(process, "kernel", None)
        threads = [t for t in kernel.tasks.values() if t.tgid == process.tgid] if kernel is not None else []
        total = 0
        for t in threads or [process]:
            total += t.utime_ns + (t.stime_ns if which == ITIMER_PROF else 0)
            cpu = t.on_cpu
            if cpu is not None and not cpu.trapped and hasattr(cpu, "resumed_at"):
                total += max(0, time.monotonic_ns() - cpu.resumed_at)      # running user code now
        return total

    def get_cpu(self, which: int) -> tuple[int, int]:
        interval, expires = self.cpu[which]
        if expires is None:
            return interval, 0
        left = expires - self.cpu_ns(which)
        return interval, left if left > 0 else TICK_NS      # "about to fire"

    def set_cpu(self, which: int, value_ns: int, interval_ns: int) -> None:
        self.cpu[which] = [interval_ns, self.cpu_ns(which) + value_ns + TICK_NS if value_ns else None]
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
        if self.process.state is State.ZOMBIE:
            return
        for which, signo in ((ITIMER_VIRTUAL, SIGVTALRM), (ITIMER_PROF, SIGPROF)):
            interval, expires = self.cpu[which]
            if expires is not None and self.cpu_ns(which) >= expires:
                self.cpu[which][1] = expires + interval if interval else None
                send_signal(self.process, signo, SigInfo(signo, SI_KERNEL))
        self._schedule_tick()


def _process_timers(task) -> ProcessTimers:
    """The timers of task's process (kept on the thread-group leader)."""
    kernel = getattr(task, "kernel", None)
    leader = kernel.tasks.get(task.tgid, task) if kernel is not None else task
    if leader.itimer_real is None:
        leader.itimer_real = ProcessTimers(leader)
    return leader.itimer_real


def _pack_itimerval(interval_ns: int, value_ns: int) -> bytes:
    i_us, v_us = interval_ns // 1000, value_ns // 1000
    return ITIMERVAL.pack(i_us // USEC, i_us % USEC, v_us // USEC, v_us % USEC)


def _get(timers: ProcessTimers, which: int) -> tuple[int, int]:
    if which == ITIMER_REAL:
        return timers.interval_ns, timers.remaining_ns()
    return timers.get_cpu(which)


@syscall("getitimer")
async def getitimer(task, which: "Int", value: "Ptr") -> int:
    """The interval and time left of timer `which` as a struct itimerval."""
    which = fd_arg(which)
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise Errno(EINVAL)
    task.mm.write(value, _pack_itimerval(*_get(_process_timers(task), which)))
    return 0


@syscall("setitimer")
async def setitimer(task, which: "Int", new: "Ptr", old: "Ptr") -> int:
    """Arm (or with a zero it_value disarm) timer `which`; the previous setting goes to old.
    ITIMER_REAL sends SIGALRM (glibc's alarm() is built on it), ITIMER_VIRTUAL SIGVTALRM and
    ITIMER_PROF SIGPROF, to the process."""
    interval_ns = value_ns = 0
    if new:
        i_s, i_us, v_s, v_us = ITIMERVAL.unpack(task.mm.read(new, ITIMERVAL.size))
        if min(i_s, v_s) < 0 or not (0 <= i_us < USEC and 0 <= v_us < USEC):
            raise Errno(EINVAL)
        interval_ns, value_ns = i_s * NSEC + i_us * 1000, v_s * NSEC + v_us * 1000
    which = fd_arg(which)
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise Errno(EINVAL)
    timers = _process_timers(task)
    previous = _get(timers, which)
    if which == ITIMER_REAL:
        timers.arm(value_ns, interval_ns)
    else:
        timers.set_cpu(which, value_ns, interval_ns)
    if old:
        task.mm.write(old, _pack_itimerval(*previous))
    return 0
