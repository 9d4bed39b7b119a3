"""Memory mapping: brk, mmap, munmap, mremap, mprotect, msync, and the advice calls (madvise, the
mlock family, mincore, fadvise64)."""
from __future__ import annotations

import stat

from moss_host.addr import PAGE_SIZE, USER_VA_END, page_up
from moss_host.cred import CAP_IPC_LOCK, capable
from moss_host.errors import EACCES, EEXIST, EINVAL, ENODEV, ENOMEM, EPERM, ESPIPE, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import InodeFile, file_needs
from moss_host.fs.memfd import check_mmap
from moss_host.mm import advice as advice_mod
from moss_host.mm.backing import Backing, FileBacking
from moss_host.mm.remap import mremap as remap
from moss_host.mm.shmem import SharedAnon
from moss_host.mm.vma import (MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_LOCKED, MAP_POPULATE, MAP_PRIVATE,
                              MAP_SHARED, MAP_SHARED_VALIDATE, MAP_TYPE, MMAP_MIN_ADDR, PROT_MASK, PROT_WRITE,
                              PROT_READ, VM_LOCKED, VM_LOCKONFAULT, Vma)
from moss_host.mm.writeback import sync_files, write_back
from moss_host.proc import vm_limits

from .args import Fd, Hex, Int, Ptr, Size
from .table import syscall

RLIMIT_MEMLOCK = 8
PROT_GROWSDOWN = 0x01000000
PROT_GROWSUP = 0x02000000


@syscall("brk")
async def brk(task, addr: "Ptr") -> int:
    """Move the program break; return the new break, or the old one if it cannot move."""
    mm = task.mm
    if addr < mm.brk_start:
        return mm.brk
    old_end, new_end = page_up(mm.brk), page_up(addr)
    if not vm_limits.brk_allowed(task, addr, max(new_end - old_end, 0)):
        return mm.brk
    if new_end > old_end:
        if not mm.vmas.is_free(old_end, new_end) or new_end > mm.mmap_top:
            return mm.brk
        heap = mm.add(Vma(old_end, new_end, 0x3, name="[heap]"))
        if _populates_locked(heap):
            for va in range(old_end, new_end, PAGE_SIZE):
                mm.fault(va, True, False)
    elif new_end < old_end:
        mm.unmap(new_end, old_end)
    mm.brk = addr
    return addr


@syscall("mmap")
async def mmap(task, addr: "Ptr", length: "Size", prot: "Hex", flags: "Hex", fd: "Fd", offset: "Hex") -> int:
    """Map length bytes (anonymous memory, or a file privately) and return the address."""
    mm = task.mm
    if offset & (PAGE_SIZE - 1):
        raise Errno(EINVAL)
    if not flags & MAP_ANONYMOUS:
        file_needs(task.files.get(fd_arg(fd)))      # ksys_mmap_pgoff's fget comes first: EBADF
    if length == 0:
        raise Errno(EINVAL)
    if flags & MAP_TYPE not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE):
        raise Errno(EINVAL)
    length = page_up(length)
    if length == 0 or length > USER_VA_END:
        raise Errno(ENOMEM)
    backing: Backing | None = None
    if not flags & MAP_ANONYMOUS:
        shared = flags & MAP_TYPE != MAP_PRIVATE
        backing = file_backing(task, fd, shared_write=shared and bool(prot & PROT_WRITE), shared=shared)
    elif flags & MAP_TYPE != MAP_PRIVATE:
        backing = SharedAnon(task.kernel.mem)       # shared with the children we fork
    prot &= PROT_MASK
    start = place(mm, addr, length, flags)
    vm_flags = VM_LOCKED if flags & MAP_LOCKED else 0
    memlock_limit, privileged = _memlock(task)
    if vm_flags and not memlock_limit and not privileged:     # can_do_mlock
        raise Errno(EPERM)
    advice_mod.check_future_lock(mm, vm_flags | mm.def_vm_flags, length, memlock_limit, privileged)
    vm_limits.check_new_mapping(task, start, length, prot, flags, replacing=bool(flags & MAP_FIXED))
    if flags & MAP_FIXED:
        write_back(mm, start, start + length)
        mm.unmap(start, start + length)
    vma_flags = (flags & MAP_TYPE) | (flags & MAP_ANONYMOUS)
    vma = mm.add(Vma(start, start + length, prot, vma_flags, backing, 0 if flags & MAP_ANONYMOUS else offset,
                     backing.name if backing is not None else "", vm_flags=vm_flags))
    if flags & MAP_POPULATE or _populates_locked(vma):
        for va in range(start, start + length, PAGE_SIZE):
            if prot & PROT_READ:                # (a write- or exec-only page read would fault)
                mm.fault(va, False, False)
    return start


def _populates_locked(vma: Vma) -> bool:
    """A new mapping that is locked (MAP_LOCKED, mlockall MCL_FUTURE) is populated at once."""
    return vma.vm_flags & (VM_LOCKED | VM_LOCKONFAULT) == VM_LOCKED


def place(mm, addr: int, length: int, flags: int) -> int:
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr & (PAGE_SIZE - 1):
            raise Errno(EINVAL)
        if addr + length > USER_VA_END or addr < MMAP_MIN_ADDR:
            raise Errno(EPERM if addr < MMAP_MIN_ADDR else ENOMEM)
        if flags & MAP_FIXED_NOREPLACE and not flags & MAP_FIXED and not mm.vmas.is_free(addr, addr + length):
            raise Errno(EEXIST)
        return addr
    return mm.vmas.find_free(length, page_up(addr) if addr else 0, top=mm.mmap_top)



def file_backing(task, fd: int, shared_write: bool = False, shared: bool = False) -> FileBacking:
    """What a file mapping reads its pages from. The file must be a regular file open for
    reading, and for writing too if the mapping is shared and writable (EACCES)."""
    file = file_needs(task.files.get(fd_arg(fd)))     # fget: an O_PATH descriptor is EBADF
    if not isinstance(file, InodeFile) or not file.inode.is_reg:
        raise Errno(ENODEV)
    if not file.readable or (shared_write and not file.writable):
        raise Errno(EACCES)
    check_mmap(file, shared, shared_write)           # a sealed memfd (EPERM)
    return FileBacking(file.inode, file.path_name)


def check_range(addr: int, length: int) -> int:
    if addr & (PAGE_SIZE - 1):
        raise Errno(EINVAL)
    end = addr + page_up(length)
    if end > USER_VA_END or end < addr:
        raise Errno(EINVAL)
    return end


@syscall("munmap")
async def munmap(task, addr: "Ptr", length: "Size") -> int:
    if length == 0:
        raise Errno(EINVAL)
    end = check_range(addr, length)
    write_back(task.mm, addr, end)
    task.mm.unmap(addr, end)
    return 0


MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4


@syscall("msync")
async def msync(task, addr: "Ptr", length: "Size", flags: "Hex") -> int:
    """Write the changed pages of shared file mappings in [addr, addr+length) to their files;
    MS_SYNC also writes the files' blocks out. ENOMEM if part of the range is unmapped."""
    if addr & (PAGE_SIZE - 1) or flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) \
            or flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC:
        raise Errno(EINVAL)
    end = addr + page_up(length)
    if end < addr or end > USER_VA_END:
        raise Errno(ENOMEM)
    mm = task.mm
    covered = sum(min(v.end, end) - max(v.start, addr) for v in mm.vmas.overlapping(addr, end))
    if covered != end - addr:
        raise Errno(ENOMEM)
    write_back(mm, addr, end)
    if flags & MS_SYNC:
        sync_files(mm, addr, end)
    return 0


@syscall("mremap")
async def mremap(task, addr: "Ptr", old_len: "Size", new_len: "Size", flags: "Hex", new_addr: "Ptr") -> int:
    """Shrink, grow or move a mapping (MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP)."""
    return remap(task.mm, addr, old_len, new_len, flags, new_addr, _memlock(task),
                 lambda vma, n: vm_limits.vma_may_grow(task, vma, n))


@syscall("mprotect")
async def mprotect(task, addr: "Ptr", length: "Size", prot: "Hex") -> int:
    """Change the protection of whole pages; ENOMEM if part of the range is unmapped."""
    if prot & ~(PROT_MASK | PROT_GROWSDOWN | PROT_GROWSUP):
        raise Errno(EINVAL)
    end = check_range(addr, length)
    if end == addr:
        return 0
    mm = task.mm
    covered = sum(min(v.end, end) - max(v.start, addr) for v in mm.vmas.overlapping(addr, end))
    if covered != end - addr:
        raise Errno(ENOMEM)
    mm.protect(addr, end, prot & PROT_MASK)
    return 0


@syscall("madvise")
async def madvise(task, addr: "Ptr", length: "Size", advice: "Int") -> int:
    """Advice on a range: MADV_DONTNEED drops the pages (zero or the file's on next touch), the
    rest is checked as Linux checks it and otherwise needs no action here (mm/advice.py)."""
    advice_mod.madvise(task.mm, addr, length, advice)
    return 0


def _memlock(task) -> tuple[int, bool]:
    """RLIMIT_MEMLOCK (soft) and whether the caller has CAP_IPC_LOCK."""
    return task.rlimits[RLIMIT_MEMLOCK][0], capable(task.creds, CAP_IPC_LOCK)


@syscall("mlock")
async def mlock(task, addr: "Ptr", length: "Size") -> int:
    advice_mod.mlock(task.mm, addr, length, 0, *_memlock(task))
    return 0


@syscall("mlock2")
async def mlock2(task, addr: "Ptr", length: "Size", flags: "Hex") -> int:
    advice_mod.mlock(task.mm, addr, length, flags & 0xFFFF_FFFF, *_memlock(task))
    return 0


@syscall("munlock")
async def munlock(task, addr: "Ptr", length: "Size") -> int:
    advice_mod.munlock(task.mm, addr, length)
    return 0


@syscall("mlockall")
async def mlockall(task, flags: "Hex") -> int:
    advice_mod.mlockall(task.mm, flags & 0xFFFF_FFFF, *_memlock(task))
    return 0


@syscall("munlockall")
async def munlockall(task) -> int:
    advice_mod.munlockall(task.mm)
    return 0


@syscall("mincore")
async def mincore(task, addr: "Ptr", length: "Size", vec: "Ptr") -> int:
    """Which pages of a range are resident: one byte per page, bit 0 set if so."""
    advice_mod.mincore(task.mm, addr, length, vec)
    return 0


POSIX_FADV_NOREUSE = 5


@syscall("fadvise64")
async def fadvise64(task, fd: "Fd", offset: "Int", length: "Int", advice: "Int") -> int:
    """Access-pattern advice for a file: checked as generic_fadvise checks it (EBADF, ESPIPE for
    a pipe or FIFO, EINVAL for a negative length or unknown advice); nothing to do beyond that."""
    f = task.files.get(fd_arg(fd))
    loc = f.location
    if (stat.S_ISFIFO(loc.inode.mode) if loc is not None else f.pipe is not None):
        raise Errno(ESPIPE)
    if _s64(length) < 0 or not 0 <= _s32(advice) <= POSIX_FADV_NOREUSE:
        raise Errno(EINVAL)
    return 0


def _s64(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v
