"""How contended the host's CPUs are: Linux's pressure stall information for the CPU
(/proc/pressure/cpu, "some": the share of time in which some runnable task waited for a CPU).

The trap path spins (the host polling the mailbox, the guest waiting for a reply) only
while that pays: when both sides have a core. When tasks queue for the CPUs, a spinner
takes the core the other side needs, and blocking is faster.

The share is taken over the last sample (SAMPLE_NS, from the file's cumulative "total"),
not from "avg10", a 10-second average: that one still holds the last seconds' bursts
when a run starts -- on a quiet machine the boots of the runs before it (a benchmark
starts one run after another, each booting QEMU and a Python host beside the RAM
warmer) -- and a short program then ran wholly in the governor's block mode (trap round
trip medians of 17-24 us against 2-4 us polled, in quiet benchmark runs). The first
window, MIN_WINDOW_NS from the first reading, is measured polling: until then the verdict
is "not contended". Reading the file costs a few microseconds, so the answer is cached for
SAMPLE_NS.

The block mode makes pressure of its own: each trap wakes the host thread, each reply
QEMU's I/O thread and the vCPU thread, and they queue for the two cores behind each
other. A pipe ping-pong on a quiet machine that started contended (the avg10 of the runs
before) read 25-33% "some" in every window of its second in block mode, above the 15% that
ends contention, and stayed there: 0.5 ms a round trip against 55-65 us polled (0% read
while polling). So a verdict of contention is tried again: a probe's window, MIN_WINDOW_NS
long, is measured as if uncontended (against CONTENDED_PERCENT, the trap path polling
meanwhile); pressure that others make holds that too, and the verdict stands.

The first probe comes PROBE_FIRST_NS after a verdict of contention, and each probe that
finds contention again doubles the wait, up to PROBE_NS: contention that passes (a boot's,
a second vCPU coming up beside the RAM warmer's thread) is given up within tens of
milliseconds, and a lasting one costs a 10 ms window polled every quarter second. With a
fixed 250 ms, a `--cpus 2` run (its host and vCPU threads not yet pinned apart then:
machine/affinity.py) read 52% in its first window, then block mode's own 20%, and its first
250 ms of writes to /dev/null took 27 us each instead of 2.5 us.

A program's first window also holds its machine's start: QEMU's main thread, woken (a QMP
command, a wake byte, a timer of its own) while the host thread polls on one core and the
vCPU runs on the other, waits for a core up to a scheduler slice, 2-3 ms. Quiet runs read
31.8% and 36.8% in 2 of 30 first windows that way (block mode for their first 30 ms);
beside a CPU-bound process, first windows read 49.5-98.6%. So a first window between
CONTENDED_PERCENT and FIRST_SURE_PERCENT is measured again, polling, before a verdict.
"""
from __future__ import annotations

import os
from typing import Optional

PSI_PATH = "/proc/pressure/cpu"
SAMPLE_NS = 50_000_000
MIN_WINDOW_NS = 10_000_000      # the first window; a shorter one says too little (avg10 instead)
CONTENDED_PERCENT = 30.0        # some task waited this share of the window or more: do not spin
UNCONTENDED_PERCENT = 15.0      # ... and back to spinning only below this: two guests, each
                                # polling while the other blocks, would flip at every sample
FIRST_SURE_PERCENT = 45.0       # a program's first window below this (and above CONTENDED_PERCENT)
                                # is measured again before it decides
PROBE_FIRST_NS = 20_000_000     # contended this long: measure the next window as uncontended
PROBE_NS = 250_000_000          # ... doubling at each probe that finds contention, up to this


class CpuPressure:
    """One reader of the file; `host_pressure()` is the one the kernel's parts share."""

    def __init__(self, path: str = PSI_PATH) -> None:
        self.path = path
        self.available = os.path.exists(path)
        self._next_sample = 0
        self._contended = False
        self._since = 0                                 # (monotonic ns) contended since
        self._probe_wait = PROBE_FIRST_NS               # contended this long: probe
        self._probing = False                           # the window now is a probe's
        self._last: Optional[tuple[int, int]] = None    # (monotonic ns, "some" total us) last read
        self._first_window = True                       # the first window's verdict is to come

    def contended(self, now_ns: int) -> bool:
        """True when tasks wait for the host's CPUs (cached; `now_ns` is time.monotonic_ns())."""
        if now_ns >= self._next_sample:
            if self._contended and now_ns - self._since >= self._probe_wait:
                self.stalled_percent(now_ns)    # the probe's window starts here, polling
                self._next_sample = now_ns + MIN_WINDOW_NS
                self._contended = False
                self._probing = True
                return False
            # The first reading only starts a window, MIN_WINDOW_NS long.
            starting = self._last is None
            self._next_sample = now_ns + (MIN_WINDOW_NS if starting else SAMPLE_NS)
            was = self._contended
            limit = UNCONTENDED_PERCENT if was else CONTENDED_PERCENT
            percent = self.stalled_percent(now_ns)
            if self._first_window and not starting:
                self._first_window = False
                if limit <= percent < FIRST_SURE_PERCENT:
                    self._next_sample = now_ns + MIN_WINDOW_NS      # unsure: measure again
                    return False
            self._contended = self.available and percent >= limit
            if self._contended and not was:
                self._since = now_ns
                self._probe_wait = min(PROBE_NS, 2 * self._probe_wait) if self._probing else PROBE_FIRST_NS
            if self._contended:
                self._next_sample = min(self._next_sample, self._since + self._probe_wait)
            self._probing = False
        return self._contended

    @property
    def probing(self) -> bool:
        """The verdict "not contended" is a probe's: its window is still being measured."""
        return self._probing

    def stalled_percent(self, now_ns: int) -> float:
        """The share of time (%) some task waited for a CPU since the last reading: 0 at the
        first reading (no window yet), avg10 when the last is not MIN_WINDOW_NS old."""
        some = self.read_some()
        if some is None:
            return 0.0
        avg10, total_us = some
        last = self._last
        if last is not None and now_ns - last[0] < MIN_WINDOW_NS:
            return avg10
        self._last = (now_ns, total_us)
        if last is None:
            return 0.0
        return (total_us - last[1]) * 100_000 / (now_ns - last[0])     # (us * 1000 / ns * 100)

    def some_avg10(self) -> float:
        some = self.read_some()
        return 0.0 if some is None else some[0]

    def read_some(self) -> Optional[tuple[float, int]]:
        """("some" avg10, "some" total in us), None when there is no PSI."""
        try:
            with open(self.path, "rb") as f:
                first = f.readline()            # b"some avg10=71.17 avg60=66.72 avg300=49.83 total=..."
            fields = first.split()
            return float(fields[1].split(b"=")[1]), int(fields[4].split(b"=")[1])
        except (OSError, IndexError, ValueError):
            self.available = False              # no PSI here (old kernel, or disabled): never contended
            return None


_host: Optional[CpuPressure] = None


def host_pressure() -> CpuPressure:
    """The reading the trap path's governors (one per CPU) and the event loop's timer wait
    share: one window and one verdict for the host, not one of each per reader (each CPU's
    governor used to start its own first window when it first polled)."""
    global _host
    if _host is None:
        _host = CpuPressure()
    return _host
