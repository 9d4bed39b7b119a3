"""Clocks: the kernel's time is the host's time."""
from __future__ import annotations

import struct
import time

from moss_host.errors import EINVAL, Errno

from .table import syscall

# Linux clock ids -> the host clock that answers them (CPU-time clocks use the host
# process's figures until per-task accounting exists).
CLOCKS = {
    0: time.CLOCK_REALTIME, 1: time.CLOCK_MONOTONIC, 2: time.CLOCK_PROCESS_CPUTIME_ID,
    3: time.CLOCK_THREAD_CPUTIME_ID, 4: time.CLOCK_MONOTONIC_RAW, 5: 5, 6: 6, 7: time.CLOCK_BOOTTIME,
    8: time.CLOCK_REALTIME, 9: time.CLOCK_BOOTTIME, 11: time.CLOCK_TAI,
}
TIMESPEC = struct.Struct("<qq")


def clock_ns(clockid: int) -> int:
    host = CLOCKS.get(clockid & 0xFFFF_FFFF)
    if host is None:
        raise Errno(EINVAL)
    return time.clock_gettime_ns(host)


@syscall("clock_gettime")
async def clock_gettime(task, clockid: "Int", tp: "Ptr") -> int:
    ns = clock_ns(clockid)
    task.mm.write(tp, TIMESPEC.pack(ns // 1_000_000_000, ns % 1_000_000_000))
    return 0


@syscall("clock_getres")
async def clock_getres(task, clockid: "Int", res: "Ptr") -> int:
    host = CLOCKS.get(clockid & 0xFFFF_FFFF)
    if host is None:
        raise Errno(EINVAL)
    if res:
        coarse = clockid in (5, 6)
        task.mm.write(res, TIMESPEC.pack(0, 4_000_000 if coarse else 1))
    return 0


@syscall("gettimeofday")
async def gettimeofday(task, tv: "Ptr", tz: "Ptr") -> int:
    ns = time.time_ns()
    if tv:
        task.mm.write(tv, TIMESPEC.pack(ns // 1_000_000_000, ns % 1_000_000_000 // 1000))
    if tz:
        task.mm.write(tz, struct.pack("<ii", 0, 0))
    return 0
