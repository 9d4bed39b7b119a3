"""Physical frame allocator: a binary buddy allocator over 4 KiB frames, with reference counts.

Blocks have orders 0..MAX_ORDER (1 frame .. 1024 frames = 4 MiB). A block of order k
is aligned to 4 KiB << k in *physical* address space (not relative to the pool base),
so an order-9 block can back a 2 MiB block mapping. A pool whose base or size is not
aligned is simply seeded with smaller blocks at its edges.

Bookkeeping, all O(1) dict operations (an op costs O(MAX_ORDER) at worst):
  * `_free[k]`: the free blocks of order k, as a dict used as an ordered set of frame
    numbers (pfn = pa >> 12). `popitem()` hands out the most recently freed block
    first (LIFO), which is deterministic.
  * `_alloc`: pfn of each allocated block's first frame -> its order. It is what
    makes free() detect double frees and wrong orders.
  * `_refs`: reference counts above 1 (an allocated block without an entry has
    count 1; a free block has count 0).
  * `low_pfn`: the lowest frame ever handed out. The pool is seeded in ascending order
    and `popitem()` takes the last block, so fresh blocks go from the top of RAM down
    and every frame below `low_pfn` has never been used: it holds what the RAM held at
    the start (zeros, for a fresh RAM file; mm/memory.py skips zeroing such frames).

Reference counts (for copy-on-write sharing) belong to allocated blocks and are
addressed by the block's first frame. The rule: a block is freed when its last
reference goes, by `put(pa)`, which returns the remaining count and frees the
block when it reaches 0. `free(pa, order)` is for blocks that are not shared:
freeing a block whose count is above 1 is a kernel bug (ValueError).
"""
from __future__ import annotations

from itertools import repeat
from typing import cast

from moss_host.addr import PA, PAGE_SHIFT, PAGE_SIZE

MAX_ORDER = 10


class OutOfMemory(Exception):
    """No free block of the requested order (the caller decides: ENOMEM, OOM kill, ...)."""


class FrameAllocator:
    """Buddy allocator over the physical range [base_pa, base_pa + size), both page-aligned."""

    def __init__(self, base_pa: int, size: int):
        if base_pa < 0 or size < 0 or base_pa % PAGE_SIZE or size % PAGE_SIZE:
            raise ValueError(f"frame pool {base_pa:#x}+{size:#x} is not page-aligned")
        self.base_pa = base_pa
        self.size = size
        self.total_frames = size >> PAGE_SHIFT
        self._lo = base_pa >> PAGE_SHIFT              # first pfn
        self._hi = self._lo + self.total_frames       # one past the last pfn
        self._free: list[dict[int, None]] = [{} for _ in range(MAX_ORDER + 1)]
        self._alloc: dict[int, int] = {}
        self._refs: dict[int, int] = {}
        self._nfree = self.total_frames
        self.low_pfn = self._hi
        pfn = self._lo
        while pfn < self._hi:                         # largest aligned block that fits
            order = MAX_ORDER
            while pfn & ((1 << order) - 1) or pfn + (1 << order) > self._hi:
                order -= 1
            self._free[order][pfn] = None
            pfn += 1 << order

    @property
    def free_frames(self) -> int:
        return self._nfree

    def alloc(self, order: int = 0) -> PA:
        """A block of 2**order frames, aligned to its size. Contents are not zeroed."""
        free = self._free
        if type(order) is not int or not 0 <= order <= MAX_ORDER:
            raise ValueError(f"bad order {order!r}")
        k = order
        while k <= MAX_ORDER:
            if free[k]:
                break
            k += 1
        else:
            raise OutOfMemory(f"no free block of order {order} "
                              f"({self._nfree} of {self.total_frames} frames free)")
        pfn = free[k].popitem()[0]
        if pfn < self.low_pfn:
            self.low_pfn = pfn
        while k > order:                              # split, keeping the lower half
            k -= 1
            free[k][pfn + (1 << k)] = None
        self._alloc[pfn] = order
        self._nfree -= 1 << order
        return PA(pfn << PAGE_SHIFT)

    def alloc_many(self, n: int) -> list[PA]:
        """Up to n order-0 frames, fewer when the pool runs short (none when it is empty: no
        OutOfMemory). They are carved from as few blocks as possible, so they come in
        ascending physically contiguous runs (a fault-around zeroes and maps them per run);
        each is an order-0 block of its own afterwards: shared, put and freed one by one."""
        out: list[int] = []
        free = self._free
        alloc = self._alloc
        while n > 0 and self._nfree:
            want = min(n.bit_length() - 1, MAX_ORDER)     # the largest block not above n
            k = want
            while k <= MAX_ORDER and not free[k]:
                k += 1
            if k > MAX_ORDER:                             # only smaller blocks are left
                k = want - 1
                while not free[k]:
                    k -= 1
            order = min(k, want)
            pfn = free[k].popitem()[0]
            if pfn < self.low_pfn:
                self.low_pfn = pfn
            while k > order:                              # split, keeping the lower half
                k -= 1
                free[k][pfn + (1 << k)] = None
            alloc.update(dict.fromkeys(range(pfn, pfn + (1 << order)), 0))
            out += range(pfn << PAGE_SHIFT, (pfn + (1 << order)) << PAGE_SHIFT, PAGE_SIZE)
            self._nfree -= 1 << order
            n -= 1 << order
        return cast(list[PA], out)

    def put_many(self, pas: list[PA]) -> None:
        """put() of each block in pas (munmap of a large range): shared ones lose a
        reference, the others go back to the pool, a run of order-0 frames that fills an
        aligned block of 2**k as one block of order k (one buddy merge, not 2**k)."""
        alloc, refs = self._alloc, self._refs
        pfns = sorted([pa >> PAGE_SHIFT for pa in pas])
        if refs:
            shared = refs.keys() & pfns
            if shared and len(set(pfns)) < len(pfns):     # a shared frame twice: one by one
                for pa in pas:
                    self.put(pa)
                return
            if shared:                                    # one reference less; still allocated
                for pfn in shared:
                    n = refs[pfn] - 1
                    if n > 1:
                        refs[pfn] = n
                    else:
                        del refs[pfn]
                pfns = [p for p in pfns if p not in shared]
        orders = list(map(alloc.pop, pfns, repeat(None)))
        if any(orders) or None in orders:
            for pfn, order in zip(pfns, orders):          # (rare) put back, then one by one
                if order is not None:
                    alloc[pfn] = order
            for pfn in pfns:
                self.put(PA(pfn << PAGE_SHIFT))
            return
        release = self._release
        i, n = 0, len(pfns)
        while i < n:                                      # pfns are ascending and distinct now
            pfn = pfns[i]
            k = 0
            while k < MAX_ORDER:
                size = 2 << k
                if pfn & (size - 1) or i + size > n or pfns[i + size - 1] != pfn + size - 1:
                    break
                k += 1
            release(pfn, k)
            i += 1 << k

    def free(self, pa: int, order: int = 0) -> None:
        """Return an unshared block (refcount 1) allocated with this order; merges free buddies."""
        pfn = pa >> PAGE_SHIFT
        got = self._alloc.get(pfn)
        if got is None or pa & (PAGE_SIZE - 1):
            raise ValueError(f"free of {pa:#x}: not an allocated block (double free?)")
        if got != order:
            raise ValueError(f"free of {pa:#x} with order {order}, allocated with order {got}")
        if pfn in self._refs:
            raise ValueError(f"free of {pa:#x} which is shared (refcount {self._refs[pfn]})")
        del self._alloc[pfn]
        self._release(pfn, order)

    def _release(self, pfn: int, order: int) -> None:
        self._nfree += 1 << order
        free = self._free
        while order < MAX_ORDER:
            buddy = pfn ^ (1 << order)
            lst = free[order]
            if buddy not in lst:                      # only in-pool blocks are ever listed
                break
            del lst[buddy]
            pfn &= ~(1 << order)
            order += 1
        free[order][pfn] = None

    # -- reference counts ----------------------------------------------------------

    def get_ref(self, pa: int) -> int:
        """Reference count of the allocated block at pa; 0 if it is not allocated."""
        pfn = pa >> PAGE_SHIFT
        if pfn not in self._alloc or pa & (PAGE_SIZE - 1):
            return 0
        return self._refs.get(pfn, 1)

    def inc_ref(self, pa: int) -> int:
        """Add a reference (another mapping shares the block); returns the new count."""
        pfn = pa >> PAGE_SHIFT
        if pfn not in self._alloc or pa & (PAGE_SIZE - 1):
            raise ValueError(f"inc_ref of {pa:#x}: not an allocated block")
        n = self._refs.get(pfn, 1) + 1
        self._refs[pfn] = n
        return n

    def unshared(self, pas: set[int]) -> set[int]:
        """The blocks of pas whose reference count is at most 1 (get_ref, as a set filter)."""
        refs = self._refs
        return {pa for pa in pas if pa >> PAGE_SHIFT not in refs}

    def inc_ref_many(self, pas: list[PA]) -> None:
        """inc_ref() of each block in pas (fork sharing a whole address space's frames)."""
        alloc, refs = self._alloc, self._refs
        pfns = {pa >> PAGE_SHIFT for pa in pas}
        if len(pfns) < len(pas) or not alloc.keys() >= pfns:
            for pa in pas:                  # (a frame twice, or a bad one: inc_ref says which)
                self.inc_ref(pa)
            return
        shared = refs.keys() & pfns
        refs.update(dict.fromkeys(pfns - shared if shared else pfns, 2))
        for pfn in shared:
            refs[pfn] += 1

    def put(self, pa: int) -> int:
        """Drop a reference; frees the block when none remain. Returns the remaining count."""
        pfn = pa >> PAGE_SHIFT
        order = self._alloc.get(pfn)
        if order is None or pa & (PAGE_SIZE - 1):
            raise ValueError(f"put of {pa:#x}: not an allocated block (double free?)")
        n = self._refs.get(pfn, 1) - 1
        if n > 1:
            self._refs[pfn] = n
        elif n == 1:
            del self._refs[pfn]
        else:
            del self._alloc[pfn]
            self._release(pfn, order)
        return n
