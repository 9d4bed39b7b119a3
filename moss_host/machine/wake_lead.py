"""How long before a timer of the host's an idle guest is woken to spin for the reply that
timer brings (Cpu.wake_ahead; the selector of machine/polling.py comes back that early).

A guest asleep in WFI wakes by a round through QEMU: the host's wake byte, QEMU's I/O
thread, the PL011's interrupt, the vCPU thread. How long that takes is the host's: on
one machine of this project tens of microseconds, on another (a Firecracker VM whose idle
cores halt, so each of the two thread wake-ups waits for a halted core) 23 / 183 / 240 /
305 us at the 10th / 50th / 90th / 99th percentile. Woken a fixed 100 us ahead, two
thirds of the replies to a 1 ms nanosleep there still found the guest asleep, and the
sleep overshot by 150 us at the median (Linux in the same QEMU: 103 us).

So the lead adapts to what the replies find. A reply that finds the woken guest still
asleep (or asleep again: its spin ran out) was late: the lead grows by half. One that
finds it spinning was on time: the lead shrinks by a sixteenth. The lead settles where
about one wake in nine is late, near the 90th percentile of the wake-up time, between
LEAD_MIN_NS and LEAD_MAX_NS. The guest spins the lead and SPIN_MARGIN_NS more: from its
wake-up (at the earliest as soon as it is woken) to the reply (at the latest the timer
plus the loop's turn to it).
"""
from __future__ import annotations

from typing import Optional

from . import layout as L

LEAD_MIN_NS = 100_000
LEAD_MAX_NS = 400_000           # (the selector's epoll waits whole milliseconds: below 0.5 ms)
SPIN_MARGIN_NS = 150_000


class WakeLead:
    def __init__(self) -> None:
        self.lead_ns = LEAD_MIN_NS
        self.late = 0                   # replies that found a woken guest asleep (--timing)
        self.on_time = 0

    @property
    def lead_s(self) -> float:
        return self.lead_ns / 1e9

    @property
    def spin_ns(self) -> int:
        """How long the woken guest spins."""
        return self.lead_ns + SPIN_MARGIN_NS

    @property
    def spin_ticks(self) -> int:
        return self.spin_ns * L.COUNTER_HZ // 1_000_000_000

    def replied(self, asleep: bool) -> None:
        """The reply a wake-ahead was for found the guest asleep (late) or spinning."""
        if asleep:
            self.late += 1
            self.lead_ns = min(LEAD_MAX_NS, self.lead_ns + self.lead_ns // 2)
        else:
            self.on_time += 1
            self.lead_ns = max(LEAD_MIN_NS, self.lead_ns - self.lead_ns // 16)


_host: Optional[WakeLead] = None


def host_wake_lead() -> WakeLead:
    """The lead the host's CPUs and the event loop's selector share: the wake-up time is
    the host's (its cores, QEMU's threads), the same for every CPU."""
    global _host
    if _host is None:
        _host = WakeLead()
    return _host
