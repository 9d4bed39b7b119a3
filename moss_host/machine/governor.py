"""The contention governor's inputs: whether spinning on the trap path pays, and how long
the guest should spin for a reply while it does not (docs/trap-path.md, the governor).

Two signals, each read at most every few milliseconds from the CPU's poll decision:

* this process's own wait for a CPU: /proc/thread-self/schedstat gives the event loop
  thread's run-queue delay and the number of times it was put on a CPU. Their ratio over
  the last SAMPLE_NS is how long, on average, the host waited for a core each time it
  became runnable, a few milliseconds after it happens and for this process alone. The
  guest's spin for a reply (100 us) pays only if the host answers inside it. A mean is
  made of a few long waits among many short ones while the machine runs other work (one
  guest beside the other helpers' QEMUs here: 0.6 ms per wake-up, and its spin still
  catches replies); at ten times the spin nearly every wake-up waits, the hosts of many
  guests queueing behind each other and behind their guests' spins (16 guests on 2 cores:
  10 ms per wake-up). From OVERLOADED_WAIT_NS the host does not poll: the machine is
  *overloaded*.
* the machine's CPU pressure (machine/pressure.py): tasks queue for the CPUs. The host
  does not poll.

Either way the guest does not spin for a reply (the reply publishes a spin of 0): it rings
and waits in WFI, and the reply wakes it. With one extra CPU-bound process on this 2-core
machine (host kernel 6.18, EEVDF) a guest spinning for the host's answer mostly keeps the
host from the core it needs. Measured beside that process (bench --contended and single
runs): a 100 us spin made write(/dev/null) 41-50 us and a thread create+join 0.9-1.2 ms;
a 1 ms spin made a 1 ms nanosleep overshoot by 1.2-3.3 ms; with no spin 24-27 us,
0.5-0.8 ms and 84-120 us (before issue 18, a stub spinning ~400 us: 22-35 us, 0.5 ms,
0.76-1.3 ms).

Hysteresis keeps a borderline load from flipping the mode at every sample: overloaded
from OVERLOADED_WAIT_NS per wake-up, back below UNLOADED_WAIT_NS.
"""
from __future__ import annotations

import os
from typing import Optional

from .pressure import CpuPressure, host_pressure

SCHEDSTAT = "/proc/thread-self/schedstat"       # "<on-CPU ns> <run-queue wait ns> <times run>"
SAMPLE_NS = 20_000_000
OVERLOADED_WAIT_NS = 1_000_000                 # ten times the guest's normal spin (L.SPIN_TICKS)
UNLOADED_WAIT_NS = 500_000
MIN_WAKEUPS = 4                                 # fewer in a sample: keep the last verdict


def wait_per_wakeup(before: tuple[int, int], after: tuple[int, int]) -> Optional[int]:
    """Mean run-queue wait (ns) per time on a CPU between two (wait, runs) readings, or
    None when the thread ran too seldom in between to say."""
    runs = after[1] - before[1]
    if runs < MIN_WAKEUPS:
        return None
    return (after[0] - before[0]) // runs


class Governor:
    """Whether the trap path should spin (`contended`)."""

    def __init__(self, schedstat: str = SCHEDSTAT, pressure: Optional[CpuPressure] = None) -> None:
        self.schedstat = schedstat
        self.available = True                   # False once schedstat could not be read
        self.pressure = pressure if pressure is not None else host_pressure()
        self.enabled = True                     # False: never contended (tests on a busy host)
        self.fd = -1                            # opened at the first sample, in the loop's thread
        self.next_sample = 0
        self.last: Optional[tuple[int, int]] = None
        self.overloaded = False                 # the host waits longer than a spin for a core

    def contended(self, now_ns: int) -> bool:
        """True when spinning does not pay (cached; `now_ns` is time.monotonic_ns())."""
        if not self.enabled:
            return False
        if now_ns >= self.next_sample:
            self.next_sample = now_ns + SAMPLE_NS
            self.sample()
        return self.overloaded or self.pressure.contended(now_ns)

    @property
    def probing(self) -> bool:
        """The pressure's verdict is a probe's, not yet measured (machine/pressure.py)."""
        return self.pressure.probing

    def sample(self) -> None:
        reading = self.read_schedstat()
        if reading is None:
            return
        wait = None if self.last is None else wait_per_wakeup(self.last, reading)
        self.last = reading
        if wait is None:
            return
        if self.overloaded:
            self.overloaded = wait >= UNLOADED_WAIT_NS
        else:
            self.overloaded = wait >= OVERLOADED_WAIT_NS

    def lost_core(self, gap_ns: int) -> bool:
        """A poll went `gap_ns` between two clock reads: did this thread wait in a run queue
        for it (another task had its core: stop spinning), or not (an interrupt, or the
        hypervisor ran someone else on this VM's CPU: nobody here needs the core, and
        blocking would not get it back sooner)? The run-queue wait since the last sample
        tells (a poll returns to the loop at its next timer, and the loop's poll samples
        every SAMPLE_NS: a wait shortly before the gap counts too, as contention);
        without schedstat, assume the core was lost."""
        reading = self.read_schedstat()
        if reading is None or self.last is None:
            return True
        return reading[0] - self.last[0] >= gap_ns // 2

    def read_schedstat(self) -> Optional[tuple[int, int]]:
        """(run-queue wait ns, times run) of the thread that opened the file first."""
        if not self.available:
            return None
        try:
            if self.fd < 0:
                self.fd = os.open(self.schedstat, os.O_RDONLY | os.O_CLOEXEC)
            fields = os.pread(self.fd, 128, 0).split()
            return int(fields[1]), int(fields[2])
        except (OSError, IndexError, ValueError):
            self.available = False              # no schedstat here (CONFIG_SCHED_INFO off)
            return None
