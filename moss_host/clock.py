"""The kernel's realtime clock: the host's CLOCK_REALTIME plus the offset that
clock_settime/settimeofday keep (Linux's timekeeper's offs_real, without touching the host).

Everything that reads wall-clock time (clock_gettime on REALTIME/REALTIME_COARSE/TAI and the
_ALARM twin, gettimeofday, file timestamps, /proc/stat btime) asks `realtime_ns()`. A set of
the clock calls each `on_set` callback (Linux's clock_was_set): timerfd's cancel-on-set
timers and the absolute realtime timers and sleepers re-evaluate their expiry.

A base module (it needs nothing but the standard library), as fs/, proc/ and syscalls/
all read the wall clock. The offset is kernel-wide: one kernel per host process.
"""
from __future__ import annotations

import time
from typing import Callable

CLOCK_REALTIME, CLOCK_REALTIME_COARSE, CLOCK_REALTIME_ALARM, CLOCK_TAI = 0, 5, 8, 11
# Clock ids that read the wall clock, so move when it is set.
REALTIME_CLOCKS = frozenset((CLOCK_REALTIME, CLOCK_REALTIME_COARSE, CLOCK_REALTIME_ALARM, CLOCK_TAI))


class RealtimeClock:
    def __init__(self) -> None:
        self.offset_ns: int = 0                     # guest realtime minus host realtime
        self.tz: tuple[int, int] = (0, 0)           # sys_tz: (tz_minuteswest, tz_dsttime)
        self._on_set: list[Callable[[], None]] = []

    def now_ns(self) -> int:
        return time.time_ns() + self.offset_ns

    def read_ns(self, host_clock: int) -> int:
        """A host wall clock (REALTIME, its COARSE variant, TAI) as the guest's: moved by a set."""
        return time.clock_gettime_ns(host_clock) + self.offset_ns

    def set_ns(self, ns: int) -> None:
        """do_settimeofday64: the wall clock reads `ns` from now on; then clock_was_set."""
        self.offset_ns = ns - time.time_ns()
        for callback in list(self._on_set):
            callback()

    def on_set(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every set of the clock (a subsystem registers once, at import)."""
        self._on_set.append(callback)

    def remove(self, callback: Callable[[], None]) -> None:
        if callback in self._on_set:
            self._on_set.remove(callback)


REALTIME = RealtimeClock()


def realtime_ns() -> int:
    """The guest's wall clock (CLOCK_REALTIME), ns since the epoch."""
    return REALTIME.now_ns()
