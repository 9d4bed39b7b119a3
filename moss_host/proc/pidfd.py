"""pidfds: a process as a file (Linux's kernel/pid.c pidfd_create and pidfd_fops).

A pidfd names one thread group. It is an anonymous file (`anon_inode:[pidfd]`, always
O_RDWR|O_CLOEXEC) that polls readable once every thread of the process has exited
(thread_group_exited: a zombie or reaped process), which is when ThreadGroup wakes
`pidfd_waiters`. pidfd_send_signal, pidfd_getfd and waitid(P_PIDFD) take it; read and
write are EINVAL, as for a file without those operations.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from moss_host.cred import CAP_SYS_PTRACE, capable
from moss_host.errors import EBADF, Errno
from moss_host.fs.anon_inode import AnonFile
from moss_host.fs.file import O_CLOEXEC, O_RDWR, POLLIN, POLLRDNORM, OpenFile
from moss_host.waitq import WaitQueue

if TYPE_CHECKING:
    from .task import Task
    from .thread_group import ThreadGroup

SUID_DUMP_USER = 1


class PidFd(AnonFile):
    anon_name = "[pidfd]"

    def __init__(self, leader: Task, flags: int):
        super().__init__(flags | O_RDWR | O_CLOEXEC)
        self.leader = leader                    # the process's leader when the pidfd was made
        self.group: ThreadGroup = leader.group

    def task(self) -> Optional[Task]:
        """The process's leader while it is in the pid table (a zombie included); None once reaped."""
        leader = self.group.leader
        return leader if leader is not None and leader.kernel.pids.alive(leader) else None

    @property
    def poll_wq(self) -> WaitQueue:
        return self.group.pidfd_waiters

    def poll_events(self, events: int) -> int:
        return POLLIN | POLLRDNORM if not self.group.threads else 0

    def fdinfo_lines(self) -> list[str]:
        """pidfd_show_fdinfo: the process's pid, -1 once it has been reaped."""
        task = self.task()
        nr = task.tgid if task is not None else -1
        return [f"Pid:\t{nr}", f"NSpid:\t{nr}"]


def pidfd_of(f: OpenFile) -> PidFd:
    """pidfd_pid(): the file must be a pidfd (EBADF)."""
    if not isinstance(f, PidFd):
        raise Errno(EBADF)
    return f


def may_access(caller: Task, target: Task) -> bool:
    """ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS): the same process, or the caller's real
    ids are all of the target's, or it is privileged; and the target is dumpable."""
    if caller.group is target.group:
        return True
    mine, theirs = caller.creds, target.creds
    same = (mine.uid == theirs.uid == theirs.euid == theirs.suid
            and mine.gid == theirs.gid == theirs.egid == theirs.sgid)
    if not same and not capable(mine, CAP_SYS_PTRACE):
        return False
    return target.dumpable == SUID_DUMP_USER or capable(mine, CAP_SYS_PTRACE)
