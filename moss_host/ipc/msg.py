"""System V message queues (Linux's ipc/msg.c): typed messages, received by type.

Senders sleep while the queue is full (its byte limit q_qbytes, also a limit on the number
of messages), receivers while no message matches; both on the queue's wait queue, woken by
every change and by removal (EIDRM).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from moss_host.cred import Creds, capable
from moss_host.errors import E2BIG, EAGAIN, EIDRM, EINVAL, ENOMSG, EPERM, Errno
from moss_host.waitq import WaitQueue

from .ids import IPC_NOWAIT, IPC_PRIVATE, S_IRUGO, S_IWUGO, IpcIds, IpcPerm, new_perm, now

MSG_NOERROR = 0o10000
MSG_EXCEPT = 0o20000
MSG_COPY = 0o40000
MSG_STAT, MSG_INFO, MSG_STAT_ANY = 11, 12, 13

MSGMNI, MSGMAX, MSGMNB = 32000, 8192, 16384
MSGPOOL = MSGMNI * MSGMNB // 1024
MSGSSZ = 16
MSGSEG = 0xFFFF
LONG_MAX = (1 << 63) - 1
LONG_MIN = -(1 << 63)

MSQID_DS_TAIL = struct.Struct("<qqqQQQii16x")   # stime, rtime, ctime, cbytes, qnum, qbytes, lspid, lrpid
MSGINFO = struct.Struct("<7iH2x")
MSQID_DS = struct.Struct("<48x" + "qqqQQQii16x")  # the whole struct msqid64_ds, for IPC_SET's qbytes


@dataclass
class MsgLimits:
    msgmax: int = MSGMAX
    msgmnb: int = MSGMNB
    msgmni: int = MSGMNI


class MsgQueue:
    """struct msg_queue."""

    def __init__(self, perm: IpcPerm, qbytes: int):
        self.perm = perm
        self.messages: list[tuple[int, bytes]] = []
        self.qbytes = qbytes
        self.cbytes = 0
        self.stime = self.rtime = 0
        self.ctime = now()
        self.lspid = self.lrpid = 0
        self.changed = WaitQueue()

    def fits(self, size: int) -> bool:
        """msg_fits_inqueue(): bytes and the number of messages both stay within q_qbytes."""
        return self.cbytes + size <= self.qbytes and len(self.messages) + 1 <= self.qbytes

    def find(self, msgtyp: int, flag: int) -> int:
        """find_msg() with convert_mode(): the index of the message to receive, -1 if none."""
        if flag & MSG_COPY:
            return msgtyp if 0 <= msgtyp < len(self.messages) else -1
        if msgtyp == 0:
            return 0 if self.messages else -1
        if msgtyp < 0:
            bound = LONG_MAX if msgtyp == LONG_MIN else -msgtyp
            best = -1
            for i, (mtype, _) in enumerate(self.messages):
                if mtype <= bound and (best < 0 or mtype < self.messages[best][0]):
                    best = i
            return best
        for i, (mtype, _) in enumerate(self.messages):
            if (mtype != msgtyp) if flag & MSG_EXCEPT else (mtype == msgtyp):
                return i
        return -1


@dataclass
class MsgIds:
    limits: MsgLimits = field(default_factory=MsgLimits)
    ids: IpcIds[MsgQueue] = field(init=False)

    def __post_init__(self) -> None:
        self.ids = IpcIds(self.limits.msgmni)

    def get(self, creds: Creds, key: int, flag: int) -> int:
        self.ids.mni = self.limits.msgmni
        msq = None if key == IPC_PRIVATE else self.ids.lookup(key, flag)
        if msq is None:
            msq = MsgQueue(new_perm(key, creds, flag), self.limits.msgmnb)
            self.ids.add(msq)
            return msq.perm.id
        msq.perm.check_access(creds, flag)
        return msq.perm.id

    def remove(self, msq: MsgQueue) -> None:
        self.ids.remove(msq)
        msq.changed.wake_all()

    async def send(self, creds: Creds, tgid: int, msqid: int, mtype: int, text: bytes, flag: int) -> None:
        """do_msgsnd() after its argument checks."""
        msq = self.ids.get(msqid)
        while True:
            msq.perm.check_access(creds, S_IWUGO)
            if msq.perm.deleted:
                raise Errno(EIDRM)
            if msq.fits(len(text)):
                break
            if flag & IPC_NOWAIT:
                raise Errno(EAGAIN)
            await msq.changed.wait()
        msq.messages.append((mtype, text))
        msq.cbytes += len(text)
        msq.lspid, msq.stime = tgid, now()
        msq.changed.wake_all()

    async def receive(self, creds: Creds, tgid: int, msqid: int, size: int, msgtyp: int,
                      flag: int) -> tuple[int, bytes]:
        """do_msgrcv(): (mtype, text truncated to size)."""
        msq = self.ids.get(msqid)
        while True:
            msq.perm.check_access(creds, S_IRUGO)
            if msq.perm.deleted:
                raise Errno(EIDRM)
            i = msq.find(msgtyp, flag)
            if i >= 0:
                mtype, text = msq.messages[i]
                if size < len(text) and not flag & MSG_NOERROR:
                    raise Errno(E2BIG)
                if flag & MSG_COPY:
                    if len(text) > size:         # copy_msg(): the copy buffer is too small
                        raise Errno(EINVAL)
                    return mtype, text
                del msq.messages[i]
                msq.cbytes -= len(text)
                msq.lrpid, msq.rtime = tgid, now()
                msq.changed.wake_all()
                return mtype, text[:size]
            if flag & IPC_NOWAIT:
                raise Errno(ENOMSG)
            await msq.changed.wait()

    def set(self, creds: Creds, msq: MsgQueue, uid: int, gid: int, mode: int, qbytes: int) -> None:
        """IPC_SET: the owner, mode and q_qbytes (above msgmnb only with CAP_SYS_RESOURCE)."""
        msq.perm.check_owner(creds)
        if qbytes > self.limits.msgmnb and not capable(creds):
            raise Errno(EPERM)
        msq.qbytes = qbytes
        msq.perm.set_from(uid, gid, mode)
        msq.ctime = now()
        msq.changed.wake_all()

    def stat(self, msq: MsgQueue) -> bytes:
        return msq.perm.pack() + MSQID_DS_TAIL.pack(msq.stime, msq.rtime, msq.ctime, msq.cbytes, len(msq.messages),
                                                    msq.qbytes, msq.lspid, msq.lrpid)

    def info(self, cmd: int) -> bytes:
        lim = self.limits
        if cmd == MSG_INFO:
            pool = len(self.ids)
            nmsgs = sum(len(q.messages) for q in self.ids)
            nbytes = sum(q.cbytes for q in self.ids)
            return MSGINFO.pack(pool, nmsgs, lim.msgmax, lim.msgmnb, lim.msgmni, MSGSSZ, nbytes, MSGSEG)
        return MSGINFO.pack(MSGPOOL, MSGMNB, lim.msgmax, lim.msgmnb, lim.msgmni, MSGSSZ, MSGMNB, MSGSEG)

    def proc_text(self) -> bytes:
        lines = ["       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid"
                 "      stime      rtime      ctime\n"]
        for q in self.ids:
            p = q.perm
            lines.append(f"{p.key:10d} {p.id:10d}  {p.mode & 0o7777:4o}  {q.cbytes:10d} {len(q.messages):10d} "
                         f"{q.lspid:5d} {q.lrpid:5d} {p.uid:5d} {p.gid:5d} {p.cuid:5d} {p.cgid:5d} "
                         f"{q.stime:10d} {q.rtime:10d} {q.ctime:10d}\n")
        return "".join(lines).encode()
