"""How contended the host's CPUs are: Linux's pressure stall information for the CPU
(/proc/pressure/cpu, "some avg10": the share of the last 10 s in which some runnable
task waited for a CPU).

The trap path spins (the host polling the mailbox, the guest waiting for a reply) only
while that pays: when both sides have a core. When tasks queue for the CPUs, a spinner
takes the core the other side needs, and blocking is faster. Reading the file costs a
few microseconds, so the answer is cached for SAMPLE_NS.
"""
from __future__ import annotations

import os

PSI_PATH = "/proc/pressure/cpu"
SAMPLE_NS = 200_000_000
CONTENDED_PERCENT = 30.0        # some avg10 at or above this: do not spin


class CpuPressure:
    def __init__(self, path: str = PSI_PATH) -> None:
        self.path = path
        self.available = os.path.exists(path)
        self._next_sample = 0
        self._contended = False

    def contended(self, now_ns: int) -> bool:
        """True when tasks wait for the host's CPUs (cached; `now_ns` is time.monotonic_ns())."""
        if now_ns >= self._next_sample:
            self._next_sample = now_ns + SAMPLE_NS
            self._contended = self.available and self.some_avg10() >= CONTENDED_PERCENT
        return self._contended

    def some_avg10(self) -> float:
        try:
            with open(self.path, "rb") as f:
                first = f.readline()            # b"some avg10=71.17 avg60=66.72 avg300=49.83 total=..."
            return float(first.split()[1].split(b"=")[1])
        except (OSError, IndexError, ValueError):
            self.available = False              # no PSI here (old kernel, or disabled): never contended
            return 0.0


