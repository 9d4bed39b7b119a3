"""File lock syscalls: fcntl's record-lock commands (called from fcntl in fs.py) and flock(2).
The locks themselves are fs/locks.py's."""
from __future__ import annotations

import struct

from moss_host.errors import EBADF, EINVAL, EOVERFLOW, Errno
from moss_host.fs import locks
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import OpenFile
from moss_host.fs.locks import F_RDLCK, F_UNLCK, F_WRLCK, OFD, OFFSET_MAX, POSIX, FileLock

from .args import Fd, Hex
from .table import syscall

F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
LOCK_CMDS = (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
FLOCK = struct.Struct("<hhxxxxqqi4x")   # struct flock: l_type, l_whence, l_start, l_len, l_pid
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2

LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN, LOCK_MAND = 1, 2, 4, 8, 32


def _s16(v: int) -> int:
    return v - (1 << 16) if v & 0x8000 else v


def _to_request(task, f: OpenFile, l_type: int, l_whence: int, l_start: int, l_len: int) -> FileLock:
    """flock64_to_posix_lock: the byte range, with its EINVAL and EOVERFLOW cases, then the type."""
    if l_whence == SEEK_SET:
        base = 0
    elif l_whence == SEEK_CUR:
        base = f.pos
    elif l_whence == SEEK_END:
        base = f.location.inode.size if f.location is not None else 0
    else:
        raise Errno(EINVAL)
    if l_start > OFFSET_MAX - base:
        raise Errno(EOVERFLOW)
    start = base + l_start
    if start < 0:
        raise Errno(EINVAL)
    if l_len > 0:
        if l_len - 1 > OFFSET_MAX - start:
            raise Errno(EOVERFLOW)
        end = start + l_len - 1
    elif l_len < 0:
        if start + l_len < 0:
            raise Errno(EINVAL)
        start, end = start + l_len, start - 1
    else:
        end = OFFSET_MAX
    if l_type not in (F_RDLCK, F_WRLCK, F_UNLCK):
        raise Errno(EINVAL)
    return FileLock(POSIX, task.files, task.tgid, l_type, start, end)


async def fcntl_lock(task, f: OpenFile, cmd: int, arg: int) -> int:
    """F_GETLK/F_SETLK/F_SETLKW and their F_OFD_ twins, checked in fcntl_getlk/fcntl_setlk's order."""
    l_type, l_whence, l_start, l_len, l_pid = FLOCK.unpack(task.mm.read(arg, FLOCK.size))
    l_type = _s16(l_type)
    ofd = cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
    if cmd in (F_GETLK, F_OFD_GETLK) and l_type not in (F_RDLCK, F_WRLCK):
        raise Errno(EINVAL)
    request = _to_request(task, f, l_type, _s16(l_whence), l_start, l_len)
    inode = f.location.inode if f.location is not None else None
    if cmd in (F_GETLK, F_OFD_GETLK):
        if ofd:
            _make_ofd(request, f, l_pid)
        held = locks.test_lock(inode, request) if inode is not None else None
        if held is None:
            out = FLOCK.pack(F_UNLCK, l_whence, l_start, l_len, l_pid)
        else:
            length = 0 if held.end == OFFSET_MAX else held.end - held.start + 1
            out = FLOCK.pack(held.type, SEEK_SET, held.start, length, -1 if held.kind == OFD else held.pid)
        task.mm.write(arg, out)
        return 0
    if (l_type == F_RDLCK and not f.readable) or (l_type == F_WRLCK and not f.writable):
        raise Errno(EBADF)
    if ofd:
        _make_ofd(request, f, l_pid)
    if inode is not None:
        await locks.set_lock(inode, request, wait=cmd in (F_SETLKW, F_OFD_SETLKW))
    return 0


def _make_ofd(request: FileLock, f: OpenFile, l_pid: int) -> None:
    """An OFD request: l_pid must be 0; the open file owns the lock."""
    if l_pid != 0:
        raise Errno(EINVAL)
    request.kind, request.owner, request.pid = OFD, f, -1


@syscall("flock")
async def flock(task, fd: "Fd", operation: "Hex") -> int:
    """Whole-file advisory lock owned by the open file: LOCK_SH, LOCK_EX, LOCK_UN, | LOCK_NB."""
    op = operation & 0xFFFF_FFFF
    if op & LOCK_MAND:
        return 0                        # Linux 5.16+ ignores the old mandatory-lock mode with a warning
    kind = {LOCK_SH: F_RDLCK, LOCK_EX: F_WRLCK, LOCK_UN: F_UNLCK}.get(op & ~LOCK_NB)
    if kind is None:
        raise Errno(EINVAL)
    f = task.files.get(fd_arg(fd))
    if f.is_path:
        raise Errno(EBADF)              # fdget does not find O_PATH files
    if f.location is None:
        return 0                        # no inode to lock (a pipe or a host file): accepted
    request = FileLock(locks.FLOCK, f, task.tgid, kind)
    await locks.flock(f.location.inode, request, wait=not op & LOCK_NB)
    return 0
