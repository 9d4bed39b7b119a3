"""mremap(2): shrink a mapping, grow it in place, or move it, as Linux 6.1's mm/mremap.c does
(the checks in its order, so the same call fails with the same errno).

A move takes the resident pages along with their page-table entries (AddressSpace.move_pages):
frames are not copied, so a moved MAP_SHARED mapping still shares its frames and a moved
private file mapping still shares page-cache frames until written.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from moss_host.addr import PAGE_SIZE, USER_VA_END
from moss_host.errors import EFAULT, EINVAL, ENOMEM, EPERM, Errno

from .advice import check_future_lock
from .vma import MMAP_MIN_ADDR, SPECIAL_MAPPINGS, VM_LOCKED, VM_LOCKED_MASK, VM_LOCKONFAULT, Vma
from .writeback import write_back

if TYPE_CHECKING:
    from .address_space import AddressSpace

MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4
_U64 = RLIM_INFINITY = (1 << 64) - 1
# Names /proc/pid/maps gives by position (the brk area, the initial stack), not by the mapping.
_POSITIONAL = ("[heap]", "[stack]")
# may_expand_vm for the caller's limits (RLIMIT_AS, RLIMIT_DATA: proc/vm_limits.py): may `vma` grow by n bytes?
MayExpand = Callable[[Vma, int], bool]


def _unlimited(vma: Vma, n: int) -> bool:
    return True


def _page_align(n: int) -> int:
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1) & _U64     # PAGE_ALIGN, wrapping as C does


def mremap(mm: AddressSpace, addr: int, old_len: int, new_len: int, flags: int, new_addr: int,
           memlock: tuple[int, bool] = (RLIM_INFINITY, True), may_expand: MayExpand = _unlimited) -> int:
    """The new address of the mapping at addr, or Errno. memlock: the caller's RLIMIT_MEMLOCK
    and whether it may exceed it (CAP_IPC_LOCK), for growing a locked mapping; may_expand:
    whether its address-space limits let a mapping grow."""
    if flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP):
        raise Errno(EINVAL)
    if flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE:
        raise Errno(EINVAL)
    # DONTUNMAP is always a move and never a resize (compared before rounding, as Linux does).
    if flags & MREMAP_DONTUNMAP and (not flags & MREMAP_MAYMOVE or old_len != new_len):
        raise Errno(EINVAL)
    if addr & (PAGE_SIZE - 1):
        raise Errno(EINVAL)
    old_len, new_len = _page_align(old_len), _page_align(new_len)
    if not new_len:
        raise Errno(EINVAL)
    if mm.vmas.find(addr) is None:
        raise Errno(EFAULT)
    if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP):
        return _remap_to(mm, addr, old_len, new_addr, new_len, flags, memlock, may_expand)
    if old_len >= new_len:                  # shrinking always works: unmap the tail
        if old_len != new_len:
            _munmap(mm, addr + new_len, old_len - new_len)
        return addr
    vma = _vma_to_resize(mm, addr, old_len, new_len, flags, memlock, may_expand)
    if old_len == vma.end - addr and _expandable(mm, vma, new_len - old_len):
        grown = mm.vmas.extend_up(vma, addr + new_len)
        _populate_if_locked(mm, grown, addr + old_len, addr + new_len)
        return addr
    if not flags & MREMAP_MAYMOVE:
        raise Errno(ENOMEM)
    target = mm.vmas.find_free(new_len, top=mm.mmap_top)
    return _move(mm, vma, addr, old_len, new_len, target, flags)


def _remap_to(mm: AddressSpace, addr: int, old_len: int, new_addr: int, new_len: int, flags: int,
              memlock: tuple[int, bool], may_expand: MayExpand) -> int:
    """mremap_to: MREMAP_FIXED (new_addr is where) or MREMAP_DONTUNMAP (new_addr a hint)."""
    if new_addr & (PAGE_SIZE - 1):
        raise Errno(EINVAL)
    if new_len > USER_VA_END or new_addr > USER_VA_END - new_len:
        raise Errno(EINVAL)
    if addr + old_len > new_addr and new_addr + new_len > addr:    # the ranges overlap
        raise Errno(EINVAL)
    if flags & MREMAP_FIXED:
        _munmap(mm, new_addr, new_len)
    if old_len > new_len:
        _munmap(mm, addr + new_len, old_len - new_len)
        old_len = new_len
    vma = _vma_to_resize(mm, addr, old_len, new_len, flags, memlock, may_expand)
    if flags & MREMAP_FIXED:
        if new_addr < MMAP_MIN_ADDR:        # security_mmap_addr, as mmap's place() answers it
            raise Errno(EPERM)
    else:
        new_addr = mm.vmas.find_free(new_len, new_addr, top=mm.mmap_top)
    return _move(mm, vma, addr, old_len, new_len, new_addr, flags)


def _vma_to_resize(mm: AddressSpace, addr: int, old_len: int, new_len: int, flags: int,
                   memlock: tuple[int, bool], may_expand: MayExpand) -> Vma:
    vma = mm.vmas.find(addr)
    if vma is None:
        raise Errno(EFAULT)
    # old_len 0 "duplicates" a mapping: meaningful only for shared ones.
    if not old_len and not vma.shared:
        raise Errno(EINVAL)
    if flags & MREMAP_DONTUNMAP and vma.name in SPECIAL_MAPPINGS:
        raise Errno(EINVAL)
    if old_len > vma.end - addr:            # no remapping across VMA boundaries
        raise Errno(EFAULT)
    if new_len == old_len:
        return vma
    pgoff = (vma.offset + (addr - vma.start)) // PAGE_SIZE
    if pgoff + new_len // PAGE_SIZE > _U64:
        raise Errno(EINVAL)
    if vma.name in SPECIAL_MAPPINGS:
        raise Errno(EFAULT)
    check_future_lock(mm, vma.vm_flags, new_len - old_len, *memlock)
    if not may_expand(vma, new_len - old_len):
        raise Errno(ENOMEM)
    return vma


def _expandable(mm: AddressSpace, vma: Vma, delta: int) -> bool:
    """vma_expandable: the space above the VMA is free and inside the user range."""
    end = vma.end + delta
    return end <= USER_VA_END and mm.vmas.is_free(vma.end, end)


def _munmap(mm: AddressSpace, start: int, length: int) -> None:
    """do_munmap, with munmap(2)'s write-back of shared file pages first."""
    if start > USER_VA_END or length > USER_VA_END - start:
        raise Errno(EINVAL)
    end = start + _page_align(length)
    write_back(mm, start, end)
    mm.unmap(start, end)


def _move(mm: AddressSpace, vma: Vma, addr: int, old_len: int, new_len: int, new_addr: int, flags: int) -> int:
    """move_vma: a copy of the VMA at new_addr takes the pages of [addr, addr + old_len); the old
    range is unmapped, or with MREMAP_DONTUNMAP stays mapped with no pages (it refaults:
    zeros for private anonymous memory, the object's pages otherwise)."""
    name = "" if vma.name in _POSITIONAL else vma.name
    moved = replace(vma, start=new_addr, end=new_addr + new_len, offset=vma.offset + (addr - vma.start), name=name)
    mm.move_pages(addr, new_addr, old_len)
    mm.vmas.insert(moved)
    if old_len and flags & MREMAP_DONTUNMAP:    # the range left behind is never locked
        mm.vmas.update_vm_flags(addr, addr + old_len, 0, VM_LOCKED_MASK)
    elif old_len:                               # (old_len 0 duplicated a shared mapping)
        mm.unmap(addr, addr + old_len)
    _populate_if_locked(mm, moved, new_addr + old_len, new_addr + new_len)
    return new_addr


def _populate_if_locked(mm: AddressSpace, vma: Vma, start: int, end: int) -> None:
    """A locked mapping that grew has its new pages faulted in, as mremap's mm_populate."""
    if vma.vm_flags & VM_LOCKED and not vma.vm_flags & VM_LOCKONFAULT and vma.prot:
        for va in range(start, end, PAGE_SIZE):
            if va not in mm.resident:
                mm.fault(va, bool(vma.writable and not vma.shared), False)
