"""AF_NETLINK, NETLINK_ROUTE only (Linux's net/netlink/af_netlink.c and the rtnetlink dumps
of net/core/rtnetlink.c, net/ipv4/devinet.c, net/ipv6/addrconf.c, net/ipv4/fib_frontend.c):
what `ip addr`, `ip link`, `ip route` and glibc's getaddrinfo(AI_ADDRCONFIG) ask.

A request is a sendmsg of nlmsghdrs; the answer is queued at once as datagrams for the
socket to read: RTM_NEWLINK per interface, RTM_NEWADDR per address, RTM_NEWROUTE per route
of the main table, then NLMSG_DONE; anything else an NLMSG_ERROR (EOPNOTSUPP for a request
it does not serve, 0 as the acknowledgement NLM_F_ACK asks for). Nothing can be changed
(RTM_NEWADDR and friends are EPERM without CAP_NET_ADMIN, EOPNOTSUPP with it).
"""
from __future__ import annotations

import itertools
import struct
from collections import deque
from typing import Optional

from ..errors import EADDRINUSE, EINVAL, EOPNOTSUPP, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT, Errno
from ..fs.file import POLLOUT, POLLWRNORM, OpenFile
from ..waitq import WaitQueue
from .interfaces import GATEWAY4, NETWORK, IfAddr, Interface
from .socket import (AF_INET, AF_INET6, AF_NETLINK, AF_UNSPEC, MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC, SOCK_DGRAM,
                     SOCK_RAW, Received, Socket, UCred, Who, register_family, sock_wait, timeout_seconds)
from .unix import READABLE

NETLINK_ROUTE = 0
NLMSGHDR = struct.Struct("<IHHII")          # len, type, flags, seq, pid
SOCKADDR_NL = struct.Struct("<HHII")        # family, pad, pid, groups
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x2, 0x4, 0x300
RTM_NEWLINK, RTM_GETLINK, RTM_NEWADDR, RTM_GETADDR, RTM_NEWROUTE, RTM_GETROUTE = 16, 18, 20, 22, 24, 26
IFLA_ADDRESS, IFLA_BROADCAST, IFLA_IFNAME, IFLA_MTU, IFLA_QDISC, IFLA_TXQLEN = 1, 2, 3, 4, 6, 13
IFLA_OPERSTATE, IFLA_LINKMODE, IFLA_GROUP = 16, 17, 27
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS = 1, 2, 3, 4, 6, 8
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PREFSRC, RTA_TABLE = 1, 4, 5, 7, 15
RT_TABLE_MAIN = 254
RTPROT_KERNEL, RTPROT_BOOT = 2, 3
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK = 0, 253
RTN_UNICAST = 1
IFA_F_PERMANENT = 0x80
IF_OPER_UNKNOWN, IF_OPER_UP = 0, 6
IFF_LOWER_UP = 0x10000
FOREVER = 0xFFFF_FFFF
_portids = itertools.count(0)


def _attr(kind: int, data: bytes) -> bytes:
    n = 4 + len(data)
    return struct.pack("<HH", n, kind) + data + bytes(-n % 4)


def _msg(kind: int, flags: int, seq: int, pid: int, body: bytes) -> bytes:
    n = NLMSGHDR.size + len(body)
    return NLMSGHDR.pack(n, kind, flags, seq, pid) + body + bytes(-n % 4)


def link_body(iface: Interface) -> bytes:
    """struct ifinfomsg and the attributes `ip link` prints."""
    loop = iface.name == "lo"
    body = struct.pack("<BxHiII", AF_UNSPEC, iface.hwtype, iface.index, iface.flags | IFF_LOWER_UP, 0)
    body += _attr(IFLA_IFNAME, iface.name.encode() + b"\0")
    body += _attr(IFLA_TXQLEN, struct.pack("<I", 1000))
    body += _attr(IFLA_OPERSTATE, bytes([IF_OPER_UNKNOWN if loop else IF_OPER_UP]))
    body += _attr(IFLA_LINKMODE, b"\0")
    body += _attr(IFLA_MTU, struct.pack("<I", iface.mtu))
    body += _attr(IFLA_GROUP, struct.pack("<I", 0))
    body += _attr(IFLA_QDISC, b"noqueue\0" if loop else b"pfifo_fast\0")
    body += _attr(IFLA_ADDRESS, iface.mac)
    body += _attr(IFLA_BROADCAST, iface.hw_broadcast)
    return body


def addr_body(iface: Interface, a: IfAddr) -> bytes:
    """struct ifaddrmsg and its attributes (permanent, valid for ever)."""
    family = AF_INET if len(a.ip) == 4 else AF_INET6
    body = struct.pack("<BBBBI", family, a.prefix, IFA_F_PERMANENT, a.scope, iface.index)
    body += _attr(IFA_ADDRESS, a.ip)
    if family == AF_INET:
        body += _attr(IFA_LOCAL, a.ip)
        if a.broadcast is not None:
            body += _attr(IFA_BROADCAST, a.broadcast)
        body += _attr(IFA_LABEL, iface.name.encode() + b"\0")
    body += _attr(IFA_FLAGS, struct.pack("<I", IFA_F_PERMANENT))
    body += _attr(IFA_CACHEINFO, struct.pack("<IIII", FOREVER, FOREVER, 0, 0))
    return body


def route_bodies(family: int) -> list[bytes]:
    """The main table: with eth0, a default route through the gateway and the subnet's own."""
    eth0 = NETWORK.by_name("eth0")
    if eth0 is None or family not in (AF_UNSPEC, AF_INET):
        return []
    out = []
    for dst, prefix, gw, proto, scope in ((None, 0, GATEWAY4, RTPROT_BOOT, RT_SCOPE_UNIVERSE),
                                          (bytes([10, 0, 2, 0]), 24, None, RTPROT_KERNEL, RT_SCOPE_LINK)):
        body = struct.pack("<BBBBBBBBI", AF_INET, prefix, 0, 0, RT_TABLE_MAIN, proto, scope, RTN_UNICAST, 0)
        body += _attr(RTA_TABLE, struct.pack("<I", RT_TABLE_MAIN))
        if dst is not None:
            body += _attr(RTA_DST, dst)
        if gw is not None:
            body += _attr(RTA_GATEWAY, gw)
        else:
            body += _attr(RTA_PREFSRC, bytes([10, 0, 2, 15]))
        body += _attr(RTA_OIF, struct.pack("<i", eth0.index))
        out.append(body)
    return out


class NetlinkSocket(Socket):
    family = AF_NETLINK

    def __init__(self, type_: int, protocol: int, flags: int, who: Who):
        super().__init__(type_, protocol, flags, who)
        self.portid = 0
        self.groups = 0
        self.queue: deque[bytes] = deque()
        self.wq = WaitQueue()
        self.caller = who.pid

    @property
    def poll_wq(self) -> WaitQueue:
        return self.wq

    def poll_events(self, events: int) -> int:
        return (READABLE if self.queue else 0) | POLLOUT | POLLWRNORM

    def _autobind(self) -> None:
        if not self.portid:
            self.portid = self.caller if self.caller not in _bound else (-4096 - next(_portids)) & 0xFFFF_FFFF
            _bound.add(self.portid)

    def bind(self, addr: bytes, who: Who) -> None:
        if len(addr) < SOCKADDR_NL.size:
            raise Errno(EINVAL)
        family, _, pid, groups = SOCKADDR_NL.unpack_from(addr)
        if family != AF_NETLINK:
            raise Errno(EINVAL)
        if pid and self.portid and pid != self.portid:
            raise Errno(EINVAL)
        if pid and not self.portid:
            if pid in _bound:
                raise Errno(EADDRINUSE)
            self.portid = pid
            _bound.add(pid)
        self._autobind()
        self.groups = groups

    async def connect(self, addr: bytes, who: Who) -> None:
        if len(addr) < 2:
            raise Errno(EINVAL)
        self._autobind()

    def getname(self, peer: bool) -> bytes:
        if peer:
            return SOCKADDR_NL.pack(AF_NETLINK, 0, 0, 0)
        return SOCKADDR_NL.pack(AF_NETLINK, 0, self.portid, self.groups)

    def release(self) -> None:
        _bound.discard(self.portid)
        self.queue.clear()

    async def sendmsg(self, data: bytes, addr: Optional[bytes], flags: int, who: Optional[Who],
                      files: Optional[list[OpenFile]] = None, creds: Optional[UCred] = None,
                      claimed: Optional[UCred] = None) -> int:
        for f in files or []:
            f.put()
        self._autobind()
        off = 0
        while off + NLMSGHDR.size <= len(data):
            length, kind, mflags, seq, _pid = NLMSGHDR.unpack_from(data, off)
            if length < NLMSGHDR.size or off + length > len(data):
                break
            self._answer(kind, mflags, seq, data[off:off + length], who)
            off += (length + 3) & ~3
        return len(data)

    def _answer(self, kind: int, flags: int, seq: int, request: bytes, who: Optional[Who]) -> None:
        if not flags & NLM_F_REQUEST:
            return
        family = request[NLMSGHDR.size] if len(request) > NLMSGHDR.size else AF_UNSPEC
        bodies: Optional[list[tuple[int, bytes]]] = None
        if kind == RTM_GETLINK:
            bodies = [(RTM_NEWLINK, link_body(i)) for i in NETWORK.interfaces]
            if not flags & NLM_F_DUMP and len(request) >= NLMSGHDR.size + 8:
                index = struct.unpack_from("<i", request, NLMSGHDR.size + 4)[0]
                found = NETWORK.by_index(index)
                if found is None:
                    self._error(-19, seq, request)      # ENODEV
                    return
                self._queue([_msg(RTM_NEWLINK, 0, seq, self.portid, link_body(found))])
                return
        elif kind == RTM_GETADDR:
            bodies = [(RTM_NEWADDR, addr_body(i, a)) for want in (AF_INET, AF_INET6) for i in NETWORK.interfaces
                      for a in i.addrs if family in (AF_UNSPEC, want) and (len(a.ip) == 4) == (want == AF_INET)]
        elif kind == RTM_GETROUTE:
            bodies = [(RTM_NEWROUTE, b) for b in route_bodies(family)]
        if bodies is None:
            writes = kind in (RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE, 17, 21, 25)
            code = EPERM if writes and not (who is not None and who.privileged) else EOPNOTSUPP
            self._error(-code, seq, request)
            return
        msgs = [_msg(k, NLM_F_MULTI, seq, self.portid, b) for k, b in bodies]
        msgs.append(_msg(NLMSG_DONE, NLM_F_MULTI, seq, self.portid, struct.pack("<i", 0)))
        self._queue([b"".join(msgs)])

    def _error(self, code: int, seq: int, request: bytes) -> None:
        self._queue([_msg(NLMSG_ERROR, 0, seq, self.portid, struct.pack("<i", code) + request[:NLMSGHDR.size])])

    def _queue(self, datagrams: list[bytes]) -> None:
        self.queue.extend(datagrams)
        self.wq.wake_poll(READABLE)

    async def recvmsg(self, n: int, flags: int) -> Received:
        timeout = timeout_seconds(self.rcvtimeo, bool(flags & MSG_DONTWAIT))
        if not self.queue:
            await sock_wait(self.wq, lambda: bool(self.queue), timeout)
        d = self.queue[0]
        got = Received(d[:n], 0, SOCKADDR_NL.pack(AF_NETLINK, 0, 0, 0))
        if n < len(d):
            got.flags |= MSG_TRUNC
        got.count = len(d) if flags & MSG_TRUNC else len(got.data)
        if not flags & MSG_PEEK:
            self.queue.popleft()
        return got


_bound: set[int] = set()


def create_netlink(type_: int, protocol: int, flags: int, who: Who) -> NetlinkSocket:
    """netlink_create: raw or datagram sockets; only NETLINK_ROUTE is served here."""
    if type_ not in (SOCK_RAW, SOCK_DGRAM):
        raise Errno(ESOCKTNOSUPPORT)
    if protocol != NETLINK_ROUTE:
        raise Errno(EPROTONOSUPPORT)
    return NetlinkSocket(type_, protocol, flags, who)


register_family(AF_NETLINK, create_netlink)
