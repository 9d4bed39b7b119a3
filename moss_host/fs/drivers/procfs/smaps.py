"""/proc/<pid>/smaps and smaps_rollup: each mapping's memory as fs/proc/task_mmu.c of Linux
6.1 counts it (show_smap, show_smaps_rollup), from the address space's resident pages.

What a page is, read from moss-py's memory manager (pages_of):
* anonymous: a page of a mapping without a file, or the private copy a write made of a
  private file page (it is then writable in the page table); always dirty, as Linux's
  swap-backed pages are;
* a file page: the page cache's own frame, dirty if a shared writable mapping has mapped
  it since it was last written back (the cache's maybe-dirty pages: one only read through
  such a mapping counts as dirty, where Linux's dirty bit would say clean);
* how many map it (mapcount): the frame's references, less the page cache's own for a
  file page. Pss divides each page by it, in Linux's fixed point (PSS_SHIFT).
There is no swap, no huge page and no LazyFree here: those lines are 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

from ....mm.vma import (MAP_GROWSDOWN, PROT_EXEC, PROT_READ, PROT_WRITE, SPECIAL_MAPPINGS, VM_DONTCOPY,
                        VM_LOCKED, VM_LOCKONFAULT, VM_WIPEONFORK, Vma)

if TYPE_CHECKING:
    from moss_host.mm.address_space import AddressSpace

PAGE = 4096
PSS_SHIFT = 12
MAP_NORESERVE = 0x4000


@dataclass(frozen=True)
class Page:
    va: int
    pa: int
    anon: bool
    dirty: bool
    mapcount: int


def pages_of(mm: AddressSpace, vma: Vma, start: int = 0, end: int = 1 << 64) -> Iterator[Page]:
    """The resident pages of vma (between start and end), classified as smaps and pagemap need them."""
    refs = mm.mem.frames.get_ref
    inode = vma.backing.inode if vma.backing is not None else None
    cached = inode.page_cache if inode is not None else None
    for va in sorted(mm.resident_in(max(vma.start, start), min(vma.end, end))):
        pa = mm.resident[va]
        copied = vma.backing is not None and not vma.shared and va in mm.writable
        anon = vma.backing is None or copied
        count = refs(pa)
        mapcount = max(1, count if anon else count - 1)      # the page cache holds one reference
        if anon:
            dirty = True
        elif cached is not None:        # a file page: one a shared writable mapping may have stored to
            dirty = vma.file_offset(va) >> 12 in cached.maybe_dirty
        else:                           # shared anonymous memory
            dirty = vma.shared and va in mm.writable
        yield Page(va, pa, anon, dirty, mapcount)


@dataclass
class Counts:
    """mem_size_stats: bytes, Pss values in bytes << PSS_SHIFT."""
    resident: int = 0
    pss: int = 0
    pss_dirty: int = 0
    pss_anon: int = 0
    pss_file: int = 0
    pss_locked: int = 0
    shared_clean: int = 0
    shared_dirty: int = 0
    private_clean: int = 0
    private_dirty: int = 0
    anonymous: int = 0
    lines: list[str] = field(default_factory=list)

    def add(self, mm: AddressSpace, vma: Vma) -> None:
        locked = bool(vma.vm_flags & VM_LOCKED)
        for page in pages_of(mm, vma):
            share = (PAGE << PSS_SHIFT) // page.mapcount
            self.resident += PAGE
            self.pss += share
            if page.dirty:
                self.pss_dirty += share
            if page.anon:
                self.anonymous += PAGE
                self.pss_anon += share
            else:
                self.pss_file += share
            if locked:
                self.pss_locked += share
            shared = page.mapcount > 1
            if shared and page.dirty:
                self.shared_dirty += PAGE
            elif shared:
                self.shared_clean += PAGE
            elif page.dirty:
                self.private_dirty += PAGE
            else:
                self.private_clean += PAGE

    def kb_lines(self, rollup: bool) -> list[str]:
        def kb(name: str, nbytes: int) -> str:
            return f"{name + ':':<16}{nbytes >> 10:8d} kB"

        def pss_kb(name: str, value: int) -> str:
            return kb(name, value >> PSS_SHIFT)
        out = [kb("Rss", self.resident), pss_kb("Pss", self.pss), pss_kb("Pss_Dirty", self.pss_dirty)]
        if rollup:
            out += [pss_kb("Pss_Anon", self.pss_anon), pss_kb("Pss_File", self.pss_file), kb("Pss_Shmem", 0)]
        out += [kb("Shared_Clean", self.shared_clean), kb("Shared_Dirty", self.shared_dirty),
                kb("Private_Clean", self.private_clean), kb("Private_Dirty", self.private_dirty),
                kb("Referenced", self.resident), kb("Anonymous", self.anonymous), kb("LazyFree", 0),
                kb("AnonHugePages", 0), kb("ShmemPmdMapped", 0), kb("FilePmdMapped", 0),
                kb("Shared_Hugetlb", 0), kb("Private_Hugetlb", 0), kb("Swap", 0), kb("SwapPss", 0),
                pss_kb("Locked", self.pss_locked)]
        return out


# show_smap_vma_flags's mnemonics, in bit order (VM_READ ... VM_MERGEABLE)
def vm_flags(vma: Vma) -> str:
    prot, maxp, shared = vma.prot, vma.max_prot, vma.shared
    special = vma.name in SPECIAL_MAPPINGS
    bits = [
        ("rd", prot & PROT_READ), ("wr", prot & PROT_WRITE), ("ex", prot & PROT_EXEC),
        ("sh", shared and maxp & PROT_WRITE), ("mr", maxp & PROT_READ), ("mw", maxp & PROT_WRITE),
        ("me", maxp & PROT_EXEC), ("ms", shared),
        ("gd", vma.flags & MAP_GROWSDOWN or vma.name == "[stack]"),
        ("lo", vma.vm_flags & VM_LOCKED), ("dc", vma.vm_flags & VM_DONTCOPY), ("de", special),
        ("lf", vma.vm_flags & VM_LOCKONFAULT),
        ("ac", not shared and not special and prot & PROT_WRITE and not vma.flags & MAP_NORESERVE),
        ("nr", vma.flags & MAP_NORESERVE and not shared), ("wf", vma.vm_flags & VM_WIPEONFORK),
    ]
    return "VmFlags: " + "".join(f"{name} " for name, on in bits if on)


def smaps_text(mm: AddressSpace, maps_lines: list[str]) -> bytes:
    """show_smap for each VMA: its maps line (the caller's, one per VMA), then the counts."""
    out = []
    for vma, line in zip(list(mm.vmas), maps_lines):
        counts = Counts()
        counts.add(mm, vma)
        out += [line, f"{'Size:':<16}{vma.length >> 10:8d} kB", f"{'KernelPageSize:':<16}{4:8d} kB",
                f"{'MMUPageSize:':<16}{4:8d} kB", *counts.kb_lines(rollup=False), "THPeligible:    0",
                vm_flags(vma)]
    return "".join(s + "\n" for s in out).encode(errors="surrogateescape")


def smaps_rollup_text(mm: AddressSpace) -> bytes:
    """show_smaps_rollup: the sums over every VMA, under a line spanning them all."""
    vmas = list(mm.vmas)
    if not vmas:
        return b""
    counts = Counts()
    for vma in vmas:
        counts.add(mm, vma)
    head = f"{vmas[0].start:08x}-{vmas[-1].end:08x} ---p 00000000 00:00 0".ljust(72) + " [rollup]"
    return "".join(s + "\n" for s in [head, *counts.kb_lines(rollup=True)]).encode()
