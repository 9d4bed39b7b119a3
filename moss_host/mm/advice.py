"""What a process tells the VM about its pages, and asks it: madvise, the mlock family and
mincore, with Linux 6.1's checks in its order (mm/madvise.c, mm/mlock.c, mm/mincore.c).

mlock marks VMAs VM_LOCKED (Vma.vm_flags) and populates them; nothing is ever paged out here,
so "locked" changes only what Linux accounts and refuses: RLIMIT_MEMLOCK against locked_vm,
MADV_DONTNEED on a locked range. MADV_DONTFORK and MADV_WIPEONFORK mark VMAs that
AddressSpace.fork leaves out or copies empty.

Known differences, invisible to a program that only reads its memory back: MADV_FREE keeps the
pages (Linux may too, until memory is short), MADV_REMOVE drops this mapping's pages without
punching a hole in the object, and mincore counts every page of a mapped file as cached
(the filesystems here keep file data in memory).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from moss_host.addr import PAGE_MASK, PAGE_SIZE, USER_VA_END
from moss_host.errors import EACCES, EAGAIN, EFAULT, EINVAL, ENOMEM, EPERM, Errno

from .vma import (PROT_EXEC, PROT_READ, PROT_WRITE, SPECIAL_MAPPINGS, VM_DONTCOPY, VM_LOCKED, VM_LOCKED_MASK,
                  VM_LOCKONFAULT, VM_WIPEONFORK, Vma)

if TYPE_CHECKING:
    from .address_space import AddressSpace

_U64 = (1 << 64) - 1

(MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED) = range(5)
MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK = 8, 9, 10, 11
MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE = 12, 13, 14, 15
MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK = 16, 17, 18, 19
MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE = 20, 21, 22, 23
MADV_DONTNEED_LOCKED, MADV_COLLAPSE = 24, 25
# madvise_behavior_valid on Debian's arm64 config (KSM and THP built in, no memory-failure advice).
MADV_VALID = frozenset(range(MADV_DONTNEED + 1)) | frozenset(range(MADV_FREE, MADV_COLLAPSE + 1))

MLOCK_ONFAULT = 1
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4


def _page_align(n: int) -> int:
    return (n + PAGE_SIZE - 1) & PAGE_MASK & _U64


# -- madvise ----------------------------------------------------------------------------------

def madvise(mm: AddressSpace, start: int, len_in: int, advice: int) -> None:
    if advice not in MADV_VALID:
        raise Errno(EINVAL)
    if start & (PAGE_SIZE - 1):
        raise Errno(EINVAL)
    length = _page_align(len_in)
    if len_in and not length:               # rounded up from a small negative length
        raise Errno(EINVAL)
    end = start + length
    if end > _U64:
        raise Errno(EINVAL)
    if end == start:
        return
    if advice in (MADV_POPULATE_READ, MADV_POPULATE_WRITE):
        _populate(mm, start, end, advice == MADV_POPULATE_WRITE)
        return
    # madvise_walk_vmas: holes make it ENOMEM, but only after the VMAs are all advised.
    unmapped = end > USER_VA_END or _hole(mm, start, min(end, USER_VA_END))
    for vma in mm.vmas.overlapping(start, min(end, USER_VA_END)):
        _advise(mm, vma, max(start, vma.start), min(end, vma.end), advice)
    if unmapped:
        raise Errno(ENOMEM)


def _hole(mm: AddressSpace, start: int, end: int) -> bool:
    return sum(min(v.end, end) - max(v.start, start) for v in mm.vmas.overlapping(start, end)) != end - start


def _advise(mm: AddressSpace, vma: Vma, start: int, end: int, advice: int) -> None:
    """madvise_vma_behavior for one VMA's part [start, end)."""
    locked = vma.vm_flags & VM_LOCKED
    if advice in (MADV_DONTNEED, MADV_DONTNEED_LOCKED):
        if locked and advice == MADV_DONTNEED:
            raise Errno(EINVAL)
        _drop(mm, start, end)               # refaults: zeros, or the file's or shared object's pages
    elif advice == MADV_FREE:
        if locked or vma.backing is not None:   # anonymous private memory only
            raise Errno(EINVAL)
    elif advice == MADV_REMOVE:
        if locked or vma.backing is None:
            raise Errno(EINVAL)
        if not (vma.shared and vma.prot & PROT_WRITE):
            raise Errno(EACCES)
        _drop(mm, start, end)
    elif advice in (MADV_COLD, MADV_PAGEOUT):
        if locked:
            raise Errno(EINVAL)
    elif advice == MADV_DONTFORK:
        mm.vmas.update_vm_flags(start, end, VM_DONTCOPY, 0)
    elif advice == MADV_DOFORK:
        mm.vmas.update_vm_flags(start, end, 0, VM_DONTCOPY)
    elif advice == MADV_WIPEONFORK:
        if vma.backing is not None or vma.shared:
            raise Errno(EINVAL)
        mm.vmas.update_vm_flags(start, end, VM_WIPEONFORK, 0)
    elif advice == MADV_KEEPONFORK:
        mm.vmas.update_vm_flags(start, end, 0, VM_WIPEONFORK)
    elif advice == MADV_COLLAPSE:           # no transparent huge pages to collapse into
        raise Errno(EINVAL)


def _drop(mm: AddressSpace, start: int, end: int) -> None:
    for va in mm.resident_in(start, end):
        mm.drop_page(va)


def _populate(mm: AddressSpace, start: int, end: int, write: bool) -> None:
    """MADV_POPULATE_READ/WRITE: fault every page in; a hole is ENOMEM at once, a VMA that does
    not allow the access EINVAL."""
    addr = start
    while addr < end:
        vma = mm.vmas.find(addr)
        if vma is None:
            raise Errno(ENOMEM)
        if not vma.prot & (PROT_WRITE if write else PROT_READ):
            raise Errno(EINVAL)
        stop = min(end, vma.end)
        _fault_in(mm, addr, stop, write)
        addr = stop


def _fault_in(mm: AddressSpace, start: int, end: int, write: bool) -> None:
    for va in range(start, end, PAGE_SIZE):
        if va not in mm.resident or (write and va not in mm.writable):
            mm.fault(va, write, False)


# -- mlock ------------------------------------------------------------------------------------

def mlock(mm: AddressSpace, start: int, length: int, flags: int, memlock_limit: int, privileged: bool) -> None:
    """mlock2 (mlock is flags 0): EPERM without a RLIMIT_MEMLOCK and CAP_IPC_LOCK, ENOMEM over
    the limit or over a hole; the range is populated unless MLOCK_ONFAULT."""
    if flags & ~MLOCK_ONFAULT:
        raise Errno(EINVAL)
    if not memlock_limit and not privileged:
        raise Errno(EPERM)
    length = _page_align(length + (start & (PAGE_SIZE - 1)))
    start &= PAGE_MASK
    limit = memlock_limit // PAGE_SIZE
    locked = length // PAGE_SIZE + mm.vmas.locked_bytes() // PAGE_SIZE
    if locked > limit and not privileged:
        locked -= _locked_in(mm, start, start + length) // PAGE_SIZE    # already counted
        if locked > limit:
            raise Errno(ENOMEM)
    _apply_lock(mm, start, length, VM_LOCKED | (VM_LOCKONFAULT if flags & MLOCK_ONFAULT else 0))
    if not flags & MLOCK_ONFAULT:
        _populate_locked(mm, start, start + length)


def check_future_lock(mm: AddressSpace, vm_flags: int, length: int, memlock_limit: int, privileged: bool) -> None:
    """mlock_future_check: a new or grown locked mapping must fit RLIMIT_MEMLOCK (EAGAIN)."""
    if vm_flags & VM_LOCKED and not privileged:
        if (length + mm.vmas.locked_bytes()) // PAGE_SIZE > memlock_limit // PAGE_SIZE:
            raise Errno(EAGAIN)


def munlock(mm: AddressSpace, start: int, length: int) -> None:
    length = _page_align(length + (start & (PAGE_SIZE - 1)))
    _apply_lock(mm, start & PAGE_MASK, length, 0)


def _locked_in(mm: AddressSpace, start: int, end: int) -> int:
    return sum(min(v.end, end) - max(v.start, start) for v in mm.vmas.overlapping(start, min(end, USER_VA_END))
               if v.vm_flags & VM_LOCKED)


def _apply_lock(mm: AddressSpace, start: int, length: int, lock_bits: int) -> None:
    """apply_vma_lock_flags: EINVAL if the range wraps; the mapped parts get lock_bits (none:
    unlocked), and then ENOMEM if part of the range is unmapped."""
    end = start + length
    if end > _U64:
        raise Errno(EINVAL)
    if end == start:
        return
    if start < USER_VA_END:                 # (a range wholly above user space maps nothing)
        _set_lock_bits(mm, start, min(end, USER_VA_END), lock_bits)
    if end > USER_VA_END or _hole(mm, start, end):
        raise Errno(ENOMEM)


def _set_lock_bits(mm: AddressSpace, start: int, end: int, lock_bits: int) -> None:
    """mlock_fixup over [start, end): the special mappings ([vdso], [vvar]) are never locked."""
    mm.vmas.update_vm_flags(start, end, lock_bits, VM_LOCKED_MASK & ~lock_bits)
    if lock_bits:
        for v in mm.vmas.overlapping(start, end):
            if v.name in SPECIAL_MAPPINGS:
                mm.vmas.update_vm_flags(v.start, v.end, 0, VM_LOCKED_MASK)


def _populate_locked(mm: AddressSpace, start: int, end: int) -> None:
    """__mm_populate: fault in the accessible VMAs' pages (writable private ones for writing,
    as FOLL_WRITE breaks copy-on-write there)."""
    for vma in mm.vmas.overlapping(start, end):
        if vma.prot & (PROT_READ | PROT_WRITE | PROT_EXEC):
            write = bool(vma.prot & PROT_WRITE) and not vma.shared
            if write or vma.prot & PROT_READ:   # (exec- or shared write-only: a read would fault;
                _fault_in(mm, max(start, vma.start), min(end, vma.end), write)   # they come at first use)


def mlockall(mm: AddressSpace, flags: int, memlock_limit: int, privileged: bool) -> None:
    if not flags or flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) or flags == MCL_ONFAULT:
        raise Errno(EINVAL)
    if not memlock_limit and not privileged:
        raise Errno(EPERM)
    if flags & MCL_CURRENT and sum(v.length for v in mm.vmas) > memlock_limit and not privileged:
        raise Errno(ENOMEM)
    bits = VM_LOCKED | (VM_LOCKONFAULT if flags & MCL_ONFAULT else 0)
    mm.def_vm_flags = mm.def_vm_flags & ~VM_LOCKED_MASK | (bits if flags & MCL_FUTURE else 0)
    if flags & MCL_CURRENT:
        _set_lock_bits(mm, 0, USER_VA_END, bits)
        if not flags & MCL_ONFAULT:
            _populate_locked(mm, 0, USER_VA_END)


def munlockall(mm: AddressSpace) -> None:
    mm.def_vm_flags &= ~VM_LOCKED_MASK
    mm.vmas.update_vm_flags(0, USER_VA_END, 0, VM_LOCKED_MASK)


# -- mincore ----------------------------------------------------------------------------------

def mincore(mm: AddressSpace, start: int, length: int, vec: int) -> None:
    """Write one byte per page of [start, start + length) to vec: 1 if resident here or, for a
    file or shared object, held by it (mincore_page asks the page cache)."""
    if start & (PAGE_SIZE - 1):
        raise Errno(EINVAL)
    if start + length > USER_VA_END:
        raise Errno(ENOMEM)
    pages = (length + PAGE_SIZE - 1) // PAGE_SIZE
    if vec + pages > USER_VA_END:
        raise Errno(EFAULT)
    while pages:
        vma = mm.vmas.find(start)
        if vma is None:
            raise Errno(ENOMEM)
        end = min(vma.end, start + pages * PAGE_SIZE)
        n = (end - start) // PAGE_SIZE
        mm.write(vec, bytes(_present(mm, vma, start + i * PAGE_SIZE) for i in range(n)))
        vec += n
        pages -= n
        start = end


def _present(mm: AddressSpace, vma: Vma, va: int) -> int:
    if va in mm.resident:
        return 1
    return int(vma.backing is not None and vma.backing.has_page(vma.offset + (va - vma.start)))
