"""memfd_create's files and their seals (Linux's mm/memfd.c on shmem).

A memfd is a tmpfs file that never had a name: it lives on the kernel's internal shmem
mount (device 0:1, where MAP_SHARED|MAP_ANONYMOUS memory lives too), born unlinked
(st_nlink 0, mode 0777), shown in /proc/pid/fd and maps as `/memfd:NAME (deleted)`.
Its pages are the page cache's like any file's, so MAP_SHARED mappings in any process
(after fork, or of a reopen through /proc/self/fd/N) share one frame per page.

Seals (fcntl F_ADD_SEALS/F_GET_SEALS) belong to the inode and only ever grow:
  F_SEAL_SEAL          no more seals (every shmem file but a MFD_ALLOW_SEALING memfd has it)
  F_SEAL_SHRINK/GROW   truncate (and writes past the end, for GROW) are EPERM
  F_SEAL_WRITE         write(2) is EPERM and so is a new shared mapping of a writable
                       descriptor; adding it is EBUSY while such a mapping exists
  F_SEAL_FUTURE_WRITE  write(2) and new shared writable mappings are EPERM; existing
                       mappings keep writing
Any other tmpfs file answers F_GET_SEALS with F_SEAL_SEAL; files of other filesystems
have no seals (EINVAL).
"""
from __future__ import annotations

import stat as S
from typing import TYPE_CHECKING, Iterable, Optional

from ..errors import EBUSY, EINVAL, EPERM, Errno
from .drivers.tmpfs import PAGE, UNLIMITED, Tmpfs, TmpFile
from .file import O_RDWR, InodeFile
from .namespace import MountTable
from .stat import makedev
from .vfs import Location

if TYPE_CHECKING:
    from ..cred import Cred
    from ..mm.vma import Vma

F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE = 1, 2, 4, 8, 16
F_ALL_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE
SHMEM_DEV = makedev(0, 1)           # Linux's internal shm_mnt


class MemfdInode(TmpFile):
    """A memfd's file: a tmpfs file with seals enforced on write(2), truncate and mmap."""

    def __init__(self, sb: Tmpfs, uid: int, gid: int, allow_sealing: bool):
        super().__init__(sb, S.S_IFREG | 0o777, uid, gid)
        self.nlink = 0
        self.seals = 0 if allow_sealing else F_SEAL_SEAL

    def write_limit(self, offset: int, n: int) -> int:
        """shmem_write_begin, called per page of the write: a page chunk that would grow a
        F_SEAL_GROW file ends the write there (a short write, or EPERM if it is the first)."""
        if self.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE):
            raise Errno(EPERM)
        if not self.seals & F_SEAL_GROW or offset + n <= self.size:
            return n
        allowed, pos = 0, offset
        while pos < offset + n:
            chunk_end = min((pos // PAGE + 1) * PAGE, offset + n)
            if chunk_end > self.size:
                break
            allowed, pos = chunk_end - offset, chunk_end
        if not allowed:
            raise Errno(EPERM)
        return allowed

    def truncate(self, size: int) -> None:
        if (size < self.size and self.seals & F_SEAL_SHRINK) or (size > self.size and self.seals & F_SEAL_GROW):
            raise Errno(EPERM)
        super().truncate(size)


class _ShmMount:
    """The internal mount memfds live on, made at first use (so it takes no device number
    from the mounted filesystems)."""
    table: Optional[MountTable] = None

    @classmethod
    def root(cls) -> Location:
        if cls.table is None:
            sb = Tmpfs(mode=0o1777, size_limit=UNLIMITED, dev=SHMEM_DEV)
            sb.max_inodes = UNLIMITED
            cls.table = MountTable(sb)
        return cls.table.root_location()


def memfd_create(name: bytes, flags: int, allow_sealing: bool, cred: Optional["Cred"]) -> InodeFile:
    """A new memfd open for reading and writing (flags: O_CLOEXEC is the caller's)."""
    root = _ShmMount.root()
    uid, gid = (0, 0) if cred is None else (cred.uid, cred.gid)
    inode = MemfdInode(root.mount.sb, uid, gid, allow_sealing)     # type: ignore[arg-type]
    dentry = root.dentry.add(b"memfd:" + name, inode)
    root.dentry.drop(dentry.name)           # born unlinked: "(deleted)" in /proc/pid/fd
    return InodeFile(Location(root.mount, dentry), O_RDWR | flags)


def seals_of(f: InodeFile) -> Optional[int]:
    """The file's seals; None for a file that cannot have any (memfd_file_seals_ptr)."""
    inode = f.location.inode
    if isinstance(inode, MemfdInode):
        return inode.seals
    if isinstance(inode, TmpFile):
        return F_SEAL_SEAL
    return None


def add_seals(f: InodeFile, seals: int, shared_vmas: Iterable["Vma"]) -> None:
    """F_ADD_SEALS, in memfd_add_seals's order: EPERM unless open for writing, EINVAL for unknown
    seals or a file without seals, EPERM once sealed, EBUSY for F_SEAL_WRITE while a shared
    mapping could still write (`shared_vmas`: every shared mapping of the file)."""
    if not f.writable:
        raise Errno(EPERM)
    if seals & ~F_ALL_SEALS:
        raise Errno(EINVAL)
    current = seals_of(f)
    if current is None:
        raise Errno(EINVAL)
    if current & F_SEAL_SEAL:
        raise Errno(EPERM)
    inode = f.location.inode
    assert isinstance(inode, MemfdInode)
    if seals & F_SEAL_WRITE and not current & F_SEAL_WRITE and any(True for _ in shared_vmas):
        raise Errno(EBUSY)
    inode.seals |= seals


def check_mmap(f: InodeFile, shared: bool, prot_write: bool) -> None:
    """A new mapping of a sealed memfd: shared mappings of a writable descriptor are EPERM under
    F_SEAL_WRITE (6.1's mapping_map_writable), shared writable ones under F_SEAL_FUTURE_WRITE."""
    inode = f.location.inode
    if not isinstance(inode, MemfdInode) or not shared:
        return
    if inode.seals & F_SEAL_WRITE and f.writable:
        raise Errno(EPERM)
    if inode.seals & F_SEAL_FUTURE_WRITE and prot_write:
        raise Errno(EPERM)
