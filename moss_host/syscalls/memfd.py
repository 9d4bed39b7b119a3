"""memfd_create and fcntl's seal commands (F_ADD_SEALS/F_GET_SEALS, called from fcntl in fs.py).
The files and seals are fs/memfd.py's."""
from __future__ import annotations

from typing import Iterator

from moss_host.cred import fs_cred
from moss_host.errors import EFAULT, EINVAL, ENAMETOOLONG, Errno
from moss_host.fs import memfd
from moss_host.fs.file import InodeFile, OpenFile
from moss_host.mm.vma import Vma

from .args import CStr, Hex
from .table import syscall

MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB = 1, 2, 4
MFD_ALL_FLAGS = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB
MFD_HUGE_SHIFT, MFD_HUGE_MASK = 26, 0x3F
MFD_NAME_MAX_LEN = 255 - len("memfd:")
F_ADD_SEALS, F_GET_SEALS = 1033, 1034
SEAL_CMDS = (F_ADD_SEALS, F_GET_SEALS)


@syscall("memfd_create")
async def memfd_create(task, uname: "CStr", flags: "Hex") -> int:
    """An anonymous tmpfs file open for reading and writing, named /memfd:NAME (deleted)."""
    flags &= 0xFFFF_FFFF
    allowed = MFD_ALL_FLAGS | (MFD_HUGE_MASK << MFD_HUGE_SHIFT if flags & MFD_HUGETLB else 0)
    if flags & ~allowed:
        raise Errno(EINVAL)
    try:
        name = task.mm.read_cstring(uname, MFD_NAME_MAX_LEN + 1)
    except Errno as e:
        raise Errno(EINVAL if e.code == ENAMETOOLONG else EFAULT) from None
    if flags & MFD_HUGETLB:
        raise Errno(EINVAL, "no hugetlbfs")
    f = memfd.memfd_create(name, 0, bool(flags & MFD_ALLOW_SEALING), fs_cred(task.creds))
    return task.files.install(f, cloexec=bool(flags & MFD_CLOEXEC))


def fcntl_seals(task, f: OpenFile, cmd: int, arg: int) -> int:
    """memfd_fcntl: F_GET_SEALS returns the seals, F_ADD_SEALS adds to them (upper 32 bits EINVAL)."""
    if not isinstance(f, InodeFile):
        raise Errno(EINVAL)
    if cmd == F_GET_SEALS:
        seals = memfd.seals_of(f)
        if seals is None:
            raise Errno(EINVAL)
        return seals
    if arg > 0xFFFF_FFFF:
        raise Errno(EINVAL)
    memfd.add_seals(f, arg, _shared_mappings(task, f))
    return 0


def _shared_mappings(task, f: InodeFile) -> Iterator[Vma]:
    """Every shared mapping of f's inode, in every process (i_mmap_writable's count, lazily)."""
    inode = f.location.inode
    for proc in task.kernel.pids.processes():
        mm = proc.mm
        if mm is None:
            continue
        for vma in mm.vmas:
            if vma.shared and vma.backing is not None and vma.backing.inode is inode:
                yield vma
