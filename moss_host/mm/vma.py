"""Virtual memory areas: what a process has mapped, independent of what is resident.

A `Vma` is a page-aligned range [start, end) with Linux PROT_* bits, MAP_* flags
and, for file-backed and shared mappings, a `backing` (backing.py: what the pages are
filled from) plus the offset in it of `start`. VMAs are values:
VmaSet never mutates one it has handed out; splitting, mprotect and merging
replace them with new objects.

`VmaSet` keeps the VMAs sorted and non-overlapping in two parallel lists (starts,
vmas): find() is a bisect, O(log n); insert/remove shift the lists (a memmove).

Merging: with merge=True (the default, as Linux does), insert and protect_range
fuse a VMA with an adjacent neighbour when they have the same prot, flags, name
and backing object, and (for file-backed ones) contiguous offsets. Anonymous VMAs
carry an offset too (it moves with splits) but it means nothing and is ignored
when merging.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Iterator, Optional

from moss_host.addr import PAGE_SIZE, USER_VA_END
from moss_host.errors import ENOMEM, Errno

if TYPE_CHECKING:
    from .backing import Backing

PROT_NONE = 0x0
PROT_READ = 0x1
PROT_WRITE = 0x2
PROT_EXEC = 0x4
PROT_MASK = PROT_READ | PROT_WRITE | PROT_EXEC

MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_SHARED_VALIDATE = 0x03
MAP_TYPE = 0x0F
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_GROWSDOWN = 0x0100
MAP_DENYWRITE = 0x0800
MAP_EXECUTABLE = 0x1000
MAP_LOCKED = 0x2000
MAP_NORESERVE = 0x4000
MAP_POPULATE = 0x8000
MAP_NONBLOCK = 0x10000
MAP_STACK = 0x20000
MAP_HUGETLB = 0x40000
MAP_FIXED_NOREPLACE = 0x100000

MMAP_MIN_ADDR = 0x10000        # vm.mmap_min_addr: nothing is placed below this by find_free

# Linux VM_* bits a VMA carries beyond its prot and MAP_* flags (Vma.vm_flags), Linux's values.
VM_LOCKED = 0x00002000         # mlock: populated, stays resident
VM_DONTCOPY = 0x00020000       # MADV_DONTFORK: fork leaves it out of the child
VM_LOCKONFAULT = 0x00080000    # mlock2(MLOCK_ONFAULT): locked as pages are touched
VM_WIPEONFORK = 0x02000000     # MADV_WIPEONFORK: the child gets it empty (zeros)
VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT
# install_special_mapping's VMAs (VM_DONTEXPAND): never grown by mremap, never mlocked.
SPECIAL_MAPPINGS = ("[vdso]", "[vvar]")


@dataclass(slots=True, eq=True)
class Vma:
    start: int
    end: int
    prot: int
    flags: int = MAP_PRIVATE | MAP_ANONYMOUS
    backing: Optional[Backing] = None   # what the pages are filled from (None: anonymous, zeros)
    offset: int = 0            # byte offset in `backing` of `start`
    name: str = ""             # /proc/pid/maps name: a path, "[heap]", "[stack]", ...
    max_prot: int = PROT_MASK  # what mprotect may grant (Linux's VM_MAY*): [vvar] stays read-only
    vm_flags: int = 0          # VM_LOCKED, VM_DONTCOPY, ... (above): set by mlock and madvise

    def __post_init__(self) -> None:
        if (self.start & (PAGE_SIZE - 1) or self.end & (PAGE_SIZE - 1)
                or not 0 <= self.start < self.end <= USER_VA_END):
            raise ValueError(f"bad VMA range {self.start:#x}-{self.end:#x}")
        if self.prot & ~PROT_MASK:
            raise ValueError(f"bad prot {self.prot:#x}")

    @property
    def length(self) -> int:
        return self.end - self.start

    @property
    def readable(self) -> bool:
        return bool(self.prot & PROT_READ)

    @property
    def writable(self) -> bool:
        return bool(self.prot & PROT_WRITE)

    @property
    def executable(self) -> bool:
        return bool(self.prot & PROT_EXEC)

    @property
    def shared(self) -> bool:
        return self.flags & MAP_TYPE in (MAP_SHARED, MAP_SHARED_VALIDATE)

    @property
    def anonymous(self) -> bool:
        return bool(self.flags & MAP_ANONYMOUS)

    def contains(self, addr: int) -> bool:
        return self.start <= addr < self.end

    def file_offset(self, addr: int) -> int:
        """Offset in the backing object of the byte at addr."""
        return self.offset + (addr - self.start)

    def slice(self, start: int, end: int, **changes) -> "Vma":
        """The part [start, end) of this VMA (same file position for each page), with changes."""
        if not self.start <= start < end <= self.end:
            raise ValueError(f"slice {start:#x}-{end:#x} outside {self.start:#x}-{self.end:#x}")
        return replace(self, start=start, end=end, offset=self.offset + (start - self.start),
                       **changes)

    def maps_line(self, dev_major: int = 0, dev_minor: int = 0, inode: int = 0) -> str:
        """The /proc/pid/maps line (without newline), padded exactly as Linux pads it."""
        perms = ("r" if self.prot & PROT_READ else "-") + ("w" if self.prot & PROT_WRITE else "-") \
            + ("x" if self.prot & PROT_EXEC else "-") + ("s" if self.shared else "p")
        off = self.offset if self.backing is not None else 0
        line = (f"{self.start:08x}-{self.end:08x} {perms} {off:08x} "
                f"{dev_major:02x}:{dev_minor:02x} {inode} ")
        if self.name:
            line = line.ljust(72) + " " + self.name
        return line


def mergeable(a: Vma, b: Vma) -> bool:
    """True if b starts where a ends and the two can be one VMA."""
    return (a.end == b.start and a.prot == b.prot and a.flags == b.flags
            and a.name == b.name and a.backing is b.backing and a.max_prot == b.max_prot
            and a.vm_flags == b.vm_flags
            and (a.backing is None or a.offset + (a.end - a.start) == b.offset))


def _check_range(start: int, end: int) -> None:
    if start & (PAGE_SIZE - 1) or end & (PAGE_SIZE - 1) or not 0 <= start < end <= USER_VA_END:
        raise ValueError(f"bad range {start:#x}-{end:#x}")


class VmaSet:
    """The VMAs of one address space, sorted and non-overlapping."""

    def __init__(self, merge: bool = True):
        self.merge = merge
        self._starts: list[int] = []
        self._vmas: list[Vma] = []

    def __len__(self) -> int:
        return len(self._vmas)

    def __iter__(self) -> Iterator[Vma]:
        """Address order; a snapshot, so the set may be changed while iterating."""
        return iter(tuple(self._vmas))

    def copy(self) -> "VmaSet":
        """Same VMAs (they are values, so sharing them is safe): for fork."""
        s = VmaSet(self.merge)
        s._starts = self._starts.copy()
        s._vmas = self._vmas.copy()
        return s

    # -- queries --------------------------------------------------------------------------

    def find(self, addr: int) -> Vma | None:
        """The VMA containing addr, or None."""
        i = bisect_right(self._starts, addr) - 1
        if i >= 0:
            v = self._vmas[i]
            if addr < v.end:
                return v
        return None

    def _first_ending_after(self, addr: int) -> int:
        """Index of the first VMA with end > addr."""
        i = bisect_right(self._starts, addr) - 1
        if i < 0 or self._vmas[i].end <= addr:
            i += 1
        return i

    def overlapping(self, start: int, end: int) -> list[Vma]:
        """VMAs intersecting [start, end), in order (whole, not clipped)."""
        i = self._first_ending_after(start)
        j = bisect_left(self._starts, end)
        return self._vmas[i:j]

    def locked_bytes(self) -> int:
        """Linux's locked_vm: the size of the VM_LOCKED mappings (VmLck in /proc/pid/status)."""
        return sum(v.end - v.start for v in self._vmas if v.vm_flags & VM_LOCKED)

    def is_free(self, start: int, end: int) -> bool:
        """True if no VMA intersects [start, end)."""
        i = bisect_left(self._starts, end) - 1
        return i < 0 or self._vmas[i].end <= start

    def around(self, addr: int) -> tuple[Vma | None, Vma | None]:
        """The VMAs either side of an unmapped addr: (the last one below, the first one above)."""
        i = self._first_ending_after(addr)
        return (self._vmas[i - 1] if i > 0 else None), (self._vmas[i] if i < len(self._vmas) else None)

    def first_gap(self, start: int, end: int) -> int | None:
        """Lowest address in [start, end) that no VMA covers, or None if all covered."""
        addr = start
        i = self._first_ending_after(start)
        vmas = self._vmas
        while addr < end:
            if i >= len(vmas) or vmas[i].start > addr:
                return addr
            addr = vmas[i].end
            i += 1
        return None

    # -- changes ------------------------------------------------------------------------

    def insert(self, vma: Vma) -> Vma:
        """Add a VMA over free space (ValueError if it overlaps). Returns the stored VMA
        (a merged one if it was fused with a neighbour)."""
        if not self.is_free(vma.start, vma.end):
            raise ValueError(f"VMA {vma.start:#x}-{vma.end:#x} overlaps an existing one")
        i = bisect_left(self._starts, vma.start)
        self._starts.insert(i, vma.start)
        self._vmas.insert(i, vma)
        if self.merge:
            if i + 1 < len(self._vmas):
                self._merge_pair(i)
            if i > 0 and self._merge_pair(i - 1):
                i -= 1
        return self._vmas[i]

    def extend_down(self, vma: Vma, start: int) -> Vma:
        """Move vma's start down to `start` over free space (a stack growing); returns the new VMA.
        Never merged with the VMA below, as Linux's expand_downwards does not."""
        i = bisect_left(self._starts, vma.start)
        if i >= len(self._vmas) or self._vmas[i] is not vma or not self.is_free(start, vma.start):
            raise ValueError(f"cannot extend {vma.start:#x}-{vma.end:#x} down to {start:#x}")
        grown = replace(vma, start=start, offset=vma.offset - (vma.start - start))
        self._vmas[i] = grown
        self._starts[i] = start
        return grown

    def extend_up(self, vma: Vma, end: int) -> Vma:
        """Move vma's end up to `end` over free space (mremap growing in place); returns the
        new VMA. Not merged with the VMA above, as Linux's vma_adjust does not."""
        i = bisect_left(self._starts, vma.start)
        if i >= len(self._vmas) or self._vmas[i] is not vma or not self.is_free(vma.end, end):
            raise ValueError(f"cannot extend {vma.start:#x}-{vma.end:#x} up to {end:#x}")
        grown = replace(vma, end=end)
        self._vmas[i] = grown
        return grown

    def _merge_pair(self, i: int) -> bool:
        """Fuse vmas[i] and vmas[i+1] if compatible."""
        a, b = self._vmas[i], self._vmas[i + 1]
        if not mergeable(a, b):
            return False
        self._vmas[i:i + 2] = [replace(a, end=b.end)]
        del self._starts[i + 1]
        return True

    def remove_range(self, start: int, end: int) -> list[Vma]:
        """Unmap [start, end) (munmap): VMAs straddling an edge are split; returns the
        removed pieces, clipped to the range, in address order (file offsets adjusted)."""
        _check_range(start, end)
        i = self._first_ending_after(start)
        j = bisect_left(self._starts, end)
        if i >= j:
            return []
        removed: list[Vma] = []
        keep: list[Vma] = []
        for v in self._vmas[i:j]:
            if v.start < start:
                keep.append(v.slice(v.start, start))
            removed.append(v if start <= v.start and v.end <= end
                           else v.slice(max(v.start, start), min(v.end, end)))
            if v.end > end:
                keep.append(v.slice(end, v.end))
        self._vmas[i:j] = keep
        self._starts[i:j] = [v.start for v in keep]
        return removed

    def protect_range(self, start: int, end: int, prot: int) -> list[tuple[Vma, Vma]]:
        """Set prot on [start, end) (mprotect), splitting VMAs at the edges.

        Returns (old piece, new piece) for each part whose prot changed, before any
        merging, so the caller can fix the page tables. If part of the range is
        unmapped, raises Errno(ENOMEM) and changes nothing. (Linux changes the VMAs
        below the first hole before failing; a caller wanting that calls
        first_gap() and protects [start, gap) first.)
        """
        _check_range(start, end)
        if prot & ~PROT_MASK:
            raise ValueError(f"bad prot {prot:#x}")
        if self.first_gap(start, end) is not None:
            raise Errno(ENOMEM, "mprotect of an unmapped range")
        i = self._first_ending_after(start)
        j = bisect_left(self._starts, end)
        changed: list[tuple[Vma, Vma]] = []
        new: list[Vma] = []
        for v in self._vmas[i:j]:
            if v.prot == prot:
                new.append(v)
                continue
            lo, hi = max(v.start, start), min(v.end, end)
            if v.start < lo:
                new.append(v.slice(v.start, lo))
            old = v if lo == v.start and hi == v.end else v.slice(lo, hi)
            piece = replace(old, prot=prot)
            new.append(piece)
            changed.append((old, piece))
            if hi < v.end:
                new.append(v.slice(hi, v.end))
        self._vmas[i:j] = new
        self._starts[i:j] = [v.start for v in new]
        if self.merge and changed:
            # Try each pair (k-1, k) from (last new piece, right neighbour) down to
            # (left neighbour, first new piece); going down keeps lower indexes valid.
            k = min(i + len(new), len(self._vmas) - 1)
            while k >= max(i, 1):
                self._merge_pair(k - 1)
                k -= 1
        return changed

    def update_vm_flags(self, start: int, end: int, set_bits: int, clear_bits: int) -> None:
        """Set and clear VM_* bits on the mapped parts of [start, end), splitting VMAs at the
        edges and merging what becomes alike (mlock, munlock, madvise); holes are skipped."""
        _check_range(start, end)
        i = self._first_ending_after(start)
        j = bisect_left(self._starts, end)
        new: list[Vma] = []
        changed = False
        for v in self._vmas[i:j]:
            flags = (v.vm_flags | set_bits) & ~clear_bits
            if flags == v.vm_flags:
                new.append(v)
                continue
            changed = True
            lo, hi = max(v.start, start), min(v.end, end)
            if v.start < lo:
                new.append(v.slice(v.start, lo))
            new.append(v.slice(lo, hi, vm_flags=flags))
            if hi < v.end:
                new.append(v.slice(hi, v.end))
        if not changed:
            return
        self._vmas[i:j] = new
        self._starts[i:j] = [v.start for v in new]
        if self.merge:
            k = min(i + len(new), len(self._vmas) - 1)
            while k >= max(i, 1):
                self._merge_pair(k - 1)
                k -= 1

    # -- placement -------------------------------------------------------------------------

    def find_free(self, length: int, hint: int = 0, *, bottom: int = MMAP_MIN_ADDR,
                  top: int = USER_VA_END, limit: int = USER_VA_END,
                  top_down: bool = True, align: int = PAGE_SIZE) -> int:
        """Where to put a new mapping of `length` bytes (mmap without MAP_FIXED).

        A non-zero hint is taken (rounded up to a page) if [hint, hint + length) is free
        and inside [bottom, limit). Otherwise the highest (top_down) or lowest free
        `align`-aligned range inside [bottom, top) is returned, as Linux's top-down
        allocator does below mmap_base. Errno(ENOMEM) if nothing fits.
        """
        if length <= 0 or length & (PAGE_SIZE - 1):
            raise ValueError(f"bad length {length:#x}")
        if align < PAGE_SIZE or align & (align - 1):
            raise ValueError(f"bad alignment {align:#x}")
        if hint:
            h = (hint + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
            if bottom <= h and h + length <= limit and self.is_free(h, h + length):
                return h
        vmas = self._vmas
        amask = ~(align - 1)
        if top_down:
            hi = top
            j = bisect_left(self._starts, top) - 1
            while hi - bottom >= length:
                lo = max(vmas[j].end, bottom) if j >= 0 else bottom
                if hi > lo:
                    addr = (hi - length) & amask
                    if addr >= lo:
                        return addr
                if j < 0:
                    break
                hi = min(hi, vmas[j].start)
                j -= 1
        else:
            j = self._first_ending_after(bottom)
            lo = bottom
            while top - lo >= length:
                hi = min(vmas[j].start, top) if j < len(vmas) else top
                addr = (lo + align - 1) & amask
                if addr + length <= hi:
                    return addr
                if j >= len(vmas):
                    break
                lo = max(lo, vmas[j].end)
                j += 1
        raise Errno(ENOMEM, f"no room for {length:#x} bytes")
