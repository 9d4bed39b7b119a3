"""The machine's memory as the kernel owns it: guest RAM, the frame allocator, ASIDs, and the
work the guest must do for us before user code runs again (TLB invalidation, frame scrubbing).

TCG hazard (DESIGN.md, hazard 1): QEMU drops a translated block only when the *guest*
stores to its code. A frame that was ever mapped executable may still have stale
translations, so when it is freed it is not returned to the allocator directly: it is
queued for the stub to zero with guest stores (OP_SCRUB) and freed only after the
guest has done so. Frames never mapped executable carry no translations and are
recycled at once; the host fills fresh frames directly.

Guest RAM starts as zeros (a fresh RAM file, or a bytearray in tests), so a frame never
handed out before (below FrameAllocator.low_pfn) is zero already: zeroed allocations skip
it. The host faults the first WARM_RESERVE of the pool in at boot (machine/ram_warmer.py):
the first touch of a page of the RAM file can cost the host milliseconds, which a guest
page fault should not wait for.
"""
from __future__ import annotations

import mmap
from collections import deque
from typing import Callable, Optional, cast

from moss_host.addr import PA, PAGE_SHIFT, PAGE_SIZE
from moss_host.machine import layout as L
from moss_host.machine.ram_warmer import RamWarmer, boot_warmer

from .frames import FrameAllocator, OutOfMemory
from .page_cache import PageCache
from .physmem import PhysMem
from .tlb import TLBI_OPS, CpuTlbs

ASID_COUNT = 1 << 16
NO_GUEST_WORK: tuple[int, int, list[int], list[PA]] = (0, 0, [], [])    # never mutated
HOT_FRAMES = 64      # recently freed frames kept for reuse, newest first (Linux's per-CPU lists)


class AsidAllocator:
    """16-bit ASIDs. ASID 0 is never handed out (the boot identity map uses it).
    First freed, first reused: with several CPUs the broadcast TLBI of a freed ASID is taken
    by one CPU's reply and runs when that CPU's stub gets to it, so the ASID must not come
    back at once for an address space another CPU may start first."""

    def __init__(self):
        self._free = deque(range(1, ASID_COUNT))

    def alloc(self) -> int:
        if not self._free:
            raise MemoryError("out of ASIDs")  # 65535 live address spaces
        return self._free.popleft()

    def free(self, asid: int) -> None:
        self._free.append(asid)


class Memory:
    def __init__(self, ram, ram_size: int, warm: bool = True, warmer: Optional[RamWarmer] = None):
        self.physmem = PhysMem(ram, L.RAM_BASE)
        pool = L.RAM_BASE + ram_size - L.FRAME_POOL_BASE
        self.frames = FrameAllocator(L.FRAME_POOL_BASE, pool)
        self.asids = AsidAllocator()
        self.exec_frames: set[int] = set()
        self._hot: list[PA] = []            # freed order-0 frames, still allocated in `frames`
        self._scrub_queue: list[PA] = []
        self._scrubbing: list[PA] = []
        self.tlbi_vas: list[int] = []        # operands for tlbi vae1is
        self.tlbi_asids: set[int] = set()
        self.tlbi_all = False
        # Anything above queued for the next reply: the trap path checks this one flag
        # instead of building the reply's lists on every trap.
        self.guest_work_pending = False
        # Several CPUs: a frame freed while another CPU runs user code may still be reached
        # from there (a stale TLB entry until a reply's broadcast TLBI has run, the page
        # tables of an address space it runs), so it waits out a grace period: until every
        # CPU that ran user code when the next reply took it, and the replying one, trapped.
        # Freed while no CPU runs user code (the freeing one is in a trap, the others idle or
        # trapped), it is free at once, as with one CPU: every CPU's way back to user code is
        # a reply that takes the queued invalidations first (take_guest_work, CpuTlbs.route).
        # (Deferred, a munmap of 16 MiB cost 1 ms more at --cpus 2: the batch's sorting and
        # freeing in the next trap, a clock_gettime the program timed.)
        self.running_cpus: Optional[Callable[[], int]] = None   # mask of CPUs not trapped
        self.tlbs: Optional[CpuTlbs] = None     # which CPUs an invalidation must reach (mm/tlb.py)
        # ... and whose next trap must call guest_work_done (a mask; kernel.py tells those CPUs)
        self.trap_watch: Callable[[int], None] = lambda mask: None
        self._deferred: list[PA] = []
        self._grace: list[list] = []        # [mask of CPUs still to trap, frames]
        # CPUs whose last reply carried TLB invalidations they may not have run yet (they have
        # not trapped since): every other CPU's reply invalidates too, so no CPU resumes an
        # address space with entries another CPU was asked to drop (fork's write protection).
        self._tlbi_inflight = 0
        self.reply_hooks: list[Callable[[], None]] = []    # run once, before the next reply
        self.page_cache = PageCache(self)
        # The host faults the top of the pool in (real RAM only: a test's bytearray is
        # resident); a machine's warmer began before QEMU started (Machine.start).
        self.warmer: Optional[RamWarmer] = warmer
        if warmer is None and isinstance(ram, mmap.mmap):
            self.warmer = boot_warmer(ram, ram_size, warm)

    # -- frames ------------------------------------------------------------------------

    def alloc_frame(self) -> PA:
        """A frame for user data: the most recently freed one if any (cache-hot, no buddy work)."""
        if self._hot:
            return self._hot.pop()
        try:
            return self.frames.alloc()
        except OutOfMemory:
            if not self.page_cache.shrink(HOT_FRAMES) or not self._hot:
                raise
            return self._hot.pop()

    def alloc_zeroed(self) -> PA:
        fresh = self.frames.low_pfn         # frames below it were never handed out: still zero
        pa = self.alloc_frame()
        if pa >> PAGE_SHIFT >= fresh:
            self.physmem.zero(pa, PAGE_SIZE)
        return pa

    def alloc_zeroed_run(self, n: int) -> list[PA]:
        """Up to n zeroed user frames for a fault-around, the first one obligatory (OutOfMemory
        if even it cannot be had); fewer when memory runs short, since the rest are optional
        (they never shrink the page cache). They come from the buddy allocator in ascending
        contiguous runs (FrameAllocator.alloc_many), and each run is zeroed as one store,
        but for its frames never handed out before, which are zero already."""
        fresh = PA(self.frames.low_pfn << PAGE_SHIFT)
        pas = self.frames.alloc_many(n)
        if not pas:
            return [self.alloc_zeroed()]        # the recycled frames, the page cache, or OOM
        start = prev = pas[0]
        for pa in pas[1:]:
            if pa != prev + PAGE_SIZE:
                self._zero_used(start, prev + PAGE_SIZE, fresh)
                start = pa
            prev = pa
        self._zero_used(start, prev + PAGE_SIZE, fresh)
        return pas

    def _zero_used(self, start: PA, end: int, fresh: PA) -> None:
        """Zero [start, end) but for the frames below `fresh` (never used: zero already)."""
        if end > fresh:
            start = max(start, fresh)
            self.physmem.zero(start, end - start)

    def alloc_table(self) -> PA:
        return self.alloc_frame()            # PageTable zeroes its own tables

    def free_table(self, pa: PA) -> None:
        self._free_frame(pa)

    def _free_frame(self, pa: PA) -> None:
        if self.running_cpus is not None and self.running_cpus():
            self._deferred.append(pa)
            self.guest_work_pending = True
            return
        self._recycle(pa)

    def _recycle(self, pa: PA) -> None:
        if len(self._hot) < HOT_FRAMES:
            self._hot.append(pa)
        else:
            self.frames.free(pa)

    def share(self, pa: PA) -> None:
        self.frames.inc_ref(pa)

    def share_many(self, pas: list[PA]) -> None:
        self.frames.inc_ref_many(pas)

    def release(self, pa: PA) -> None:
        """Drop one mapping's reference to a user frame."""
        if self.frames.get_ref(pa) > 1:
            self.frames.put(pa)
        elif pa in self.exec_frames:
            self.exec_frames.discard(pa)
            self._scrub_queue.append(pa)
            self.guest_work_pending = True
        else:
            self._free_frame(pa)

    def release_many(self, pas: list[PA]) -> None:
        """release() of each frame in pas (munmap of a large range): the frames ever mapped
        executable one by one (they go to the guest's scrub queue), the rest in one pass."""
        code = self.exec_frames.intersection(pas) if self.exec_frames else None
        if code:
            # Only a code frame's last reference goes through the scrub queue: most are the
            # page cache's (a program's text, shared by every process running it). A code
            # frame mapped twice here goes through release() at each of its places.
            ours = [pa for pa in pas if pa in code]
            if len(ours) == len(code):
                code = self.frames.unshared(code)
            for pa in ours:
                if pa in code:
                    self.release(PA(pa))
            if code:
                pas = [pa for pa in pas if pa not in code]
        if self.running_cpus is None or not self.running_cpus():
            self.frames.put_many(pas)
            return
        # Others run user code: a last reference waits out a grace period (_free_frame), as one batch
        # (one call per frame: 16 MiB touched and unmapped took 9.5 ms at --cpus 2, 6.7 at one).
        last = self.frames.unshared(set(pas))
        if len(last) != len(pas):
            shared = [pa for pa in pas if pa not in last]
            if len(set(shared)) == len(shared):
                self.frames.put_many(shared)    # one reference less each, none the last
            else:
                for pa in shared:               # (a frame twice: its last reference waits too)
                    self.release(pa)
        if last:
            self._deferred += cast("set[PA]", last)     # (unshared keeps what it is given)
            self.guest_work_pending = True

    # -- the reply's guest-side work -------------------------------------------------------

    def flush_page(self, asid: int, va: int) -> None:
        self.guest_work_pending = True
        if len(self.tlbi_vas) < L.MB_MAX_TLBI_VA:
            self.tlbi_vas.append(asid << 48 | (va >> 12) & 0xFFF_FFFF_FFFF)
        else:
            self.tlbi_asids.add(asid)

    def flush_pages(self, asid: int, vas: list[int]) -> None:
        """flush_page of each va; the whole ASID when they would not fit the reply's list."""
        if len(self.tlbi_vas) + len(vas) > L.MB_MAX_TLBI_VA:
            self.flush_asid(asid)
            return
        self.guest_work_pending = True
        self.tlbi_vas += [asid << 48 | (va >> 12) & 0xFFF_FFFF_FFFF for va in vas]

    def flush_asid(self, asid: int) -> None:
        self.guest_work_pending = True
        self.tlbi_asids.add(asid)

    def on_next_reply(self, hook: Callable[[], None]) -> None:
        """Run hook before the guest next goes back to user code (a debugger's table loan
        ends there): rare, so it rides on the guest-work flag the trap path checks anyway."""
        self.reply_hooks.append(hook)
        self.guest_work_pending = True

    def take_guest_work(self, cpu_bit: int = 1) -> tuple[int, int, list[int], list[PA]]:
        """(ops, tlbi_asid operand, tlbi VA operands, frames to scrub) for the next reply,
        the reply of the CPU `cpu_bit`."""
        if not self.guest_work_pending and not self.tlbi_all:
            return NO_GUEST_WORK
        if self.reply_hooks:
            hooks, self.reply_hooks = self.reply_hooks, []
            for hook in hooks:
                hook()
        ops = 0
        asid_operand = 0
        vas: list[int] = []
        if self.tlbi_all or len(self.tlbi_asids) > 1:
            ops |= L.OP_TLBI_ALL
        elif self.tlbi_asids:
            ops |= L.OP_TLBI_ASID
            asid_operand = next(iter(self.tlbi_asids)) << 48
        if self.tlbi_vas and not ops & L.OP_TLBI_ALL:
            ops |= L.OP_TLBI_VA
            vas = self.tlbi_vas
        tlbs = self.tlbs
        flushed: Optional[set[int]] = None
        if tlbs is not None and ops & TLBI_OPS and not self.tlbi_all:
            flushed = self.tlbi_asids.union([va >> 48 for va in self.tlbi_vas])
        self.tlbi_vas, self.tlbi_asids, self.tlbi_all = [], set(), False
        scrub = self._scrub_queue[:L.MB_MAX_SCRUB]
        del self._scrub_queue[:L.MB_MAX_SCRUB]
        if scrub:
            ops |= L.OP_SCRUB
        if self.running_cpus is not None:
            frames = self._deferred + scrub
            self._deferred = []
            running = self.running_cpus()
            watch = 0
            if frames:
                watch = running | cpu_bit
                self._grace.append([watch, frames])
            if ops & TLBI_OPS:
                if tlbs is not None:
                    ops = tlbs.route(ops, cpu_bit.bit_length() - 1, flushed, running)
                if ops & TLBI_OPS and not ops & L.OP_TLBI_LOCAL:
                    self._tlbi_inflight |= cpu_bit      # broadcast: the others wait for it
                    watch |= cpu_bit
            if watch:
                self.trap_watch(watch)
            if self._tlbi_inflight & ~cpu_bit:
                ops |= L.OP_TLBI_SELF       # (another CPU's broadcast may not have run yet)
            self.guest_work_pending = bool(self._scrub_queue) or bool(self._tlbi_inflight)
            return ops, asid_operand, vas, scrub
        self._scrubbing += scrub
        self.guest_work_pending = bool(self._scrub_queue)
        return ops, asid_operand, vas, scrub

    def guest_work_done(self, cpu_bit: int = 1) -> None:
        """The guest (CPU `cpu_bit`) trapped again after a reply: the frames it scrubbed
        are clean now; with several CPUs, frames whose grace period this trap ends are free."""
        if self._grace:
            self._end_grace(cpu_bit)
        self._tlbi_inflight &= ~cpu_bit
        if self._scrubbing:
            for pa in self._scrubbing:
                self._recycle(pa)
            self._scrubbing = []

    def _end_grace(self, cpu_bit: int) -> None:
        waiting = []
        for entry in self._grace:
            entry[0] &= ~cpu_bit
            if entry[0]:
                waiting.append(entry)
            else:
                self._recycle_many(entry[1])
        self._grace = waiting

    def _recycle_many(self, pas: list[PA]) -> None:
        """_recycle() of each: the hot list's room filled, the rest to the pool in one pass."""
        room = HOT_FRAMES - len(self._hot)
        if room > 0:
            self._hot += pas[:room]
            pas = pas[room:]
        if pas:
            self.frames.put_many(pas)

    @property
    def free_frames(self) -> int:
        return self.frames.free_frames + len(self._hot)
