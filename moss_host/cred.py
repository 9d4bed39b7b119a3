"""Credentials (Linux's include/linux/cred.h): who a task is, and who a file operation acts as.

Creds is a task's full set of ids; each set*id call builds a new one and installs it in one
assignment (commit_creds). Cred is the narrower, immutable identity the VFS checks
permissions against: the filesystem uid/gid and the supplementary groups.

A base module: every layer (fs checks permissions, proc keeps the ids, syscalls change
them) may import it.
"""
from __future__ import annotations

from dataclasses import dataclass

# Capability numbers (include/uapi/linux/capability.h), the ones this kernel checks.
CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID = 0, 1, 2, 3, 4
CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_LINUX_IMMUTABLE = 5, 6, 7, 8, 9
CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK, CAP_IPC_OWNER = 10, 12, 13, 14, 15
CAP_SYS_CHROOT, CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_SYS_BOOT, CAP_SYS_NICE = 18, 19, 21, 22, 23
CAP_SYS_RESOURCE, CAP_SYS_TIME, CAP_SYS_TTY_CONFIG, CAP_MKNOD = 24, 25, 26, 27
CAP_SETFCAP, CAP_MAC_OVERRIDE, CAP_SYSLOG, CAP_WAKE_ALARM = 31, 32, 34, 35
CAP_LAST_CAP = 40                   # CAP_CHECKPOINT_RESTORE in Linux 6.1
CAP_FULL = (1 << (CAP_LAST_CAP + 1)) - 1
# CAP_FS_MASK: what a task's fsuid leaving 0 drops from its effective set (cap_drop_fs_set).
CAP_FS_MASK = ((1 << CAP_CHOWN) | (1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH)
               | (1 << CAP_FOWNER) | (1 << CAP_FSETID) | (1 << CAP_LINUX_IMMUTABLE)
               | (1 << CAP_MAC_OVERRIDE) | (1 << CAP_MKNOD))

# securebits (include/uapi/linux/securebits.h): each bit has a lock bit just above it.
SECURE_NOROOT, SECURE_NO_SETUID_FIXUP, SECURE_KEEP_CAPS, SECURE_NO_CAP_AMBIENT_RAISE = 0, 2, 4, 6
SECBIT_KEEP_CAPS = 1 << SECURE_KEEP_CAPS
SECURE_ALL_BITS = 0x55
SECURE_ALL_LOCKS = SECURE_ALL_BITS << 1

_DERIVED = -1       # a capability set left to follow the uids, as init's descendants' would


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
    # Capability sets, bit n = capability n (Linux's cred->cap_*). Left _DERIVED they are what
    # a task exec'ed by root-uid init with these ids holds: all of them while euid is 0.
    cap_effective: int = _DERIVED
    cap_permitted: int = _DERIVED
    cap_inheritable: int = 0
    cap_bounding: int = CAP_FULL
    cap_ambient: int = 0
    securebits: int = 0

    def __post_init__(self) -> None:
        if self.cap_permitted == _DERIVED:
            self.cap_permitted = CAP_FULL if 0 in (self.uid, self.euid) else 0
        if self.cap_effective == _DERIVED:
            self.cap_effective = self.cap_permitted if self.euid == 0 else 0

    def issecure(self, bit: int) -> bool:
        return bool(self.securebits >> bit & 1)

    @property
    def fs_ids(self) -> tuple[int, int]:
        """The (uid, gid) file operations are checked against: the fs ids, else the effective ones."""
        return (self.euid if self.fsuid is None else self.fsuid,
                self.egid if self.fsgid is None else self.fsgid)


def capable(creds: Creds, cap: int = CAP_SYS_ADMIN) -> bool:
    """Whether capability `cap` is in the effective set (Linux's capable()/cap_capable).

    Call sites name the capability Linux checks; the default is CAP_SYS_ADMIN, Linux's
    catch-all, for the checks not yet converted."""
    return bool(creds.cap_effective >> cap & 1)


@dataclass(frozen=True)
class Cred:
    """The identity a filesystem operation is checked against (Linux's fsuid/fsgid + groups)."""
    uid: int
    gid: int
    groups: tuple = ()
    caps: int = _DERIVED        # the effective capabilities; left out: all of them for uid 0

    def __post_init__(self) -> None:
        if self.caps == _DERIVED:
            object.__setattr__(self, "caps", CAP_FULL if self.uid == 0 else 0)

    def in_group(self, gid: int) -> bool:
        return gid == self.gid or gid in self.groups

    def capable(self, cap: int) -> bool:
        return bool(self.caps >> cap & 1)


_CREDS: dict[tuple, Cred] = {}      # (fsuid, fsgid, groups) -> Cred: a process has few identities


def fs_cred(creds: Creds) -> Cred:
    """Who file operations of a task with `creds` act as: the fs ids (setfsuid/setfsgid),
    which follow the effective ids unless set apart.

    Cred is immutable, so one per identity is shared (building the frozen dataclass on
    every path syscall cost about as much as a path component's lookup)."""
    key = (*creds.fs_ids, tuple(creds.groups), creds.cap_effective)
    cred = _CREDS.get(key)
    if cred is None:
        if len(_CREDS) >= 256:
            _CREDS.clear()
        cred = _CREDS[key] = Cred(*key)
    return cred


def real_cred(creds: Creds) -> Cred:
    """access(2)'s identity: the real ids, with the permitted set for a real uid of 0 and no
    capabilities otherwise (do_faccessat's override creds)."""
    if creds.issecure(SECURE_NO_SETUID_FIXUP):
        caps = creds.cap_effective
    else:
        caps = creds.cap_permitted if creds.uid == 0 else 0
    return Cred(creds.uid, creds.gid, tuple(creds.groups), caps)


def fix_setuid(old: Creds, new: Creds, fs_only: bool = False) -> None:
    """cap_task_fix_setuid: move `new`'s capability sets for its uids changed from `old`'s.

    Leaving uid 0 in all of real/effective/saved drops the permitted and effective sets (unless
    SECBIT_KEEP_CAPS) and the ambient one; the effective uid leaving 0 drops the effective set,
    returning to 0 raises it to the permitted one. setfsuid moves just the filesystem
    capabilities with the fsuid."""
    if old.issecure(SECURE_NO_SETUID_FIXUP):
        return
    if fs_only:
        old_fs, new_fs = old.fs_ids[0], new.fs_ids[0]
        if old_fs == 0 and new_fs != 0:
            new.cap_effective &= ~CAP_FS_MASK
        elif old_fs != 0 and new_fs == 0:
            new.cap_effective |= new.cap_permitted & CAP_FS_MASK
        return
    if 0 in (old.uid, old.euid, old.suid) and 0 not in (new.uid, new.euid, new.suid):
        if not old.issecure(SECURE_KEEP_CAPS):
            new.cap_permitted = new.cap_effective = 0
        new.cap_ambient = 0
    if old.euid == 0 and new.euid != 0:
        new.cap_effective = 0
    elif old.euid != 0 and new.euid == 0:
        new.cap_effective = new.cap_permitted
