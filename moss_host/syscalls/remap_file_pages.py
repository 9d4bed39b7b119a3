"""remap_file_pages: the deprecated non-linear mapping call, emulated as Linux 6.1 does it
(mm/mmap.c): the pages [start, start + size) of a shared mapping become a new MAP_SHARED |
MAP_FIXED | MAP_POPULATE mapping of the same file (or shared memory) at page pgoff, with the
old mapping's protection. prot must be 0 (EINVAL), as must be everything Linux refuses:
a range that wraps, leaves the mapping through a hole or into another file, or a private one.
"""
from __future__ import annotations

from moss_host.addr import PAGE_SIZE
from moss_host.errors import EINVAL, Errno
from moss_host.mm.vma import PROT_READ, VM_LOCKED, Vma
from moss_host.mm.writeback import write_back

from .args import Hex, Ptr, Size
from .table import syscall

PAGE_MASK = ~(PAGE_SIZE - 1)
ULONG = (1 << 64) - 1


@syscall("remap_file_pages")
def remap_file_pages(task, start: "Ptr", size: "Size", prot: "Hex", pgoff: "Hex", flags: "Hex") -> int:
    """Map file page pgoff (on) at start, in place of what the shared mapping had there."""
    if prot:
        raise Errno(EINVAL)
    start, size = start & PAGE_MASK, size & PAGE_MASK
    end = start + size
    if end > ULONG or end <= start or pgoff + size // PAGE_SIZE > ULONG:
        raise Errno(EINVAL)
    mm = task.mm
    vma = mm.vmas.find(start)
    if vma is None or not vma.shared:
        raise Errno(EINVAL)
    _check_span(mm.vmas.overlapping(start, end), vma, end)
    write_back(mm, start, end)
    mm.unmap(start, end)
    new = mm.add(Vma(start, end, vma.prot, vma.flags, vma.backing, pgoff * PAGE_SIZE, vma.name,
                     max_prot=vma.max_prot, vm_flags=vma.vm_flags & VM_LOCKED))
    if new.prot & PROT_READ:                # (populating a write- or exec-only one would fault)
        for va in range(start, end, PAGE_SIZE):
            mm.fault(va, False, False)          # MAP_POPULATE
    return 0


def _check_span(vmas: list[Vma], first: Vma, end: int) -> None:
    """Past the first mapping the range must go on through mappings of the same file with the
    same flags and no hole (Linux's loop over the next VMAs)."""
    prev = first
    for v in vmas[1:]:
        if v.start != prev.end or v.backing is not first.backing or v.flags != first.flags \
                or v.prot != first.prot:
            raise Errno(EINVAL)
        prev = v
    if prev.end < end:
        raise Errno(EINVAL)
