"""Pipe syscalls: pipe2 (arm64 has no plain pipe; glibc's pipe() is pipe2(fds, 0)).

The pipe itself lives in moss_host/fs/pipe.py, which also registers the FIFO opener.
"""
from __future__ import annotations

from moss_host.errors import EINVAL, Errno
from moss_host.fs.file import O_CLOEXEC, O_DIRECT, O_NONBLOCK
from moss_host.fs.pipe import Pipe

from .args import Hex, Ptr
from .fd_pair import install_pair
from .table import syscall


@syscall("pipe2")
async def pipe2(task, fds_ptr: "Ptr", flags: "Hex") -> int:
    """Create a pipe; store its read and write descriptors at fds_ptr (int[2])."""
    if flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT):
        raise Errno(EINVAL)
    c = task.creds
    install_pair(task, fds_ptr, lambda: Pipe(uid=c.euid, gid=c.egid).open_pair(flags & ~O_CLOEXEC),
                 bool(flags & O_CLOEXEC))
    return 0
