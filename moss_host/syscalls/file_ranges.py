"""Page-cache work on a byte range of a file: sync_file_range and readahead.

moss-py's page cache is always coherent with the files (a read sees every write and every
store through a mapping), so after Linux's checks there is nothing left to start or wait
for: both answer what Linux answers and return 0.
"""
from __future__ import annotations

import stat

from moss_host.errors import EBADF, EINVAL, ESPIPE, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import OpenFile, file_needs

from .args import Fd, Hex, Int, Size, c_uint
from .table import syscall

SYNC_FILE_RANGE_WAIT_BEFORE, SYNC_FILE_RANGE_WRITE, SYNC_FILE_RANGE_WAIT_AFTER = 1, 2, 4
VALID_FLAGS = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER
LLONG_MAX = (1 << 63) - 1


def _s64(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


def _mode(f: OpenFile) -> int:
    """The file's inode type bits; a pipe or socket without a filesystem inode has neither."""
    loc = f.location
    if loc is not None:
        return loc.inode.mode
    return stat.S_IFIFO if f.pipe is not None else stat.S_IFSOCK


@syscall("sync_file_range")
def sync_file_range(task, fd: "Fd", offset: "Int", nbytes: "Int", flags: "Hex") -> int:
    """Start and/or wait for write-out of [offset, offset + nbytes) (0: to the end of the
    file). EINVAL for unknown flags or a range past LLONG_MAX, ESPIPE for what is not a
    regular file, block device, directory or symlink."""
    f = file_needs(task.files.get(fd_arg(fd)))     # fdget: EBADF, O_PATH too
    offset, nbytes, flags = _s64(offset), _s64(nbytes), c_uint(flags)
    if flags & ~VALID_FLAGS:
        raise Errno(EINVAL)
    end = offset + nbytes
    if offset < 0 or end < 0 or end > LLONG_MAX or nbytes < 0:
        raise Errno(EINVAL)
    mode = _mode(f)
    if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
        raise Errno(ESPIPE)
    return 0


@syscall("readahead")
def readahead(task, fd: "Fd", offset: "Int", count: "Size") -> int:
    """Read [offset, offset + count) of a regular file into the page cache ahead of use:
    EBADF unless open for reading, EINVAL for anything but a regular file or a count past
    LLONG_MAX (vfs_fadvise's negative length)."""
    f = task.files.get(fd_arg(fd))
    if not f.readable:
        raise Errno(EBADF)
    if not stat.S_ISREG(_mode(f)) or _s64(count) < 0:
        raise Errno(EINVAL)
    return 0
