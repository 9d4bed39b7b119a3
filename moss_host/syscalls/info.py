"""System information and per-process limits: uname, sethostname, sysinfo, getrandom, prlimit64."""
from __future__ import annotations

import os
import struct

from moss_host.cred import capable
from moss_host.errors import EFAULT, EINVAL, EPERM, ESRCH, Errno
from moss_host.proc.rlimits import RLIMIT_NLIMITS, RLIMIT_STACK
from moss_host.utsname import UTS_FIELD, UTSNAME

from .args import Hex, Int, Ptr, Size, UInt
from .table import syscall

SYSINFO = struct.Struct("<q3Q6QHH4xQQI4x")     # struct sysinfo on a 64-bit kernel: 112 bytes

GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4

RLIMIT = struct.Struct("<QQ")


@syscall("sethostname")
async def sethostname(task, name: "Ptr", length: "Size") -> int:
    """Set the node name uname(2) reports; root only, at most 64 bytes."""
    return _set_uts(task, "nodename", name, length)


@syscall("setdomainname")
async def setdomainname(task, name: "Ptr", length: "Size") -> int:
    return _set_uts(task, "domainname", name, length)


def _set_uts(task, field: str, ptr: int, length: int) -> int:
    if not capable(task.creds):             # CAP_SYS_ADMIN
        raise Errno(EPERM)
    if length > UTS_FIELD - 1:
        raise Errno(EINVAL)
    UTSNAME[field] = task.mm.read(ptr, length).split(b"\0", 1)[0]
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
    limits = task.rlimits
    if new:
        soft, hard = RLIMIT.unpack(task.mm.read(new, RLIMIT.size))
        if soft > hard:
            raise Errno(EINVAL)
        if hard > limits[resource][1] and not capable(task.creds):     # CAP_SYS_RESOURCE
            raise Errno(EPERM)
    if old:
        task.mm.write(old, RLIMIT.pack(*limits[resource]))
    if new:
        limits[resource] = (soft, hard)
        if resource == RLIMIT_STACK:
            task.mm.set_stack_limit(soft)       # how far a fault may grow the stack from now on
    return 0

