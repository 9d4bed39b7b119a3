"""`moss-host run --timing`: where the time of a trap round trip goes.

The host stamps each doorbell (the guest trapped) and each reply (the guest may run
again). For a program that does nothing but syscalls (bench/programs/null_syscall),
doorbell-to-doorbell is one full trap round trip: EL0 -> stub -> doorbell -> host ->
reply -> eret -> EL0 -> the next svc. It splits into the host's share (doorbell to
reply: decoding, the handler, the reply) and the rest (the guest stub, QEMU and the
host kernel's socket wake-up). Figures are medians; the first traps (start-up, page
faults) are skipped.
"""
from __future__ import annotations

import statistics
import sys
import time

WARMUP = 200
MAX_SAMPLES = 1_000_000


class TrapTimer:
    def __init__(self) -> None:
        self.round_trips: list[int] = []      # ns between consecutive doorbells
        self.host_shares: list[int] = []      # ns from a doorbell to its reply
        self._last_doorbell = 0
        self._seen = 0

    def on_doorbell(self) -> None:
        now = time.perf_counter_ns()
        self._seen += 1
        if self._seen > WARMUP and self._last_doorbell and len(self.round_trips) < MAX_SAMPLES:
            self.round_trips.append(now - self._last_doorbell)
        self._last_doorbell = now

    def on_reply(self) -> None:
        if self._seen > WARMUP and len(self.host_shares) < MAX_SAMPLES:
            self.host_shares.append(time.perf_counter_ns() - self._last_doorbell)

    def report(self, out=sys.stderr) -> None:
        if not self.round_trips or not self.host_shares:
            print(f"moss: timing: only {self._seen} traps, too few to measure", file=out)
            return
        rt = statistics.median(self.round_trips)
        host = statistics.median(self.host_shares)
        trips = sorted(self.round_trips)
        p99 = trips[len(trips) * 99 // 100]
        mean = sum(trips) / len(trips)
        slow = sum(1 for t in trips if t > 1_000_000)
        # (the extra fields land in bench's JSON: the p99 target is read there)
        print(f"BENCH name=trap_roundtrip iters={len(self.round_trips)} ns_per_op={rt:.0f} "
              f"p99_ns={p99} host_ns={host:.0f}", file=out)
        print(f"moss: timing: {self._seen} traps; round trip median {rt / 1000:.1f} us "
              f"(host {host / 1000:.1f} us, guest + QEMU + wake-up {(rt - host) / 1000:.1f} us), "
              f"p99 {p99 / 1000:.1f} us, mean {mean / 1000:.1f} us, {slow} over 1 ms", file=out)
