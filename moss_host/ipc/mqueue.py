"""POSIX message queues (Linux's ipc/mqueue.c): queues of prioritised messages that live as
files of the mqueue filesystem.

The namespace has one mqueue superblock (`mount -t mqueue` gives that same one, as Linux's
get_tree_keyed does); mq_open finds and creates queues in its root whether or not it is
mounted anywhere. Reading a queue's file gives its status line (QSIZE, NOTIFY, SIGNO,
NOTIFY_PID). A descriptor of a queue (MqFile) polls readable while a message is queued and
writable while there is room.
"""
from __future__ import annotations

import asyncio
import bisect
import stat as S
import struct
from dataclasses import dataclass
from typing import Callable, Optional

from moss_host.cred import Cred, Creds, capable, fs_cred
from moss_host.errors import (EACCES, EAGAIN, EBADF, EBUSY, EEXIST, EINVAL, EMFILE, EMSGSIZE, ENOENT, ENOSPC, EOVERFLOW,
                              EPERM, ETIMEDOUT, Errno)
from moss_host.fs.drivers.tmpfs import TmpDir, TmpInode, Tmpfs
from moss_host.fs.file import O_ACCMODE, O_NONBLOCK, O_RDWR, O_WRONLY, OpenFile, POLLIN, POLLOUT
from moss_host.fs.stat import Stat
from moss_host.fs.vfs import MAY_EXEC, MAY_READ, MAY_WRITE, Dentry, Inode, StatFs, alloc_internal_dev, permission
from moss_host.uapi import SIGEV_SIGNAL
from moss_host.waitq import WaitQueue

MQUEUE_MAGIC = 0x19800202
FILENT_SIZE = 80                   # the size a queue's inode reports
MQ_PRIO_MAX = 32768
HARD_MSGMAX = 65536
HARD_MSGSIZEMAX = 16 * 1024 * 1024
# What a queue charges to RLIMIT_MSGQUEUE besides its messages: sizeof(struct msg_msg) per
# message and sizeof(struct posix_msg_tree_node) per possible priority node (arm64).
MSG_MSG_SIZE = 48
TREE_NODE_SIZE = 48
DFLT_QUEUESMAX, DFLT_MSG, DFLT_MSGMAX, DFLT_MSGSIZE, DFLT_MSGSIZEMAX = 256, 10, 10, 8192, 8192
NSIG = 64

MQ_ATTR = struct.Struct("<qqqq32x")     # struct mq_attr: flags, maxmsg, msgsize, curmsgs, __reserved[4]
SIGEVENT = struct.Struct("<Qii")        # struct sigevent's head: sigev_value, sigev_signo, sigev_notify


@dataclass
class MqLimits:
    """/proc/sys/fs/mqueue: queues_max, msg_max, msgsize_max, msg_default, msgsize_default."""
    queues_max: int = DFLT_QUEUESMAX
    msg_max: int = DFLT_MSGMAX
    msgsize_max: int = DFLT_MSGSIZEMAX
    msg_default: int = DFLT_MSG
    msgsize_default: int = DFLT_MSGSIZE


@dataclass
class Notification:
    """A process's mq_notify registration."""
    notify: int                      # SIGEV_SIGNAL or SIGEV_NONE
    signo: int
    value: int
    pid: int
    send: Callable[[int, int, int, int], None]      # (signo, value, sender pid, sender uid)
    files: object                    # the owner's fd table: a close through it removes the registration


class MqueueFs(Tmpfs):
    fstype = "mqueue"
    source = "mqueue"
    export_op = None                        # no file handles (mqueue has no s_export_op)

    def __init__(self, limits: MqLimits):
        # The kernel makes it at boot, before any mount: a number of the internal range, so
        # that it shifts none of the anonymous devices the mounted filesystems show.
        super().__init__(mode=0o1777, dev=alloc_internal_dev())
        self.limits = limits
        self.queues = 0                              # mq_queues_count
        self.user_bytes: dict[int, int] = {}         # real uid -> bytes its queues charge (ucounts' MSGQUEUE)
        self.root = MqDir(self, S.S_IFDIR | 0o1777, 0, 0, parent=None)
        self.mount_options = ""

    def statfs(self) -> StatFs:
        return StatFs(MQUEUE_MAGIC, 4096, 0, 0, 0, 0, 0, 255, 4096)


class MqDir(TmpDir):
    """The root of the mqueue filesystem: a file created in it (open(2) with O_CREAT) is a
    queue with the default attributes."""
    sb: MqueueFs

    def create(self, name: bytes, mode: int, uid: int, gid: int, rdev: int = 0) -> Inode:
        if not S.S_ISREG(mode):
            raise Errno(EPERM)
        lim = self.sb.limits
        return self.add_queue(name, MqInode(self.sb, mode, uid, gid, min(lim.msg_max, lim.msg_default),
                                            min(lim.msgsize_max, lim.msgsize_default)))

    def add_queue(self, name: bytes, queue: "MqInode") -> "MqInode":
        self.sb.queues += 1
        self._add(name, queue)
        return queue

    def mkdir(self, name: bytes, mode: int, uid: int, gid: int) -> Inode:
        raise Errno(EPERM)

    def symlink(self, name: bytes, target: bytes, uid: int, gid: int) -> Inode:
        raise Errno(EPERM)

    def unlink(self, name: bytes) -> None:
        queue = self.lookup(name)
        super().unlink(name)
        self.sb.queues -= 1
        if isinstance(queue, MqInode) and not queue.opens:
            queue.uncharge()


class MqInode(TmpInode):
    """struct mqueue_inode_info: the attributes, the messages by priority, the registration."""
    sb: MqueueFs

    def __init__(self, sb: MqueueFs, mode: int, uid: int, gid: int, maxmsg: int, msgsize: int):
        super().__init__(sb, S.S_IFREG | (mode & 0o7777), uid, gid)
        self.maxmsg = maxmsg
        self.msgsize = msgsize
        self.messages: list[tuple[int, int, bytes]] = []     # (-prio, seq, data): highest first, FIFO
        self._seq = 0
        self.qsize = 0
        self.notification: Optional[Notification] = None
        self.changed = WaitQueue()
        self.opens = 0                               # MqFiles open on it
        self.charged: tuple[int, int] = (0, 0)       # (uid, bytes) counted against its creator's RLIMIT_MSGQUEUE

    def charge(self, uid: int, limit: int) -> None:
        """mqueue_get_inode: the queue's bytes count against the creator's RLIMIT_MSGQUEUE
        with every other queue of its real uid (EMFILE past it)."""
        nbytes = self.maxmsg * (self.msgsize + MSG_MSG_SIZE) + min(self.maxmsg, MQ_PRIO_MAX) * TREE_NODE_SIZE
        used = self.sb.user_bytes.get(uid, 0)
        if used + nbytes > limit:
            raise Errno(EMFILE)
        self.sb.user_bytes[uid] = used + nbytes
        self.charged = (uid, nbytes)

    def uncharge(self) -> None:
        """mqueue_evict_inode: the last reference is gone (unlinked, no descriptor open)."""
        uid, nbytes = self.charged
        if nbytes:
            self.sb.user_bytes[uid] -= nbytes
            self.charged = (0, 0)

    def opened(self) -> None:
        self.opens += 1

    def closed(self) -> None:
        self.opens -= 1
        if not self.opens and not self.nlink:
            self.uncharge()

    @property
    def size(self) -> int:
        return FILENT_SIZE

    @property
    def curmsgs(self) -> int:
        return len(self.messages)

    def status(self) -> bytes:
        n = self.notification
        notify, signo, pid = (0, 0, 0) if n is None else (n.notify, n.signo if n.notify == SIGEV_SIGNAL else 0, n.pid)
        return f"QSIZE:{self.qsize:<10d} NOTIFY:{notify:<5d} SIGNO:{signo:<5d} NOTIFY_PID:{pid:<6d}\n".encode()

    def read(self, offset: int, n: int) -> bytes:
        return self.status()[offset:offset + n]

    def write(self, offset: int, data: bytes) -> int:
        raise Errno(EINVAL)

    def truncate(self, size: int) -> None:
        pass

    # -- the queue
    def put(self, data: bytes, prio: int, sender_pid: int, sender_uid: int) -> None:
        self._seq += 1
        bisect.insort(self.messages, (-prio, self._seq, data))
        self.qsize += len(data)
        if len(self.messages) == 1 and self.notification is not None and not self._receivers_waiting():
            self._notify(sender_pid, sender_uid)
        self.changed.wake_poll(POLLIN)

    def _receivers_waiting(self) -> bool:
        return self.receivers > 0

    receivers = 0            # mq_timedreceive calls asleep on this queue (a send goes to them first)

    def _notify(self, pid: int, uid: int) -> None:
        """__do_notify(): the registration fires once and is gone."""
        n, self.notification = self.notification, None
        assert n is not None
        if n.notify == SIGEV_SIGNAL and n.signo:
            n.send(n.signo, n.value, pid, uid)

    def take(self) -> tuple[bytes, int]:
        prio, _, data = self.messages.pop(0)
        self.qsize -= len(data)
        self.changed.wake_poll(POLLOUT)
        return data, -prio


class MqFile(OpenFile):
    """A message queue descriptor (mqd_t): an open file of the queue's inode; read and pread
    give the status line."""
    seekable = True

    def __init__(self, queue: MqInode, dentry: Dentry, flags: int):
        super().__init__(flags)
        self.queue = queue
        self.dentry = dentry
        queue.opened()

    def release(self) -> None:
        self.queue.closed()

    def flush(self, files: object) -> None:
        """mqueue_flush_file(): the owner closing any descriptor of the queue drops its registration."""
        n = self.queue.notification
        if n is not None and n.files is files:
            self.queue.notification = None

    @property
    def poll_wq(self) -> WaitQueue:
        return self.queue.changed

    def poll_events(self, events: int) -> int:
        q = self.queue
        mask = POLLIN if q.curmsgs else 0
        if q.curmsgs < q.maxmsg:
            mask |= POLLOUT
        return mask & events

    async def read(self, n: int) -> bytes:
        data = self.queue.status()[self.pos:self.pos + n]
        self.pos += len(data)
        return data

    async def pread(self, offset: int, n: int) -> bytes:
        return self.queue.status()[offset:offset + n]

    def lseek(self, offset: int, whence: int) -> int:
        if whence != 0 or offset < 0:            # SEEK_SET is what anyone does here
            raise Errno(EINVAL)
        self.pos = offset
        return offset

    def stat(self) -> Stat:
        return self.queue.getattr()

    @property
    def path_name(self) -> str:
        return "/" + self.dentry.name.decode(errors="surrogateescape")


# -- the calls (syscalls/mqueue.py decodes the arguments) ------------------------------------------

def check_name(name: bytes) -> None:
    """getname()'s ENOENT for an empty name; lookup_one_len()'s EACCES for '.', '..' or a '/'."""
    if not name:
        raise Errno(ENOENT)
    if name in (b".", b"..") or b"/" in name:
        raise Errno(EACCES)


def attr_ok(limits: MqLimits, creds: Creds, maxmsg: int, msgsize: int) -> None:
    """mq_attr_ok()."""
    if maxmsg <= 0 or msgsize <= 0:
        raise Errno(EINVAL)
    if capable(creds):
        if maxmsg > HARD_MSGMAX or msgsize > HARD_MSGSIZEMAX:
            raise Errno(EINVAL)
    elif maxmsg > limits.msg_max or msgsize > limits.msgsize_max:
        raise Errno(EINVAL)
    if msgsize > ((1 << 64) - 1) // maxmsg:
        raise Errno(EOVERFLOW)


def open_queue(sb: MqueueFs, creds: Creds, umask: int, name: bytes, oflag: int, mode: int,
               attr: Optional[tuple[int, int]], msgqueue_limit: int = (1 << 64) - 1) -> MqFile:
    """do_mq_open() after the copy-in: find or create the queue, check access, open it.
    msgqueue_limit: the caller's RLIMIT_MSGQUEUE, which a new queue must fit."""
    check_name(name)
    root = sb.root_dentry
    dentry = root.lookup_or_none(name)
    cred = fs_cred(creds)
    if dentry is None:
        if not oflag & 0o100:                    # O_CREAT
            raise Errno(ENOENT)
        permission(root.inode, cred, MAY_WRITE | MAY_EXEC)
        lim = sb.limits
        if attr is not None:
            attr_ok(lim, creds, *attr)
            maxmsg, msgsize = attr
        else:
            maxmsg, msgsize = min(lim.msg_max, lim.msg_default), min(lim.msgsize_max, lim.msgsize_default)
        if sb.queues >= lim.queues_max and not capable(creds):
            raise Errno(ENOSPC)
        uid, gid = creds.fs_ids
        queue = MqInode(sb, mode & ~umask, uid, gid, maxmsg, msgsize)
        queue.charge(creds.uid, msgqueue_limit)
        assert isinstance(sb.root, MqDir)
        sb.root.add_queue(name, queue)
        dentry = root.add(name, queue)
    else:
        if oflag & 0o300 == 0o300:              # O_CREAT | O_EXCL
            raise Errno(EEXIST)
        if oflag & O_ACCMODE == O_ACCMODE:
            raise Errno(EINVAL)
        acc = {0: MAY_READ, O_WRONLY: MAY_WRITE, O_RDWR: MAY_READ | MAY_WRITE}[oflag & O_ACCMODE]
        permission(dentry.inode, cred, acc)
    queue_inode = dentry.inode
    if not isinstance(queue_inode, MqInode):
        raise Errno(EACCES)
    return MqFile(queue_inode, dentry, oflag & (O_ACCMODE | O_NONBLOCK))


def unlink_queue(sb: MqueueFs, creds: Creds, name: bytes) -> None:
    """mq_unlink(): may_delete()'s checks on the sticky root, then the name goes (the queue
    lives on until its last descriptor closes)."""
    check_name(name)
    root = sb.root_dentry
    dentry = root.lookup_or_none(name)
    if dentry is None:
        raise Errno(ENOENT)
    cred: Cred = fs_cred(creds)
    permission(root.inode, cred, MAY_WRITE | MAY_EXEC)
    if cred.uid != 0 and cred.uid not in (dentry.inode.uid, root.inode.uid):
        raise Errno(EPERM)
    root.inode.unlink(name)
    root.drop(name)


def queue_of(f: OpenFile, mode: int) -> MqInode:
    """The queue of descriptor f (EBADF if it is not one, or not open for `mode`: 1 read, 2 write)."""
    if not isinstance(f, MqFile):
        raise Errno(EBADF)
    if mode == 1 and not f.readable or mode == 2 and not f.writable:
        raise Errno(EBADF)
    return f.queue


async def send(f: MqFile, data: bytes, prio: int, deadline: Optional[float], pid: int, uid: int) -> None:
    q = f.queue
    if len(data) > q.msgsize:
        raise Errno(EMSGSIZE)
    if q.curmsgs >= q.maxmsg:
        if f.flags & O_NONBLOCK:
            raise Errno(EAGAIN)
        await _sleep(q, lambda: q.curmsgs < q.maxmsg, deadline)
    q.put(data, prio, pid, uid)


async def receive(f: MqFile, size: int, deadline: Optional[float]) -> tuple[bytes, int]:
    q = f.queue
    if size < q.msgsize:
        raise Errno(EMSGSIZE)
    if not q.curmsgs:
        if f.flags & O_NONBLOCK:
            raise Errno(EAGAIN)
        q.receivers += 1
        try:
            await _sleep(q, lambda: q.curmsgs > 0, deadline)
        finally:
            q.receivers -= 1
    return q.take()


async def _sleep(q: MqInode, ready: Callable[[], bool], deadline: Optional[float]) -> None:
    loop = asyncio.get_running_loop()
    timeout = None if deadline is None else deadline - loop.time()
    if not await q.changed.wait_until(ready, timeout):
        raise Errno(ETIMEDOUT)


def notify(f: OpenFile, tgid: int, registration: Optional[Notification]) -> None:
    """mq_notify(): register (EBUSY if another is), or remove the caller's registration."""
    q = queue_of(f, 0)
    if registration is None:
        if q.notification is not None and q.notification.pid == tgid:
            q.notification = None
        return
    if q.notification is not None:
        raise Errno(EBUSY)
    q.notification = registration


def getsetattr(f: OpenFile, new_flags: Optional[int]) -> bytes:
    """mq_getsetattr(): the old attributes; the new O_NONBLOCK."""
    q = queue_of(f, 0)
    old = MQ_ATTR.pack(f.flags & O_NONBLOCK, q.maxmsg, q.msgsize, q.curmsgs)
    if new_flags is not None:
        f.flags = (f.flags & ~O_NONBLOCK) | (new_flags & O_NONBLOCK)
    return old
