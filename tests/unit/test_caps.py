"""Capability sets on Creds: set*uid's fixup, exec's transition, file-capability parsing."""
import errno
import struct
from dataclasses import replace

import pytest

from moss_host.cred import (CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FS_MASK, CAP_FULL, CAP_KILL, CAP_NET_RAW,
                            SECBIT_KEEP_CAPS, Cred, Creds, capable, fix_setuid, real_cred)
from moss_host.errors import Errno
from moss_host.fs.vfs import MAY_EXEC, MAY_READ, permission
from moss_host.proc.caps import (VFS_CAP_FLAGS_EFFECTIVE, VFS_CAP_REVISION_2, VFS_CAP_REVISION_3, ExecFile,
                                 exec_creds, parse_file_caps)

ROOT = Creds()
USER = Creds(uid=1000, euid=1000, suid=1000, gid=1000, egid=1000, sgid=1000)


def _uids(old: Creds, **ids) -> Creds:
    new = replace(old, **ids)
    fix_setuid(old, new)
    return new


def test_root_holds_every_capability_and_a_user_none():
    assert ROOT.cap_effective == ROOT.cap_permitted == CAP_FULL and capable(ROOT, CAP_CHOWN)
    assert USER.cap_effective == USER.cap_permitted == 0 and not capable(USER, CAP_CHOWN)


def test_leaving_uid_0_everywhere_clears_the_sets_unless_keepcaps():
    assert _uids(ROOT, uid=5, euid=5, suid=5).cap_permitted == 0
    kept = _uids(replace(ROOT, securebits=SECBIT_KEEP_CAPS), uid=5, euid=5, suid=5)
    assert kept.cap_permitted == CAP_FULL and kept.cap_effective == 0


def test_the_effective_uid_leaving_and_returning_to_0_moves_the_effective_set():
    away = _uids(ROOT, euid=5)
    assert away.cap_effective == 0 and away.cap_permitted == CAP_FULL
    assert _uids(away, euid=0).cap_effective == CAP_FULL


def test_the_fsuid_leaving_0_drops_just_the_filesystem_capabilities():
    new = replace(ROOT, fsuid=5)
    fix_setuid(ROOT, new, fs_only=True)
    assert new.cap_effective == CAP_FULL & ~CAP_FS_MASK
    assert not fs_cred_capable(new, CAP_DAC_OVERRIDE) and capable(new, CAP_KILL)


def fs_cred_capable(creds: Creds, cap: int) -> bool:
    from moss_host.cred import fs_cred
    return fs_cred(creds).capable(cap)


def test_dac_override_follows_the_effective_set_not_the_uid():
    class Inode:
        mode, uid, gid = 0o100600, 7, 7
    permission(Inode(), Cred(0, 0), MAY_READ)
    with pytest.raises(Errno) as e:
        permission(Inode(), Cred(0, 0, (), 0), MAY_READ)
    assert e.value.code == errno.EACCES
    with pytest.raises(Errno):
        permission(Inode(), Cred(0, 0), MAY_EXEC)           # no x bit anywhere: not even root


def test_access_uses_the_real_uid_with_the_permitted_set():
    assert real_cred(replace(ROOT, cap_effective=0)).caps == CAP_FULL
    assert real_cred(_uids(ROOT, uid=5)).caps == 0


def _fcaps(rev: int, permitted: int, effective: bool, rootid: int = 0) -> bytes:
    magic = rev | (VFS_CAP_FLAGS_EFFECTIVE if effective else 0)
    raw = struct.pack("<IIIII", magic, permitted, 0, 0, 0)
    return raw + struct.pack("<I", rootid) if rev == VFS_CAP_REVISION_3 else raw


def test_file_capability_xattrs_parse_by_revision():
    caps = parse_file_caps(_fcaps(VFS_CAP_REVISION_2, 1 << CAP_NET_RAW, True))
    assert caps is not None and caps.permitted == 1 << CAP_NET_RAW and caps.effective
    assert parse_file_caps(_fcaps(VFS_CAP_REVISION_3, 1, False, rootid=1000)) is None
    with pytest.raises(Errno) as e:
        parse_file_caps(_fcaps(VFS_CAP_REVISION_2, 1, True)[:16])
    assert e.value.code == errno.EINVAL


def test_exec_of_a_set_user_id_root_program_gives_a_user_every_capability():
    new = exec_creds(USER, ExecFile(0o104755, 0, 0, False, None), no_new_privs=False)
    assert (new.uid, new.euid, new.suid) == (1000, 0, 0) and new.cap_effective == CAP_FULL
    same = exec_creds(USER, ExecFile(0o104755, 0, 0, False, None), no_new_privs=True)
    assert same.euid == 1000 and same.cap_effective == 0
    assert exec_creds(USER, ExecFile(0o104755, 0, 0, True, None), no_new_privs=False).euid == 1000


def test_exec_with_file_capabilities_and_ambient_ones():
    f = ExecFile(0o100755, 0, 0, False, _fcaps(VFS_CAP_REVISION_2, 1 << CAP_NET_RAW, True))
    assert exec_creds(USER, f, no_new_privs=False).cap_effective == 1 << CAP_NET_RAW
    assert exec_creds(USER, f, no_new_privs=True).cap_effective == 0
    bit = 1 << CAP_KILL
    amb = replace(USER, cap_permitted=bit, cap_inheritable=bit, cap_ambient=bit, securebits=SECBIT_KEEP_CAPS)
    new = exec_creds(amb, ExecFile(0o100755, 0, 0, False, None), no_new_privs=False)
    assert new.cap_effective == new.cap_permitted == new.cap_ambient == bit and new.securebits == 0


def test_a_set_user_id_exec_is_a_secure_exec_and_roots_is_not():
    from moss_host.proc.caps import secure_exec
    suid = ExecFile(0o104755, 0, 0, False, None)
    assert secure_exec(USER, exec_creds(USER, suid, no_new_privs=False), suid)
    assert not secure_exec(ROOT, exec_creds(ROOT, suid, no_new_privs=False), suid)
    plain = ExecFile(0o100755, 0, 0, False, None)
    assert not secure_exec(USER, exec_creds(USER, plain, no_new_privs=False), plain)
    fcap = ExecFile(0o100755, 0, 0, False, _fcaps(VFS_CAP_REVISION_2, 1 << CAP_NET_RAW, True))
    assert secure_exec(USER, exec_creds(USER, fcap, no_new_privs=True), fcap)    # as Linux: still AT_SECURE
