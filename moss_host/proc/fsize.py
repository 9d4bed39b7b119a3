"""RLIMIT_FSIZE, as Linux's generic_write_check_limits and inode_newsize_ok apply it: a
write to a regular file stops at the limit, one starting at or past it fails with EFBIG
and sends the writer SIGXFSZ; so does truncating a file to a size above the limit."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Optional

from moss_host.errors import EFBIG, Errno
from moss_host.fs.file import O_APPEND, InodeFile, OpenFile

from .rlimits import RLIM_INFINITY, RLIMIT_FSIZE
from .signals import SIGXFSZ, send_thread_signal

if TYPE_CHECKING:
    from .task import Task


def limit_write(task: Task, f: OpenFile, data: bytes, pos: Optional[int] = None) -> bytes:
    """The part of `data` that may be written to f at pos (None: the file position; the end
    with O_APPEND either way)."""
    if not data or not isinstance(f, InodeFile) or not f.inode.is_reg:
        return data                     # (pipes, sockets, devices: no file size to limit)
    limit = task.rlimits[RLIMIT_FSIZE][0]
    if limit == RLIM_INFINITY:
        return data
    if f.flags & O_APPEND:
        pos = f.inode.size
    elif pos is None:
        pos = f.pos
    if pos >= limit:
        _too_big(task)
    return data[:limit - pos]


def check_new_size(task: Task, size: int) -> None:
    """inode_newsize_ok: a truncate or fallocate may not make a file bigger than the limit."""
    limit = task.rlimits[RLIMIT_FSIZE][0]
    if limit != RLIM_INFINITY and size > limit:
        _too_big(task)


def _too_big(task: Task) -> None:
    if task.pending is not None and task.pending is asyncio.current_task():
        # The syscall's own asyncio job: signalling now would cancel it (Scheduler.interrupt);
        # the signal goes just after it finishes.
        asyncio.get_running_loop().call_soon(send_thread_signal, task, SIGXFSZ)
    else:
        send_thread_signal(task, SIGXFSZ)           # send_sig(SIGXFSZ, current, 0)
    raise Errno(EFBIG)
