"""timerfd: a timer whose expirations are read from a file (Linux's fs/timerfd.c).

The timer runs on one of CLOCK_REALTIME, MONOTONIC, BOOTTIME (or their _ALARM twins) and
fires on time: a loop timer at the expiry, converted from the timer's clock to the event
loop's. An expiry bumps `ticks` and wakes readers and pollers (POLLIN). As in Linux, a
periodic timer is not re-armed by its expiry but by the next read or gettime, which
forward it past now and count the periods that went by (hrtimer_forward_now): a read
returns every expiration since the last read as one 8-byte count.

TFD_TIMER_CANCEL_ON_SET (with TFD_TIMER_ABSTIME on a realtime clock) makes the timer
notice a set of the realtime clock: the next read fails with ECANCELED. The realtime clock
is the guest's (moss_host.clock, which clock_settime sets): a set calls clock_was_set(),
which also re-evaluates every timer running on the wall clock. As in Linux, only an absolute
CLOCK_REALTIME timer runs on it (hrtimer's CLOCK_REALTIME base); a relative one runs on
CLOCK_MONOTONIC (__hrtimer_init), while an alarm timer is always on its clock's base.
"""
from __future__ import annotations

import asyncio
import struct
import time
import weakref
from typing import Optional

from ..clock import REALTIME, realtime_ns
from ..errors import EAGAIN, ECANCELED, EINVAL, ENOTTY, Errno
from ..uapi import NSEC_PER_SEC
from ..waitq import WaitQueue
from .anon_inode import AnonFile
from .file import O_NONBLOCK, O_RDWR, POLLIN

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME = 0, 1, 7
CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM = 8, 9
ALARM_CLOCKS = (CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM)
TIMERFD_CLOCKS = {CLOCK_REALTIME: time.CLOCK_REALTIME, CLOCK_MONOTONIC: time.CLOCK_MONOTONIC,
                  CLOCK_BOOTTIME: time.CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM: time.CLOCK_REALTIME,
                  CLOCK_BOOTTIME_ALARM: time.CLOCK_BOOTTIME}
TFD_TIMER_ABSTIME = 1
TFD_TIMER_CANCEL_ON_SET = 2
TFD_SETTIME_FLAGS = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET
TICKS = struct.Struct("<Q")
TFD_IOC_SET_TICKS = 0x40085400      # _IOW('T', 0, __u64): checkpoint/restore sets the count

_cancel_on_set: "weakref.WeakSet[TimerFd]" = weakref.WeakSet()
_wall_timers: "weakref.WeakSet[TimerFd]" = weakref.WeakSet()     # armed on the wall clock


def forward(expires: int, interval: int, now: int) -> tuple[int, int]:
    """hrtimer_forward: move an expiry past `now` by whole intervals; (new expiry, periods moved)."""
    delta = now - expires
    if delta < 0:
        return expires, 0
    n = 1 if delta < interval else delta // interval
    expires += n * interval
    if expires <= now:
        expires += interval
        n += 1
    return expires, n


def clock_was_set() -> None:
    """The realtime clock was set (clock_settime, settimeofday): cancel-on-set timers notice,
    wall-clock timers move their loop timer to the new time (hrtimer's clock_was_set)."""
    for timer in list(_cancel_on_set):
        timer.clock_set()
    for timer in list(_wall_timers):
        if timer.handle is not None:
            timer._cancel_timer()
            timer._start()


REALTIME.on_set(clock_was_set)


class TimerFd(AnonFile):
    anon_name = "[timerfd]"

    def __init__(self, clockid: int, flags: int):
        super().__init__(O_RDWR | flags)
        self.clockid = clockid
        self.host_clock = TIMERFD_CLOCKS[clockid]
        self.expires: Optional[int] = None  # the expiry on the timer's clock (ns), None: never armed
        self.interval = 0                   # ns; 0: one-shot
        self.ticks = 0                      # expirations not read yet
        self.expired = False                # fired and (periodic) not re-armed yet
        self.canceled = False               # the realtime clock was set under a cancel-on-set timer
        self.settime_flags = 0
        self.wall = False                   # armed on the wall clock (see the module's doc)
        self.handle: Optional[asyncio.TimerHandle] = None
        self.waitq = WaitQueue()

    def now(self) -> int:
        if self.wall:
            return realtime_ns()
        return time.clock_gettime_ns(self.host_clock)

    # -- arming
    def remaining(self) -> int:
        """timerfd_get_remaining: ns to the expiry, 0 when past or disarmed."""
        if self.expires is None:
            return 0
        return max(0, self.expires - self.now())

    def gettime(self) -> tuple[int, int]:
        """(interval, time left) in ns; a fired periodic timer is re-armed first, as Linux does."""
        self._rearm_periodic()
        return self.interval, self.remaining()

    def settime(self, flags: int, value: int, interval: int) -> tuple[int, int]:
        """Arm (value 0: disarm) the timer; the previous (interval, time left)."""
        self._cancel_timer()
        self._setup_cancel(flags)
        if self.expired and self.interval:      # the old setting as it would have gone on
            self.expires, _ = forward(self.expires or 0, self.interval, self.now())
        old = (self.interval, self.remaining())
        self.expired = False
        self.ticks = 0
        self.interval = interval
        self.expires = None
        self._set_base(flags)
        if value:
            self.expires = value if flags & TFD_TIMER_ABSTIME else self.now() + value
            self._start()
            if self.canceled:
                self.canceled = False
                raise Errno(ECANCELED)
        self.settime_flags = flags & TFD_SETTIME_FLAGS
        return old

    def _set_base(self, flags: int) -> None:
        """The clock base the new setting runs on: the wall clock, or a monotonic one."""
        realtime = self.clockid in (CLOCK_REALTIME, CLOCK_REALTIME_ALARM)
        self.wall = realtime and bool(flags & TFD_TIMER_ABSTIME or self.clockid == CLOCK_REALTIME_ALARM)
        if self.wall:
            _wall_timers.add(self)
        else:
            _wall_timers.discard(self)
        if realtime and not self.wall:
            self.host_clock = time.CLOCK_MONOTONIC

    def _setup_cancel(self, flags: int) -> None:
        might_cancel = (self.clockid in (CLOCK_REALTIME, CLOCK_REALTIME_ALARM)
                        and flags & TFD_TIMER_ABSTIME and flags & TFD_TIMER_CANCEL_ON_SET)
        if might_cancel:
            _cancel_on_set.add(self)
        else:
            _cancel_on_set.discard(self)
            self.canceled = False

    def clock_set(self) -> None:
        self.canceled = True
        self.ticks += 1
        self.waitq.wake_poll(POLLIN)

    def _start(self) -> None:
        assert self.expires is not None
        loop = asyncio.get_running_loop()
        self.handle = loop.call_at(loop.time() + (self.expires - self.now()) / NSEC_PER_SEC, self._fire)

    def _cancel_timer(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def _fire(self) -> None:
        """timerfd_tmrproc: count the expiry and wake; a periodic timer waits for its reader."""
        self.handle = None
        if self.expires is None:
            return
        if self.now() < self.expires:           # the loop's clock ran ahead of the timer's
            self._start()
            return
        self.expired = True
        self.ticks += 1
        self.waitq.wake_poll(POLLIN)

    def _rearm_periodic(self) -> int:
        """A fired periodic timer goes on from the next period after now; the extra periods missed."""
        if not (self.expired and self.interval) or self.expires is None:
            return 0
        self.expired = False
        self.expires, periods = forward(self.expires, self.interval, self.now())
        self._start()
        return periods - 1

    def release(self) -> None:
        self._cancel_timer()
        _cancel_on_set.discard(self)
        _wall_timers.discard(self)

    # -- the file
    @property
    def poll_wq(self) -> WaitQueue:
        return self.waitq

    def poll_events(self, events: int) -> int:
        return POLLIN if self.ticks else 0

    async def ioctl(self, task, cmd: int, arg: int) -> int:
        """TFD_IOC_SET_TICKS: make `*arg` expirations pending (EINVAL for 0)."""
        if cmd != TFD_IOC_SET_TICKS:
            raise Errno(ENOTTY)
        (ticks,) = TICKS.unpack(task.mm.read(arg, TICKS.size))
        if not ticks:
            raise Errno(EINVAL)
        if self.canceled:
            self.canceled = False
            raise Errno(ECANCELED)
        self.ticks = ticks
        self.waitq.wake_poll(POLLIN)
        return 0

    async def read(self, n: int) -> bytes:
        if n < TICKS.size:
            raise Errno(EINVAL)
        if not self.ticks:
            if self.flags & O_NONBLOCK:
                raise Errno(EAGAIN)
            await self.waitq.wait_until(lambda: self.ticks > 0)
        if self.canceled:                       # (a clock set counts as a tick: it woke us)
            self.canceled = False
            self.ticks = 0
            self.expired = False
            raise Errno(ECANCELED)
        ticks = self.ticks + self._rearm_periodic()
        self.expired = False
        self.ticks = 0
        return TICKS.pack(ticks)
