"""fcntl's signal-driven I/O commands (F_SETOWN, F_GETOWN, F_SETOWN_EX, F_GETOWN_EX, F_SETSIG,
F_GETSIG), O_ASYNC through F_SETFL or FIOASYNC, and the socket ioctls FIOSETOWN/SIOCSPGRP,
FIOGETOWN/SIOCGPGRP (Linux's fs/fcntl.c, net/socket.c sock_ioctl). The owner record and the
wake-up watch are fs/fasync.py; the signal is proc/sigio.py's.
"""
from __future__ import annotations

import struct

from moss_host.errors import EFAULT, EINVAL, ESRCH, Errno
from moss_host.fs.fasync import (F_OWNER_PGRP, F_OWNER_PID, F_OWNER_TID, FileOwner, fasync_of, owner_changed,
                                 set_async)
from moss_host.fs.file import FASYNC, OpenFile
from moss_host.proc.sigio import ProcSigio
from moss_host.tty.tty import TtyFile

F_SETOWN, F_GETOWN, F_SETSIG, F_GETSIG, F_SETOWN_EX, F_GETOWN_EX = 8, 9, 10, 11, 15, 16
OWNER_FCNTL_CMDS = (F_SETOWN, F_GETOWN, F_SETSIG, F_GETSIG, F_SETOWN_EX, F_GETOWN_EX)
FIOSETOWN, SIOCSPGRP, FIOGETOWN, SIOCGPGRP = 0x8901, 0x8902, 0x8903, 0x8904
OWNER_IOCTLS = (FIOSETOWN, SIOCSPGRP, FIOGETOWN, SIOCGPGRP)
F_OWNER_EX = struct.Struct("<ii")       # struct f_owner_ex: type, pid
_NSIG = 64
INT_MIN = -(1 << 31)


def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v & 0x8000_0000 else v


def fcntl_owner(task, f: OpenFile, cmd: int, arg: int) -> int:
    """One of OWNER_FCNTL_CMDS on f (do_fcntl's cases)."""
    if cmd == F_GETOWN:
        return getown(task, f)
    if cmd == F_SETOWN:
        who = _s32(arg)
        if who == INT_MIN:
            raise Errno(EINVAL)
        setown(task, f, -who if who < 0 else who, F_OWNER_PGRP if who < 0 else F_OWNER_PID)
        return 0
    if cmd == F_SETOWN_EX:
        kind, pid = F_OWNER_EX.unpack(task.mm.read(arg, F_OWNER_EX.size))     # EFAULT first
        if kind not in (F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP):
            raise Errno(EINVAL)
        setown(task, f, pid, kind)
        return 0
    if cmd == F_GETOWN_EX:
        owner = f.fasync.owner if f.fasync is not None else FileOwner()
        pid = owner.pid if _owner_alive(task, owner.pid, owner.kind) else 0
        task.mm.write(arg, F_OWNER_EX.pack(owner.kind, pid))
        return 0
    if cmd == F_SETSIG:
        if not 0 <= _s32(arg) <= _NSIG:
            raise Errno(EINVAL)         # valid_signal(): 0 (SIGIO) to SIGRTMAX
        fasync_of(f).owner.signum = _s32(arg)
        return 0
    return 0 if f.fasync is None else f.fasync.owner.signum     # F_GETSIG


def getown(task, f: OpenFile) -> int:
    """f_getown: the owner's pid, negated for a process group; 0 if none (or it is gone)."""
    if f.fasync is None:
        return 0
    owner = f.fasync.owner
    if not _owner_alive(task, owner.pid, owner.kind):
        return 0
    return -owner.pid if owner.kind == F_OWNER_PGRP else owner.pid


def setown(task, f: OpenFile, pid: int, kind: int) -> None:
    """__f_setown with force: the owner, and the setter's uid/euid for sigio_perm. ESRCH
    for a pid no task has (find_vpid: as a thread, process, group or session id)."""
    if pid and not _pid_in_use(task, pid):
        raise Errno(ESRCH)
    owner = fasync_of(f).owner
    owner.pid, owner.kind = pid, kind
    owner.uid, owner.euid = task.creds.uid, task.creds.euid
    owner.sender = ProcSigio(task.kernel.pids)
    owner_changed(f)


def setfl(task, f: OpenFile, fd: int, flags: int) -> None:
    """F_SETFL: the status flags; a change of O_ASYNC goes through the file's fasync (a file
    without one keeps O_ASYNC off, as Linux 6.1 shows)."""
    if not f.has_fasync:
        flags &= ~FASYNC
    elif (flags ^ f.flags) & FASYNC:
        fasync(task, f, fd, bool(flags & FASYNC))
    f.set_status_flags(flags)


def fasync(task, f: OpenFile, fd: int, on: bool) -> None:
    """f_op->fasync through descriptor fd. A tty names its owner itself as O_ASYNC goes on
    (tty_fasync): its foreground process group, else the caller, with the owner's uid and
    euid left as they were (__f_setown without force)."""
    set_async(f, fd, on)
    if on and isinstance(f, TtyFile):
        owner = fasync_of(f).owner
        pgrp = f.tty.pgrp
        owner.pid, owner.kind = (pgrp, F_OWNER_PGRP) if pgrp else (task.tid, F_OWNER_PID)
        owner.sender = ProcSigio(task.kernel.pids)
        owner_changed(f)


def owner_ioctl(task, f: OpenFile, cmd: int, arg: int) -> int:
    """sock_ioctl's FIOSETOWN/SIOCSPGRP (f_setown of an int) and FIOGETOWN/SIOCGPGRP."""
    if cmd in (FIOSETOWN, SIOCSPGRP):
        try:
            (who,) = struct.unpack("<i", task.mm.read(arg, 4))
        except Errno:
            raise Errno(EFAULT) from None
        if who == INT_MIN:
            raise Errno(EINVAL)
        setown(task, f, -who if who < 0 else who, F_OWNER_PGRP if who < 0 else F_OWNER_PID)
        return 0
    task.mm.write(arg, struct.pack("<i", getown(task, f)))
    return 0


def _pid_in_use(task, pid: int) -> bool:
    pids = task.kernel.pids
    return pids.get(pid) is not None or any(t.pgid == pid or t.sid == pid for t in pids.all())


def _owner_alive(task, pid: int, kind: int) -> bool:
    """pid_task(owner pid, its type): some task still answers to it."""
    if not pid:
        return False
    pids = task.kernel.pids
    if kind == F_OWNER_PGRP:
        return any(t.pgid == pid for t in pids.all())
    t = pids.get(pid)
    return t is not None and (kind == F_OWNER_TID or t.tid == t.tgid)     # (PIDTYPE_TGID: a leader)
