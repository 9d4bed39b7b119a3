"""timerfd_create, timerfd_settime, timerfd_gettime. The timer itself is fs/timerfd.py."""
from __future__ import annotations

from moss_host.cred import CAP_WAKE_ALARM, capable
from moss_host.errors import EINVAL, EPERM, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import O_CLOEXEC, O_NONBLOCK, file_needs
from moss_host.fs.timerfd import ALARM_CLOCKS, TFD_SETTIME_FLAGS, TIMERFD_CLOCKS, TimerFd
from moss_host.uapi import ITIMERSPEC, pack_itimerspec, unpack_itimerspec

from .args import Fd, Hex, Int, Ptr
from .table import syscall

TFD_CLOEXEC, TFD_NONBLOCK = O_CLOEXEC, O_NONBLOCK


def _timerfd(task, fd: int) -> TimerFd:
    """timerfd_fget: EBADF if fd is not open, EINVAL if it is not a timerfd."""
    f = file_needs(task.files.get(fd_arg(fd)))      # (fdget: an O_PATH descriptor is EBADF)
    if not isinstance(f, TimerFd):
        raise Errno(EINVAL)
    return f


@syscall("timerfd_create")
async def timerfd_create(task, clockid: "Int", flags: "Hex") -> int:
    """A new, disarmed timer on clockid (REALTIME, MONOTONIC, BOOTTIME or an _ALARM clock)."""
    clockid, flags = fd_arg(clockid), flags & 0xFFFF_FFFF
    if flags & ~(TFD_CLOEXEC | TFD_NONBLOCK) or clockid not in TIMERFD_CLOCKS:
        raise Errno(EINVAL)
    if clockid in ALARM_CLOCKS and not capable(task.creds, CAP_WAKE_ALARM):     # CAP_WAKE_ALARM
        raise Errno(EPERM)
    return task.files.install(TimerFd(clockid, flags & TFD_NONBLOCK), cloexec=bool(flags & TFD_CLOEXEC))


@syscall("timerfd_settime")
async def timerfd_settime(task, fd: "Fd", flags: "Hex", new: "Ptr", old: "Ptr") -> int:
    """Arm or disarm the timer (TFD_TIMER_ABSTIME: it_value is a time on its clock); the
    previous setting goes to old (when not NULL)."""
    value, interval = unpack_itimerspec(task.mm.read(new, ITIMERSPEC.size))     # EFAULT first
    flags &= 0xFFFF_FFFF
    if flags & ~TFD_SETTIME_FLAGS:
        raise Errno(EINVAL)
    timer = _timerfd(task, fd)
    if timer.clockid in ALARM_CLOCKS and not capable(task.creds, CAP_WAKE_ALARM):
        raise Errno(EPERM)
    interval, left = timer.settime(flags, value, interval)
    if old:
        task.mm.write(old, pack_itimerspec(interval, left))
    return 0


@syscall("timerfd_gettime")
async def timerfd_gettime(task, fd: "Fd", cur: "Ptr") -> int:
    """The timer's interval and the time left to its next expiry (0 if disarmed)."""
    interval, left = _timerfd(task, fd).gettime()
    task.mm.write(cur, pack_itimerspec(interval, left))
    return 0
