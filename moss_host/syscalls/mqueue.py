"""POSIX message queues: mq_open, mq_unlink, mq_timedsend, mq_timedreceive, mq_notify,
mq_getsetattr. The queues are moss_host/ipc/mqueue.py's; the handlers decode the arguments in
Linux's order (ipc/mqueue.c). The name reaches the kernel without glibc's leading '/'."""
from __future__ import annotations

import asyncio
import struct

from moss_host.errors import EINVAL, ERESTARTSYS, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.ipc import mqueue as mq
from moss_host.proc import signals
from moss_host.proc.signals import SigInfo
from moss_host.proc.rlimits import RLIMIT_MSGQUEUE
from moss_host.proc.task import State
from moss_host.arch.arm64.sigframe import SI_MESGQ
from moss_host.uapi import NSEC_PER_SEC, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, TIMESPEC, timespec_valid

from .args import CStr, Fd, Hex, Ptr, Size, c_int, c_uint
from .table import syscall
from .time import clock_ns

CLOCK_REALTIME = 0
O_CREAT = 0o100
LONG = struct.Struct("<q")
UINT = struct.Struct("<I")


def _deadline(task, abs_timeout: int) -> float | None:
    """prepare_timeout(): an absolute CLOCK_REALTIME time, as a time of the event loop."""
    if not abs_timeout:
        return None
    sec, nsec = TIMESPEC.unpack(task.mm.read(abs_timeout, TIMESPEC.size))
    if not timespec_valid(sec, nsec):
        raise Errno(EINVAL)
    left = (sec * NSEC_PER_SEC + nsec - clock_ns(CLOCK_REALTIME)) / NSEC_PER_SEC
    return asyncio.get_running_loop().time() + left


@syscall("mq_open")
def mq_open(task, name: "CStr", oflag: "Hex", mode: "Hex", attr: "Ptr") -> int:
    """Open (or create) the queue `name`; a close-on-exec descriptor."""
    oflag = c_int(oflag)
    parsed = None
    if attr and oflag & O_CREAT:
        _, maxmsg, msgsize, _ = mq.MQ_ATTR.unpack(task.mm.read(attr, mq.MQ_ATTR.size))
        parsed = (maxmsg, msgsize)
    elif attr:
        task.mm.read(attr, mq.MQ_ATTR.size)         # copied in (EFAULT) even when unused
    path = task.mm.read_cstring(name)
    f = mq.open_queue(task.kernel.ipc.mqueue, task.creds, task.fs.umask, path, oflag, mode & 0o7777, parsed,
                      task.rlimits[RLIMIT_MSGQUEUE][0])
    return task.files.install(f, cloexec=True)


@syscall("mq_unlink")
def mq_unlink(task, name: "CStr") -> int:
    """Remove the queue's name; it lives until its last descriptor closes."""
    mq.unlink_queue(task.kernel.ipc.mqueue, task.creds, task.mm.read_cstring(name))
    return 0


@syscall("mq_timedsend")
async def mq_timedsend(task, mqdes: "Fd", msg_ptr: "Ptr", msg_len: "Size", msg_prio: "Hex",
                       abs_timeout: "Ptr") -> int:
    """Queue a message by priority, sleeping while the queue is full (ETIMEDOUT at the deadline)."""
    prio = c_uint(msg_prio)
    if prio >= mq.MQ_PRIO_MAX:
        raise Errno(EINVAL)
    deadline = _deadline(task, abs_timeout)
    f = task.files.get(fd_arg(mqdes))
    queue = mq.queue_of(f, 2)
    if msg_len > queue.msgsize:
        raise Errno(mq.EMSGSIZE)
    data = task.mm.read(msg_ptr, msg_len)
    try:
        await mq.send(f, data, prio, deadline, task.tgid, task.creds.uid)
    except asyncio.CancelledError:
        raise _interrupted(task) from None
    return 0


@syscall("mq_timedreceive")
async def mq_timedreceive(task, mqdes: "Fd", msg_ptr: "Ptr", msg_len: "Size", msg_prio: "Ptr",
                          abs_timeout: "Ptr") -> int:
    """Take the oldest message of the highest priority; its length (and priority at msg_prio)."""
    deadline = _deadline(task, abs_timeout)
    f = task.files.get(fd_arg(mqdes))
    mq.queue_of(f, 1)
    try:
        data, prio = await mq.receive(f, msg_len, deadline)
    except asyncio.CancelledError:
        raise _interrupted(task) from None
    if msg_prio:
        task.mm.write(msg_prio, UINT.pack(prio))
    task.mm.write(msg_ptr, data)
    return len(data)


def _interrupted(task) -> Errno:
    if task.state is State.ZOMBIE:
        raise asyncio.CancelledError()
    return Errno(ERESTARTSYS)


@syscall("mq_notify")
def mq_notify(task, mqdes: "Fd", sevp: "Ptr") -> int:
    """Ask for a signal (or nothing) when a message arrives in the empty queue; NULL removes it."""
    registration = None
    if sevp:
        value, signo, notify = mq.SIGEVENT.unpack(task.mm.read(sevp, mq.SIGEVENT.size))
        if notify not in (SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD):
            raise Errno(EINVAL)
        if notify == SIGEV_SIGNAL and not 0 <= signo <= mq.NSIG:
            raise Errno(EINVAL)
        if notify == SIGEV_THREAD:
            raise Errno(EINVAL)         # a netlink socket is what it needs: there is no netlink
        registration = mq.Notification(notify, signo, value, task.tgid, _sender(task), task.files)
    mq.notify(task.files.get(fd_arg(mqdes)), task.tgid, registration)
    return 0


def _sender(task):
    """How the registration signals its process: SI_MESGQ with the sender's pid and uid."""
    kernel, tgid = task.kernel, task.tgid

    def send(signo: int, value: int, pid: int, uid: int) -> None:
        target = kernel.pids.get(tgid)
        if target is not None:
            signals.send_signal(target, signo, SigInfo(signo, SI_MESGQ, pid=pid, uid=uid, value=value))
    return send


@syscall("mq_getsetattr")
def mq_getsetattr(task, mqdes: "Fd", newattr: "Ptr", oldattr: "Ptr") -> int:
    """The queue's attributes (at oldattr); only O_NONBLOCK of newattr's mq_flags may change."""
    new_flags = None
    if newattr:
        new_flags, _, _, _ = mq.MQ_ATTR.unpack(task.mm.read(newattr, mq.MQ_ATTR.size))
        if new_flags & ~mq.O_NONBLOCK:
            raise Errno(EINVAL)
    old = mq.getsetattr(task.files.get(fd_arg(mqdes)), new_flags)
    if oldattr:
        task.mm.write(oldattr, old)
    return 0
