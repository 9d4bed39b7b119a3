"""Identity syscalls: set*uid/set*gid, getres*id, get/setgroups, setfsuid/setfsgid.

Linux's kernel/sys.c and kernel/groups.c rules. CAP_SETUID/CAP_SETGID are cred.capable():
euid 0 (a root task that moves its euid away from 0 may come back while one of its uids
is still 0, and has its capabilities again).

Each call builds a new Creds and installs it in one assignment (commit_creds), so a
failed call changes nothing. The filesystem uid follows the effective uid on every
set*uid call, as in Linux; it is kept as a `fsuid` attribute on Creds (procfs reads it),
and the file syscalls act as the effective ids.
"""

import struct
from dataclasses import replace

from moss_host.cred import capable
from moss_host.errors import EFAULT, EINVAL, EPERM, Errno

from .args import Int, Ptr, UInt, c_int
from .table import syscall

NO_ID = 0xFFFF_FFFF                 # (uid_t)-1: "leave this id alone", and never a valid id
NGROUPS_MAX = 65536


def _id(raw: int) -> int:
    return raw & 0xFFFF_FFFF


def _fsuid(creds) -> int:
    return creds.fs_ids[0]


def _fsgid(creds) -> int:
    return creds.fs_ids[1]


def _commit(task, new, fsuid: int | None = None, fsgid: int | None = None) -> None:
    """Install new credentials; the fs ids follow the effective ones unless given."""
    new.fsuid = new.euid if fsuid is None else fsuid
    new.fsgid = new.egid if fsgid is None else fsgid
    task.creds = new


def _copy(task):
    new = replace(task.creds)
    return new


# ---------------------------------------------------------------- user ids

@syscall("setuid")
async def setuid(task, uid: "UInt") -> int:
    """Root sets all three uids; others may set the effective uid to the real or saved one."""
    uid = _id(uid)
    if uid == NO_ID:
        raise Errno(EINVAL)
    old, new = task.creds, _copy(task)
    if capable(task.creds):
        new.uid = new.suid = uid
    elif uid not in (old.uid, old.suid):
        raise Errno(EPERM)
    new.euid = uid
    _commit(task, new, fsgid=_fsgid(old))
    return 0


@syscall("setreuid")
async def setreuid(task, ruid: "UInt", euid: "UInt") -> int:
    """Set the real and/or effective uid (-1 keeps); the saved uid follows the new effective one
    when the real uid is set or the effective one moves away from the old real uid."""
    ruid, euid = _id(ruid), _id(euid)
    old, new = task.creds, _copy(task)
    cap = capable(task.creds)
    if ruid != NO_ID:
        if ruid not in (old.uid, old.euid) and not cap:
            raise Errno(EPERM)
        new.uid = ruid
    if euid != NO_ID:
        if euid not in (old.uid, old.euid, old.suid) and not cap:
            raise Errno(EPERM)
        new.euid = euid
    if ruid != NO_ID or (euid != NO_ID and euid != old.uid):
        new.suid = new.euid
    _commit(task, new, fsgid=_fsgid(old))
    return 0


@syscall("setresuid")
async def setresuid(task, ruid: "UInt", euid: "UInt", suid: "UInt") -> int:
    """Set real, effective and saved uids (-1 keeps); without privilege each must be one of the current three."""
    wanted = (_id(ruid), _id(euid), _id(suid))
    old = task.creds
    current = (old.uid, old.euid, old.suid)
    if all(w == NO_ID or w == c for w, c in zip(wanted, current)):
        return 0
    if not capable(task.creds) and any(w != NO_ID and w not in current for w in wanted):
        raise Errno(EPERM)
    new = _copy(task)
    for attr, w in zip(("uid", "euid", "suid"), wanted):
        if w != NO_ID:
            setattr(new, attr, w)
    _commit(task, new, fsgid=_fsgid(old))
    return 0


@syscall("getresuid")
async def getresuid(task, ruid: "Ptr", euid: "Ptr", suid: "Ptr") -> int:
    """Store the real, effective and saved uids (each an unsigned int)."""
    c = task.creds
    for ptr, value in ((ruid, c.uid), (euid, c.euid), (suid, c.suid)):
        task.mm.write(ptr, struct.pack("<I", value))
    return 0


@syscall("setfsuid")
async def setfsuid(task, uid: "UInt") -> int:
    """Set the uid used for file access checks (to one of the real/effective/saved/fs uids, or
    anything for root); always returns the previous fsuid, so setfsuid(-1) queries it."""
    old = task.creds
    previous = _fsuid(old)
    uid = _id(uid)
    if uid == NO_ID:
        return previous
    if uid in (old.uid, old.euid, old.suid, previous) or capable(task.creds):
        _commit(task, _copy(task), fsuid=uid, fsgid=_fsgid(old))
    return previous


# ---------------------------------------------------------------- group ids

@syscall("setgid")
async def setgid(task, gid: "UInt") -> int:
    """Root sets all three gids; others may set the effective gid to the real or saved one."""
    gid = _id(gid)
    if gid == NO_ID:
        raise Errno(EINVAL)
    old, new = task.creds, _copy(task)
    if capable(task.creds):
        new.gid = new.sgid = gid
    elif gid not in (old.gid, old.sgid):
        raise Errno(EPERM)
    new.egid = gid
    _commit(task, new, fsuid=_fsuid(old))
    return 0


@syscall("setregid")
async def setregid(task, rgid: "UInt", egid: "UInt") -> int:
    """setreuid's rules for the real and effective gids."""
    rgid, egid = _id(rgid), _id(egid)
    old, new = task.creds, _copy(task)
    cap = capable(task.creds)
    if rgid != NO_ID:
        if rgid not in (old.gid, old.egid) and not cap:
            raise Errno(EPERM)
        new.gid = rgid
    if egid != NO_ID:
        if egid not in (old.gid, old.egid, old.sgid) and not cap:
            raise Errno(EPERM)
        new.egid = egid
    if rgid != NO_ID or (egid != NO_ID and egid != old.gid):
        new.sgid = new.egid
    _commit(task, new, fsuid=_fsuid(old))
    return 0


@syscall("setresgid")
async def setresgid(task, rgid: "UInt", egid: "UInt", sgid: "UInt") -> int:
    """setresuid's rules for the real, effective and saved gids."""
    wanted = (_id(rgid), _id(egid), _id(sgid))
    old = task.creds
    current = (old.gid, old.egid, old.sgid)
    if all(w == NO_ID or w == c for w, c in zip(wanted, current)):
        return 0
    if not capable(task.creds) and any(w != NO_ID and w not in current for w in wanted):
        raise Errno(EPERM)
    new = _copy(task)
    for attr, w in zip(("gid", "egid", "sgid"), wanted):
        if w != NO_ID:
            setattr(new, attr, w)
    _commit(task, new, fsuid=_fsuid(old))
    return 0


@syscall("getresgid")
async def getresgid(task, rgid: "Ptr", egid: "Ptr", sgid: "Ptr") -> int:
    """Store the real, effective and saved gids (each an unsigned int)."""
    c = task.creds
    for ptr, value in ((rgid, c.gid), (egid, c.egid), (sgid, c.sgid)):
        task.mm.write(ptr, struct.pack("<I", value))
    return 0


@syscall("setfsgid")
async def setfsgid(task, gid: "UInt") -> int:
    """setfsuid for the group: returns the previous fsgid."""
    old = task.creds
    previous = _fsgid(old)
    gid = _id(gid)
    if gid == NO_ID:
        return previous
    if gid in (old.gid, old.egid, old.sgid, previous) or capable(task.creds):
        _commit(task, _copy(task), fsuid=_fsuid(old), fsgid=gid)
    return previous


# ---------------------------------------------------------------- supplementary groups

@syscall("getgroups")
async def getgroups(task, size: "Int", grouplist: "Ptr") -> int:
    """The number of supplementary groups; with size > 0 also store them (EINVAL if they do not fit)."""
    size = c_int(size)
    if size < 0:
        raise Errno(EINVAL)
    groups = task.creds.groups
    if size:
        if len(groups) > size:
            raise Errno(EINVAL)
        if groups:
            task.mm.write(grouplist, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


@syscall("setgroups")
async def setgroups(task, size: "Int", grouplist: "Ptr") -> int:
    """Replace the supplementary groups (root only); Linux keeps them sorted."""
    if not capable(task.creds):
        raise Errno(EPERM)
    size = c_int(size)
    if not 0 <= size <= NGROUPS_MAX:
        raise Errno(EINVAL)
    raw = task.mm.read(grouplist, 4 * size) if size else b""
    if len(raw) != 4 * size:
        raise Errno(EFAULT)
    new = _copy(task)
    new.groups = tuple(sorted(struct.unpack(f"<{size}I", raw)))
    _commit(task, new, fsuid=_fsuid(task.creds), fsgid=_fsgid(task.creds))
    return 0
