"""The process side of signal-driven I/O (fs/fasync.py): who an owner record names, whether
the owner may signal them, and the signal itself (Linux's fs/fcntl.c send_sigio,
send_sigurg, sigio_perm, f_getown).

An owner is a thread (F_OWNER_TID: the signal is that thread's), a process (F_OWNER_PID,
F_SETOWN's positive argument: process-directed) or a process group (F_OWNER_PGRP, F_SETOWN's
negative one: each of its processes). The uid and euid of whoever set the owner must match
the target's uid or saved uid (or be root's), as kill's rule with the roles reversed.

A real-time F_SETSIG signal is queued once per event; when the queue has no room for it
(the target's user has RLIMIT_SIGPENDING signals pending) the owner gets a plain SIGIO
instead (send_sigio_to_task's fallback: "failure to queue ... does mean failure to deliver").
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from moss_host.arch.arm64.sigframe import SI_KERNEL, SI_SIGIO
from moss_host.fs.fasync import BAND, F_OWNER_PGRP, F_OWNER_TID, FileOwner

from . import signals as S

if TYPE_CHECKING:
    from .pidtable import PidTable
    from .task import Task

# Signals whose si_codes mean something of their own (sig_specific_sicodes): an F_SETSIG
# signal among them says SI_SIGIO instead of POLL_*; SIGPOLL itself (SIGIO) keeps POLL_*.
_SPECIFIC_SICODES = {S.SIGILL, S.SIGFPE, S.SIGSEGV, S.SIGBUS, S.SIGTRAP, S.SIGCHLD, S.SIGIO, S.SIGSYS}


class ProcSigio:
    """SigioSender over the kernel's task table."""

    def __init__(self, pids: PidTable) -> None:
        self.pids = pids

    def owner_tasks(self, owner: FileOwner) -> list[Task]:
        """The tasks the owner names now (pid_task / do_each_pid_task)."""
        if not owner.pid:
            return []
        if owner.kind == F_OWNER_PGRP:
            return self.pids.group(owner.pid)
        t = self.pids.get(owner.pid)
        return [] if t is None else [t]

    def send_sigio(self, owner: FileOwner, fd: int, reason: int) -> None:
        signum = owner.signum
        for t in self.owner_tasks(owner):
            if not _sigio_perm(t, owner):
                continue
            thread = owner.kind == F_OWNER_TID
            if signum:
                code = SI_SIGIO if signum != S.SIGIO and signum in _SPECIFIC_SICODES else reason
                info = S.SigInfo(signum, code, value=BAND[reason], status=fd)
                if S.send_signal(t, signum, info, thread=thread) == 0:
                    continue
            # No F_SETSIG signal, or its queue is full (-EAGAIN): a plain SIGIO
            S.send_signal(t, S.SIGIO, S.SigInfo(S.SIGIO, SI_KERNEL), thread=thread)

    def send_sigurg(self, owner: FileOwner) -> bool:
        if not owner.pid:
            return False
        for t in self.owner_tasks(owner):
            if _sigio_perm(t, owner):
                S.send_signal(t, S.SIGURG, S.SigInfo(S.SIGURG, SI_KERNEL), thread=owner.kind == F_OWNER_TID)
        return True


def _sigio_perm(t: Task, owner: FileOwner) -> bool:
    c = t.creds
    return owner.euid == 0 or owner.euid in (c.suid, c.uid) or owner.uid in (c.suid, c.uid)
