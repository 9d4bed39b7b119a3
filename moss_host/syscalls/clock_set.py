"""Setting and asking the wall clock: clock_settime, settimeofday, adjtimex, clock_adjtime
(Linux's kernel/time/posix-timers.c, time.c and ntp.c).

Only CLOCK_REALTIME can be set, with CAP_SYS_TIME; the new time becomes an offset over the
host's clock (moss_host.clock), which every wall-clock reader sees and whose set re-times
the wall-clock timers and sleepers. The vDSO's page ([vvar], proc/vvar.py) is rewritten
on every set (its clock_was_set callback) and on a new time zone, so the vDSO's
clock_gettime and gettimeofday see both at once, as Linux's update_vsyscall does.

adjtimex answers as an NTP-less Linux does (the clock unsynchronised: TIME_ERROR with
STA_UNSYNC). Of the adjusting modes only ADJ_SETOFFSET acts (it moves the clock);
the others are checked (CAP_SYS_TIME, tick range) and otherwise not applied.
"""
from __future__ import annotations

import struct
import time

from moss_host.clock import REALTIME, realtime_ns
from moss_host.cred import CAP_SYS_TIME, capable
from moss_host.errors import EINVAL, EOPNOTSUPP, EPERM, Errno
from moss_host.proc import vvar
from moss_host.uapi import NSEC_PER_SEC, TIMESPEC, TIMEVAL, USEC_PER_SEC, timespec_valid

from .args import Int, Ptr
from .table import syscall

CLOCK_REALTIME = 0
NR_POSIX_CLOCKS = 12                    # posix_clocks[]: ids 0..11, id 10 unused
NO_CLOCK = 10
CLOCKFD, CLOCKFD_MASK, CPUCLOCK_MAX, CPUCLOCK_PERTHREAD = 3, 7, 3, 4
KTIME_SEC_MAX = (1 << 63) // NSEC_PER_SEC
TIME_SETTOD_SEC_MAX = KTIME_SEC_MAX - 30 * 365 * 24 * 3600     # KTIME_SEC_MAX - TIME_UPTIME_SEC_MAX
TZ = struct.Struct("<ii")               # struct timezone { int tz_minuteswest; int tz_dsttime; }


def _settod_valid(sec: int, nsec: int) -> bool:
    """timespec64_valid_settod: valid and far enough from KTIME_MAX for 30 years of uptime."""
    return timespec_valid(sec, nsec) and sec < TIME_SETTOD_SEC_MAX


def do_settimeofday(task, ts: tuple[int, int] | None, tz: tuple[int, int] | None) -> int:
    """do_sys_settimeofday64 for ts (sec, nsec) and tz (minuteswest, dsttime): the checks in
    Linux's order, then set the time zone and the clock."""
    if ts is not None and not _settod_valid(*ts):
        raise Errno(EINVAL)
    if not capable(task.creds, CAP_SYS_TIME):          # security_settime64 -> cap_settime
        raise Errno(EPERM)
    if tz is not None:
        if not -15 * 60 <= tz[0] <= 15 * 60:
            raise Errno(EINVAL)
        REALTIME.tz = tz
        vvar.publish_all()                              # update_vsyscall_tz
    if ts is not None:
        _set_realtime(ts[0] * NSEC_PER_SEC + ts[1])
    return 0


def _set_realtime(ns: int) -> None:
    """do_settimeofday64: EINVAL for a time before boot (the wall clock below the monotonic one)."""
    if ns < time.clock_gettime_ns(time.CLOCK_MONOTONIC):
        raise Errno(EINVAL)
    REALTIME.set_ns(ns)


def _cpu_clock_exists(task, clockid: int) -> bool:
    """pid_for_clock(clock, false): the CPU clock names this thread/process or another live one."""
    if clockid & CLOCKFD_MASK == CLOCKFD or clockid & 3 >= CPUCLOCK_MAX:
        return False
    pid = ~(clockid >> 3) & 0xFFFF_FFFF
    if pid == 0:
        return True
    target = task.kernel.pids.get(pid)
    if target is None:
        return False
    if clockid & CPUCLOCK_PERTHREAD:
        return target.group is task.group
    return target.tid == target.tgid


@syscall("clock_settime")
def clock_settime(task, clockid: "Int", tp: "Ptr") -> int:
    """Only CLOCK_REALTIME has clock_set; a CPU clock has one that always refuses (EPERM)."""
    clockid = struct.unpack("<i", struct.pack("<I", clockid & 0xFFFF_FFFF))[0]
    if clockid >= 0 and clockid != CLOCK_REALTIME:
        raise Errno(EINVAL)
    sec, nsec = TIMESPEC.unpack(task.mm.read(tp, TIMESPEC.size))
    if clockid < 0:
        if clockid & CLOCKFD_MASK == CLOCKFD:       # a posix clock fd: we have none
            raise Errno(EINVAL)
        raise Errno(EPERM if _cpu_clock_exists(task, clockid) else EINVAL)
    return do_settimeofday(task, (sec, nsec), None)


@syscall("settimeofday")
def settimeofday(task, tv: "Ptr", tz: "Ptr") -> int:
    """Set the clock (tv) and/or the kernel's time zone (tz); either may be NULL."""
    ts = zone = None
    if tv:
        sec, usec = TIMEVAL.unpack(task.mm.read(tv, TIMEVAL.size))
        if not 0 <= usec <= USEC_PER_SEC:          # Linux's own test: > USEC_PER_SEC (1e6 fails later)
            raise Errno(EINVAL)
        ts = (sec, usec * 1000)
    if tz:
        zone = TZ.unpack(task.mm.read(tz, TZ.size))
    return do_settimeofday(task, ts, zone)


# ---------------------------------------------------------------- adjtimex

# struct __kernel_timex (208 bytes): the fields we fill, by offset.
TIMEX_SIZE = 208
TIMEX_HEAD = struct.Struct("<I4xqqqqi4xqqqqqqqqi4xqqqqqi")
ADJ_OFFSET_SINGLESHOT, ADJ_OFFSET_READONLY = 0x0001, 0x2000
ADJ_ADJTIME = 0x8000
ADJ_TICK, ADJ_SETOFFSET, ADJ_NANO = 0x4000, 0x0100, 0x2000
STA_UNSYNC, STA_NANO = 0x0040, 0x2000
TIME_ERROR = 5
NTP_PHASE_LIMIT = 16_000_000            # maxerror and esterror with no NTP (us)
MAXFREQ_SCALED = 500 << 16              # tolerance: 500 ppm, scaled by 2^16
USER_HZ = 100


def do_adjtimex(task, buf: "Ptr") -> int:
    """adjtimex on CLOCK_REALTIME: validate (timekeeping_validate_timex), then answer."""
    raw = task.mm.read(buf, TIMEX_SIZE)
    modes, = struct.unpack_from("<I", raw, 0)
    if modes & ADJ_ADJTIME:
        if not modes & ADJ_OFFSET_SINGLESHOT:
            raise Errno(EINVAL)
        if not modes & ADJ_OFFSET_READONLY and not capable(task.creds, CAP_SYS_TIME):
            raise Errno(EPERM)
    else:
        if modes and not capable(task.creds, CAP_SYS_TIME):
            raise Errno(EPERM)
        tick, = struct.unpack_from("<q", raw, 88)
        if modes & ADJ_TICK and not 900000 // USER_HZ <= tick <= 1100000 // USER_HZ:
            raise Errno(EINVAL)
        if modes & ADJ_SETOFFSET:
            sec, sub = struct.unpack_from("<qq", raw, 72)
            nsec = sub if modes & ADJ_NANO else sub * 1000
            if not 0 <= nsec < NSEC_PER_SEC:
                raise Errno(EINVAL)
            _set_realtime(realtime_ns() + sec * NSEC_PER_SEC + nsec)
    now = realtime_ns()
    out = TIMEX_HEAD.pack(modes, 0, 0, NTP_PHASE_LIMIT, NTP_PHASE_LIMIT, STA_UNSYNC, 2, 1, MAXFREQ_SCALED,
                          now // NSEC_PER_SEC, now % NSEC_PER_SEC // 1000, USEC_PER_SEC // USER_HZ,
                          0, 0, 0, 0, 0, 0, 0, 0, 0)
    task.mm.write(buf, out)
    return TIME_ERROR


@syscall("adjtimex")
def adjtimex(task, buf: "Ptr") -> int:
    return do_adjtimex(task, buf)


@syscall("clock_adjtime")
def clock_adjtime(task, clockid: "Int", buf: "Ptr") -> int:
    """Only CLOCK_REALTIME adjusts; another known clock: EOPNOTSUPP; an unknown one: EINVAL."""
    task.mm.read(buf, TIMEX_SIZE)                   # copy_from_user comes first: EFAULT
    clockid = struct.unpack("<i", struct.pack("<I", clockid & 0xFFFF_FFFF))[0]
    if clockid == CLOCK_REALTIME:
        return do_adjtimex(task, buf)
    if clockid >= NR_POSIX_CLOCKS or clockid == NO_CLOCK:
        raise Errno(EINVAL)
    if clockid < 0 and clockid & CLOCKFD_MASK == CLOCKFD:
        raise Errno(EINVAL)                         # no posix clock device behind the fd
    raise Errno(EOPNOTSUPP)
