"""process_mrelease (mm/oom_kill.c, Linux 6.1): free a dying process's memory early.

A process's memory goes at once when its last thread exits here, so there is nothing to do
early; what remains are Linux's answers: a process being killed (its group exiting) 0, one
not dying EINVAL, one whose threads have all let go of their memory ESRCH.
"""
from __future__ import annotations

from moss_host.errors import EINVAL, ESRCH, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.proc.pidfd import pidfd_of
from moss_host.proc.task import State

from .args import Fd, Hex
from .table import syscall


@syscall("process_mrelease")
def process_mrelease(task, pidfd: "Fd", flags: "Hex") -> int:
    """The reaper of a dying process's memory, through a pidfd (EBADF for any other file)."""
    if flags & 0xFFFF_FFFF:
        raise Errno(EINVAL)
    leader = pidfd_of(task.files.get(fd_arg(pidfd))).task()
    if leader is None:
        raise Errno(ESRCH)
    threads = [t for t in task.kernel.pids.threads_of(leader) if t.state is not State.ZOMBIE]
    if not threads:
        raise Errno(ESRCH)              # find_lock_task_mm: no thread holds the memory any more
    if not leader.group.exiting:
        raise Errno(EINVAL)             # not dying: task_will_free_mem is false
    return 0
