"""kcmp (Linux's kernel/kcmp.c): do two tasks share a kernel object?

0 means the same object; otherwise 1 or 2 order the two, as Linux orders its obfuscated
pointers (here: by the objects' ids, an order that means nothing beyond a run, as Linux's
means nothing beyond a boot). Objects moss-py does not keep per task (the I/O context, the
System V semaphore undo list before a thread is made) are the "none yet" every task
starts with: equal.
"""
from __future__ import annotations

import struct

from moss_host.errors import EBADF, EINVAL, ENOENT, EPERM, ESRCH, Errno
from moss_host.fs.epoll import EpollFile
from moss_host.proc.pidfd import may_access
from moss_host.proc.task import State

from .args import Hex, Int, c_int
from .table import syscall

KCMP_FILE, KCMP_VM, KCMP_FILES, KCMP_FS, KCMP_SIGHAND, KCMP_IO, KCMP_SYSVSEM, KCMP_EPOLL_TFD = range(8)
EPOLL_SLOT = struct.Struct("<IIQ")      # struct kcmp_epoll_slot { __u32 efd, tfd; __u64 toff; }


def _order(a: object, b: object) -> int:
    """kcmp_ptr: 0 for the same object, else 1 (less) or 2 (greater)."""
    x, y = id(a), id(b)
    return int(x < y) | (int(x > y) << 1) if a is not b else 0


def _file(task, idx: int):
    """get_file_raw_ptr: the task's file at descriptor idx, or None (a zombie has no table)."""
    idx &= 0xFFFF_FFFF                          # an unsigned int descriptor
    if task.state is State.ZOMBIE or idx >= 1 << 31:
        return None
    try:
        return task.files.get(idx)
    except Errno:
        return None


def _undo_list(task) -> object:
    """The System V semaphore undo list a task points to: its process's once a thread was made
    (copy_semundo with CLONE_SYSVSEM allocates it to share), none (equal to any other none) before."""
    return task.group if len(task.group.threads) > 1 else None


@syscall("kcmp")
def kcmp(task, pid1: "Int", pid2: "Int", type: "Int", idx1: "Hex", idx2: "Hex") -> int:
    """Compare a kernel object (file, memory, fd table, fs context, handlers, ...) of two tasks."""
    pids = task.kernel.pids
    t1, t2 = pids.get(c_int(pid1)), pids.get(c_int(pid2))
    if t1 is None or t2 is None:
        raise Errno(ESRCH)
    if not may_access(task, t1) or not may_access(task, t2):
        raise Errno(EPERM)
    type = c_int(type)
    if type == KCMP_FILE:
        f1, f2 = _file(t1, idx1), _file(t2, idx2)
        if f1 is None or f2 is None:
            raise Errno(EBADF)
        return _order(f1, f2)
    if type == KCMP_VM:
        return _order(t1.mm, t2.mm)
    if type == KCMP_FILES:
        return _order(t1.files, t2.files)
    if type == KCMP_FS:
        return _order(t1.fs, t2.fs)
    if type == KCMP_SIGHAND:
        return _order(t1.group.sighand, t2.group.sighand)
    if type == KCMP_IO:
        return 0                                # no task has an io_context without block I/O
    if type == KCMP_SYSVSEM:
        return _order(_undo_list(t1), _undo_list(t2))
    if type == KCMP_EPOLL_TFD:
        return _epoll_target(task, t1, t2, idx1, idx2)
    raise Errno(EINVAL)


def _epoll_target(task, t1, t2, idx1: int, slot_ptr: int) -> int:
    """kcmp_epoll_target: t1's file idx1 against the file t2's epoll `efd` watches as (tfd, toff)."""
    f1 = _file(t1, idx1)
    if f1 is None:
        raise Errno(EBADF)
    efd, tfd, toff = EPOLL_SLOT.unpack(task.mm.read(slot_ptr, EPOLL_SLOT.size))
    ep_file = _file(t2, efd)
    if ep_file is None:
        raise Errno(EBADF)
    if not isinstance(ep_file, EpollFile):
        raise Errno(EINVAL)
    watched = [item.file for item in ep_file.ep.items.values() if item.fd == tfd]
    if toff >= len(watched):
        raise Errno(ENOENT)
    return _order(f1, watched[toff])
