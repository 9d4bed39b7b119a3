"""Capability syscalls: capget/capset, and prctl's capability options (kernel/capability.c,
security/commoncap.c's cap_capset and cap_task_prctl).

The sets live on Creds (moss_host.cred); each change builds a new Creds and installs it in one
assignment, so a refused call changes nothing.
"""
from __future__ import annotations

import struct
from dataclasses import replace

from moss_host.cred import (CAP_FULL, CAP_LAST_CAP, CAP_SETPCAP, SECBIT_KEEP_CAPS, SECURE_ALL_BITS,
                            SECURE_ALL_LOCKS, SECURE_KEEP_CAPS, SECURE_NO_CAP_AMBIENT_RAISE, capable)
from moss_host.errors import EINVAL, EPERM, ESRCH, Errno

from .args import Ptr
from .table import syscall

_LINUX_CAPABILITY_VERSION_1 = 0x19980330      # one 32-bit word per set
_LINUX_CAPABILITY_VERSION_2 = 0x20071026      # two words (deprecated: v3 with a warning)
_LINUX_CAPABILITY_VERSION_3 = 0x20080522      # two words: what the kernel prefers
_WORDS = {_LINUX_CAPABILITY_VERSION_1: 1, _LINUX_CAPABILITY_VERSION_2: 2, _LINUX_CAPABILITY_VERSION_3: 2}
_DATA = struct.Struct("<III")                 # __user_cap_data_struct: effective, permitted, inheritable

PR_CAPBSET_READ, PR_CAPBSET_DROP = 23, 24
PR_GET_KEEPCAPS, PR_SET_KEEPCAPS = 7, 8
PR_GET_SECUREBITS, PR_SET_SECUREBITS = 27, 28
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_IS_SET, PR_CAP_AMBIENT_RAISE, PR_CAP_AMBIENT_LOWER, PR_CAP_AMBIENT_CLEAR_ALL = 1, 2, 3, 4
CAP_PRCTLS = frozenset((PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_GET_KEEPCAPS, PR_SET_KEEPCAPS,
                        PR_GET_SECUREBITS, PR_SET_SECUREBITS, PR_CAP_AMBIENT))


def _header(task, header: int) -> tuple[int, int]:
    """cap_validate_magic, then the pid: (words per set, pid). A version this kernel does not
    know gets the preferred one written back, and EINVAL."""
    version, pid = struct.unpack("<Ii", task.mm.read(header, 8))
    words = _WORDS.get(version)
    if words is None:
        task.mm.write(header, struct.pack("<I", _LINUX_CAPABILITY_VERSION_3))
        raise Errno(EINVAL)
    return words, pid


@syscall("capget")
async def capget(task, header: "Ptr", data: "Ptr") -> int:
    """Store the effective, permitted and inheritable sets of the thread header->pid (0: the
    caller). With data NULL it only checks the version (0, or EINVAL and the preferred one)."""
    try:
        words, _ = _header(task, header)
    except Errno as e:
        if not data and e.code == EINVAL:
            return 0
        raise
    if not data:
        return 0
    pid = struct.unpack("<i", task.mm.read(header + 4, 4))[0]
    if pid < 0:
        raise Errno(EINVAL)
    target = task if pid in (0, task.tid) else task.kernel.pids.get(pid)
    if target is None:
        raise Errno(ESRCH)
    c = target.creds
    out = b"".join(_DATA.pack(c.cap_effective >> 32 * i & 0xFFFF_FFFF, c.cap_permitted >> 32 * i & 0xFFFF_FFFF,
                              c.cap_inheritable >> 32 * i & 0xFFFF_FFFF) for i in range(words))
    task.mm.write(data, out)
    return 0


@syscall("capset")
async def capset(task, header: "Ptr", data: "Ptr") -> int:
    """Set the caller's own effective, permitted and inheritable sets (cap_capset's rules)."""
    words, pid = _header(task, header)
    if pid not in (0, task.tid):
        raise Errno(EPERM)
    raw = task.mm.read(data, _DATA.size * words)
    effective = permitted = inheritable = 0
    for i in range(words):
        e, p, h = _DATA.unpack_from(raw, _DATA.size * i)
        effective |= e << 32 * i
        permitted |= p << 32 * i
        inheritable |= h << 32 * i
    effective, permitted, inheritable = effective & CAP_FULL, permitted & CAP_FULL, inheritable & CAP_FULL
    old = task.creds
    if not capable(old, CAP_SETPCAP) and inheritable & ~(old.cap_inheritable | old.cap_permitted):
        raise Errno(EPERM)          # without CAP_SETPCAP, pI only from what it has
    if inheritable & ~(old.cap_inheritable | old.cap_bounding):
        raise Errno(EPERM)          # never outside the bounding set
    if permitted & ~old.cap_permitted or effective & ~permitted:
        raise Errno(EPERM)
    task.creds = replace(old, cap_effective=effective, cap_permitted=permitted, cap_inheritable=inheritable,
                         cap_ambient=old.cap_ambient & permitted & inheritable)
    return 0


def cap_prctl(task, option: int, arg2: int, arg3: int, arg4: int, arg5: int) -> int:
    """prctl's capability options (cap_task_prctl), in its order of checks."""
    old = task.creds
    if option == PR_CAPBSET_READ:
        if arg2 > CAP_LAST_CAP:
            raise Errno(EINVAL)
        return old.cap_bounding >> arg2 & 1
    if option == PR_CAPBSET_DROP:
        if not capable(old, CAP_SETPCAP):
            raise Errno(EPERM)
        if arg2 > CAP_LAST_CAP:
            raise Errno(EINVAL)
        task.creds = replace(old, cap_bounding=old.cap_bounding & ~(1 << arg2))
        return 0
    if option == PR_GET_SECUREBITS:
        return old.securebits
    if option == PR_SET_SECUREBITS:
        locked = (old.securebits & SECURE_ALL_LOCKS) >> 1
        if (locked & (old.securebits ^ arg2) or old.securebits & SECURE_ALL_LOCKS & ~arg2
                or arg2 & ~(SECURE_ALL_LOCKS | SECURE_ALL_BITS) or not capable(old, CAP_SETPCAP)):
            raise Errno(EPERM)
        task.creds = replace(old, securebits=arg2)
        return 0
    if option == PR_GET_KEEPCAPS:
        return int(old.issecure(SECURE_KEEP_CAPS))
    if option == PR_SET_KEEPCAPS:
        if arg2 > 1:
            raise Errno(EINVAL)
        if old.issecure(SECURE_KEEP_CAPS + 1):       # SECURE_KEEP_CAPS_LOCKED
            raise Errno(EPERM)
        bits = old.securebits | SECBIT_KEEP_CAPS if arg2 else old.securebits & ~SECBIT_KEEP_CAPS
        task.creds = replace(old, securebits=bits)
        return 0
    return _ambient(task, arg2, arg3, arg4, arg5)


def _ambient(task, op: int, cap: int, arg4: int, arg5: int) -> int:
    """PR_CAP_AMBIENT: a capability may be raised only while both permitted and inheritable."""
    old = task.creds
    if op == PR_CAP_AMBIENT_CLEAR_ALL:
        if cap or arg4 or arg5:
            raise Errno(EINVAL)
        task.creds = replace(old, cap_ambient=0)
        return 0
    if cap > CAP_LAST_CAP or arg4 or arg5:
        raise Errno(EINVAL)
    bit = 1 << cap
    if op == PR_CAP_AMBIENT_IS_SET:
        return int(bool(old.cap_ambient & bit))
    if op == PR_CAP_AMBIENT_RAISE:
        if (not old.cap_permitted & bit or not old.cap_inheritable & bit
                or old.issecure(SECURE_NO_CAP_AMBIENT_RAISE)):
            raise Errno(EPERM)
        task.creds = replace(old, cap_ambient=old.cap_ambient | bit)
    elif op == PR_CAP_AMBIENT_LOWER:
        task.creds = replace(old, cap_ambient=old.cap_ambient & ~bit)
    else:
        raise Errno(EINVAL)
    return 0
