"""Identity syscalls: set*uid/set*gid, getres*id, get/setgroups, setfsuid/setfsgid.

Linux's kernel/sys.c and kernel/groups.c rules: CAP_SETUID/CAP_SETGID in the effective set
allow any ids. A uid change moves the capability sets as security/commoncap.c's
cap_task_fix_setuid does (moss_host.cred.fix_setuid).

Each call builds a new Creds and installs it in one assignment (commit_creds), so a
failed call changes nothing. The filesystem uid follows the effective uid on every
set*uid call, as in Linux; it is kept as a `fsuid` attribute on Creds (procfs reads it),
and the file syscalls act as the effective ids.
"""

import struct
from dataclasses import dataclass, replace

from moss_host.cred import CAP_SETGID, CAP_SETUID, Creds, capable, fix_setuid
from moss_host.errors import EFAULT, EINVAL, EPERM, Errno

from .args import Int, Ptr, UInt, c_int
from .table import syscall

NO_ID = 0xFFFF_FFFF                 # (uid_t)-1: "leave this id alone", and never a valid id
NGROUPS_MAX = 65536


def _id(raw: int) -> int:
    return raw & 0xFFFF_FFFF


@dataclass(frozen=True)
class _Ids:
    """The Creds fields of one family of ids: the user ids or the group ids. The rules of
    set*uid and set*gid are the same; only the fields differ."""
    real: str
    effective: str
    saved: str
    fs: str
    cap: int            # the capability that allows any id: CAP_SETUID or CAP_SETGID

    def current(self, creds: Creds) -> tuple[int, int, int]:
        return getattr(creds, self.real), getattr(creds, self.effective), getattr(creds, self.saved)

    def fs_id(self, creds: Creds) -> int:
        """The id file operations use (the fs id, which follows the effective one unless set apart)."""
        fs = getattr(creds, self.fs)
        return getattr(creds, self.effective) if fs is None else fs


UIDS = _Ids("uid", "euid", "suid", "fsuid", CAP_SETUID)
GIDS = _Ids("gid", "egid", "sgid", "fsgid", CAP_SETGID)


def _commit(task, new: Creds, ids: _Ids, fs: int | None = None) -> None:
    """Install new credentials (commit_creds). The family's fs id follows its new effective id
    (or takes `fs`); the other family's keeps what it was."""
    other = GIDS if ids is UIDS else UIDS
    setattr(new, other.fs, other.fs_id(task.creds))
    setattr(new, ids.fs, getattr(new, ids.effective) if fs is None else fs)
    if ids is UIDS:
        fix_setuid(task.creds, new, fs_only=fs is not None)
    task.creds = new


def _set_id(task, ids: _Ids, raw: int) -> int:
    """setuid/setgid: root sets all three ids; others may set the effective one to the real or saved one."""
    value = _id(raw)
    if value == NO_ID:
        raise Errno(EINVAL)
    old, new = task.creds, replace(task.creds)
    if capable(old, ids.cap):
        setattr(new, ids.real, value)
        setattr(new, ids.saved, value)
    elif value not in (getattr(old, ids.real), getattr(old, ids.saved)):
        raise Errno(EPERM)
    setattr(new, ids.effective, value)
    _commit(task, new, ids)
    return 0


def _set_re_id(task, ids: _Ids, raw_real: int, raw_effective: int) -> int:
    """setreuid/setregid: the real and/or effective id (-1 keeps); the saved id follows the new
    effective one when the real id is set or the effective one moves away from the old real id."""
    real, effective = _id(raw_real), _id(raw_effective)
    old, new = task.creds, replace(task.creds)
    cap = capable(old, ids.cap)
    old_real, old_effective, old_saved = ids.current(old)
    if real != NO_ID:
        if real not in (old_real, old_effective) and not cap:
            raise Errno(EPERM)
        setattr(new, ids.real, real)
    if effective != NO_ID:
        if effective not in (old_real, old_effective, old_saved) and not cap:
            raise Errno(EPERM)
        setattr(new, ids.effective, effective)
    if real != NO_ID or (effective != NO_ID and effective != old_real):
        setattr(new, ids.saved, getattr(new, ids.effective))
    _commit(task, new, ids)
    return 0


def _set_res_id(task, ids: _Ids, raw: tuple[int, int, int]) -> int:
    """setresuid/setresgid: real, effective and saved ids (-1 keeps); without privilege each
    must be one of the current three."""
    wanted = tuple(_id(r) for r in raw)
    current = ids.current(task.creds)
    if all(w == NO_ID or w == c for w, c in zip(wanted, current)):
        return 0
    if not capable(task.creds, ids.cap) and any(w != NO_ID and w not in current for w in wanted):
        raise Errno(EPERM)
    new = replace(task.creds)
    for attr, w in zip((ids.real, ids.effective, ids.saved), wanted):
        if w != NO_ID:
            setattr(new, attr, w)
    _commit(task, new, ids)
    return 0


def _get_res_id(task, ids: _Ids, ptrs: tuple[int, int, int]) -> int:
    """getresuid/getresgid: store the real, effective and saved ids (each an unsigned int)."""
    for ptr, value in zip(ptrs, ids.current(task.creds)):
        task.mm.write(ptr, struct.pack("<I", value))
    return 0


def _set_fs_id(task, ids: _Ids, raw: int) -> int:
    """setfsuid/setfsgid: the id for file access checks, to one of the real/effective/saved/fs
    ids, or anything for root; always returns the previous one, so -1 queries it."""
    old = task.creds
    previous = ids.fs_id(old)
    value = _id(raw)
    if value == NO_ID:
        return previous
    if value in (*ids.current(old), previous) or capable(old, ids.cap):
        _commit(task, replace(old), ids, fs=value)
    return previous


# ---------------------------------------------------------------- user and group ids

@syscall("setuid")
async def setuid(task, uid: "UInt") -> int:
    """Root sets all three uids; others may set the effective uid to the real or saved one."""
    return _set_id(task, UIDS, uid)


@syscall("setgid")
async def setgid(task, gid: "UInt") -> int:
    """Root sets all three gids; others may set the effective gid to the real or saved one."""
    return _set_id(task, GIDS, gid)


@syscall("setreuid")
async def setreuid(task, ruid: "UInt", euid: "UInt") -> int:
    """Set the real and/or effective uid (-1 keeps); the saved uid follows the new effective one
    when the real uid is set or the effective one moves away from the old real uid."""
    return _set_re_id(task, UIDS, ruid, euid)


@syscall("setregid")
async def setregid(task, rgid: "UInt", egid: "UInt") -> int:
    """setreuid's rules for the real and effective gids."""
    return _set_re_id(task, GIDS, rgid, egid)


@syscall("setresuid")
async def setresuid(task, ruid: "UInt", euid: "UInt", suid: "UInt") -> int:
    """Set real, effective and saved uids (-1 keeps); without privilege each must be one of the current three."""
    return _set_res_id(task, UIDS, (ruid, euid, suid))


@syscall("setresgid")
async def setresgid(task, rgid: "UInt", egid: "UInt", sgid: "UInt") -> int:
    """setresuid's rules for the real, effective and saved gids."""
    return _set_res_id(task, GIDS, (rgid, egid, sgid))


@syscall("getresuid")
def getresuid(task, ruid: "Ptr", euid: "Ptr", suid: "Ptr") -> int:
    """Store the real, effective and saved uids (each an unsigned int)."""
    return _get_res_id(task, UIDS, (ruid, euid, suid))


@syscall("getresgid")
def getresgid(task, rgid: "Ptr", egid: "Ptr", sgid: "Ptr") -> int:
    """Store the real, effective and saved gids (each an unsigned int)."""
    return _get_res_id(task, GIDS, (rgid, egid, sgid))


@syscall("setfsuid")
async def setfsuid(task, uid: "UInt") -> int:
    """Set the uid used for file access checks (to one of the real/effective/saved/fs uids, or
    anything for root); always returns the previous fsuid, so setfsuid(-1) queries it."""
    return _set_fs_id(task, UIDS, uid)


@syscall("setfsgid")
async def setfsgid(task, gid: "UInt") -> int:
    """setfsuid for the group: returns the previous fsgid."""
    return _set_fs_id(task, GIDS, gid)


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
    if not capable(task.creds, CAP_SETGID):
        raise Errno(EPERM)
    size = c_int(size)
    if not 0 <= size <= NGROUPS_MAX:
        raise Errno(EINVAL)
    raw = task.mm.read(grouplist, 4 * size) if size else b""
    if len(raw) != 4 * size:
        raise Errno(EFAULT)
    new = replace(task.creds)
    new.groups = tuple(sorted(struct.unpack(f"<{size}I", raw)))
    _commit(task, new, UIDS, fs=UIDS.fs_id(task.creds))     # both fs ids stay
    return 0
