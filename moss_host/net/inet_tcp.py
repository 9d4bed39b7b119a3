"""TCP sockets (Linux's net/ipv4/tcp*.c, af_inet.c's stream calls) over the guest's loopback.

A connection between two guest sockets is a pair of byte streams: the data path (send
buffer accounting, merged reads, MSG_PEEK/WAITALL/DONTWAIT, SO_RCVLOWAT, timeouts) is
AF_UNIX's stream code, which TcpSocket inherits; what TCP does differently is here:

* connect finds the socket listening on the address (a wildcard or the exact address;
  an AF_INET6 socket on :: takes IPv4 too unless IPV6_V6ONLY) and queues the connection on
  its backlog at once; no listener is ECONNREFUSED. A non-blocking connect says
  EINPROGRESS even so (as Linux does on loopback), and the socket is writable at once,
  SO_ERROR telling how it went; the next connect returns 0 (or the error), then EISCONN;
* close sends FIN: the peer reads what is queued, then EOF, and may still write once; the
  data is dropped, the RST that answers sets EPIPE for its next send (SIGPIPE). Closing
  with unread data, a zero SO_LINGER, or a listener with connections not yet accepted
  sends RST instead: the peer's next call says ECONNRESET, then EOF/EPIPE;
* shutdown(SHUT_WR) is a FIN (the peer reads EOF); SHUT_RD stays local; shutting down an
  unconnected socket is ENOTCONN; SHUT_RD on a listener stops it listening;
* a send on a socket never connected is EPIPE with SIGPIPE; a receive is ENOTCONN.
Connections to addresses outside the guest are host connections (inet_host.py): their
far end is a TcpSocket that a host socket reads and writes.
"""
from __future__ import annotations

import asyncio
import struct
from typing import Optional

from ..errors import (EAFNOSUPPORT, EALREADY, ECONNABORTED, ECONNREFUSED, ECONNRESET, EINPROGRESS, ENOENT, EINVAL,
                      EISCONN, ENETUNREACH, ENOPROTOOPT, ENOTCONN, ENOTTY, EPIPE, Errno)
from ..fs.file import FIONREAD, O_NONBLOCK, POLLERR, POLLHUP, POLLOUT, POLLPRI, POLLRDHUP, POLLWRNORM, OpenFile
from . import inet_stats as mib
from .inet_addr import ANY4, LOOPBACK4, LOOPBACK6, SIN, V4MAPPED, family_of, unpack_in, unpack_in6, v4_of
from .inet_ports import TCP_PORTS, receives
from .inet_sock import IPPROTO_TCP, InetBase, refuse_rights
from .interfaces import NETWORK
from .socket import (AF_INET, AF_UNSPEC, INT, MSG_OOB, RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK,
                     SO_RCVBUF, SO_SNDBUF, SOL_SOCKET, SOCK_STREAM, Received, UCred, Who)
from .unix import READABLE, TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, SigPipe, UnixSocket

TCP_SYN_SENT = 2
TCP_TIME_WAIT = 6
TCP_TIMEWAIT_LEN = 60.0                                 # seconds, as Linux's TCP_TIMEWAIT_LEN
SS_UNCONNECTED, SS_CONNECTING, SS_CONNECTED = 1, 2, 3
SIOCOUTQ, SIOCOUTQNSD = 0x5411, 0x894B
TCP_RMEM_DEFAULT, TCP_WMEM_DEFAULT = 131072, 16384      # net.ipv4.tcp_rmem[1], tcp_wmem[1]
TCP_WMEM_MAX = 4 * 1024 * 1024                          # what autotuning lets the send buffer grow to
TCP_MSS_DEFAULT, LOOPBACK_MSS = 536, 65483
TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT = 1, 2, 3, 4, 5, 6
TCP_SYNCNT, TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_INFO = 7, 8, 9, 10, 11
TCP_QUICKACK, TCP_CONGESTION, TCP_USER_TIMEOUT, TCP_FASTOPEN, TCP_NOTSENT_LOWAT = 12, 13, 18, 23, 25
MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT, MAX_TCP_SYNCNT = 32767, 32767, 127, 127
# TCP options kept as ints: name -> (default, lowest, highest); None: no range check
TCP_INTS: dict[int, tuple[int, Optional[int], Optional[int]]] = {
    TCP_NODELAY: (0, None, None), TCP_CORK: (0, None, None), TCP_KEEPIDLE: (7200, 1, MAX_TCP_KEEPIDLE),
    TCP_KEEPINTVL: (75, 1, MAX_TCP_KEEPINTVL), TCP_KEEPCNT: (9, 1, MAX_TCP_KEEPCNT),
    TCP_SYNCNT: (6, 1, MAX_TCP_SYNCNT), TCP_LINGER2: (60, None, None), TCP_DEFER_ACCEPT: (0, None, None),
    TCP_WINDOW_CLAMP: (0, None, None), TCP_QUICKACK: (1, None, None), TCP_USER_TIMEOUT: (0, 0, None),
    TCP_FASTOPEN: (0, 0, None), TCP_NOTSENT_LOWAT: (0, None, None),
}
TCP_BOOLS = (TCP_NODELAY, TCP_CORK, TCP_QUICKACK)
TCP_INFO_SIZE = 232


class TcpSocket(UnixSocket, InetBase):
    table = TCP_PORTS

    def __init__(self, family: int, flags: int, who: Optional[Who]):
        super().__init__(SOCK_STREAM, flags, who)
        self.protocol = IPPROTO_TCP
        self.setup_family(family)
        self.sndbuf = TCP_WMEM_MAX
        self.rcvbuf = TCP_RMEM_DEFAULT
        self.buf_set = 0                        # SO_SNDBUF/SO_RCVBUF bits set by the user
        self.sock_state = SS_UNCONNECTED        # struct socket's state (connect's bookkeeping)
        self.tcp_opts = {name: d for name, (d, _, _) in TCP_INTS.items()}
        self.maxseg = 0
        self.closed_first = False               # shutdown(SHUT_WR) sent our FIN before the peer's

    # -- the file side
    def proc_line(self) -> str:
        return ""                               # not in /proc/net/unix

    def poll_events(self, events: int) -> int:
        """tcp_poll."""
        if self.state == TCP_LISTEN:
            return READABLE if self.pending else 0
        mask = 0
        if self.shut == SHUTDOWN_MASK or self.state == TCP_CLOSE:
            mask |= POLLHUP
        if self.shut & RCV_SHUTDOWN:
            mask |= READABLE | POLLRDHUP
        if self.state != TCP_SYN_SENT:
            if self.queue:
                mask |= READABLE
            if self.shut & SEND_SHUTDOWN or self.wmem * 4 <= self.sndbuf:
                mask |= POLLOUT | POLLWRNORM
        if self.err:
            mask |= POLLERR
        return mask

    async def ioctl(self, task, cmd: int, arg: int) -> int:
        if cmd == FIONREAD:
            if self.state == TCP_LISTEN:
                raise Errno(EINVAL)
            amount = sum(m.left for m in self.queue)
        elif cmd in (SIOCOUTQ, SIOCOUTQNSD):
            if self.state == TCP_LISTEN:
                raise Errno(EINVAL)
            amount = 0                          # loopback acknowledges at once
        else:
            from .inet_ioctl import interface_ioctl
            return interface_ioctl(task, cmd, arg, ENOTTY)
        task.mm.write(arg, struct.pack("<i", amount))
        return 0

    # -- names
    def bind(self, addr: bytes, who: Who) -> None:
        InetBase.bind(self, addr, who)

    def bound_or_busy(self) -> bool:
        return self.local_port != 0 or self.state != TCP_CLOSE

    def getname(self, peer: bool) -> bytes:
        if peer and self.state not in (TCP_ESTABLISHED,):
            raise Errno(ENOTCONN)
        return InetBase.getname(self, peer)

    # -- connections
    def listen(self, backlog: int, who: Who) -> None:
        if self.sock_state != SS_UNCONNECTED or self.state not in (TCP_CLOSE, TCP_LISTEN):
            raise Errno(EINVAL)
        if self.state == TCP_CLOSE:
            if self.local_port:
                self.table.remove(self, self.local_port)
                self.state = TCP_LISTEN
                try:
                    self.table.check(self, self.local_port)
                except Errno:
                    self.state = TCP_CLOSE
                    raise
                finally:
                    self.table.add(self, self.local_port)
            else:
                self.state = TCP_LISTEN
                try:
                    self.take_port(0)
                except Errno:
                    self.state = TCP_CLOSE
                    raise
        if backlog > self.backlog:
            self.peer_wait.wake_all()
        self.backlog = backlog
        self.shut = 0

    async def connect(self, addr: bytes, who: Who) -> None:
        if family_of(addr) == AF_UNSPEC:
            self._disconnect()
            return
        if self.sock_state == SS_CONNECTED:
            raise Errno(EISCONN)
        if self.sock_state == SS_CONNECTING:
            self._connect_again()
            return
        if self.state != TCP_CLOSE:
            raise Errno(EISCONN)
        dest, port = self._parse_dest(addr)
        nonblock = bool(self.flags & O_NONBLOCK)
        if NETWORK.is_local(dest):
            listener = find_listener(dest, port)
            mib.TCP["ActiveOpens"] += 1
            if listener is None:
                self._refused(dest)
                if not nonblock:
                    raise Errno(ECONNREFUSED)
                self.err, self.shut = ECONNREFUSED, SHUTDOWN_MASK
            else:
                self._connect_to(listener, dest, port)
        else:
            if not NETWORK.routable(dest):
                raise Errno(ENETUNREACH)
            mib.TCP["ActiveOpens"] += 1
            mib.tcp_segment(v4_of(dest) is None, 0, into=False)
            from .inet_host import connect_out
            await connect_out(self, dest, port, nonblock)
        if nonblock:
            self.sock_state = SS_CONNECTING
            raise Errno(EINPROGRESS)
        self.sock_state = SS_CONNECTED

    def _connect_again(self) -> None:
        """__inet_stream_connect of a socket whose non-blocking connect is under way or done."""
        if self.state == TCP_SYN_SENT:
            raise Errno(EALREADY)
        if self.state == TCP_ESTABLISHED:
            self.sock_state = SS_CONNECTED
            return
        err = self.take_error() or ECONNABORTED
        self.sock_state = SS_UNCONNECTED
        self.shut = 0
        raise Errno(err)

    def _parse_dest(self, addr: bytes) -> tuple[bytes, int]:
        """tcp_v4_connect/tcp_v6_connect's checks; the wildcard means the loopback."""
        if self.family == AF_INET:
            if len(addr) < SIN.size:
                raise Errno(EINVAL)
            if family_of(addr) != AF_INET:
                raise Errno(EAFNOSUPPORT)
            ip, port = unpack_in(addr)
            return (LOOPBACK4 if ip == ANY4 else ip), port
        ip, port = unpack_in6(addr)
        if ip == bytes(16):
            ip = LOOPBACK4 if v4_of(self.local_ip) is not None else LOOPBACK6
        v4 = v4_of(ip)
        if v4 is not None:
            if self.v6only:
                raise Errno(ENETUNREACH)
            return (LOOPBACK4 if v4 == ANY4 else v4), port
        return ip, port

    @staticmethod
    def _refused(dest: bytes) -> None:
        """A SYN to a closed local port: the RST back ends the attempt (AttemptFails)."""
        v6 = v4_of(dest) is None
        mib.tcp_segment(v6, 0)
        mib.tcp_segment(v6, 0)
        mib.TCP["OutRsts"] += 1
        mib.TCP["AttemptFails"] += 1

    def source_bind(self, dest: bytes) -> None:
        """Give an unbound connecting socket its source address and an even port (inet_hash_connect)."""
        if self.local_ip in (bytes(4), bytes(16)) or v4_of(self.local_ip) == ANY4:
            self.local_ip = self.own(NETWORK.source_for(dest))
        if not self.local_port:
            self.take_port(0, parity=0)

    def _connect_to(self, listener: "TcpSocket", dest: bytes, port: int) -> None:
        self.source_bind(dest)
        child = TcpSocket(listener.family, 0, None)
        child.inherit(listener)
        child.local_ip, child.local_port = child.own(dest), port
        child.table.add(child, port)
        child.peer_ip, child.peer_port = child.own(self.local_ip), self.local_port
        child.embryo = True
        self.peer_ip, self.peer_port = self.own(dest), port
        link(self, child)
        v6 = v4_of(dest) is None
        for _ in range(3):                      # SYN, SYN-ACK, ACK
            mib.tcp_segment(v6, 0)
        mib.TCP["PassiveOpens"] += 1
        listener.pending.append(child)
        listener.wq.wake_poll(READABLE)

    def inherit(self, listener: "TcpSocket") -> None:
        """What an accepted socket takes from its listener (sk_clone_lock, inet_csk_clone)."""
        self.reuseaddr, self.reuseport, self.v6only = listener.reuseaddr, listener.reuseport, listener.v6only
        self.keepalive, self.linger, self.lingertime = listener.keepalive, listener.linger, listener.lingertime
        self.tcp_opts = dict(listener.tcp_opts)
        self.sol_flags = dict(listener.sol_flags)
        self.owner = listener.owner
        if listener.buf_set & 1:
            self.sndbuf = listener.sndbuf
        if listener.buf_set & 2:
            self.rcvbuf = listener.rcvbuf
        self.buf_set = listener.buf_set

    async def accept(self, flags: int, who: Who) -> "UnixSocket":
        new = await super().accept(flags, who)
        assert isinstance(new, TcpSocket)
        new.sock_state = SS_CONNECTED
        return new

    def shutdown(self, how: int) -> None:
        """inet_shutdown + tcp_shutdown."""
        if how < 0 or how > 2:
            raise Errno(EINVAL)
        mode = how + 1
        if self.state == TCP_LISTEN:
            if mode & RCV_SHUTDOWN:
                self._stop_listening()
            self.wq.wake_all()
            return
        if self.state != TCP_ESTABLISHED:
            self.shut |= mode
            self.wq.wake_all()
            raise Errno(ENOTCONN)
        if mode & SEND_SHUTDOWN and not self.shut & (SEND_SHUTDOWN | RCV_SHUTDOWN):
            self.closed_first = True            # our FIN before the peer's: TIME_WAIT at the end
        self.shut |= mode
        other = self.peer
        if mode & SEND_SHUTDOWN and other is not None and not other.dead:
            other.shut |= RCV_SHUTDOWN
            other.wq.wake_all()
        self.wq.wake_all()

    def _stop_listening(self) -> None:
        while self.pending:
            self.pending.popleft()._release(embryo=True)
        self.state = TCP_CLOSE
        self.shut = SHUTDOWN_MASK
        self.peer_wait.wake_all()

    def _disconnect(self) -> None:
        """connect(AF_UNSPEC): tcp_disconnect, a reset for a live connection."""
        if self.state == TCP_LISTEN:
            self._stop_listening()
        elif self.state == TCP_ESTABLISHED:
            self._abort_peer(reset=True)
        self.state = TCP_CLOSE
        self.shut = 0
        self.peer_ip = None
        self.sock_state = SS_UNCONNECTED
        self._purge()
        if not self.bind_locked:
            self.drop_port()
            self.local_ip = self.any_ip

    def _abort_peer(self, reset: bool) -> None:
        """Tell the peer this end is gone: FIN (it reads EOF) or RST (ECONNRESET)."""
        pair = self.peer
        self.peer = None
        if pair is None:
            return
        assert isinstance(pair, TcpSocket)
        if reset:
            pair.err = ECONNRESET
            pair.shut = SHUTDOWN_MASK
        else:
            pair.shut |= RCV_SHUTDOWN
        pair.peer_gone()
        pair.wq.wake_all()

    def count_segment(self, size: int) -> None:
        """A segment to the peer: out of this guest socket and into the peer (a guest socket,
        unless it is a host connection's far end)."""
        ip = self.local_ip
        v6 = len(ip) == 16 and ip[:12] != V4MAPPED
        if isinstance(self.peer, FarEndBase):
            mib.tcp_segment(v6, size, True, False)
        else:
            mib.tcp_looped(v6, size)

    def _count_close(self, reset: bool) -> None:
        """The FIN (or RST) a close sends to a live peer."""
        self.count_segment(0)
        if reset:
            mib.TCP["OutRsts"] += 1
            if self.state == TCP_ESTABLISHED:
                mib.TCP["EstabResets"] += 1

    def peer_gone(self) -> None:
        """The far end closed (a host connection stops relaying)."""

    def _release(self, embryo: bool) -> None:
        if self.dead:
            return
        reset = bool(self.queue) or embryo or (self.linger == 0 and self.state == TCP_ESTABLISHED)
        if self.peer is not None:
            self._count_close(reset)
        if not reset and self.state == TCP_ESTABLISHED and self.local_port and (
                self.closed_first or not self.shut & RCV_SHUTDOWN):
            TimeWait.enter(self)
        self._abort_peer(reset)
        self.drop_port()
        super()._release(embryo)

    # -- data
    async def sendmsg(self, data: bytes, addr: Optional[bytes], flags: int, who: Optional[Who],
                      files: Optional[list[OpenFile]] = None, creds: Optional[UCred] = None,
                      claimed: Optional[UCred] = None) -> int:
        """tcp_sendmsg: the address is ignored; errors in Linux's order."""
        refuse_rights(files)
        if self.state != TCP_ESTABLISHED:
            err = self.take_error()
            if err:
                raise Errno(err)
            raise SigPipe()
        err = self.take_error()
        if err:
            raise SigPipe() if err == EPIPE else Errno(err)
        if self.shut & SEND_SHUTDOWN:
            raise SigPipe()
        other = self.peer
        if other is None or other.dead:
            if data:                            # the peer is gone: its RST answers these bytes
                self.err = EPIPE
                self.shut = SHUTDOWN_MASK
                self.wq.wake_all()
            return len(data)
        if flags & MSG_OOB:
            flags &= ~MSG_OOB                   # urgent data arrives in line here
            # tcp_urg: SIGURG to the receiver's owner (tcp_check_urg, fs/fasync.py), then its own
            # sk_data_ready ahead of the data's
            other.wq.wake_poll(POLLPRI | READABLE)
        self.count_segment(len(data))
        return await self._stream_send(data, None, flags, who, [], creds or self.creator, None)

    async def recvmsg(self, n: int, flags: int) -> Received:
        if self.state == TCP_LISTEN:
            raise Errno(ENOTCONN)
        if self.state != TCP_ESTABLISHED:
            err = self.take_error()
            if err:
                raise Errno(err)
            if self.shut & RCV_SHUTDOWN:
                return Received(b"", 0)
            raise Errno(ENOTCONN)
        if flags & MSG_OOB:
            raise Errno(EINVAL)                 # no urgent data
        return await self._stream_recv(n, flags)

    # -- options
    def _set_sol(self, name: int, value: bytes) -> None:
        super()._set_sol(name, value)
        if name == SO_SNDBUF:
            self.buf_set |= 1
        elif name == SO_RCVBUF:
            self.buf_set |= 2

    def getsockopt(self, level: int, name: int) -> bytes:
        if level == SOL_SOCKET and name == SO_SNDBUF and not self.buf_set & 1:
            return INT.pack(TCP_WMEM_DEFAULT)
        return super().getsockopt(level, name)

    def set_proto_option(self, level: int, name: int, value: bytes) -> None:
        if level != IPPROTO_TCP:
            raise Errno(ENOPROTOOPT)
        if name == TCP_CONGESTION:
            if value.split(b"\0", 1)[0] not in (b"cubic", b"reno"):
                raise Errno(ENOENT)
            return
        if len(value) < INT.size:
            raise Errno(EINVAL)
        (val,) = INT.unpack_from(value)
        if name == TCP_MAXSEG:
            if val and not 88 <= val <= 32767:
                raise Errno(EINVAL)
            self.maxseg = val
            return
        spec = TCP_INTS.get(name)
        if spec is None:
            raise Errno(ENOPROTOOPT)
        _, low, high = spec
        if (low is not None and val < low) or (high is not None and val > high):
            raise Errno(EINVAL)
        self.tcp_opts[name] = int(val != 0) if name in TCP_BOOLS else val
        if name == TCP_CORK and not val:
            self.tcp_opts[name] = 0

    def get_proto_option(self, level: int, name: int) -> bytes:
        if level != IPPROTO_TCP:
            raise Errno(ENOPROTOOPT)
        if name == TCP_CONGESTION:
            return b"cubic".ljust(16, b"\0")
        if name == TCP_INFO:
            info = bytearray(TCP_INFO_SIZE)
            info[0] = self.state
            return bytes(info)
        if name == TCP_MAXSEG:
            if self.maxseg:
                return INT.pack(self.maxseg)
            return INT.pack(LOOPBACK_MSS if self.state == TCP_ESTABLISHED else TCP_MSS_DEFAULT)
        if name in self.tcp_opts:
            return INT.pack(self.tcp_opts[name])
        raise Errno(ENOPROTOOPT)



def link(a: TcpSocket, b: TcpSocket) -> None:
    """Two established ends, each the other's peer."""
    a.peer, b.peer = b, a
    a.state = b.state = TCP_ESTABLISHED
    a.wq.wake_poll(POLLOUT | POLLWRNORM)


def find_listener(dest: bytes, port: int) -> Optional[TcpSocket]:
    """The listening socket a connection to dest:port reaches: an exact address before a
    wildcard, an AF_INET socket before an AF_INET6 one for IPv4 (compute_score)."""
    best: Optional[TcpSocket] = None
    best_score = -1
    v4 = v4_of(dest) is not None
    for sk in TCP_PORTS.users(port):
        if not isinstance(sk, TcpSocket) or not sk.listening or not receives(sk, dest):
            continue
        score = (2 if sk.local_ip not in (bytes(4), bytes(16)) and v4_of(sk.local_ip) != bytes(4) else 0) + \
            (1 if (sk.family == AF_INET) == v4 else 0)
        if score > best_score:
            best, best_score = sk, score
    return best


class TimeWait:
    """What stays of a connection this side closed first (inet_timewait_sock): its address
    and port held for TCP_TIMEWAIT_LEN, in the port table (bind conflicts) and /proc/net/tcp.
    It keeps the closed socket's SO_REUSEADDR/SO_REUSEPORT: a bind that sets SO_REUSEADDR as
    the closed socket did may take the port again, one that does not gets EADDRINUSE."""
    state = TCP_TIME_WAIT
    listening = False
    v6only = False

    def __init__(self, sk: TcpSocket):
        self.family, self.local_ip, self.local_port = sk.family, sk.local_ip, sk.local_port
        self.peer_ip, self.peer_port = sk.peer_ip, sk.peer_port
        self.v6only, self.reuseaddr, self.reuseport = sk.v6only, sk.reuseaddr, sk.reuseport
        self.owner_uid = sk.uid
        self.ino = 0

    @property
    def uid(self) -> int:
        return self.owner_uid

    @classmethod
    def enter(cls, sk: TcpSocket) -> None:
        tw = cls(sk)
        mib.TCPEXT["TW"] += 1
        TCP_PORTS.add(tw, tw.local_port)
        try:
            asyncio.get_running_loop().call_later(TCP_TIMEWAIT_LEN, TCP_PORTS.remove, tw, tw.local_port)
        except RuntimeError:
            TCP_PORTS.remove(tw, tw.local_port)     # no event loop (a unit test): nothing to wait in


class FarEndBase(TcpSocket):
    """The guest-side stand-in for a host connection (inet_host.FarEnd): what it sends comes
    into the guest from outside."""

    def count_segment(self, size: int) -> None:
        mib.tcp_segment(v4_of(self.local_ip) is None, size, False, True)


def _established() -> int:
    """CurrEstab: connections in ESTABLISHED (CLOSE_WAIT is not told apart here)."""
    seen = {id(s) for users in TCP_PORTS.ports.values() for s in users
            if isinstance(s, TcpSocket) and s.state == TCP_ESTABLISHED and not s.dead}
    return len(seen)


mib.established[0] = _established


def create_tcp(family: int, flags: int, who: Who) -> TcpSocket:
    return TcpSocket(family, flags, who)

