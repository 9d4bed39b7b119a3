"""System information and per-process limits: uname, getrandom, prlimit64."""
from __future__ import annotations

import os
import struct

from moss_host.errors import EINVAL, EPERM, ESRCH, Errno

from .table import syscall

UTS_FIELD = 65
UTSNAME = {
    "sysname": b"Linux", "nodename": b"moss", "release": b"6.1.0-moss-py",
    "version": b"#1 SMP PREEMPT moss-py", "machine": b"aarch64", "domainname": b"(none)",
}

GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4

RLIM_INFINITY = (1 << 64) - 1
RLIMIT_NLIMITS = 16
# Linux's defaults for init (soft, hard), indexed by resource number.
DEFAULT_RLIMITS = [
    (RLIM_INFINITY, RLIM_INFINITY),   # CPU
    (RLIM_INFINITY, RLIM_INFINITY),   # FSIZE
    (RLIM_INFINITY, RLIM_INFINITY),   # DATA
    (8 << 20, RLIM_INFINITY),         # STACK
    (0, RLIM_INFINITY),               # CORE
    (RLIM_INFINITY, RLIM_INFINITY),   # RSS
    (3935, 3935),                     # NPROC
    (1024, 4096),                     # NOFILE
    (8 << 20, 8 << 20),               # MEMLOCK
    (RLIM_INFINITY, RLIM_INFINITY),   # AS
    (RLIM_INFINITY, RLIM_INFINITY),   # LOCKS
    (3935, 3935),                     # SIGPENDING
    (819200, 819200),                 # MSGQUEUE
    (0, 0),                           # NICE
    (0, 0),                           # RTPRIO
    (RLIM_INFINITY, RLIM_INFINITY),   # RTTIME
]
RLIMIT = struct.Struct("<QQ")


@syscall("uname")
async def uname(task, buf: "Ptr") -> int:
    fields = [UTSNAME[k][:UTS_FIELD - 1].ljust(UTS_FIELD, b"\0")
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
    """Get and/or set a resource limit of a process (only the caller's, for now)."""
    if pid not in (0, task.tgid):
        raise Errno(ESRCH)
    resource &= 0xFFFF_FFFF
    if resource >= RLIMIT_NLIMITS:
        raise Errno(EINVAL)
    limits = task_limits(task)
    if new:
        soft, hard = RLIMIT.unpack(task.mm.read(new, RLIMIT.size))
        if soft > hard:
            raise Errno(EINVAL)
        if hard > limits[resource][1] and task.creds.euid != 0:
            raise Errno(EPERM)
    if old:
        task.mm.write(old, RLIMIT.pack(*limits[resource]))
    if new:
        limits[resource] = (soft, hard)
    return 0


def task_limits(task) -> list[tuple[int, int]]:
    if getattr(task, "rlimits", None) is None:
        task.rlimits = list(DEFAULT_RLIMITS)
    return task.rlimits
