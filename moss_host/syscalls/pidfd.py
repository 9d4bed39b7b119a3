"""pidfds: pidfd_open, pidfd_send_signal, pidfd_getfd (Linux's kernel/pid.c and kernel/signal.c).

The file itself is proc/pidfd.py; waitid(P_PIDFD) is in syscalls/wait.py. pidfd_send_signal
also takes a /proc/<pid> directory descriptor, as Linux's does.
"""
from __future__ import annotations

import struct
from typing import Optional

from moss_host.arch.arm64.sigframe import SIGINFO_SIZE
from moss_host.errors import EBADF, EINVAL, EPERM, ESRCH, Errno
from moss_host.fs.drivers.procfs.pid import PidDir
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import O_NONBLOCK, OpenFile
from moss_host.proc import signals as S
from moss_host.proc.pidfd import PidFd, may_access, pidfd_of
from moss_host.proc.task import State, Task

from .args import Fd, Hex, Int, Ptr, c_int, c_uint
from .signal import _send_user, _user_info
from .table import syscall

PIDFD_NONBLOCK = O_NONBLOCK


@syscall("pidfd_open")
def pidfd_open(task, pid: "Int", flags: "Hex") -> int:
    """A pidfd for process pid (not a thread's id: EINVAL), O_RDWR|O_CLOEXEC; PIDFD_NONBLOCK
    makes waitid(P_PIDFD) on it EAGAIN while the process runs."""
    pid, flags = c_int(pid), c_uint(flags)
    if flags & ~PIDFD_NONBLOCK or pid <= 0:
        raise Errno(EINVAL)
    target = task.kernel.pids.get(pid)
    if target is None:
        raise Errno(ESRCH)
    if target.tgid != pid:
        raise Errno(EINVAL)                     # pidfd_create: no PIDTYPE_TGID task
    return task.files.install(PidFd(target, flags), cloexec=True)


@syscall("pidfd_send_signal")
def pidfd_send_signal(task, pidfd: "Fd", sig: "Int", info: "Ptr", flags: "Hex") -> int:
    """kill(2) through a pidfd; with info, the caller's siginfo as rt_sigqueueinfo (only to
    itself with a kernel or SI_TKILL code). ESRCH once the process is reaped."""
    sig = c_int(sig)
    if c_uint(flags):
        raise Errno(EINVAL)
    tgid, target = _signal_target(task, task.files.get(fd_arg(pidfd)))
    if info:
        raw = task.mm.read(info, SIGINFO_SIZE)
        signo, code = struct.unpack_from("<i4xi", raw)
        if signo != sig:
            raise Errno(EINVAL)
        if tgid != task.tid and (code >= 0 or code == S.SI_TKILL):
            raise Errno(EPERM)                  # only to oneself (task_pid(current) == pid)
        kinfo = S.SigInfo(sig, code, raw=raw)
    else:
        kinfo = _user_info(task, sig)
    if target is None:
        raise Errno(ESRCH)
    return _send_user(task, target, sig, kinfo)


def _signal_target(task, f: OpenFile) -> tuple[int, Optional[Task]]:
    """pidfd_to_pid: a pidfd, or a /proc/<pid> directory (tgid_pidfd_to_pid; not a
    /proc/<pid>/task/<tid> one), EBADF for anything else. The process id and its leader
    while it is in the pid table (None once reaped)."""
    if isinstance(f, PidFd):
        return f.group.tgid, f.task()
    inode = f.location.inode if f.location is not None else None
    if f.is_path or not isinstance(inode, PidDir) or not inode.with_task_dir:
        raise Errno(EBADF)
    leader = inode.task
    return leader.tgid, leader if task.kernel.pids.alive(leader) else None


@syscall("pidfd_getfd")
def pidfd_getfd(task, pidfd: "Fd", targetfd: "Int", flags: "Hex") -> int:
    """A duplicate (close-on-exec) in the caller of descriptor targetfd of the pidfd's process,
    if the caller may ptrace it (EPERM)."""
    if c_uint(flags):
        raise Errno(EINVAL)
    target = pidfd_of(task.files.get(fd_arg(pidfd))).task()
    if target is None:
        raise Errno(ESRCH)
    if not may_access(task, target):
        raise Errno(EPERM)
    if target.state is State.ZOMBIE:
        raise Errno(ESRCH)                      # its files are gone: __pidfd_fget's PF_EXITING case
    f = target.files.get(c_int(targetfd))
    return task.files.install(f, cloexec=True)            # receive_fd(file, O_CLOEXEC)
