"""AF_UNIX sockets (Linux's net/unix/af_unix.c): stream, datagram and seqpacket.

Every socket has a receive queue of Messages and a wait queue `wq` woken, with its POLL*
key, by every change of what poll would report (so poll, select and epoll work through
OpenFile.poll_wq unchanged). `peer_wait` is where senders to a full datagram queue and
connectors to a full backlog sleep (Linux's peer_wait).

The rules kept from Linux:
* names: a path (a S_IFSOCK node made through the VFS; EADDRINUSE if the name exists, the
  node stays after close and connecting to it then is ECONNREFUSED), the abstract
  namespace (a leading NUL; names are per socket type, as Linux hashes the type in), and
  autobind (an empty address, or SO_PASSCRED before connect/send: "\\0" + 5 hex digits);
* stream: each send is queued as messages of at most half the send buffer, charged to the
  sender until read; a send blocks while the charge reaches SO_SNDBUF; a read merges
  messages up to the length asked, but never across files in flight nor (with SO_PASSCRED)
  across writers; close with unread data gives the peer ECONNRESET once, then EOF;
* datagram/seqpacket: one message per read, the rest dropped (MSG_TRUNC); a datagram queue
  holds at most max_dgram_qlen + 1 = 11 messages from senders it is not connected to;
* listen(backlog) takes backlog + 1 connections before connect waits (EAGAIN non-blocking);
  a connection is complete at connect: the client may send before accept;
* files in flight are references held by their message, closed when the message is dropped.
"""
from __future__ import annotations

import asyncio
import random
import stat as S
import struct
from collections import deque
from dataclasses import dataclass
from typing import Optional, Union

from ..errors import (EADDRINUSE, EAGAIN, ECONNREFUSED, ECONNRESET, EEXIST, EINTR, EINVAL, EISCONN,
                      EMSGSIZE, ENOSPC, ENOTCONN, ENOTTY, EOPNOTSUPP, EPERM, EPIPE, EPROTONOSUPPORT, EPROTOTYPE,
                      ESOCKTNOSUPPORT, Errno)
from ..fs.file import (FIONREAD, O_NONBLOCK, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDHUP, POLLRDNORM,
                       POLLWRBAND, POLLWRNORM, OpenFile)
from ..fs.drivers.procfs import register_net_file, register_sysctl
from ..fs.drivers.procfs.sysctl import const, int_vector
from ..fs.path import Walker
from ..fs.vfs import MAY_WRITE, Location, permission, vfs_create, vfs_unlink
from ..waitq import WaitQueue
from . import unix_gc
from .socket import (AF_UNIX, AF_UNSPEC, MSG_DONTWAIT, MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_WAITALL,
                     NO_CRED, NO_SCM_CRED, RCV_SHUTDOWN, RMEM_DEFAULT, RMEM_MAX, SEND_SHUTDOWN, SHUTDOWN_MASK,
                     SKB_OVERHEAD, WMEM_DEFAULT, WMEM_MAX,
                     SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_STREAM, Message, Received, Socket, UCred,
                     Who, check_inflight, register_family, sock_wait, timeout_seconds, wait_for_datagram)

PF_UNIX = AF_UNIX
UNIX_PATH_MAX = 108
SUN_PATH = 2                        # offsetof(struct sockaddr_un, sun_path)
FAMILY = struct.pack("<H", AF_UNIX)
MAX_DGRAM_QLEN = 10                 # net.unix.max_dgram_qlen's default


@dataclass
class UnixSysctls:
    """net.unix.*: what root may tune (a new socket's datagram backlog)."""
    max_dgram_qlen: int = MAX_DGRAM_QLEN


SYSCTLS = UnixSysctls()
SIOCATMARK = 0x8905
SKIPPED, DROPPED_URGENT = object(), object()     # _at_urgent's answers besides None and True
SOMAXCONN = 4096
TCP_ESTABLISHED, TCP_CLOSE, TCP_LISTEN = 1, 7, 10
SS_UNCONNECTED, SS_CONNECTING, SS_CONNECTED = 1, 2, 3
SO_ACCEPTCON = 1 << 16
READABLE = POLLIN | POLLRDNORM
WRITABLE = POLLOUT | POLLWRNORM | POLLWRBAND


class SigPipe(Errno):
    """EPIPE from a stream send that also raises SIGPIPE (unless MSG_NOSIGNAL): the syscall
    layer sends it. Datagram and seqpacket EPIPE come without a signal, as in Linux."""

    def __init__(self) -> None:
        super().__init__(EPIPE)


# ---------------------------------------------------------------- the namespaces

_by_inode: dict[tuple[int, int], "UnixSocket"] = {}         # (st_dev, ino) of a bound path -> socket
_abstract: dict[tuple[int, bytes], "UnixSocket"] = {}       # (type, name) -> socket
_live: dict[int, "UnixSocket"] = {}                         # ino -> every open socket: /proc/net/unix
_autobind_next = random.randrange(1 << 20)


def _inode_key(loc: Location) -> tuple[int, int]:
    return (loc.inode.sb.dev, loc.inode.ino)


def validate_addr(addr: bytes) -> None:
    """unix_validate_addr: a family and at least one byte of sun_path, at most 108."""
    if len(addr) <= SUN_PATH or len(addr) > SUN_PATH + UNIX_PATH_MAX:
        raise Errno(EINVAL)
    if struct.unpack_from("<H", addr)[0] != AF_UNIX:
        raise Errno(EINVAL)


def _path_of(addr: bytes) -> bytes:
    """unix_mkname_bsd: sun_path up to its first NUL."""
    return addr[SUN_PATH:].split(b"\0", 1)[0]


def _start(who: Who, path: bytes) -> Location:
    return who.fs.root if path[:1] == b"/" else who.fs.cwd


def find_other(addr: bytes, type_: int, who: Who) -> "UnixSocket":
    """unix_find_other: the socket bound to addr (already validated), in Linux's errno order."""
    if addr[SUN_PATH] != 0:
        path = _path_of(addr)
        loc = Walker(who.fs, who.cred, who.caller).resolve(_start(who, path), path)
        permission(loc.inode, who.cred, MAY_WRITE)
        if not S.S_ISSOCK(loc.inode.mode):
            raise Errno(ECONNREFUSED)
        other = _by_inode.get(_inode_key(loc))
        if other is None:
            raise Errno(ECONNREFUSED)
        if other.type != type_:
            raise Errno(EPROTOTYPE)
        return other
    found = _abstract.get((type_, addr[SUN_PATH:]))
    if found is None:
        raise Errno(ECONNREFUSED)       # the name of another type hashes elsewhere: not found
    return found


# ---------------------------------------------------------------- the socket

class UnixSocket(Socket):
    family = AF_UNIX

    def __init__(self, type_: int, flags: int, who: Optional[Who]):
        super().__init__(type_, 0, flags, who)
        self.state = TCP_CLOSE
        self.peer: Optional[UnixSocket] = None
        self.shut = 0                               # RCV_SHUTDOWN | SEND_SHUTDOWN bits (sk_shutdown)
        self.queue: deque[Message] = deque()
        self.pending: deque[UnixSocket] = deque()   # a listener's connections not yet accepted
        self.backlog = SYSCTLS.max_dgram_qlen       # sk_max_ack_backlog
        self._bound: Optional[tuple] = None         # the registry key of the name
        self._bound_in: Optional[dict] = None       # and its registry: _by_inode or _abstract
        self.wmem = 0                               # bytes (with overhead) sent and not yet read
        self.wq = WaitQueue()
        self.peer_wait = WaitQueue()
        self.peercred: Optional[UCred] = None
        self.senders: set[UnixSocket] = set()      # datagram sockets connected to this one
        self.oob: Optional[Message] = None          # the urgent byte's message, while it is urgent (oob_skb)
        self.dead = False
        self.embryo = False                         # made by connect, queued on a listener, not accepted
        _live[self.ino] = self

    # -- file side
    @property
    def poll_wq(self) -> WaitQueue:
        return self.wq

    @property
    def listening(self) -> bool:
        return self.state == TCP_LISTEN

    def peer_cred(self) -> UCred:
        return self.peercred if self.peercred is not None else NO_CRED

    def release(self) -> None:
        self._release(embryo=False)

    async def ioctl(self, task, cmd: int, arg: int) -> int:
        if cmd == SIOCATMARK:           # the next byte to read is the urgent one
            task.mm.write(arg, struct.pack("<i", int(bool(self.queue) and self.queue[0] is self.oob)))
            return 0
        if cmd != FIONREAD:
            raise Errno(ENOTTY)
        if self.state == TCP_LISTEN:
            raise Errno(EINVAL)
        if self.type == SOCK_DGRAM:
            amount = len(self.queue[0].data) if self.queue else 0
        else:
            amount = sum(m.left for m in self.queue)
        task.mm.write(arg, struct.pack("<i", amount))
        return 0

    def poll_events(self, events: int) -> int:
        mask = POLLERR if self.err else 0
        if self.shut == SHUTDOWN_MASK:
            mask |= POLLHUP
        if self.shut & RCV_SHUTDOWN:
            mask |= POLLRDHUP | READABLE
        if self.queue or self.pending:
            mask |= READABLE
        if self.oob is not None:
            mask |= POLLPRI
        if self.type == SOCK_STREAM:
            if self.state == TCP_CLOSE:
                mask |= POLLHUP
            if self._writable():
                mask |= WRITABLE
            return mask
        if self.type == SOCK_SEQPACKET and self.state == TCP_CLOSE:
            mask |= POLLHUP
        writable = self._writable()
        other = self.peer
        if writable and other is not None and other.peer is not self and other.recvq_full:
            writable = False
        if writable:
            mask |= WRITABLE
        return mask

    def _writable(self) -> bool:
        """unix_writable: not listening, and a quarter of the send buffer free."""
        return self.state != TCP_LISTEN and self.wmem * 4 <= self.sndbuf

    @property
    def recvq_full(self) -> bool:
        return len(self.pending if self.state == TCP_LISTEN else self.queue) > self.backlog

    # -- names
    def bind(self, addr: bytes, who: Who) -> None:
        if len(addr) == SUN_PATH and struct.unpack_from("<H", addr)[0] == AF_UNIX:
            self.autobind()
            return
        validate_addr(addr)
        if addr[SUN_PATH] != 0:
            self._bind_path(_path_of(addr), who)
        else:
            self._bind_abstract(addr)

    def _bind_path(self, path: bytes, who: Who) -> None:
        walker = Walker(who.fs, who.cred, who.caller)
        parent = walker.resolve_parent(_start(who, path), path)
        mode = S.S_IFSOCK | (0o777 & ~who.fs.umask)
        try:
            loc = vfs_create(parent.dir, parent.name, mode, who.cred, slash=parent.slash)
        except Errno as e:
            if e.code == EEXIST:
                raise Errno(EADDRINUSE) from None
            raise
        if self.addr is not None:               # made the node, then found the socket bound
            vfs_unlink(parent.dir, parent.name, who.cred)
            raise Errno(EINVAL)
        key = _inode_key(loc)
        self._bound, self._bound_in = key, _by_inode
        _by_inode[key] = self
        self.addr = FAMILY + path + b"\0"

    def _bind_abstract(self, addr: bytes) -> None:
        if self.addr is not None:
            raise Errno(EINVAL)
        key = (self.type, addr[SUN_PATH:])
        if key in _abstract:
            raise Errno(EADDRINUSE)
        self._bound, self._bound_in = key, _abstract
        _abstract[key] = self
        self.addr = bytes(addr)

    def autobind(self) -> None:
        """unix_autobind: an abstract name of 5 hex digits, unless already bound."""
        global _autobind_next
        if self.addr is not None:
            return
        for _ in range(1 << 20):
            name = b"\0" + b"%05x" % _autobind_next
            _autobind_next = (_autobind_next + 1) & 0xFFFFF
            if (self.type, name) not in _abstract:
                self._bind_abstract(FAMILY + name)
                return
        raise Errno(ENOSPC)

    def getname(self, peer: bool) -> bytes:
        sk: Optional[UnixSocket] = self.peer if peer else self
        if sk is None:
            raise Errno(ENOTCONN)
        return sk.addr if sk.addr is not None else FAMILY

    def _unbind(self) -> None:
        key, table = self._bound, self._bound_in
        self._bound = self._bound_in = None
        if key is None or table is None:
            return
        if table.get(key) is self:
            del table[key]

    # -- connections
    def listen(self, backlog: int, who: Who) -> None:
        if self.type not in (SOCK_STREAM, SOCK_SEQPACKET):
            raise Errno(EOPNOTSUPP)
        if self.addr is None:
            raise Errno(EINVAL)                 # no listen on an unbound socket
        if self.state not in (TCP_CLOSE, TCP_LISTEN):
            raise Errno(EINVAL)
        if backlog > self.backlog:
            self.peer_wait.wake_all()
        self.backlog = backlog
        self.state = TCP_LISTEN
        self.peercred = who.peer_cred           # init_peercred: who listens

    async def connect(self, addr: bytes, who: Who) -> None:
        if self.type == SOCK_DGRAM:
            self._dgram_connect(addr, who)
            return
        validate_addr(addr)
        if self.passcred:
            self.autobind()
        timeout = timeout_seconds(self.sndtimeo, bool(self.flags & O_NONBLOCK))
        while True:
            other = find_other(addr, self.type, who)
            if other.state != TCP_LISTEN or other.shut & RCV_SHUTDOWN:
                raise Errno(ECONNREFUSED)
            if not other.recvq_full:
                break
            await sock_wait(other.peer_wait, lambda: other.dead or not other.recvq_full, timeout)
        if self.state == TCP_ESTABLISHED:
            raise Errno(EISCONN)
        if self.state != TCP_CLOSE:
            raise Errno(EINVAL)
        embryo = UnixSocket(self.type, 0, None)
        embryo.state = TCP_ESTABLISHED
        embryo.embryo = True
        embryo.peer = self
        embryo.peercred = who.peer_cred         # the accepted side sees who connected
        embryo.addr = other.addr
        self.peer = embryo
        self.state = TCP_ESTABLISHED
        self.peercred = other.peercred          # copy_peercred: the connector sees who listened
        other.pending.append(embryo)
        other.wq.wake_poll(READABLE)

    def _dgram_connect(self, addr: bytes, who: Who) -> None:
        if len(addr) < SUN_PATH:
            raise Errno(EINVAL)
        other: Optional[UnixSocket] = None
        if struct.unpack_from("<H", addr)[0] != AF_UNSPEC:
            validate_addr(addr)
            if self.passcred and self.addr is None:
                self.autobind()
            other = find_other(addr, self.type, who)
            if not self._may_send(other):
                raise Errno(EPERM)
        old = self.peer
        self._set_dgram_peer(other)
        if old is not None and old is not other:
            self._purge()                       # unix_dgram_disconnected: what was queued goes
        self.wq.wake_poll(WRITABLE)

    def _set_dgram_peer(self, other: Optional["UnixSocket"]) -> None:
        if self.peer is not None:
            self.peer.senders.discard(self)
        self.peer = other
        self.state = TCP_ESTABLISHED if other is not None else TCP_CLOSE
        if other is not None:
            other.senders.add(self)

    def _may_send(self, other: "UnixSocket") -> bool:
        return other.peer is None or other.peer is self

    async def accept(self, flags: int, who: Who) -> "UnixSocket":
        if self.type not in (SOCK_STREAM, SOCK_SEQPACKET):
            raise Errno(EOPNOTSUPP)
        if self.state != TCP_LISTEN:
            raise Errno(EINVAL)
        timeout = timeout_seconds(self.rcvtimeo, bool(self.flags & O_NONBLOCK))
        while not self.pending:
            err = self.take_error()
            if err:
                raise Errno(err)
            if self.shut & RCV_SHUTDOWN:
                raise Errno(EINVAL)
            await sock_wait(self.wq, lambda: bool(self.pending) or bool(self.shut & RCV_SHUTDOWN), timeout)
        new = self.pending.popleft()
        self.peer_wait.wake_all()               # room in the backlog for a waiting connect
        new.embryo = False
        new.passcred = self.passcred            # unix_sock_inherit_flags
        new.owner = (who.cred.uid, who.cred.gid)
        new.creator = who.scm_cred
        new.set_status_flags(flags & O_NONBLOCK)
        return new

    def shutdown(self, how: int) -> None:
        if how < 0 or how > 2:
            raise Errno(EINVAL)
        mode = how + 1                          # SHUT_RD -> RCV_SHUTDOWN, SHUT_WR -> SEND, RDWR -> both
        self.shut |= mode
        self.wq.wake_all()
        other = self.peer
        if other is not None and self.type in (SOCK_STREAM, SOCK_SEQPACKET):
            peer_mode = (SEND_SHUTDOWN if mode & RCV_SHUTDOWN else 0) | (RCV_SHUTDOWN if mode & SEND_SHUTDOWN else 0)
            other.shut |= peer_mode
            other.wq.wake_all()

    def _release(self, embryo: bool) -> None:
        if self.dead:
            return
        self.dead = True
        _live.pop(self.ino, None)
        self._unbind()
        self.state = TCP_CLOSE
        self.shut = SHUTDOWN_MASK
        pair = self.peer
        if pair is not None:
            if self.type in (SOCK_STREAM, SOCK_SEQPACKET):
                pair.shut = SHUTDOWN_MASK
                if self.queue or embryo:
                    pair.err = ECONNRESET
                pair.wq.wake_all()
            pair.senders.discard(self)
            self.peer = None
        self._purge()
        while self.pending:
            self.pending.popleft()._release(embryo=True)
        self.wq.wake_all()
        self.peer_wait.wake_all()
        for sender in list(self.senders):
            sender.wq.wake_all()
        if unix_gc.anything_in_flight():        # unix_release_sock: collect cycles of sockets in flight
            unix_gc.schedule(lambda: list(_live.values()))

    def _purge(self) -> None:
        """Drop every queued message: files in flight close, senders get their buffer back."""
        while self.queue:
            self.dequeued(self.queue.popleft())

    def dequeued(self, m: Message) -> None:
        m.drop_files()
        if m.sender is not None:
            m.sender.uncharge(len(m.data) + SKB_OVERHEAD)

    def uncharge(self, nbytes: int) -> None:
        self.wmem -= nbytes
        if self._writable():                    # unix_write_space: only once there is room
            self.wq.wake_poll(WRITABLE)
        elif self.wq:
            self.wq.wake_poll(0)                # a blocked sender re-checks its own bound (wmem < sndbuf)

    # -- sending
    async def sendmsg(self, data: bytes, addr: Optional[bytes], flags: int, who: Optional[Who],
                      files: Optional[list[OpenFile]] = None, creds: Optional[UCred] = None,
                      claimed: Optional[UCred] = None) -> int:
        """Send; the files in flight are the message's from here on (closed if it is not sent)."""
        if creds is None:
            creds = who.scm_cred if who is not None else self.creator
        owned = files or []
        try:
            if self.type == SOCK_STREAM:
                return await self._stream_send(data, addr, flags, who, owned, creds, claimed)
            return await self._dgram_send(data, addr, flags, who, owned, creds, claimed)
        finally:
            for f in owned:             # what a message did not take (it empties the list it took)
                f.put()

    async def _stream_send(self, data: bytes, addr: Optional[bytes], flags: int, who: Optional[Who],
                           files: list[OpenFile], creds: UCred, claimed: Optional[UCred]) -> int:
        """unix_stream_sendmsg. With MSG_OOB the last byte goes alone, as the urgent one (queue_oob)."""
        if flags & MSG_OOB and not data:
            raise Errno(EOPNOTSUPP)
        urgent = data[-1:] if flags & MSG_OOB else b""
        sent = await self._stream_send_data(data[:len(data) - len(urgent)], addr, flags, who, files, creds, claimed)
        if not urgent or sent < len(data) - 1:
            return sent
        other = self.peer
        await self._alloc_send(timeout_seconds(self.sndtimeo, bool(flags & MSG_DONTWAIT)))
        if other is None or other.dead or other.shut & RCV_SHUTDOWN:
            raise SigPipe()
        if files and who is not None:
            check_inflight(who)
        taken, files[:] = list(files), []
        m = Message(urgent, claimed, self, taken, owner=creds.uid)
        other.oob = m                   # a previous urgent byte stays queued as ordinary data
        other.wq.wake_poll(POLLPRI)     # sk_send_sigurg (fs/fasync.py) before sk_data_ready's wake-up
        self._enqueue(other, m, creds)
        return sent + 1

    async def _stream_send_data(self, data: bytes, addr: Optional[bytes], flags: int, who: Optional[Who],
                                files: list[OpenFile], creds: UCred, claimed: Optional[UCred]) -> int:
        if addr:
            raise Errno(EISCONN if self.state == TCP_ESTABLISHED else EOPNOTSUPP)
        other = self.peer
        if other is None:
            raise Errno(ENOTCONN)
        if self.shut & SEND_SHUTDOWN:
            raise SigPipe()
        timeout = timeout_seconds(self.sndtimeo, bool(flags & MSG_DONTWAIT))
        sent, total = 0, len(data)
        while sent < total:
            size = min(total - sent, (self.sndbuf >> 1) - 64, 36_608)
            try:
                await self._alloc_send(timeout)
            except Errno as e:
                if sent and e.code in (EAGAIN, EINTR):
                    return sent
                if e.code == EPIPE and not sent:
                    raise SigPipe() from None
                raise
            except asyncio.CancelledError:
                if sent:
                    return sent
                raise
            if other.dead or other.shut & RCV_SHUTDOWN:
                if sent:
                    return sent
                raise SigPipe()
            if files and who is not None:
                check_inflight(who)
            taken, files[:] = list(files), []       # only the first message carries the files
            m = Message(data[sent:sent + size], claimed, self, taken, owner=creds.uid)
            self._enqueue(other, m, creds)
            sent += size
        return sent

    async def _alloc_send(self, timeout: Optional[float]) -> None:
        """sock_alloc_send_pskb: wait while the send buffer is spent; the pending error, EPIPE after shutdown."""
        while True:
            err = self.take_error()
            if err:
                raise Errno(err)
            if self.shut & SEND_SHUTDOWN:
                raise Errno(EPIPE)
            if self.wmem < self.sndbuf:
                return
            await sock_wait(self.wq, lambda: self.wmem < self.sndbuf or bool(self.err or self.shut & SEND_SHUTDOWN),
                         timeout)

    def _enqueue(self, other: "UnixSocket", m: Message, creds: UCred) -> None:
        """Queue m on other. maybe_add_creds: the sender's credentials go with it when either side
        has SO_PASSCRED or the receiver is not accepted yet (and it claims none of its own)."""
        if m.creds is None and (self.passcred or other.passcred or other.embryo):
            m.creds = creds
        self.wmem += len(m.data) + SKB_OVERHEAD
        other.queue.append(m)
        other.wq.wake_poll(READABLE)

    async def _dgram_send(self, data: bytes, addr: Optional[bytes], flags: int, who: Optional[Who],
                          files: list[OpenFile], creds: UCred, claimed: Optional[UCred]) -> int:
        if self.type == SOCK_SEQPACKET:
            err = self.take_error()
            if err:
                raise Errno(err)
            if self.state != TCP_ESTABLISHED:
                raise Errno(ENOTCONN)
            addr = None
        if flags & MSG_OOB:
            raise Errno(EOPNOTSUPP)
        other: Optional[UnixSocket] = None
        if addr:
            validate_addr(addr)
        else:
            addr = None
            other = self.peer
            if other is None:
                raise Errno(ENOTCONN)
        if self.passcred and self.addr is None:
            self.autobind()
        if len(data) > self.sndbuf - 32:
            raise Errno(EMSGSIZE)
        timeout = timeout_seconds(self.sndtimeo, bool(flags & MSG_DONTWAIT))
        await self._alloc_send(timeout)
        if files and who is not None:
            check_inflight(who)
        while True:
            if other is None:
                if addr is None or who is None:
                    raise Errno(ECONNRESET)
                other = find_other(addr, self.type, who)
            if not self._may_send(other):
                raise Errno(EPERM)
            if other.dead:
                if self.type == SOCK_SEQPACKET:
                    raise Errno(EPIPE)
                if self.peer is other:
                    self._set_dgram_peer(None)
                    raise Errno(ECONNREFUSED)
                other = None
                continue
            if other.shut & RCV_SHUTDOWN:
                raise Errno(EPIPE)
            if other is not self and other.peer is not self and other.recvq_full:
                target = other
                await sock_wait(target.peer_wait, lambda: target.dead or bool(target.shut & RCV_SHUTDOWN)
                             or not target.recvq_full, timeout)
                continue
            break
        taken, files[:] = list(files), []
        self._enqueue(other, Message(data, claimed, self, taken, owner=creds.uid), creds)
        return len(data)

    # -- receiving
    async def recvmsg(self, n: int, flags: int) -> Received:
        if self.type == SOCK_STREAM:
            return await self._stream_recv(n, flags)
        return await self._dgram_recv(n, flags)

    async def _stream_recv(self, n: int, flags: int) -> Received:
        if self.state != TCP_ESTABLISHED:
            raise Errno(EINVAL)
        if flags & MSG_OOB:
            return self._recv_urgent(n, bool(flags & MSG_PEEK))
        if n == 0 and self.queue:
            return Received(b"", 0)             # a zero-length read of a non-empty queue
        target = max(n if flags & MSG_WAITALL else min(self.rcvlowat, n), 1)   # sock_rcvlowat
        timeout = timeout_seconds(self.rcvtimeo, bool(flags & MSG_DONTWAIT))
        peek = bool(flags & MSG_PEEK)
        got = Received(b"", 0)
        out = bytearray()
        while True:
            if peek:
                out, got = bytearray(), Received(b"", 0)
            stop = self._gather(out, got, n, peek)
            if stop is DROPPED_URGENT and not out:
                if timeout == 0:        # Linux 6.1: a read that found only a read urgent byte's husk
                    raise Errno(EAGAIN)
                continue
            if stop is True or len(out) >= target:
                break
            err = self.take_error()
            if err:
                if out:
                    self.err = err
                    break
                raise Errno(err)
            if self.shut & RCV_SHUTDOWN:
                break
            have = len(self.queue)
            try:
                await sock_wait(self.wq, lambda: len(self.queue) > have or bool(self.err or self.shut & RCV_SHUTDOWN),
                             timeout)
            except (Errno, asyncio.CancelledError):
                if out:
                    break
                raise
        got.data = bytes(out)
        got.count = len(out)
        return got

    @property
    def reads_now(self) -> bool:
        """Whether a plain read (no flags) is read_now's: a connected stream socket with no
        urgent byte, the default SO_RCVLOWAT and no SO_RCVTIMEO (the rest: _stream_recv)."""
        return (self.type == SOCK_STREAM and self.state == TCP_ESTABLISHED and self.oob is None
                and self.rcvlowat <= 1 and self.rcvtimeo is None)

    def read_now(self, n: int) -> Optional[Received]:
        """A plain read of n > 0 bytes when reads_now, without sleeping (_stream_recv's first
        pass): the bytes queued, the end of file, or the pending error (raised); None when it
        must wait for the peer (the read syscall parks then, watching wq)."""
        out = bytearray()
        got = Received(b"", 0)
        while self._gather(out, got, n, False) is DROPPED_URGENT and not out:
            pass                                # (a read urgent byte's husk: on past it)
        if not out:
            err = self.take_error()
            if err:
                raise Errno(err)
            if not self.shut & RCV_SHUTDOWN:
                return None
        got.data = bytes(out)
        got.count = len(out)
        return got

    def _recv_urgent(self, n: int, peek: bool) -> Received:
        """unix_stream_recv_urg: the urgent byte, unless there is none or it is read inline."""
        m = self.oob
        if m is None or self.oobinline:
            raise Errno(EINVAL)
        got = Received(m.data[:1] if n else b"", 0, flags=MSG_OOB)
        got.count = len(got.data)
        if not peek:
            self.oob = None
            m.consumed = len(m.data)    # its husk stays queued until a read reaches it
        return got

    def _at_urgent(self, m: Message, out: bytearray, peek: bool) -> Union[bool, object, None]:
        """manage_oob, for the message m a read has reached: None to read m; True to end the
        read before it (the mark, once something was read); DROPPED_URGENT when it was the
        husk of a read urgent byte, dropped (the read ends too, if it has read something);
        SKIPPED when the urgent byte is passed over (not inline: it is lost)."""
        if not m.left:
            if peek:
                return SKIPPED
            self.queue.remove(m)
            self.dequeued(m)
            return DROPPED_URGENT
        if m is not self.oob:
            return None
        if out:
            return True
        if self.oobinline:
            if not peek:
                self.oob = None
            return None
        if peek:
            return None
        self.queue.remove(m)
        self.dequeued(m)
        self.oob = None
        return SKIPPED

    def _gather(self, out: bytearray, got: Received, n: int, peek: bool) -> Union[bool, object]:
        """Copy queued bytes into out (unix_stream_read_generic's loop); True if a message with
        files or from another writer, or the urgent byte's mark, ends the read here."""
        index = 0
        while index < len(self.queue) and (len(out) < n or n == 0):
            m = self.queue[index]
            urgent = self._at_urgent(m, out, peek) if m.left == 0 or m is self.oob else None
            if urgent is SKIPPED:
                index += peek
                continue
            if urgent is DROPPED_URGENT:
                if out:
                    return True
                return DROPPED_URGENT
            if urgent is True:
                return True
            creds = m.creds or NO_SCM_CRED
            if got.creds is not None and creds != got.creds:
                return True                     # never glue messages from different writers
            if self.passcred:
                got.creds = creds
            if got.addr is None and m.sender is not None and m.sender.addr is not None:
                got.addr = m.sender.addr
            chunk = m.data[m.consumed:m.consumed + n - len(out)]
            out += chunk
            if peek:
                if m.files:
                    got.files += [f.get() for f in m.files]
                    return True
                index += 1
                if n == 0:
                    return False
                continue
            m.consumed += len(chunk)
            if m.files:
                got.files += m.take_files()
            if m.left:
                return False
            self.queue.popleft()
            self.dequeued(m)
            if got.files:
                return True
            if n == 0:
                return False
        return False

    async def _dgram_recv(self, n: int, flags: int) -> Received:
        if self.type == SOCK_SEQPACKET and self.state != TCP_ESTABLISHED:
            raise Errno(ENOTCONN)
        if flags & MSG_OOB:
            raise Errno(EOPNOTSUPP)
        timeout = timeout_seconds(self.rcvtimeo, bool(flags & MSG_DONTWAIT))
        if not await wait_for_datagram(self, self.queue, timeout, self.type == SOCK_SEQPACKET):
            return Received(b"", 0)             # end of file
        m = self.queue[0]
        got = Received(m.data[:n], 0)
        if n < len(m.data):
            got.flags |= MSG_TRUNC
        got.count = len(m.data) if flags & MSG_TRUNC else len(got.data)
        if m.sender is not None and m.sender.addr is not None:
            got.addr = m.sender.addr
        if self.passcred:
            got.creds = m.creds or NO_SCM_CRED
        if flags & MSG_PEEK:
            got.files = [f.get() for f in m.files]
        else:
            got.files = m.take_files()
            self.queue.popleft()
            self.dequeued(m)
            self.peer_wait.wake_all()
            for sender in self.senders:
                sender.wq.wake_poll(WRITABLE)
        return got

    # -- /proc/net/unix
    def proc_line(self) -> str:
        flags = SO_ACCEPTCON if self.state == TCP_LISTEN else 0
        if self.embryo:
            st = SS_CONNECTING                  # no struct socket yet
        else:
            st = SS_CONNECTED if self.state == TCP_ESTABLISHED else SS_UNCONNECTED
        line = f"{0:016x}: {2:08X} {0:08X} {flags:08X} {self.type:04X} {st:02X} {self.ino:5d}"
        if self.addr is not None:
            name = self.addr[SUN_PATH:]
            if name[:1] == b"\0":
                line += " @" + name[1:].replace(b"\0", b"@").decode(errors="replace")
            else:
                line += " " + name.rstrip(b"\0").decode(errors="replace")
        return line + "\n"


def socketpair(type_: int, flags: int, who: Who) -> tuple[UnixSocket, UnixSocket]:
    """unix_socketpair: two connected sockets, each the other's peer, both with the caller's credentials."""
    a, b = create_unix(type_, 0, flags, who), create_unix(type_, 0, flags, who)
    a.peer, b.peer = b, a
    a.peercred = b.peercred = who.peer_cred
    a.state = b.state = TCP_ESTABLISHED
    if type_ == SOCK_DGRAM:
        a.senders.add(b)
        b.senders.add(a)
    return a, b


def create_unix(type_: int, protocol: int, flags: int, who: Who) -> UnixSocket:
    """unix_create: PF_UNIX or 0 as protocol; SOCK_RAW is a datagram socket; no other types."""
    if protocol and protocol != PF_UNIX:
        raise Errno(EPROTONOSUPPORT)
    if type_ == SOCK_RAW:
        type_ = SOCK_DGRAM
    if type_ not in (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET):
        raise Errno(ESOCKTNOSUPPORT)
    return UnixSocket(type_, flags, who)


def proc_net_unix() -> bytes:
    """/proc/net/unix: every AF_UNIX socket, in creation order."""
    lines = ["Num       RefCount Protocol Flags    Type St Inode Path\n"]
    lines += [s.proc_line() for s in _live.values()]
    return "".join(lines).encode()


register_family(AF_UNIX, create_unix)
register_net_file(b"unix", proc_net_unix)
register_sysctl(int_vector("net/unix/max_dgram_qlen", lambda: [SYSCTLS.max_dgram_qlen],
                           lambda v: setattr(SYSCTLS, "max_dgram_qlen", v[0])))
# net.core's socket limits, fixed here (writes are EINVAL): the listen cap and buffer sizes
for _name, _value in (("somaxconn", SOMAXCONN), ("rmem_default", RMEM_DEFAULT), ("rmem_max", RMEM_MAX),
                      ("wmem_default", WMEM_DEFAULT), ("wmem_max", WMEM_MAX)):
    register_sysctl(const(f"net/core/{_name}", _value, 0o644))
