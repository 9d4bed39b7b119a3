"""Linux user-ABI struct layouts shared by several layers (arm64, LP64: time_t and long are 64-bit).

A base module: syscalls, proc and fs may all import it. A layout used by one module only
stays there; what two or more share lives here, defined once.
"""
from __future__ import annotations

import struct

from moss_host.errors import EINVAL, Errno

NSEC_PER_SEC = 1_000_000_000
USEC_PER_SEC = 1_000_000

TIMESPEC = struct.Struct("<qq")         # struct timespec { time_t tv_sec; long tv_nsec; }
TIMESPEC_PAIR = struct.Struct("<qqqq")  # struct timespec[2] (utimensat's times)
TIMEVAL = struct.Struct("<qq")          # struct timeval { time_t tv_sec; suseconds_t tv_usec; }
ITIMERVAL = struct.Struct("<qqqq")      # struct itimerval { struct timeval it_interval, it_value; }
ITIMERSPEC = struct.Struct("<qqqq")     # struct itimerspec { struct timespec it_interval, it_value; }
SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4     # struct sigevent's sigev_notify


def timespec_valid(sec: int, nsec: int) -> bool:
    """timespec64_valid: a non-negative time with 0 <= tv_nsec < 1e9."""
    return sec >= 0 and 0 <= nsec < NSEC_PER_SEC


def unpack_itimerspec(raw: bytes) -> tuple[int, int]:
    """(it_value, it_interval) of a struct itimerspec, in nanoseconds; EINVAL unless both are
    valid timespecs (itimerspec64_valid)."""
    isec, insec, vsec, vnsec = ITIMERSPEC.unpack(raw)
    if not (timespec_valid(isec, insec) and timespec_valid(vsec, vnsec)):
        raise Errno(EINVAL)
    return vsec * NSEC_PER_SEC + vnsec, isec * NSEC_PER_SEC + insec


def pack_itimerspec(interval: int, value: int) -> bytes:
    """A struct itimerspec of an interval and a value in nanoseconds."""
    return ITIMERSPEC.pack(interval // NSEC_PER_SEC, interval % NSEC_PER_SEC,
                           value // NSEC_PER_SEC, value % NSEC_PER_SEC)


def pack_timespec(ns: int) -> bytes:
    return TIMESPEC.pack(ns // NSEC_PER_SEC, ns % NSEC_PER_SEC)


def pack_timeval(ns: int) -> bytes:
    return TIMEVAL.pack(ns // NSEC_PER_SEC, ns % NSEC_PER_SEC // 1000)
