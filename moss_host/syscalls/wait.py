"""Waiting for children and accounting for time: wait4, waitid, getrusage, times."""
from __future__ import annotations

import struct

from moss_host.errors import EAGAIN, EINVAL, ESRCH, Errno
from moss_host.fs.file import O_NONBLOCK
from moss_host.proc import signals
from moss_host.proc.pidfd import pidfd_of
from moss_host.proc.wait import (P_ALL, P_PGID, P_PID, P_PIDFD, WCONTINUED, WEXITED, WNOHANG, WNOWAIT, WSTOPPED,
                                 WUNTRACED, Report, Selector, __WALL, __WCLONE, __WNOTHREAD, find_report, park,
                                 wait_for_child)

from .args import Hex, Int, Ptr, c_int, c_uint
from .table import syscall

WAIT4_OPTIONS = WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL
WAITID_OPTIONS = WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WCLONE | __WALL
INT_MIN = -(1 << 31)
RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD = 0, -1, 1
USER_HZ = 100
RUSAGE = struct.Struct("<qqqq14q")          # ru_utime, ru_stime (timeval), then 14 longs
SIGINFO_CHLD = struct.Struct("<iii4xiIi4xqq")   # signo, errno, code, pid, uid, status, utime, stime
SIGINFO_SIZE = 128


def _selector_for_wait4(task, pid: int) -> Selector:
    if pid < -1:
        return Selector(P_PGID, -pid)
    if pid == -1:
        return Selector(P_ALL)
    if pid == 0:
        return Selector(P_PGID, task.pgid)
    return Selector(P_PID, pid)


def _wait4_args(task, pid: int, options: int) -> tuple[Selector, int]:
    """wait4's checks (kernel_wait4): the selector and the options with WEXITED."""
    pid, options = c_int(pid), c_uint(options)
    if options & ~WAIT4_OPTIONS:
        raise Errno(EINVAL)
    if pid == INT_MIN:
        raise Errno(ESRCH)                      # kernel_wait4: -INT_MIN is not defined
    return _selector_for_wait4(task, pid), options | WEXITED


def _wait4_now(task, pid: int, wstatus: int, options: int, rusage: int):
    """wait4's synchronous try (table.py): a report at once, 0 with WNOHANG, or the caller
    parked (proc/wait.py park) -- a tracer's wait for the next ptrace stop costs no job."""
    sel, options = _wait4_args(task, pid, options)
    report = find_report(task, sel, options)
    if report is not None:
        return _wait4_store(task, report, wstatus, rusage)
    if options & WNOHANG:
        return 0
    return park(task, sel, options, lambda r: _wait4_store(task, r, wstatus, rusage))


def _wait4_store(task, report: Report, wstatus: int, rusage: int) -> int:
    if wstatus:
        task.mm.write(wstatus, struct.pack("<i", report.wstatus))
    if rusage:
        task.mm.write(rusage, rusage_both(report.child))
    return report.child.tid


@syscall("wait4", fast=_wait4_now)
async def wait4(task, pid: "Int", wstatus: "Ptr", options: "Hex", rusage: "Ptr") -> int:
    """Wait for a child (pid > 0: that one; -1: any; 0: own group; < -1: group -pid) to
    exit, or with WUNTRACED/WCONTINUED to stop or continue; store its status.
    0 with WNOHANG when no child has changed yet; ECHILD when there is no such child."""
    sel, options = _wait4_args(task, pid, options)
    report = await wait_for_child(task, sel, options)
    if report is None:
        return 0
    return _wait4_store(task, report, wstatus, rusage)


@syscall("waitid")
async def waitid(task, idtype: "Int", id: "Int", infop: "Ptr", options: "Hex", rusage: "Ptr") -> int:
    """Like wait4, with the child chosen by (idtype, id) and the result as a siginfo_t.
    One of WEXITED, WSTOPPED, WCONTINUED is required; WNOWAIT leaves the child waitable."""
    idtype, id, options = c_int(idtype), c_int(id), c_uint(options)
    if options & ~WAITID_OPTIONS or not options & (WEXITED | WSTOPPED | WCONTINUED):
        raise Errno(EINVAL)
    nonblock = False
    if idtype == P_ALL:
        sel = Selector(P_ALL)
    elif idtype == P_PID and id > 0:
        sel = Selector(P_PID, id)
    elif idtype == P_PGID and id >= 0:
        sel = Selector(P_PGID, id or task.pgid)
    elif idtype == P_PIDFD and id >= 0:
        pidfd = pidfd_of(task.files.get(id))    # pidfd_get_pid: EBADF for any other file
        sel = Selector(P_PID, pidfd.group.tgid)
        nonblock = bool(pidfd.flags & O_NONBLOCK)
    else:
        raise Errno(EINVAL)
    report = await wait_for_child(task, sel, options | (WNOHANG if nonblock else 0))
    if report is None and nonblock and not options & WNOHANG:
        raise Errno(EAGAIN)                     # a PIDFD_NONBLOCK pidfd of a running child
    if infop:
        info = bytearray(SIGINFO_SIZE)
        if report is not None:
            c = report.child
            utime, stime = c.group.cpu_times()
            SIGINFO_CHLD.pack_into(info, 0, signals.SIGCHLD, 0, report.code, c.tid, c.creds.uid,
                                   report.status, utime // 10_000_000, stime // 10_000_000)
        task.mm.write(infop, info)
    if rusage and report is not None:
        task.mm.write(rusage, rusage_both(report.child))
    return 0


def rusage_both(child) -> bytes:
    """What wait4 and waitid report of a child: getrusage(p, RUSAGE_BOTH), its own use and
    its reaped children's."""
    group = child.group
    utime, stime = group.cpu_times()
    min_flt, maj_flt = group.fault_counts()
    return pack_rusage(utime + group.cutime_ns, stime + group.cstime_ns, child,
                       min_flt + group.cmin_flt, maj_flt + group.cmaj_flt)


def pack_rusage(utime_ns: int, stime_ns: int, task=None, min_flt: int = 0, maj_flt: int = 0) -> bytes:
    us, ss = utime_ns // 1000, stime_ns // 1000
    maxrss = _maxrss_kib(task) if task is not None else 0
    return RUSAGE.pack(us // 1_000_000, us % 1_000_000, ss // 1_000_000, ss % 1_000_000,
                       maxrss, 0, 0, 0, min_flt, maj_flt, 0, 0, 0, 0, 0, 0, 0, 0)


def _maxrss_kib(task) -> int:
    mm = task.mm
    return len(mm.resident) * 4 if mm is not None and task.state.value != "Z" else 0


@syscall("getrusage")
async def getrusage(task, who: "Int", usage: "Ptr") -> int:
    """Resource usage of the caller (RUSAGE_SELF, RUSAGE_THREAD) or of its reaped children."""
    who = c_int(who)
    if who == RUSAGE_SELF:
        utime, stime = task.group.cpu_times()       # every thread's, the exited ones' too
        data = pack_rusage(utime, stime, task, *task.group.fault_counts())
    elif who == RUSAGE_THREAD:
        data = pack_rusage(task.utime_ns, task.stime_ns, task, task.min_flt, task.maj_flt)
    elif who == RUSAGE_CHILDREN:
        data = pack_rusage(task.cutime_ns, task.cstime_ns, None, task.group.cmin_flt, task.group.cmaj_flt)
    else:
        raise Errno(EINVAL)
    task.mm.write(usage, data)
    return 0


@syscall("times")
async def times(task, buf: "Ptr") -> int:
    """CPU times of the caller and its reaped children in clock ticks; returns ticks since boot."""
    if buf:
        tick = 1_000_000_000 // USER_HZ
        utime, stime = task.group.cpu_times()
        task.mm.write(buf, struct.pack("<4q", utime // tick, stime // tick,
                                       task.cutime_ns // tick, task.cstime_ns // tick))
    return int(task.kernel.sched.uptime() * USER_HZ)
