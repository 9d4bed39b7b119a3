"""ICMP echo: ping sockets (SOCK_DGRAM + IPPROTO_ICMP/ICMPV6, Linux's net/ipv4/ping.c), raw
ICMP sockets (SOCK_RAW, raw.c/ipv6/raw.c) and the kernel's own echo responder (icmp_echo).

No packets move inside moss-py, but ICMP is small enough to carry as packets: a send builds
the ICMP message (a ping socket's ident and checksum filled in as ping_v4_sendmsg does) and
`transmit` takes it to its destination: a local address loops it back (`receive`: a copy to
every raw socket, an echo request answered, an echo reply to the ping socket of its ident);
the gateway and DNS addresses answer echo themselves, as QEMU's slirp does (ttl 255); other
addresses go out through a host ping socket when the host lets moss-host open one (its
net.ipv4.ping_group_range), else the request is lost, as slirp loses it.

Ping sockets need the caller's group inside net.ipv4.ping_group_range (default "1 0": no
group, as Linux's); raw sockets need CAP_NET_RAW. A raw IPv4 socket reads the IP header
before the ICMP message; IPv6 raw sockets never see one, and the kernel sums ICMPv6 for them.
"""
from __future__ import annotations

import asyncio
import socket as pysocket
import struct
from typing import Optional

from ..errors import (EACCES, EADDRNOTAVAIL, EAFNOSUPPORT, EAGAIN, EDESTADDRREQ, EINVAL, EMSGSIZE, ENETUNREACH, ENOPROTOOPT,
                      EOPNOTSUPP, Errno)
from ..fs.drivers.procfs.sysctl import int_vector, register_sysctl
from ..fs.file import OpenFile
from . import inet_stats as mib
from .inet_addr import ANY4, SIN, family_of, pack, unpack_in, v4_of
from .inet_ports import PortTable
from .inet_sock import (DEFAULT_TTL, IP_RECVTOS, IP_RECVTTL, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_IPV6,
                        IPV6_2292HOPLIMIT, IPV6_HOPLIMIT, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS, refuse_rights)
from .inet_udp import Datagram, UdpSocket
from .interfaces import DNS4, DNS6, GATEWAY4, GATEWAY6, NETWORK
from .socket import (AF_INET, INT, MSG_DONTWAIT, MSG_ERRQUEUE, MSG_OOB, MSG_PEEK, MSG_TRUNC, RCV_SHUTDOWN,
                     SOCK_DGRAM, SOCK_RAW, Received, UCred, Who, timeout_seconds, wait_for_datagram)

ICMP_ECHOREPLY, ICMP_ECHO = 0, 8
ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY = 128, 129
SOL_RAW, ICMP_FILTER = 255, 1
IPV6_CHECKSUM = 7
ICMPV6_FILTER = 1
IP_TTL_CMSG, IP_TOS_CMSG = 2, 1
IPV6_TCLASS_CMSG = 67
SLIRP_TTL = 255                     # slirp's icmp_reflect: MAXTTL
IPHDR = struct.Struct("!BBHHHBBH4s4s")
GID_MAX = 0x7FFF_FFFF
PING_GROUP_RANGE = [1, 0]           # net.ipv4.ping_group_range: the default holds no group
PING_PORTS = PortTable(tcp=False)   # ping sockets by ident (ping_table)


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _with_checksum(msg: bytes, src: bytes, dst: bytes) -> bytes:
    """msg with its checksum field filled: ICMPv6 sums a pseudo-header too."""
    body = msg[:2] + b"\0\0" + msg[4:]
    if len(dst) == 16:
        pseudo = src + dst + struct.pack("!IxxxB", len(body), IPPROTO_ICMPV6)
        return body[:2] + struct.pack("!H", checksum(pseudo + body)) + body[4:]
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def _net(ip: bytes) -> bytes:
    """ip as the network layer sees it: 4 bytes for IPv4 (mapped or not), else 16."""
    return v4_of(ip) or ip


# ---------------------------------------------------------------- sockets

class IcmpDatagram(Datagram):
    __slots__ = ("ttl",)

    def __init__(self, data: bytes, src: bytes, ttl: int):
        super().__init__(data, src, 0)
        self.ttl = ttl


class PingSocket(UdpSocket):
    """A ping socket: sends echo requests (its ident as the id), receives the replies to it."""
    table = PING_PORTS

    def __init__(self, family: int, flags: int, who: Who, type_: int = SOCK_DGRAM):
        super().__init__(family, flags, who)
        self.type = type_
        self.protocol = IPPROTO_ICMP if family == AF_INET else IPPROTO_ICMPV6
        self.icmp_filter = 0                    # raw ICMP_FILTER: the types not delivered
        self.icmp6_filter = bytes(32)           # raw ICMPV6_FILTER: a blocked bit per type
        SOCKETS.append(self)

    @property
    def v4(self) -> bool:
        return self.family == AF_INET

    def release(self) -> None:
        if self in SOCKETS:
            SOCKETS.remove(self)
        super().release()

    def autobind(self) -> None:
        if not self.local_port:
            self.take_port(0, parity=2)

    # -- sending
    def _message(self, data: bytes) -> bytes:
        """ping_common_sendmsg's checks of the user's header: an echo request, code 0."""
        if len(data) < 8:
            raise Errno(EINVAL)
        echo = ICMP_ECHO if self.v4 else ICMPV6_ECHO_REQUEST
        if data[0] != echo or data[1] != 0:
            raise Errno(EINVAL)
        return data[:4] + struct.pack("!H", self.local_port) + data[6:]

    def _dest_of(self, addr: Optional[bytes]) -> bytes:
        """ping_v4_sendmsg/ping_v6_sendmsg's reading of msg_name (the port ignored)."""
        if not addr:
            if self.peer_ip is None:
                raise Errno(EDESTADDRREQ)
            return self.peer_ip
        if self.v4:
            if len(addr) < SIN.size:
                raise Errno(EINVAL)
            if family_of(addr) != AF_INET:
                raise Errno(EAFNOSUPPORT)
            return unpack_in(addr)[0]
        return self._dest(addr)[0]

    async def sendmsg(self, data: bytes, addr: Optional[bytes], flags: int, who: Optional[Who],
                      files: Optional[list[OpenFile]] = None, creds: Optional[UCred] = None,
                      claimed: Optional[UCred] = None) -> int:
        refuse_rights(files)
        if len(data) > 0xFFFF:
            raise Errno(EMSGSIZE)
        if flags & MSG_OOB:
            raise Errno(EOPNOTSUPP)
        self.autobind()
        msg = self._message(data)
        dest = _net(self._route(self._dest_of(addr)))
        self._send(msg, dest)
        return len(data)

    def _send(self, msg: bytes, dest: bytes) -> None:
        if not NETWORK.routable(dest):
            raise Errno(ENETUNREACH)
        src = _net(self.local_ip)
        if src in (ANY4, bytes(16)):
            src = NETWORK.source_for(dest)
        ttl = DEFAULT_TTL if self.ttl == -1 else self.ttl
        transmit(_with_checksum(msg, src, dest), src, dest, ttl)

    # -- receiving
    def accepts(self, msg: bytes, src: bytes, dst: bytes) -> bool:
        """ping_lookup: an echo reply with this socket's ident, to its address (or any)."""
        reply = ICMP_ECHOREPLY if self.v4 else ICMPV6_ECHO_REPLY
        if msg[0] != reply or struct.unpack_from("!H", msg, 4)[0] != self.local_port or self.dead:
            return False
        local = _net(self.local_ip)
        if local not in (ANY4, bytes(16)) and local != dst:
            return False
        return self.peer_ip is None or _net(self.peer_ip) == src

    def deliver_icmp(self, data: bytes, src: bytes, ttl: int) -> None:
        size = len(data) + 576
        if self.rmem + size > self.rcvbuf and self.queue:
            return
        self.rmem += size
        self.queue.append(IcmpDatagram(data, self.own(src), ttl))
        self.wq.wake_poll(0x41)                 # POLLIN | POLLRDNORM

    async def recvmsg(self, n: int, flags: int) -> Received:
        if flags & MSG_OOB:
            raise Errno(EOPNOTSUPP)
        if flags & MSG_ERRQUEUE:
            raise Errno(EAGAIN)                 # no ICMP errors are ever queued
        timeout = timeout_seconds(self.rcvtimeo, bool(flags & MSG_DONTWAIT))
        if not await wait_for_datagram(self, self.queue, timeout):
            return Received(b"", 0)
        d = self.queue[0]
        assert isinstance(d, IcmpDatagram)
        got = Received(d.data[:n], 0, pack(self.family, d.src, 0), control=self._control(d))
        if n < len(d.data):
            got.flags |= MSG_TRUNC
        got.count = len(d.data) if flags & MSG_TRUNC and self.type == SOCK_RAW else len(got.data)
        if not flags & MSG_PEEK:
            self.queue.popleft()
            self.rmem -= len(d.data) + 576
        return got

    def _control(self, d: IcmpDatagram) -> tuple[tuple[int, int, bytes], ...]:
        """ip_cmsg_recv / ip6_datagram_recv_specific_ctl: what the socket asked to be told."""
        out: list[tuple[int, int, bytes]] = []
        if self.v4:
            if self.ip_opts[IP_RECVTTL]:
                out.append((0, IP_TTL_CMSG, INT.pack(d.ttl)))
            if self.ip_opts[IP_RECVTOS]:
                out.append((0, IP_TOS_CMSG, b"\0"))
        else:
            if self.ipv6_opts[IPV6_2292HOPLIMIT]:
                out.append((IPPROTO_IPV6, IPV6_2292HOPLIMIT, INT.pack(d.ttl)))
            if self.ipv6_opts[IPV6_RECVHOPLIMIT]:
                out.append((IPPROTO_IPV6, IPV6_HOPLIMIT, INT.pack(d.ttl)))
            if self.ipv6_opts[IPV6_RECVTCLASS]:
                out.append((IPPROTO_IPV6, IPV6_TCLASS_CMSG, INT.pack(0)))
        return tuple(out)

    # -- options: ping_setsockopt hands the ICMP levels nothing
    def set_proto_option(self, level: int, name: int, value: bytes) -> None:
        raise Errno(ENOPROTOOPT)

    def get_proto_option(self, level: int, name: int) -> bytes:
        raise Errno(ENOPROTOOPT)


class RawIcmpSocket(PingSocket):
    """SOCK_RAW for ICMP: sends the caller's ICMP message as it is (IPv6: checksum filled in),
    receives a copy of every ICMP message the guest gets (IPv4: behind its IP header)."""

    def __init__(self, family: int, flags: int, who: Who):
        super().__init__(family, flags, who, SOCK_RAW)
        self.local_port = self.protocol         # inet_num is the protocol, never in a port table

    def autobind(self) -> None:
        pass

    def take_port(self, port: int, parity: int = 1) -> None:
        pass

    def drop_port(self) -> None:
        pass

    def bind(self, addr: bytes, who: Who) -> None:
        """raw_bind: an address of this host (no port)."""
        ip = unpack_in(addr)[0] if self.v4 else self._dest(addr)[0]
        if not NETWORK.is_local(_net(ip)) and _net(ip)[0] < 224:
            raise Errno(EADDRNOTAVAIL)
        self.local_ip = ip

    def _message(self, data: bytes) -> bytes:
        return data

    def _send(self, msg: bytes, dest: bytes) -> None:
        if not self.v4:
            super()._send(msg, dest)            # the kernel sums ICMPv6 (IPV6_CHECKSUM offset 2)
            return
        if not NETWORK.routable(dest):
            raise Errno(ENETUNREACH)
        src = _net(self.local_ip)
        if src == ANY4:
            src = NETWORK.source_for(dest)
        transmit(msg, src, dest, DEFAULT_TTL if self.ttl == -1 else self.ttl)

    def accepts(self, msg: bytes, src: bytes, dst: bytes) -> bool:
        """raw_v4_input's match: the protocol, a bound and a connected address; then the filter."""
        if self.dead or (len(dst) == 4) != self.v4:
            return False
        local = _net(self.local_ip)
        if local not in (ANY4, bytes(16)) and local != dst:
            return False
        if self.peer_ip is not None and _net(self.peer_ip) != src:
            return False
        if self.v4:
            return not (msg[0] < 32 and self.icmp_filter >> msg[0] & 1)
        return not (self.icmp6_filter[msg[0] >> 3] >> (msg[0] & 7) & 1)

    def deliver_icmp(self, data: bytes, src: bytes, ttl: int, dst: bytes = ANY4) -> None:
        if self.v4:
            header = IPHDR.pack(0x45, 0, IPHDR.size + len(data), next(_ip_ids) & 0xFFFF, 0, ttl, IPPROTO_ICMP, 0,
                                src, dst)
            header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
            data = header + data
        super().deliver_icmp(data, src, ttl)

    def set_proto_option(self, level: int, name: int, value: bytes) -> None:
        if self.v4 and level == SOL_RAW and name == ICMP_FILTER:
            if len(value) < 4:
                raise Errno(EINVAL)
            self.icmp_filter = struct.unpack_from("<I", value)[0]
        elif not self.v4 and level == IPPROTO_ICMPV6 and name == ICMPV6_FILTER:
            self.icmp6_filter = (value[:32] + bytes(32))[:32]
        elif not self.v4 and level == SOL_RAW and name == IPV6_CHECKSUM:
            # do_rawv6_setsockopt: an odd offset is EINVAL; ICMPv6 is summed at 2 whatever is set
            if len(value) < 4:
                raise Errno(EINVAL)
            offset = INT.unpack_from(value)[0]
            if offset > 0 and offset & 1:
                raise Errno(EINVAL)
        else:
            raise Errno(ENOPROTOOPT)

    def getsockopt(self, level: int, name: int) -> bytes:
        if level in (SOL_RAW, IPPROTO_ICMPV6):
            return self.get_proto_option(level, name)   # raw_getsockopt / rawv6_getsockopt
        return super().getsockopt(level, name)

    def get_proto_option(self, level: int, name: int) -> bytes:
        if self.v4 and level == SOL_RAW and name == ICMP_FILTER:
            return struct.pack("<I", self.icmp_filter)
        if not self.v4 and level == IPPROTO_ICMPV6 and name == ICMPV6_FILTER:
            return self.icmp6_filter
        raise Errno(ENOPROTOOPT)


def _counter():
    n = 0
    while True:
        n += 1
        yield n


_ip_ids = _counter()
SOCKETS: list[PingSocket] = []


def ping_allowed(who: Who) -> bool:
    """ping_init_sock: the caller's group or a supplementary one inside ping_group_range."""
    low, high = PING_GROUP_RANGE
    return any(low <= g <= high for g in (who.cred.gid, *who.cred.groups))


def create_icmp(family: int, type_: int, flags: int, who: Who) -> PingSocket:
    if type_ == SOCK_RAW:
        return RawIcmpSocket(family, flags, who)
    if not ping_allowed(who):
        raise Errno(EACCES)
    return PingSocket(family, flags, who)


# ---------------------------------------------------------------- the wire

def transmit(msg: bytes, src: bytes, dst: bytes, ttl: int) -> None:
    """An ICMP message leaves src for dst: looped back, answered by the gateway, or sent out."""
    if NETWORK.is_local(dst):
        mib.count_icmp(len(dst) == 16, msg[0], len(msg), True, True)
        receive(msg, src, dst, ttl)
        return
    mib.count_icmp(len(dst) == 16, msg[0], len(msg), True, False)
    if dst in (GATEWAY4, DNS4, GATEWAY6, DNS6):
        if msg[0] in (ICMP_ECHO, ICMPV6_ECHO_REQUEST):
            asyncio.get_event_loop().call_soon(arrive, _reply(msg, dst, src), dst, src, SLIRP_TTL)
    else:
        _send_out(msg, src, dst)


def _reply(msg: bytes, src: bytes, dst: bytes) -> bytes:
    reply = ICMP_ECHOREPLY if len(dst) == 4 else ICMPV6_ECHO_REPLY
    return _with_checksum(bytes([reply, 0]) + msg[2:], src, dst)


def arrive(msg: bytes, src: bytes, dst: bytes, ttl: int) -> None:
    """An ICMP message from outside the guest (the gateway's answer, the host's reply)."""
    mib.count_icmp(len(dst) == 16, msg[0], len(msg), False, True)
    receive(msg, src, dst, ttl)


def receive(msg: bytes, src: bytes, dst: bytes, ttl: int) -> None:
    """icmp_rcv (counted by the caller): raw sockets see it first; an echo request is
    answered, a reply goes to the ping socket of its ident."""
    if len(msg) < 8:
        return
    v6 = len(dst) == 16
    for sk in list(SOCKETS):
        if sk.type == SOCK_RAW and sk.accepts(msg, src, dst):
            assert isinstance(sk, RawIcmpSocket)
            sk.deliver_icmp(msg, src, ttl, dst)
    if msg[0] == (ICMPV6_ECHO_REQUEST if v6 else ICMP_ECHO):
        if v6 or checksum(msg) == 0:
            transmit(_reply(msg, dst, src), dst, src, DEFAULT_TTL)
        return
    if msg[0] == (ICMPV6_ECHO_REPLY if v6 else ICMP_ECHOREPLY):
        for sk in SOCKETS:
            if sk.type == SOCK_DGRAM and sk.accepts(msg, src, dst):
                sk.deliver_icmp(msg, src, ttl)
                return


# ---------------------------------------------------------------- out through the host

def _send_out(msg: bytes, src: bytes, dst: bytes) -> None:
    """An echo request to the world through a host ping socket (the host's kernel picks the
    id and answers to it; the reply gets the guest's id back). Lost if the host refuses one."""
    if msg[0] not in (ICMP_ECHO, ICMPV6_ECHO_REQUEST):
        return
    family = pysocket.AF_INET if len(dst) == 4 else pysocket.AF_INET6
    proto = pysocket.IPPROTO_ICMP if len(dst) == 4 else pysocket.IPPROTO_ICMPV6
    try:
        host = pysocket.socket(family, pysocket.SOCK_DGRAM | pysocket.SOCK_NONBLOCK, proto)
    except OSError:
        return                              # the host's ping_group_range leaves moss-host out
    loop = asyncio.get_event_loop()
    ident = msg[4:6]
    try:
        host.sendto(msg, (pysocket.inet_ntop(family, dst), 0))
    except OSError:
        host.close()
        return

    def readable() -> None:
        try:
            data = host.recv(0x10000)
        except OSError:
            return
        done()
        if data and data[0] in (ICMP_ECHOREPLY, ICMPV6_ECHO_REPLY):
            arrive(_with_checksum(data[:4] + ident + data[6:], dst, src), dst, src, DEFAULT_TTL)

    def done() -> None:
        loop.remove_reader(host.fileno())
        host.close()
        timer.cancel()

    loop.add_reader(host.fileno(), readable)
    timer = loop.call_later(10.0, done)


def _set_group_range(values: list[int]) -> None:
    """ipv4_ping_group_range: a range within 0..GID_MAX; an empty one ("1 0") is kept as written."""
    low, high = values[0], values[1]
    if not (0 <= low <= GID_MAX and 0 <= high <= GID_MAX):
        raise Errno(EINVAL)
    if high < low:
        low, high = 1, 0
    PING_GROUP_RANGE[:] = [low, high]


register_sysctl(int_vector("net/ipv4/ping_group_range", lambda: PING_GROUP_RANGE, _set_group_range,
                           lo=0, hi=GID_MAX))
