"""Which CPUs' TLBs may hold entries of each address space, so that an invalidation goes
only where it must (Linux's mm_cpumask, as x86 uses it to choose the CPUs of a shoot-down).

The stub's inner-shareable TLBIs (`tlbi vae1is`, `aside1is`, `vmalle1is`) are, under
QEMU's multi-threaded TCG, work that every vCPU has to stop for (tlb_flush_*_all_cpus_synced
queues it on each and waits); the plain forms flush the issuing vCPU's TLB alone. With
several CPUs, a reply's invalidations (Memory.take_guest_work) are routed here:

- another CPU runs user code of a flushed address space right now: broadcast, as before;
- otherwise the replying CPU flushes locally (OP_TLBI_LOCAL) if its TLB may hold entries
  of it, and every other CPU that may (a bit in `asid_cpus`) is marked stale: it flushes its
  whole TLB locally (OP_TLBI_SELF) at its next reply that loads an address space. Such a
  CPU is either trapped (no user code runs there until its reply) or runs another address
  space (it can reach the stale entries only after a TTBR0 switch, which is such a reply);
  a trapped one that would resume the flushed space without a switch is told to look at its
  next reply anyway (`forget`).

A CPU's bit in `asid_cpus[asid]` is set when a reply loads that ASID on it and cleared
only when it flushes its whole TLB: ASIDs tag TLB entries, so they outlive a switch.
"""
from __future__ import annotations

from typing import Callable, Optional

from moss_host.machine import layout as L

ASID_COUNT = 1 << 16
TLBI_OPS = L.OP_TLBI_ALL | L.OP_TLBI_ASID | L.OP_TLBI_VA


class CpuTlbs:
    def __init__(self, ncpus: int, forget: Callable[[int], None]):
        self.all_cpus = (1 << ncpus) - 1
        self.asid_cpus = bytearray(ASID_COUNT)  # per ASID: the CPUs that may hold its entries (8 at most)
        self.cpu_asids: list[set[int]] = [set() for _ in range(ncpus)]   # per CPU: its bits above
        self.loaded = [0] * ncpus               # the ASID each CPU's TTBR0 has (0: the boot tables)
        self.stale = 0                          # CPUs to flush their whole TLB at their next switch
        # forget(i): CPU i (trapped, its loaded space flushed elsewhere) must take its next
        # reply's slow way, where switch() sees it stale; Cpu.loaded_mm = None.
        self.forget = forget
        self.broadcasts = 0                     # replies that invalidated on every CPU
        self.local = 0                          # replies that invalidated on their CPU only

    def switch(self, index: int, asid: int) -> int:
        """CPU index's reply loads asid (TTBR0) or resumes it after forget: the extra ops
        (OP_TLBI_SELF when the CPU's TLB may hold entries flushed elsewhere)."""
        bit = 1 << index
        self.loaded[index] = asid
        if not self.stale & bit:
            if not self.asid_cpus[asid] & bit:      # (a switch back to an ASID it holds: nothing to note)
                self.asid_cpus[asid] |= bit
                self.cpu_asids[index].add(asid)
            return 0
        self._flushed(index)
        self.asid_cpus[asid] |= bit
        self.cpu_asids[index].add(asid)
        return L.OP_TLBI_SELF

    def _flushed(self, index: int) -> None:
        """CPU index flushes its whole TLB (in this reply): it holds no ASID's entries after."""
        keep = ~(1 << index)
        asid_cpus = self.asid_cpus
        for asid in self.cpu_asids[index]:
            asid_cpus[asid] &= keep
        self.cpu_asids[index].clear()
        self.stale &= keep

    def route(self, ops: int, index: int, asids: Optional[set[int]], running: int) -> int:
        """The invalidations of CPU index's reply (ops, of ASIDs `asids`; None: every one),
        with `running` the mask of CPUs that run user code now: ops as they stay broadcast,
        or with OP_TLBI_LOCAL (or no TLBI at all) when no other CPU runs a flushed space."""
        bit = 1 << index
        others = running & ~bit
        loaded = self.loaded
        if asids is None:
            holders = self.all_cpus
            hot = others
        else:
            holders = 0
            asid_cpus = self.asid_cpus
            for asid in asids:
                holders |= asid_cpus[asid]
            hot = 0
            cpu = 0
            while others >> cpu:
                if others >> cpu & 1 and loaded[cpu] in asids:
                    hot |= 1 << cpu
                cpu += 1
        if hot:
            self.broadcasts += 1
            return ops
        self.local += 1
        ops = ops | L.OP_TLBI_LOCAL if holders & bit else ops & ~TLBI_OPS
        stale = holders & ~bit
        if stale:
            self.stale |= stale
            cpu = 0
            while stale >> cpu:
                # A trapped CPU that would resume a flushed space without a switch (even one
                # stale already: that was for another space, while it ran this one).
                if stale >> cpu & 1 and not running >> cpu & 1 and (asids is None or loaded[cpu] in asids):
                    self.forget(cpu)
                cpu += 1
        return ops
