"""Vectored I/O at an offset: preadv, pwritev, preadv2 and pwritev2 (fs/read_write.c).

The order of Linux's checks: a negative offset EINVAL, then the descriptor (EBADF), a file
without positional I/O (ESPIPE), the iovec array (import_iovec: EINVAL, EFAULT), the access
mode (EBADF); an empty transfer returns 0 before the RWF_* flags are looked at
(kiocb_set_rw_flags: EOPNOTSUPP for an unknown one). The offset -1 of preadv2/pwritev2 means
"at and moving the file position", as readv/writev. RWF_HIPRI, RWF_DSYNC and RWF_SYNC change
nothing here (no polled queues; every write is durable as far as the guest can tell);
RWF_APPEND writes at the end of the file as O_APPEND does.
"""
from __future__ import annotations

from typing import Optional

from moss_host.errors import EINVAL, EOPNOTSUPP, ESPIPE, Errno
from moss_host.proc import fsize
from moss_host.fs.file import InodeFile, OpenFile, file_needs

from .args import Fd, Hex, Int, Ptr, UInt
from .fs import _file, _gather, _read_iovecs, _s64, _scatter, _write_or_sigpipe
from .table import syscall

RWF_HIPRI, RWF_DSYNC, RWF_SYNC, RWF_NOWAIT, RWF_APPEND = 0x1, 0x2, 0x4, 0x8, 0x10
RWF_SUPPORTED = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND


def _check_flags(f: OpenFile, flags: int) -> None:
    """kiocb_set_rw_flags: EOPNOTSUPP for flags Linux does not know, or RWF_NOWAIT on a file
    that cannot promise not to block (only regular files and pipes here, as FMODE_NOWAIT)."""
    if flags & ~RWF_SUPPORTED:
        raise Errno(EOPNOTSUPP)
    if flags & RWF_NOWAIT and not isinstance(f, InodeFile):
        raise Errno(EOPNOTSUPP)


def _positional(task, fd: int, pos: int) -> OpenFile:
    """do_preadv/do_pwritev before the transfer: EINVAL for a negative offset, EBADF, ESPIPE."""
    if pos < 0:
        raise Errno(EINVAL)
    f = _file(task, fd)
    if not f.seekable:
        raise Errno(ESPIPE)
    return f


async def _readv_at(task, f: OpenFile, iov: int, iovcnt: int, pos: Optional[int], flags: int) -> int:
    """vfs_readv: read at pos (None: at and moving the file position) into the iovecs."""
    segments = _read_iovecs(task, iov, iovcnt)
    file_needs(f, readable=True)
    total = sum(n for _, n in segments)
    if not total:
        return 0
    _check_flags(f, flags)
    if pos is None:
        saved = f.pos
        return _scatter(task, f, saved, segments, await f.read(total))
    return scatter_read(task, segments, await f.pread(pos, total))


def scatter_read(task, segments: list[tuple[int, int]], data: bytes) -> int:
    """Copy what a read got into the iovecs in order: a fault ends the copy there (EFAULT if
    nothing went); the count copied."""
    done = 0
    for base, length in segments:
        if done == len(data):
            break
        piece = data[done:done + length]
        try:
            task.mm.write(base, piece)
        except Errno:
            if done == 0:
                raise
            break
        done += len(piece)
    return done


async def _writev_at(task, f: OpenFile, iov: int, iovcnt: int, pos: Optional[int], flags: int) -> int:
    """vfs_writev: write the iovecs at pos (None: at and moving the file position)."""
    segments = _read_iovecs(task, iov, iovcnt)
    file_needs(f, writable=True)
    if not sum(n for _, n in segments):
        return 0
    _check_flags(f, flags)
    data = _gather(task, segments)
    end = f.inode.size if flags & RWF_APPEND and isinstance(f, InodeFile) else None
    data = fsize.limit_write(task, f, data, pos if end is None else end)
    if pos is None:
        if end is not None:
            f.pos = end
        return await _write_or_sigpipe(task, f, data)
    return await f.pwrite(pos if end is None else end, data)


@syscall("preadv")
async def preadv(task, fd: "Fd", iov: "Ptr", iovcnt: "UInt", pos_l: "Int", pos_h: "Int") -> int:
    """readv at an offset, leaving the file position alone (pos_h is unused on 64-bit)."""
    pos = _s64(pos_l)
    f = _positional(task, fd, pos)
    return await _readv_at(task, f, iov, iovcnt, pos, 0)


@syscall("pwritev")
async def pwritev(task, fd: "Fd", iov: "Ptr", iovcnt: "UInt", pos_l: "Int", pos_h: "Int") -> int:
    """writev at an offset, leaving the file position alone (O_APPEND still appends, as Linux)."""
    pos = _s64(pos_l)
    f = _positional(task, fd, pos)
    return await _writev_at(task, f, iov, iovcnt, pos, 0)


@syscall("preadv2")
async def preadv2(task, fd: "Fd", iov: "Ptr", iovcnt: "UInt", pos_l: "Int", pos_h: "Int",
                  flags: "Hex") -> int:
    """preadv with RWF_* flags; offset -1 reads at the file position, as readv."""
    pos, flags = _s64(pos_l), flags & 0xFFFF_FFFF
    if pos == -1:
        return await _readv_at(task, _file(task, fd), iov, iovcnt, None, flags)
    return await _readv_at(task, _positional(task, fd, pos), iov, iovcnt, pos, flags)


@syscall("pwritev2")
async def pwritev2(task, fd: "Fd", iov: "Ptr", iovcnt: "UInt", pos_l: "Int", pos_h: "Int",
                   flags: "Hex") -> int:
    """pwritev with RWF_* flags; offset -1 writes at the file position, as writev."""
    pos, flags = _s64(pos_l), flags & 0xFFFF_FFFF
    if pos == -1:
        return await _writev_at(task, _file(task, fd), iov, iovcnt, None, flags)
    return await _writev_at(task, _positional(task, fd, pos), iov, iovcnt, pos, flags)
