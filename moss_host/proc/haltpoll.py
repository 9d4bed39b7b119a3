"""How long an idle CPU's guest spins before it sleeps in WFI: Linux's cpuidle-haltpoll
governor (drivers/cpuidle/governors/haltpoll.c), which a KVM guest uses for the same
reason. Waking a vCPU out of WFI costs a round through QEMU (the host's wake byte, QEMU's
I/O thread, the PL011's interrupt, the vCPU thread's wake-up): measured here, a key typed
at a shell prompt came back in 170-300 us with the guest asleep between keys, and in
125-155 us with it spinning for the reply.

A CPU with no task publishes `limit_ns` as the guest's spin (Cpu.idle). When a task comes
back, the time the CPU idled adjusts it as Linux's adjust_poll_limit does: an idle longer
than the limit but within GUEST_HALT_POLL_NS grows it (doubled, at least GROW_START_NS;
the spin would have caught that wake-up), one beyond GUEST_HALT_POLL_NS halves it (to 0
below GROW_START_NS: the spin was wasted). So a shell echoing keys back to back, or a
request/reply over the console, spins between them, while a program sleeping
milliseconds, or a person typing, leaves the CPU asleep. Linux's defaults (the module
parameters guest_halt_poll_ns, _grow, _grow_start, _shrink); it starts at 0.

Only while no other CPU runs user code and the host is not contended (Cpu.idle): a
spinning idle vCPU takes a core from the host thread or from another vCPU. (With several
CPUs, only one of which was busy, it was off at first: key echo at --cpus 2 took 152 us
against 131 at one CPU, and 123 with it on.)
"""
from __future__ import annotations

from moss_host.machine import layout as L

GUEST_HALT_POLL_NS = 200_000
GROW = 2
GROW_START_NS = 50_000
SHRINK = 2


class HaltPoll:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.limit_ns = 0
        self.idle_at = 0            # (monotonic ns) the CPU idles since; 0: it does not

    def idle(self, now: int) -> int:
        """The CPU has no task from `now`: the guest's spin in counter ticks."""
        if not self.enabled:
            return 0
        self.idle_at = now
        return self.limit_ns * L.COUNTER_HZ // 1_000_000_000

    def woke(self, now: int) -> None:
        """A task runs on the CPU again."""
        idle_at, self.idle_at = self.idle_at, 0
        if not idle_at:
            return
        block = now - idle_at
        limit = self.limit_ns
        if limit < block <= GUEST_HALT_POLL_NS:
            self.limit_ns = min(GUEST_HALT_POLL_NS, max(GROW_START_NS, limit * GROW))
        elif block > GUEST_HALT_POLL_NS:
            limit //= SHRINK
            self.limit_ns = 0 if limit < GROW_START_NS else limit
