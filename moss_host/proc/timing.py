"""`moss-host run --timing`: where the time of a trap round trip goes.

The host stamps each doorbell (the guest trapped) and each reply (the guest may run
again). For a program that does nothing but syscalls (bench/programs/null_syscall),
doorbell-to-doorbell is one full trap round trip: EL0 -> stub -> doorbell -> host ->
reply -> eret -> EL0 -> the next svc. It splits into the host's share (doorbell to
reply: decoding, the handler, the reply) and the rest (the guest stub, QEMU and the
host kernel's socket wake-up). Figures are medians; the first traps (start-up, page
faults) are skipped.

Beside them, what the trap path decided (`PathStats`, counted by the CPU off the polled
fast path) and what the host thread got from the machine (its CPU time per trap, the
times it was preempted, the cores it ran on): a slow run is explained by these
(docs/trap-path.md, the spread between runs).
"""
from __future__ import annotations

import gc
import resource
import statistics
import sys
import time
from dataclasses import dataclass

from moss_host.machine.wake_lead import WakeLead

WARMUP = 200
MAX_SAMPLES = 1_000_000


@dataclass
class PathStats:
    """How the trap path ran: counted per poll or per slow-path event, never per polled trap."""
    polls: int = 0                  # Cpu.poll watched the mailbox
    declined: int = 0               # ... or did not: the governor said contended
    mode_switches: int = 0          # poll <-> block mode changes between two polls
    runouts: int = 0                # a poll's budget ended without a trap
    preempted: int = 0              # a poll lost its core (a gap between two clock reads)
    gaps_kept: int = 0              # ... or had a gap without a run-queue wait: it polled on
    doorbell_traps: int = 0         # traps that came by the doorbell, not by polling
    asleep_replies: int = 0         # a reply found the guest asleep (a wake-up byte)


@dataclass
class HostSample:
    """The host thread's own account at one moment (RUSAGE_THREAD and its stat)."""
    cpu_ns: int
    nivcsw: int
    nvcsw: int
    collections: int                # the garbage collector's, all generations

    @classmethod
    def now(cls) -> "HostSample":
        r = resource.getrusage(resource.RUSAGE_THREAD)
        gcs = sum(g["collections"] for g in gc.get_stats())
        return cls(time.thread_time_ns(), r.ru_nivcsw, r.ru_nvcsw, gcs)


def current_core() -> int:
    """The core this thread ran on last (/proc/thread-self/stat field 39), -1 if unknown."""
    try:
        with open("/proc/thread-self/stat", "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2:].split()[36])
    except (OSError, ValueError, IndexError):
        return -1


class TrapTimer:
    def __init__(self) -> None:
        self.round_trips: list[int] = []      # ns between consecutive doorbells
        self.host_shares: list[int] = []      # ns from a doorbell to its reply
        self._last_doorbell = 0
        self._seen = 0
        self.start: HostSample | None = None  # the host thread's account after WARMUP traps
        self.start_traps = 0
        self.cores: set[int] = set()          # where the host thread was seen running

    def on_doorbell(self) -> None:
        now = time.perf_counter_ns()
        self._seen += 1
        if self._seen > WARMUP and self._last_doorbell and len(self.round_trips) < MAX_SAMPLES:
            self.round_trips.append(now - self._last_doorbell)
            if not self._seen & 0x3FFF:
                self.cores.add(current_core())
        elif self._seen == WARMUP:
            self.start = HostSample.now()
            self.start_traps = self._seen
            self.cores.add(current_core())
        self._last_doorbell = now

    def on_reply(self) -> None:
        if self._seen > WARMUP and len(self.host_shares) < MAX_SAMPLES:
            self.host_shares.append(time.perf_counter_ns() - self._last_doorbell)

    def report(self, stats: PathStats | None = None, lead: WakeLead | None = None, out=sys.stderr) -> None:
        if not self.round_trips or not self.host_shares:
            print(f"moss: timing: only {self._seen} traps, too few to measure", file=out)
            return
        rt = statistics.median(self.round_trips)
        host = statistics.median(self.host_shares)
        trips = sorted(self.round_trips)
        p99 = trips[len(trips) * 99 // 100]
        mean = sum(trips) / len(trips)
        slow = sum(1 for t in trips if t > 1_000_000)
        cpu = ""
        if self.start is not None:
            end, traps = HostSample.now(), self._seen - self.start_traps
            per = (end.cpu_ns - self.start.cpu_ns) / max(1, traps)
            cpu = (f" host_cpu_ns={per:.0f} preempted={end.nivcsw - self.start.nivcsw}"
                   f" blocked={end.nvcsw - self.start.nvcsw} gc={end.collections - self.start.collections}")
            self.cores.add(current_core())
        # (the extra fields land in bench's JSON: the p99 target is read there)
        print(f"BENCH name=trap_roundtrip iters={len(self.round_trips)} ns_per_op={rt:.0f} "
              f"p99_ns={p99} host_ns={host:.0f}{cpu}", file=out)
        print(f"moss: timing: {self._seen} traps; round trip median {rt / 1000:.1f} us "
              f"(host {host / 1000:.1f} us, guest + QEMU + wake-up {(rt - host) / 1000:.1f} us), "
              f"p99 {p99 / 1000:.1f} us, mean {mean / 1000:.1f} us, {slow} over 1 ms", file=out)
        if stats is not None:
            print(f"moss: timing: polls {stats.polls} (ran out {stats.runouts}, lost the core "
                  f"{stats.preempted}, other gaps {stats.gaps_kept}), declined {stats.declined}, mode switches {stats.mode_switches}, "
                  f"doorbell traps {stats.doorbell_traps}, replies to a sleeping guest "
                  f"{stats.asleep_replies}; host thread on cores {sorted(self.cores)}{cpu}", file=out)
        if lead is not None and lead.late + lead.on_time:
            print(f"moss: timing: idle guests woken ahead of a timer: {lead.on_time} awake in time, "
                  f"{lead.late} late; lead now {lead.lead_ns / 1000:.0f} us", file=out)
