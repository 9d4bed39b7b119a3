"""System information and per-process settings: uname, sethostname, sysinfo, getrandom, prlimit64,
the nice value (getpriority/setpriority), personality, and the kernel log (syslog)."""
from __future__ import annotations

import os
import struct
from typing import Optional

from moss_host.cred import CAP_SYSLOG, CAP_SYS_ADMIN, CAP_SYS_NICE, CAP_SYS_RESOURCE, capable
from moss_host.addr import USER_VA_END
from moss_host.errors import EACCES, EFAULT, EINVAL, EPERM, ESRCH, Errno
from moss_host.fs.drivers.procfs.sysctl_values import TUNABLES
from moss_host.proc.rlimits import (RLIMIT_AS, RLIMIT_NLIMITS, RLIMIT_NOFILE, RLIMIT_STACK,
                                   check_prlimit_permission)
from moss_host.sched import policy
from moss_host.utsname import UTS_FIELD, UTSNAME

from .args import Hex, Int, Ptr, Size, UInt, c_int
from .table import syscall

SYSINFO = struct.Struct("<q3Q6QHH4xQQI4x")     # struct sysinfo on a 64-bit kernel: 112 bytes

GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4

RLIMIT = struct.Struct("<QQ")


@syscall("sethostname")
async def sethostname(task, name: "Ptr", length: "Size") -> int:
    """Set the node name uname(2) reports in the caller's UTS namespace; root only, at most 64 bytes."""
    return _set_uts(task, "nodename", name, length)


@syscall("setdomainname")
async def setdomainname(task, name: "Ptr", length: "Size") -> int:
    return _set_uts(task, "domainname", name, length)


def _set_uts(task, field: str, ptr: int, length: int) -> int:
    if not capable(task.creds):             # CAP_SYS_ADMIN
        raise Errno(EPERM)
    if length > UTS_FIELD - 1:
        raise Errno(EINVAL)
    task.uts.set(field, task.mm.read(ptr, length).split(b"\0", 1)[0])
    return 0


@syscall("sysinfo")
async def sysinfo(task, info: "Ptr") -> int:
    """Uptime, load averages, memory and process count, in the units of struct sysinfo."""
    from moss_host.fs.drivers.procfs.system import sysinfo_values
    v = sysinfo_values(task.kernel)
    if not info:
        raise Errno(EFAULT)
    task.mm.write(info, SYSINFO.pack(v["uptime"], *v["loads"], v["totalram"], v["freeram"], v["sharedram"],
                                     v["bufferram"], v["totalswap"], v["freeswap"], min(v["procs"], 0xFFFF),
                                     0, v["totalhigh"], v["freehigh"], v["mem_unit"]))
    return 0


@syscall("uname")
async def uname(task, buf: "Ptr") -> int:
    names = task.uts
    fields = [names.get(k)[:UTS_FIELD - 1].ljust(UTS_FIELD, b"\0")
              for k in ("sysname", "nodename", "release", "version", "machine", "domainname")]
    task.mm.write(buf, b"".join(fields))
    return 0


@syscall("getrandom")
async def getrandom(task, buf: "Ptr", count: "Size", flags: "Hex") -> int:
    if flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) or \
            flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE):
        raise Errno(EINVAL)
    count = min(count, 0x1FF_FFFF if not flags & GRND_RANDOM else 512)
    task.mm.write(buf, os.urandom(count))
    return count


@syscall("prlimit64")
async def prlimit64(task, pid: "Int", resource: "UInt", new: "Ptr", old: "Ptr") -> int:
    """Get and/or set a resource limit of a process: the new limit is read first (EFAULT),
    then the target found (ESRCH) and the caller's right to it checked (EPERM)."""
    limit = RLIMIT.unpack(task.mm.read(new, RLIMIT.size)) if new else None
    target = task.kernel.pids.get(pid) if pid else task
    if target is None:
        raise Errno(ESRCH)
    check_prlimit_permission(task, target)
    previous = _do_prlimit(task, target, resource & 0xFFFF_FFFF, limit)
    if limit is not None:
        _apply_rlimit(target, resource & 0xFFFF_FFFF, limit)
    if old:                                     # after the change, as Linux: EFAULT keeps it
        task.mm.write(old, RLIMIT.pack(*previous))
    return 0


@syscall("getrlimit")
async def getrlimit(task, resource: "UInt", rlim: "Ptr") -> int:
    """The caller's (soft, hard) limit of resource (arm64 keeps the old call beside prlimit64)."""
    task.mm.write(rlim, RLIMIT.pack(*_do_prlimit(task, task, resource & 0xFFFF_FFFF, None)))
    return 0


@syscall("setrlimit")
async def setrlimit(task, resource: "UInt", rlim: "Ptr") -> int:
    """Set the caller's limit of resource; the struct is read first (EFAULT before EINVAL)."""
    limit = RLIMIT.unpack(task.mm.read(rlim, RLIMIT.size))
    _do_prlimit(task, task, resource & 0xFFFF_FFFF, limit)
    _apply_rlimit(task, resource & 0xFFFF_FFFF, limit)
    return 0


def _do_prlimit(caller, task, resource: int, new: Optional[tuple[int, int]]) -> tuple[int, int]:
    """do_prlimit's checks in its order: EINVAL for a bad resource or soft above hard, EPERM
    for RLIMIT_NOFILE above fs.nr_open or a raised hard limit without the caller's
    CAP_SYS_RESOURCE. Returns task's limit before any change."""
    if resource >= RLIMIT_NLIMITS:
        raise Errno(EINVAL)
    limits = task.rlimits
    if new is not None:
        soft, hard = new
        if soft > hard:
            raise Errno(EINVAL)
        if resource == RLIMIT_NOFILE and hard > TUNABLES.nr_open:   # fs.nr_open
            raise Errno(EPERM)
        if hard > limits[resource][1] and not capable(caller.creds, CAP_SYS_RESOURCE):
            raise Errno(EPERM)
    return limits[resource]


def _apply_rlimit(task, resource: int, new: tuple[int, int]) -> None:
    task.rlimits[resource] = new
    if resource == RLIMIT_STACK:
        task.mm.set_stack_limit(new[0])         # how far a fault may grow the stack from now on
    elif resource == RLIMIT_AS:
        task.mm.set_as_limit(new[0])            # what stack growth checks (mmap reads rlimits)
    elif resource == RLIMIT_NOFILE:
        task.files.set_limit(new[0])            # what new descriptors are checked against


# -- nice values (kernel/sys.c) -----------------------------------------------------------------

PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2
MIN_NICE, MAX_NICE = -20, 19
RLIMIT_NICE = 13


def _prio_tasks(task, which: int, who: int) -> list:
    """The threads `which`/`who` names (EINVAL for an unknown which); none: ESRCH for the caller."""
    if not PRIO_PROCESS <= which <= PRIO_USER:
        raise Errno(EINVAL)
    pids = task.kernel.pids
    if which == PRIO_PROCESS:
        t = pids.get(who) if who else task
        return [t] if t is not None else []
    if which == PRIO_PGRP:
        return pids.group(who if who else task.pgid)
    uid = who if who else task.creds.uid
    return [t for t in pids.live() if t.creds.uid == uid]


@syscall("getpriority")
async def getpriority(task, which: "Int", who: "Int") -> int:
    """The highest priority among the named threads, as 20 - nice (1..40: never negative)."""
    targets = _prio_tasks(task, c_int(which), c_int(who))
    if not targets:
        raise Errno(ESRCH)
    return max(20 - t.nice for t in targets)


@syscall("setpriority")
async def setpriority(task, which: "Int", who: "Int", niceval: "Int") -> int:
    """Set the nice value (clamped to -20..19) of the named threads. Per thread as set_one_prio:
    EPERM for another user's, EACCES to lower one's nice below RLIMIT_NICE's floor without
    CAP_SYS_NICE; the call reports the last thread's error, ESRCH if none was named."""
    targets = _prio_tasks(task, c_int(which), c_int(who))
    nice = min(max(c_int(niceval), MIN_NICE), MAX_NICE)
    error = ESRCH
    for t in targets:
        error = _set_one_prio(task, t, nice, error)
    if error:
        raise Errno(error)
    return 0


def _set_one_prio(task, t, nice: int, error: int) -> int:
    creds = task.creds
    if t.creds.uid not in (creds.euid, creds.uid) and not capable(creds, CAP_SYS_NICE):
        return EPERM
    if nice < t.nice and 20 - nice > t.rlimits[RLIMIT_NICE][0] and not capable(creds, CAP_SYS_NICE):
        return EACCES
    t.nice = nice
    policy.apply(t)                             # its weight from now on, its lag kept
    return 0 if error == ESRCH else error


# -- personality --------------------------------------------------------------------------------

PERSONALITY_QUERY = 0xFFFF_FFFF


@syscall("personality")
async def personality(task, persona: "UInt") -> int:
    """Return the execution domain and flags, and set them unless asked 0xffffffff. Only
    PER_LINUX exists here; flags such as ADDR_NO_RANDOMIZE are kept (and inherited) as given,
    and there is no address randomization for them to turn off."""
    old = task.personality
    persona &= 0xFFFF_FFFF
    if persona != PERSONALITY_QUERY:
        task.personality = persona
    return old


# -- the kernel log (kernel/printk/printk.c do_syslog) -----------------------------------------

(SYSLOG_ACTION_CLOSE, SYSLOG_ACTION_OPEN, SYSLOG_ACTION_READ, SYSLOG_ACTION_READ_ALL, SYSLOG_ACTION_READ_CLEAR,
 SYSLOG_ACTION_CLEAR, SYSLOG_ACTION_CONSOLE_OFF, SYSLOG_ACTION_CONSOLE_ON, SYSLOG_ACTION_CONSOLE_LEVEL,
 SYSLOG_ACTION_SIZE_UNREAD, SYSLOG_ACTION_SIZE_BUFFER) = range(11)
LOG_BUF_LEN = 1 << 17           # CONFIG_LOG_BUF_SHIFT=17, as Debian's arm64 kernel
DMESG_RESTRICT = False          # kernel.dmesg_restrict as upstream's default (Debian's kernel sets 1)


class KernelLog:
    """The kernel's message buffer as syslog(2) shows it: "<level>[seconds] text" records. It
    holds the banner; read_all copies the newest bytes that fit, as syslog_print_all does."""

    def __init__(self) -> None:
        banner = (f"Linux version {UTSNAME['release'].decode()} {UTSNAME['version'].decode()}")
        self.records: list[bytes] = [f"<5>[    0.000000] {banner}\n".encode(),
                                     b"<6>[    0.000000] Machine model: linux,dummy-virt\n",
                                     b"<6>[    0.000000] Run /init as init process\n"]
        self.cleared = 0            # records before this index were cleared (SYSLOG_ACTION_CLEAR)
        self.console_level = 7

    def read_all(self, n: int, clear: bool) -> bytes:
        out = b""
        for rec in reversed(self.records[self.cleared:]):
            if len(out) + len(rec) > n:
                break
            out = rec + out
        if clear:
            self.clear()
        return out

    def clear(self) -> None:
        self.cleared = len(self.records)


KLOG = KernelLog()


def _syslog_restricted(action: int) -> bool:
    return DMESG_RESTRICT or action not in (SYSLOG_ACTION_READ_ALL, SYSLOG_ACTION_SIZE_BUFFER)


@syscall("syslog")
async def syslog(task, action: "Int", buf: "Ptr", length: "Int") -> int:
    """Read or control the kernel log; privileged actions need CAP_SYSLOG (EPERM first, then
    the action's own checks)."""
    action, length = c_int(action), c_int(length)
    if _syslog_restricted(action) and not (capable(task.creds, CAP_SYSLOG) or capable(task.creds, CAP_SYS_ADMIN)):
        raise Errno(EPERM)
    if action in (SYSLOG_ACTION_CLOSE, SYSLOG_ACTION_OPEN, SYSLOG_ACTION_CONSOLE_OFF, SYSLOG_ACTION_CONSOLE_ON):
        return 0
    if action in (SYSLOG_ACTION_READ, SYSLOG_ACTION_READ_ALL, SYSLOG_ACTION_READ_CLEAR):
        if not buf or length < 0:
            raise Errno(EINVAL)
        if not length:
            return 0
        if buf + length > USER_VA_END:
            raise Errno(EFAULT)
        data = KLOG.read_all(length, clear=action != SYSLOG_ACTION_READ_ALL)
        task.mm.write(buf, data)
        return len(data)
    if action == SYSLOG_ACTION_CLEAR:
        KLOG.clear()
        return 0
    if action == SYSLOG_ACTION_CONSOLE_LEVEL:
        if not 1 <= length <= 8:
            raise Errno(EINVAL)
        KLOG.console_level = length
        return 0
    if action == SYSLOG_ACTION_SIZE_UNREAD:
        return 0
    if action == SYSLOG_ACTION_SIZE_BUFFER:
        return LOG_BUF_LEN
    raise Errno(EINVAL)
