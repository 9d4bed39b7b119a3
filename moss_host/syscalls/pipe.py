"""Pipe syscalls: pipe2 (arm64 has no plain pipe; glibc's pipe() is pipe2(fds, 0)).

The pipe itself lives in moss_host/fs/pipe.py, which also registers the FIFO opener.
"""
from __future__ import annotations

import struct

from moss_host.errors import EINVAL, Errno
from moss_host.fs.file import O_CLOEXEC, O_DIRECT, O_NONBLOCK
from moss_host.fs.pipe import Pipe

from .args import Hex, Ptr
from .table import syscall

FDS = struct.Struct("<ii")


@syscall("pipe2")
async def pipe2(task, fds_ptr: "Ptr", flags: "Hex") -> int:
    """Create a pipe; store its read and write descriptors at fds_ptr (int[2])."""
    if flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT):
        raise Errno(EINVAL)
    files = task.files
    rfd = files.alloc_fd()
    try:
        wfd = files.alloc_fd()
    except BaseException:
        files.release_reserved(rfd)
        raise
    c = task.creds
    read_end, write_end = Pipe(uid=c.euid, gid=c.egid).open_pair(flags & ~O_CLOEXEC)
    try:
        task.mm.write(fds_ptr, FDS.pack(rfd, wfd))      # EFAULT: no descriptor appears
    except BaseException:
        files.release_reserved(rfd)
        files.release_reserved(wfd)
        read_end.release()
        write_end.release()
        raise
    cloexec = bool(flags & O_CLOEXEC)
    files.install_at_reserved(rfd, read_end, cloexec)
    files.install_at_reserved(wfd, write_end, cloexec)
    return 0
