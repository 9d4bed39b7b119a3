"""The credentials a task runs a program with: execve's set-user-ID/set-group-ID bits and
file capabilities (fs/exec.c's bprm_fill_uid, security/commoncap.c's cap_bprm_creds_from_file).
"""
from __future__ import annotations

import stat as S
import struct
from dataclasses import dataclass, replace

from moss_host.cred import CAP_FULL, SECBIT_KEEP_CAPS, SECURE_NOROOT, Creds
from moss_host.errors import EINVAL, EPERM, Errno

XATTR_NAME_CAPS = b"security.capability"
VFS_CAP_REVISION_MASK = 0xFF000000
VFS_CAP_REVISION_1, VFS_CAP_REVISION_2, VFS_CAP_REVISION_3 = 0x01000000, 0x02000000, 0x03000000
VFS_CAP_FLAGS_EFFECTIVE = 0x000001
_CAPS_SIZE = {VFS_CAP_REVISION_1: 12, VFS_CAP_REVISION_2: 20, VFS_CAP_REVISION_3: 24}


@dataclass(frozen=True)
class ExecFile:
    """What of the program file decides the new credentials."""
    mode: int
    uid: int
    gid: int
    nosuid: bool                 # on a MS_NOSUID mount: neither set-ID bits nor file capabilities
    fcaps: bytes | None          # the security.capability xattr, if any


@dataclass(frozen=True)
class FileCaps:
    permitted: int
    inheritable: int
    effective: bool


def parse_file_caps(raw: bytes) -> FileCaps | None:
    """get_vfs_caps_from_disk: EINVAL for a size that does not fit its revision; None for a
    revision 3 whose root uid is not 0 (a user namespace's, which is not ours)."""
    if len(raw) < 4:
        raise Errno(EINVAL)
    magic = struct.unpack_from("<I", raw)[0]
    revision = magic & VFS_CAP_REVISION_MASK
    if _CAPS_SIZE.get(revision) != len(raw):
        raise Errno(EINVAL)
    words = 1 if revision == VFS_CAP_REVISION_1 else 2
    if revision == VFS_CAP_REVISION_3 and struct.unpack_from("<I", raw, 20)[0] != 0:
        return None
    permitted = inheritable = 0
    for i in range(words):
        p, h = struct.unpack_from("<II", raw, 4 + 8 * i)
        permitted |= p << 32 * i
        inheritable |= h << 32 * i
    return FileCaps(permitted & CAP_FULL, inheritable & CAP_FULL, bool(magic & VFS_CAP_FLAGS_EFFECTIVE))


def exec_creds(old: Creds, f: ExecFile, no_new_privs: bool) -> Creds:
    """The credentials after execve of `f` (EPERM/EINVAL for file capabilities that cannot be
    honoured, as Linux fails such an exec)."""
    new = replace(old)
    if not f.nosuid and not no_new_privs:                          # bprm_fill_uid
        if f.mode & S.S_ISUID:
            new.euid = f.uid
        if f.mode & S.S_ISGID and f.mode & S.S_IXGRP:
            new.egid = f.gid
    effective, has_fcap = _file_caps(new, f)
    effective = _privileged_root(old, new, has_fcap, effective)
    is_setid = new.euid != old.uid or new.egid != old.gid
    if (is_setid or new.cap_permitted & ~old.cap_permitted) and no_new_privs:
        # LSM_UNSAFE_NO_NEW_PRIVS: no more than it had (bprm_fill_uid already kept the ids)
        new.euid, new.egid = new.uid, new.gid
        new.cap_permitted &= old.cap_permitted
    new.suid, new.sgid = new.euid, new.egid
    new.fsuid = new.fsgid = None                                   # follow the effective ids
    if has_fcap or is_setid:
        new.cap_ambient = 0
    new.cap_permitted |= new.cap_ambient
    new.cap_effective = new.cap_permitted if effective else new.cap_ambient
    new.securebits &= ~SECBIT_KEEP_CAPS
    return new


def _file_caps(new: Creds, f: ExecFile) -> tuple[bool, bool]:
    """get_file_caps: pP' = (X & fP) | (pI & fI); (effective bit, has file caps)."""
    new.cap_permitted = 0
    if f.nosuid or f.fcaps is None:
        return False, False
    caps = parse_file_caps(f.fcaps)
    if caps is None:
        return False, False
    new.cap_permitted = (new.cap_bounding & caps.permitted) | (new.cap_inheritable & caps.inheritable)
    if caps.effective and caps.permitted & ~new.cap_permitted:
        raise Errno(EPERM)          # a capability-aware-less program would run without what it needs
    return caps.effective, True


def _privileged_root(old: Creds, new: Creds, has_fcap: bool, effective: bool) -> bool:
    """handle_privileged_root: uid 0 gets the whole bounding set (and inheritable) permitted,
    effective too for an effective uid 0 -- unless file caps on a set-user-ID-root program."""
    if old.issecure(SECURE_NOROOT):
        return effective
    if has_fcap and new.euid == 0 and new.uid != 0:
        return effective
    if new.euid == 0 or new.uid == 0:
        new.cap_permitted = old.cap_bounding | old.cap_inheritable
    return effective or new.euid == 0


def secure_exec(old: Creds, new: Creds, f: ExecFile) -> bool:
    """bprm->secureexec (AT_SECURE): the program runs with other ids, or a user's program with
    the file-capability effective bit or more permitted than its ambient set, so the loader
    ignores LD_* variables. (`new` is exec_creds's answer for `f`, which parsed the xattr.)"""
    if new.euid != old.uid or new.egid != old.gid:
        return True
    if new.uid == 0:
        return False
    caps = parse_file_caps(f.fcaps) if f.fcaps is not None and not f.nosuid else None
    return (caps is not None and caps.effective) or bool(new.cap_permitted & ~new.cap_ambient)
