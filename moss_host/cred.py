"""Credentials (Linux's include/linux/cred.h): who a task is, and who a file operation acts as.

Creds is a task's full set of ids; each set*id call builds a new one and installs it in one
assignment (commit_creds). Cred is the narrower, immutable identity the VFS checks
permissions against: the filesystem uid/gid and the supplementary groups.

A base module: every layer (fs checks permissions, proc keeps the ids, syscalls change
them) may import it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Creds:
    uid: int = 0
    euid: int = 0
    suid: int = 0
    gid: int = 0
    egid: int = 0
    sgid: int = 0
    groups: tuple[int, ...] = ()
    fsuid: int | None = None      # setfsuid(2); None: follows euid, as every set*uid call restores
    fsgid: int | None = None

    @property
    def fs_ids(self) -> tuple[int, int]:
        """The (uid, gid) file operations are checked against: the fs ids, else the effective ones."""
        return (self.euid if self.fsuid is None else self.fsuid,
                self.egid if self.fsgid is None else self.fsgid)


def capable(creds: Creds) -> bool:
    """Whether a capability (CAP_SYS_ADMIN, CAP_CHOWN, CAP_FOWNER, CAP_SETUID, ...) is held.

    Tasks carry no capability sets: one is held exactly while the effective uid is 0. That is
    exact for a task without file capabilities or securebits: a root task that moves its euid
    away from 0 loses its effective capabilities in Linux too, and gets them back when it returns.
    """
    return creds.euid == 0


@dataclass(frozen=True)
class Cred:
    """The identity a filesystem operation is checked against (Linux's fsuid/fsgid + groups)."""
    uid: int
    gid: int
    groups: tuple = ()

    def in_group(self, gid: int) -> bool:
        return gid == self.gid or gid in self.groups


_CREDS: dict[tuple, Cred] = {}      # (fsuid, fsgid, groups) -> Cred: a process has few identities


def fs_cred(creds: Creds) -> Cred:
    """Who file operations of a task with `creds` act as: the fs ids (setfsuid/setfsgid),
    which follow the effective ids unless set apart.

    Cred is immutable, so one per identity is shared (building the frozen dataclass on
    every path syscall cost about as much as a path component's lookup)."""
    key = (*creds.fs_ids, tuple(creds.groups))
    cred = _CREDS.get(key)
    if cred is None:
        if len(_CREDS) >= 256:
            _CREDS.clear()
        cred = _CREDS[key] = Cred(*key)
    return cred
