"""Clocks, sleeps and interval timers: the kernel's time is the host's time, the wall
clocks (REALTIME, TAI) moved by the offset clock_settime keeps (moss_host.clock).

Sleeps and timers are event-loop timers (loop.call_at on the loop's monotonic clock),
never busy waits. A relative sleep interrupted by a signal stores the time left and
ends with -ERESTART_RESTARTBLOCK: a handled signal makes that EINTR; with no handler
Linux resumes through restart_syscall(2) with the time left (task.restart_block holds
how). An absolute clock_nanosleep ends with -ERESTARTNOHAND (restarting it as it was
is right). An absolute sleep on a wall clock wakes when the clock is set to re-check.
"""
from __future__ import annotations

import asyncio
import functools
import struct
import time

from moss_host.addr import PAGE_SIZE
from moss_host.clock import REALTIME, REALTIME_CLOCKS, realtime_ns
from moss_host.errors import (EINTR, EINVAL, EOPNOTSUPP, ERESTART_RESTARTBLOCK, ERESTARTNOHAND,
                              Errno)
from moss_host.fs.fdtable import fd_arg
from moss_host.proc.cpu_clocks import (cpu_clock_is_own_thread, cpu_clock_ns, cpu_clock_sleeps, cpu_clock_ticks,
                                       is_cpu_clock)
from moss_host.proc.posix_timers import CPU_TICK
from moss_host.proc.itimers import ITIMER_PROF, ITIMER_REAL, ITIMER_VIRTUAL, process_timers
from moss_host.proc import vvar
from moss_host.proc.task import State
from moss_host.sched.parked import Parked
from moss_host.waitq import wake_future
from moss_host.uapi import (ITIMERVAL, NSEC_PER_SEC, TIMESPEC, USEC_PER_SEC, pack_timespec, pack_timeval,
                            timespec_valid)

from .args import Hex, Int, Ptr
from .table import SLOW, syscall

# Linux clock ids -> the host clock that answers them. The CPU-time clocks are the tasks'
# own (proc/cpu_clocks.py): the host's would be the kernel process's time.
CLOCKS = {
    0: time.CLOCK_REALTIME, 1: time.CLOCK_MONOTONIC, 4: time.CLOCK_MONOTONIC_RAW, 5: 5, 6: 6, 7: time.CLOCK_BOOTTIME,
    8: time.CLOCK_REALTIME, 9: time.CLOCK_BOOTTIME, 11: time.CLOCK_TAI,
}


# The clocks the kernel keeps as the vDSO computes them (proc/vvar.py), so that a read of one
# never goes backwards against the other: the coarse ones are the fine time cut down to a
# tick, BOOTTIME and MONOTONIC_RAW the monotonic clock plus a fixed offset.
_COARSE = {5: 0, 6: 1}
_FROM_MONO = {1: 0, 4: vvar.MONO_OFFSET[4], 7: vvar.MONO_OFFSET[7], 9: vvar.MONO_OFFSET[7]}


def clock_ns(clockid: int) -> int:
    clockid &= 0xFFFF_FFFF
    offset = _FROM_MONO.get(clockid)
    if offset is not None:
        return time.monotonic_ns() + offset
    fine = _COARSE.get(clockid)
    if fine is not None:
        ns = clock_ns(fine)
        return ns - ns % vvar.TICK_NSEC
    host = CLOCKS.get(clockid)
    if host is None:
        raise Errno(EINVAL)
    return REALTIME.read_ns(host)               # REALTIME, REALTIME_ALARM, TAI


@syscall("clock_gettime")
def clock_gettime(task, clockid: "Int", tp: "Ptr") -> int:
    arrived = time.monotonic_ns()
    ns = _cpu_clock(task, clockid & 0xFFFF_FFFF) if is_cpu_clock(clockid & 0xFFFF_FFFF) else clock_ns(clockid)
    page = vvar.calibrating and _calibrating_call(task, arrived)
    task.mm.write(tp, pack_timespec(ns))
    if page:
        page.replying(task.tid, time.monotonic_ns())
    return 0


def _calibrating_call(task, arrived: int) -> "vvar.Vvar | None":
    """A vDSO call while its page calibrates (vdso.S's calibrating_svc), which reached the
    kernel at host time `arrived`: the counter it read (x2) is a sample of the counter's
    offset. Its page if it was one."""
    regs = task.regs()
    mm = task.mm
    step = regs.x[3] - vvar.VDSO_CALIBRATE
    if step not in (0, 1, 2) or mm.vdso_base is None or not 0 <= regs.pc - mm.vdso_base < PAGE_SIZE:
        return None
    page = vvar.existing(mm.mem)
    if page is not None:
        page.arrived(task.tid, regs.x[2], arrived, second=step > 0)
    return page


def _cpu_clock(task, clockid: int) -> int:
    ns = cpu_clock_ns(task, clockid)
    if ns is None:
        raise Errno(EINVAL)
    return ns


@syscall("clock_getres")
def clock_getres(task, clockid: "Int", res: "Ptr") -> int:
    clockid &= 0xFFFF_FFFF
    if is_cpu_clock(clockid):
        _cpu_clock(task, clockid)               # EINVAL for a clock of no one (posix_cpu_clock_getres)
        tick = cpu_clock_ticks(clockid)         # PROF and VIRT: a jiffy; SCHED: 1 ns
    elif clockid not in CLOCKS:
        raise Errno(EINVAL)
    else:
        tick = clockid in (5, 6)                # the coarse clocks: a jiffy
    if res:
        task.mm.write(res, TIMESPEC.pack(0, 4_000_000 if tick else 1))
    return 0


@syscall("gettimeofday")
def gettimeofday(task, tv: "Ptr", tz: "Ptr") -> int:
    arrived = time.monotonic_ns()
    ns = realtime_ns()
    page = vvar.calibrating and _calibrating_call(task, arrived)
    if tv:
        task.mm.write(tv, pack_timeval(ns))
    if tz:
        task.mm.write(tz, struct.pack("<ii", *REALTIME.tz))
    if page:
        page.replying(task.tid, time.monotonic_ns())
    return 0


# ---------------------------------------------------------------- sleeping

TIMER_ABSTIME = 1
NSEC = NSEC_PER_SEC
# Clocks clock_nanosleep can sleep on; the others: EOPNOTSUPP (no nsleep) or EINVAL (CPU time).
SLEEP_CLOCKS = {0, 1, 7, 8, 9, 11}          # REALTIME, MONOTONIC, BOOTTIME, *_ALARM, TAI
NO_SLEEP_CLOCKS = {4, 5, 6}                 # MONOTONIC_RAW and the coarse clocks


def _timespec_ns(task, ptr: int) -> int:
    """A struct timespec argument in ns: EFAULT if unreadable, EINVAL unless valid (timespec64_valid)."""
    sec, nsec = TIMESPEC.unpack(task.mm.read(ptr, TIMESPEC.size))
    if not timespec_valid(sec, nsec):
        raise Errno(EINVAL)
    return sec * NSEC + nsec


async def _sleep_until(deadline: float) -> None:
    """Sleep until the loop time `deadline` (a loop timer; cancellable by a signal)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    timer = loop.call_at(deadline, wake_future, done)
    try:
        await done
    finally:
        timer.cancel()


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
        task.mm.write(rem, pack_timespec(left))     # EFAULT wins, as in Linux
    raise Errno(ERESTART_RESTARTBLOCK)


# The trap path's sleep (syscalls/table.py `fast`): the task parks (sched/parked.py) and one
# loop timer finishes it, inline: the timer's callback stores x0 and the CPU replies at once.
# Through the async handler a wake-up cost a future, a Task step and the loop turns between
# them before the reply (~10 us quiet, 30+ us under load, all of it added to the overshoot).

def _park_sleep(task, deadline: float, rem: int) -> Parked:
    """Sleep to the loop-time deadline parked; a signal ends it as _relative_sleep's does
    (the time left at rem, -ERESTART_RESTARTBLOCK resuming towards the same deadline)."""
    def interrupted() -> int:
        if task.state is State.ZOMBIE:
            return -EINTR                   # the task is gone (and its memory with it)
        left = max(0, int((deadline - asyncio.get_running_loop().time()) * NSEC))
        task.restart_block = lambda: _relative_sleep(task, deadline, rem)
        if rem:
            try:
                task.mm.write(rem, pack_timespec(left))     # EFAULT wins, as in Linux
            except Errno as e:
                return -e.code
        return -ERESTART_RESTARTBLOCK
    parked = Parked(task, interrupted)
    parked.timer = asyncio.get_running_loop().call_at(deadline, _sleep_over, parked)
    return parked


def _sleep_over(parked: Parked) -> None:
    parked.timer = None                     # (it fired: nothing to cancel)
    parked.finish(0)


def _nanosleep_now(task, req: int, rem: int):
    ns = _timespec_ns(task, req)
    return _park_sleep(task, asyncio.get_running_loop().time() + ns / NSEC, rem)


def _clock_nanosleep_now(task, clockid: int, flags: int, req: int, rem: int):
    """Relative sleeps and absolute ones on a clock nobody sets park; absolute sleeps on
    a wall clock (which clock_settime may move) take the async handler."""
    clock = clockid & 0xFFFF_FFFF
    if flags & TIMER_ABSTIME and clock in REALTIME_CLOCKS or is_cpu_clock(clock):
        return SLOW
    if clock in NO_SLEEP_CLOCKS:
        raise Errno(EOPNOTSUPP)
    if clock not in SLEEP_CLOCKS:
        raise Errno(EINVAL)
    ns = _timespec_ns(task, req)
    loop = asyncio.get_running_loop()
    if not flags & TIMER_ABSTIME:
        return _park_sleep(task, loop.time() + ns / NSEC, rem)
    # absolute: a signal ends it with -ERESTARTNOHAND (restarting it as it was is right)
    parked = Parked(task, lambda: -ERESTARTNOHAND)
    parked.timer = loop.call_at(loop.time() + (ns - clock_ns(clock)) / NSEC, _sleep_over, parked)
    return parked


@syscall("nanosleep", fast=_nanosleep_now)
async def nanosleep(task, req: "Ptr", rem: "Ptr") -> int:
    """Sleep for the struct timespec at req (CLOCK_MONOTONIC); interrupted by a handled
    signal: EINTR with the time left stored at rem (when rem is not NULL)."""
    ns = _timespec_ns(task, req)
    return await _relative_sleep(task, asyncio.get_running_loop().time() + ns / NSEC, rem)


@syscall("clock_nanosleep", fast=_clock_nanosleep_now)
async def clock_nanosleep(task, clockid: "Int", flags: "Hex", req: "Ptr", rem: "Ptr") -> int:
    """nanosleep on a chosen clock; with TIMER_ABSTIME, until that clock reads req (rem unused)."""
    clock = clockid & 0xFFFF_FFFF
    if clock in NO_SLEEP_CLOCKS or cpu_clock_sleeps(clock) is False:
        raise Errno(EOPNOTSUPP)
    if cpu_clock_sleeps(clock):
        return await _cpu_sleep(task, clock, flags, _timespec_ns(task, req), rem)
    if clock not in SLEEP_CLOCKS:
        raise Errno(EINVAL)
    ns = _timespec_ns(task, req)
    loop = asyncio.get_running_loop()
    if not flags & TIMER_ABSTIME:
        return await _relative_sleep(task, loop.time() + ns / NSEC, rem)
    try:
        if clock in REALTIME_CLOCKS:
            await _sleep_until_wall(clock, ns)
        else:
            await _sleep_until(loop.time() + (ns - clock_ns(clock)) / NSEC)
    except asyncio.CancelledError:
        raise Errno(ERESTARTNOHAND) from None     # absolute: restarting with the same args is right
    return 0


async def _cpu_sleep(task, clock: int, flags: int, ns: int, rem: int) -> int:
    """posix_cpu_nsleep: until a process's CPU-time clock (or another thread's) reads a time;
    EINVAL for the caller's own thread clock or a clock of no one."""
    if cpu_clock_is_own_thread(task, clock):
        raise Errno(EINVAL)
    now = cpu_clock_ns(task, clock)
    if now is None:
        raise Errno(EINVAL)
    absolute = bool(flags & TIMER_ABSTIME)
    return await _cpu_sleep_until(task, clock, ns if absolute else now + ns, absolute, rem)


async def _cpu_sleep_until(task, clock: int, target: int, absolute: bool, rem: int) -> int:
    """Look at the clock every tick, as Linux's CPU timers fire from the tick. A signal:
    0 if the time came meanwhile, else -ERESTARTNOHAND (absolute) or the time left at rem
    and -ERESTART_RESTARTBLOCK resuming towards the same target."""
    try:
        while (now := cpu_clock_ns(task, clock)) is None or now < target:
            await asyncio.sleep(CPU_TICK)
        return 0
    except asyncio.CancelledError:
        if task.state is State.ZOMBIE:
            raise
    left = target - (cpu_clock_ns(task, clock) or 0)
    if left <= 0:
        return 0
    if absolute:
        raise Errno(ERESTARTNOHAND)
    task.restart_block = lambda: _cpu_sleep_until(task, clock, target, False, rem)
    if rem:
        task.mm.write(rem, pack_timespec(left))
    raise Errno(ERESTART_RESTARTBLOCK)


async def _sleep_until_wall(clock: int, ns: int) -> None:
    """Sleep until the wall clock `clock` reads ns, looking again whenever the clock is set."""
    loop = asyncio.get_running_loop()
    while (left := ns - clock_ns(clock)) > 0:
        done = loop.create_future()
        wake = functools.partial(wake_future, done)
        timer = loop.call_at(loop.time() + left / NSEC, wake)
        REALTIME.on_set(wake)
        try:
            await done
        finally:
            timer.cancel()
            REALTIME.remove(wake)


@syscall("restart_syscall")
async def restart_syscall(task) -> int:
    """Resume a sleep interrupted with -ERESTART_RESTARTBLOCK (nanosleep's time left); EINTR if none."""
    resume = task.restart_block
    task.restart_block = None
    if resume is None:
        raise Errno(EINTR)
    return await resume()


# ---------------------------------------------------------------- interval timers

def _pack_itimerval(interval_ns: int, value_ns: int) -> bytes:
    return pack_timeval(interval_ns) + pack_timeval(value_ns)


@syscall("getitimer")
async def getitimer(task, which: "Int", value: "Ptr") -> int:
    """The interval and time left of timer `which` as a struct itimerval."""
    which = fd_arg(which)
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise Errno(EINVAL)
    task.mm.write(value, _pack_itimerval(*process_timers(task).get(which)))
    return 0


@syscall("setitimer")
async def setitimer(task, which: "Int", new: "Ptr", old: "Ptr") -> int:
    """Arm (or with a zero it_value disarm) timer `which`; the previous setting goes to old.
    ITIMER_REAL sends SIGALRM (glibc's alarm() is built on it), ITIMER_VIRTUAL SIGVTALRM and
    ITIMER_PROF SIGPROF, to the process."""
    interval_ns = value_ns = 0
    if new:
        i_s, i_us, v_s, v_us = ITIMERVAL.unpack(task.mm.read(new, ITIMERVAL.size))
        if min(i_s, v_s) < 0 or not (0 <= i_us < USEC_PER_SEC and 0 <= v_us < USEC_PER_SEC):
            raise Errno(EINVAL)
        interval_ns, value_ns = i_s * NSEC + i_us * 1000, v_s * NSEC + v_us * 1000
    which = fd_arg(which)
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        raise Errno(EINVAL)
    timers = process_timers(task)
    previous = timers.get(which)
    timers.set(which, value_ns, interval_ns)
    if old:
        task.mm.write(old, _pack_itimerval(*previous))
    return 0
