"""Two new descriptors for a pair of files (pipe2, socketpair), in Linux's order: both numbers
are reserved first (EMFILE before anything is made), then the files are made, the numbers
stored at the user's int[2] (EFAULT: neither descriptor appears and the files are released),
and only then are both installed (get_unused_fd_flags twice, create, copy_to_user, fd_install)."""
from __future__ import annotations

import struct
from typing import Callable

from moss_host.fs.file import OpenFile

FDS = struct.Struct("<ii")


def install_pair(task, fds_ptr: int, make: Callable[[], tuple[OpenFile, OpenFile]], cloexec: bool) -> None:
    """Install the two files make() returns at two new descriptors, stored at fds_ptr."""
    files = task.files
    fd0 = files.alloc_fd()
    try:
        fd1 = files.alloc_fd()
    except BaseException:
        files.release_reserved(fd0)
        raise
    first, second = make()
    try:
        task.mm.write(fds_ptr, FDS.pack(fd0, fd1))
    except BaseException:
        files.release_reserved(fd0)
        files.release_reserved(fd1)
        first.release()
        second.release()
        raise
    files.install_at_reserved(fd0, first, cloexec)
    files.install_at_reserved(fd1, second, cloexec)
