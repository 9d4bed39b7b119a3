"""UDP sockets (Linux's net/ipv4/udp.c, udp_ipv6.c, datagram.c) over the guest's loopback.

Each send is one datagram on the receiving socket's queue, with the sender's address;
a receive takes one (the rest of it dropped: MSG_TRUNC). The receiver is the socket bound
to the destination port whose address takes the destination (exact before wildcard) and,
if it is connected, is connected to the sender. No receiver: the port-unreachable answer
gives a connected sender ECONNREFUSED at its next call (an unconnected one never hears).
A queue holds what SO_RCVBUF allows (each datagram charged with its overhead); more is dropped.
Datagrams to addresses outside the guest go through host sockets (inet_host.py).
"""
from __future__ import annotations

import struct
from collections import deque
from typing import Optional

from ..errors import (EACCES, EAGAIN, ECONNREFUSED, EDESTADDRREQ, EINVAL, EMSGSIZE, ENETUNREACH, ENOPROTOOPT, ENOTCONN,
                      ENOTTY, EOPNOTSUPP, Errno)
from ..fs.file import FIONREAD, POLLERR, POLLHUP, POLLOUT, POLLRDHUP, POLLWRBAND, POLLWRNORM, OpenFile
from ..waitq import WaitQueue
from . import inet_mcast as mcast
from . import inet_stats as mib
from .inet_addr import (ANY4, LOOPBACK4, LOOPBACK6, SIN, SIN6_LEN_RFC2133, family_of, pack, unpack_in,
                        unpack_in6, v4_of)
from .inet_ports import UDP_PORTS, receives
from .inet_sock import IP_MULTICAST_ALL, IP_MULTICAST_LOOP, IPPROTO_UDP, SO_BROADCAST, InetBase, refuse_rights
from .interfaces import NETWORK, Interface
from .socket import (AF_INET, AF_UNSPEC, INT, MSG_DONTWAIT, MSG_OOB, MSG_PEEK, MSG_TRUNC, RCV_SHUTDOWN,
                     SHUTDOWN_MASK, SKB_OVERHEAD, SOCK_DGRAM, Received, UCred, Who, timeout_seconds,
                     wait_for_datagram)
from .unix import READABLE

SIOCOUTQ = 0x5411
UDP_CORK, UDP_ENCAP, UDP_NO_CHECK6_TX, UDP_NO_CHECK6_RX, UDP_SEGMENT, UDP_GRO = 1, 100, 101, 102, 103, 104
MAX_PAYLOAD4, MAX_PAYLOAD6 = 65507, 65527


class Datagram:
    __slots__ = ("data", "src", "port")

    def __init__(self, data: bytes, src: bytes, port: int):
        self.data, self.src, self.port = data, src, port


class UdpSocket(InetBase):
    table = UDP_PORTS

    def __init__(self, family: int, flags: int, who: Optional[Who]):
        super().__init__(SOCK_DGRAM, IPPROTO_UDP, flags, who)
        self.setup_family(family)
        self.queue: deque[Datagram] = deque()
        self.rmem = 0
        self.shut = 0
        self.wq = WaitQueue()
        self.udp_opts: dict[int, int] = {UDP_CORK: 0, UDP_SEGMENT: 0, UDP_GRO: 0,
                                         UDP_NO_CHECK6_TX: 0, UDP_NO_CHECK6_RX: 0}
        self.dead = False
        self.host_link: Optional[object] = None     # inet_host's relay for datagrams out of the guest

    @property
    def poll_wq(self) -> WaitQueue:
        return self.wq

    def poll_events(self, events: int) -> int:
        """datagram_poll: a UDP socket is always writable here (its sends never wait)."""
        mask = POLLERR if self.err else 0
        if self.shut & RCV_SHUTDOWN:
            mask |= READABLE | POLLRDHUP
        if self.shut == SHUTDOWN_MASK:
            mask |= POLLHUP
        if self.queue:
            mask |= READABLE
        return mask | POLLOUT | POLLWRNORM | POLLWRBAND

    async def ioctl(self, task, cmd: int, arg: int) -> int:
        if cmd == FIONREAD:
            amount = len(self.queue[0].data) if self.queue else 0
        elif cmd == SIOCOUTQ:
            amount = 0
        else:
            from .inet_ioctl import interface_ioctl
            return interface_ioctl(task, cmd, arg, ENOTTY)
        task.mm.write(arg, struct.pack("<i", amount))
        return 0

    def release(self) -> None:
        if self.dead:
            return
        self.dead = True
        mcast.leave_all(self.mc_groups)
        self.drop_port()
        self.queue.clear()
        self.wq.wake_all()
        from .inet_host import udp_closed
        udp_closed(self)

    # -- addresses
    def _dest(self, addr: bytes) -> tuple[bytes, int]:
        """udp_sendmsg/udpv6_sendmsg's reading of msg_name (the port checked by the caller)."""
        if self.family == AF_INET:
            return unpack_in(addr, unspec_ok=True)
        if len(addr) >= 2 and family_of(addr) == AF_INET and not self.v6only:
            return unpack_in(addr)
        if len(addr) < SIN6_LEN_RFC2133:
            raise Errno(EINVAL)
        ip, port = unpack_in6(addr)
        if v4_of(ip) is not None and self.v6only:
            raise Errno(ENETUNREACH)
        return ip, port

    @staticmethod
    def _route(ip: bytes) -> bytes:
        """The wildcard as a destination is the loopback."""
        if ip == ANY4 or v4_of(ip) == ANY4:
            return LOOPBACK4
        return LOOPBACK6 if ip == bytes(16) else ip

    def autobind(self) -> None:
        if not self.local_port:
            self.take_port(0, parity=2)

    async def connect(self, addr: bytes, who: Who) -> None:
        """ip4_datagram_connect/ip6_datagram_connect: the default destination and the only source."""
        if family_of(addr) == AF_UNSPEC:
            self.peer_ip = None
            self.peer_port = 0
            if not self.bind_locked:
                self.drop_port()
                self.local_ip = self.any_ip
            return
        if self.family == AF_INET and len(addr) < SIN.size:
            raise Errno(EINVAL)
        ip, port = self._dest(addr)
        dest = self._route(ip)
        v4 = v4_of(dest)
        if not NETWORK.routable(v4 if v4 is not None else dest):
            raise Errno(ENETUNREACH)
        if v4 is not None and mcast.broadcast_kind(v4) and not self.sol_flags[SO_BROADCAST]:
            raise Errno(EACCES)                 # ip4_datagram_connect: RTCF_BROADCAST needs it
        self.autobind()
        if self.local_ip == self.any_ip or v4_of(self.local_ip) == ANY4:
            self.local_ip = self.own(NETWORK.source_for(v4 if v4 is not None else dest))
        self.peer_ip, self.peer_port = self.own(dest), port
        self.wq.wake_poll(POLLOUT | POLLWRNORM)

    def getname(self, peer: bool) -> bytes:
        if peer and self.peer_ip is None:
            raise Errno(ENOTCONN)
        return InetBase.getname(self, peer)

    def shutdown(self, how: int) -> None:
        if how < 0 or how > 2:
            raise Errno(EINVAL)
        self.shut |= how + 1
        self.wq.wake_all()
        if self.peer_ip is None:
            raise Errno(ENOTCONN)

    # -- sending
    async def sendmsg(self, data: bytes, addr: Optional[bytes], flags: int, who: Optional[Who],
                      files: Optional[list[OpenFile]] = None, creds: Optional[UCred] = None,
                      claimed: Optional[UCred] = None) -> int:
        refuse_rights(files)
        if flags & MSG_OOB:
            raise Errno(EOPNOTSUPP)
        if addr:
            ip, port = self._dest(addr)
            if port == 0:
                raise Errno(EINVAL)
        else:
            if self.peer_ip is None:
                raise Errno(EDESTADDRREQ)
            ip, port = self.peer_ip, self.peer_port
        limit = MAX_PAYLOAD4 if v4_of(ip) is not None else MAX_PAYLOAD6
        if len(data) > limit:
            raise Errno(EMSGSIZE)
        dest = self._route(ip)
        v4 = v4_of(dest)
        net_dest = v4 if v4 is not None else dest
        group = self._group_route(net_dest)
        if group is None and not NETWORK.routable(net_dest):
            raise Errno(ENETUNREACH)
        err = self.take_error()
        if err:
            raise Errno(err)
        self.autobind()
        src = self.local_ip
        if src == self.any_ip or v4_of(src) == ANY4:
            src = NETWORK.source_for(net_dest)
        src_net = v4_of(src) or src
        mib.udp(v4 is None, "OutDatagrams")
        if group is not None:
            src_net = self._group_source(group, src_net)
            mib.packet(v4 is None, len(data) + (48 if v4 is None else 28), True, group.index == 1)
            self._deliver_group(data, src_net, net_dest, port, group.index)
            return len(data)
        mib.packet(v4 is None, len(data) + (48 if v4 is None else 28), True, NETWORK.is_local(net_dest))
        if NETWORK.is_local(net_dest):
            self._deliver_local(data, src_net, net_dest, port)
        else:
            from .inet_host import udp_send_out
            await udp_send_out(self, data, net_dest, port)
        return len(data)

    def _group_route(self, dest: bytes) -> Optional[Interface]:
        """The interface a broadcast or multicast datagram leaves by (None: a unicast one):
        no route is ENETUNREACH, a broadcast without SO_BROADCAST EACCES (udp_sendmsg)."""
        kind = mcast.broadcast_kind(dest) if len(dest) == 4 else None
        if kind is None and not mcast.is_multicast(dest):
            return None
        if kind == "subnet":
            iface = NETWORK.interfaces[0] if dest[0] == 127 else NETWORK.by_name("eth0")
        elif self.mc_index and kind is None:
            iface = NETWORK.by_index(self.mc_index)
        else:
            iface = NETWORK.by_name("eth0")
        if iface is None or (len(dest) == 16 and iface.index == 1):
            raise Errno(ENETUNREACH)            # lo has no IPv6 multicast route
        if kind is not None and not self.sol_flags[SO_BROADCAST]:
            raise Errno(EACCES)
        return iface

    @staticmethod
    def _group_source(iface: Interface, src: bytes) -> bytes:
        """A datagram sent out of `iface` from an unbound socket carries its address."""
        if src in (ANY4, bytes(16)) or not iface.index == 1 or len(src) == 16:
            return src
        return LOOPBACK4 if iface.index == 1 and src[0] != 127 else src

    def _deliver_group(self, data: bytes, src: bytes, dest: bytes, port: int, index: int) -> None:
        """__udp4_lib_mcast_deliver: a copy to every socket on the port whose address takes
        it (the wildcard or dest itself), once the datagram comes in: broadcasts always loop
        back; multicast does where the group is joined, on lo whatever IP_MULTICAST_LOOP says."""
        if mcast.is_multicast(dest):
            loop = self.mcast_loop6 if len(dest) == 16 else self.ip_opts[IP_MULTICAST_LOOP]
            if not mcast.joined_on(dest, index) or not (loop or index == 1):
                return
        mib.packet(len(dest) == 16, len(data) + 28, False, index != 1)
        for sk in UDP_PORTS.users(port):
            if isinstance(sk, UdpSocket) and not sk.dead and sk.takes_group(dest, index):
                sk.deliver(data, src, self.local_port)

    def takes_group(self, dest: bytes, index: int) -> bool:
        """__udp_is_mcast_sock: bound to the wildcard of dest's family or to dest; a member of
        the group too if it turned IP_MULTICAST_ALL off (ip_mc_sf_allow)."""
        if len(dest) == 4 and mcast.is_multicast(dest) and not self.ip_opts[IP_MULTICAST_ALL] and \
                (dest, index) not in self.mc_groups:
            return False
        local = v4_of(self.local_ip) if len(dest) == 4 else self.local_ip
        if local is None:
            return False
        if len(dest) == 4 and self.family != AF_INET and (self.v6only or self.local_ip != bytes(16)):
            return v4_of(self.local_ip) in (ANY4, dest)
        return local in (ANY4, bytes(16), dest)

    def _deliver_local(self, data: bytes, src: bytes, dest: bytes, port: int) -> None:
        target = find_receiver(dest, port, src, self.local_port)
        if target is None:
            mib.udp(len(dest) == 16, "NoPorts")
            if self.peer_ip is not None:
                self.err = ECONNREFUSED         # the ICMP port unreachable, for a connected socket
                self.wq.wake_poll(POLLERR)
            return
        target.deliver(data, src, self.local_port)

    def deliver(self, data: bytes, src: bytes, port: int) -> None:
        """A datagram arrives (from a guest socket or the host): queued if the buffer has room."""
        size = len(data) + SKB_OVERHEAD
        v6 = v4_of(src) is None
        if self.rmem + size > self.rcvbuf and self.queue:
            mib.udp(v6, "RcvbufErrors")
            mib.udp(v6, "InErrors")
            return
        mib.udp(v6, "InDatagrams")
        self.rmem += size
        self.queue.append(Datagram(data, self.own(src), port))
        self.wq.wake_poll(READABLE)

    # -- receiving
    async def recvmsg(self, n: int, flags: int) -> Received:
        if flags & MSG_OOB:
            raise Errno(EOPNOTSUPP)
        timeout = timeout_seconds(self.rcvtimeo, bool(flags & MSG_DONTWAIT))
        if not await wait_for_datagram(self, self.queue, timeout):
            return Received(b"", 0)
        d = self.queue[0]
        got = Received(d.data[:n], 0, pack(self.family, d.src, d.port))
        if n < len(d.data):
            got.flags |= MSG_TRUNC
        got.count = len(d.data) if flags & MSG_TRUNC else len(got.data)
        if not flags & MSG_PEEK:
            self.queue.popleft()
            self.rmem -= len(d.data) + SKB_OVERHEAD
        return got

    # -- options
    def set_proto_option(self, level: int, name: int, value: bytes) -> None:
        if level != IPPROTO_UDP or name not in self.udp_opts:
            raise Errno(ENOPROTOOPT)
        if len(value) < INT.size:
            raise Errno(EINVAL)
        self.udp_opts[name] = INT.unpack_from(value)[0]

    def get_proto_option(self, level: int, name: int) -> bytes:
        if level != IPPROTO_UDP or name not in self.udp_opts:
            raise Errno(ENOPROTOOPT)
        return INT.pack(self.udp_opts[name])



def find_receiver(dest: bytes, port: int, src: bytes, sport: int) -> Optional[UdpSocket]:
    """__udp4_lib_lookup's best socket: bound to the port, taking dest, connected (if at all) to
    the sender; an exact address scores over a wildcard, a connected socket over an unconnected one."""
    best: Optional[UdpSocket] = None
    best_score = -1
    v4 = v4_of(dest) is not None
    for sk in UDP_PORTS.users(port):
        if not isinstance(sk, UdpSocket) or sk.dead or not receives(sk, dest):
            continue
        score = 1 if (sk.family == AF_INET) == v4 else 0
        if sk.local_ip not in (bytes(4), bytes(16)) and v4_of(sk.local_ip) != ANY4:
            score += 4
        if sk.peer_ip is not None:
            peer = v4_of(sk.peer_ip) or sk.peer_ip
            if peer != src or sk.peer_port != sport:
                continue
            score += 4
        if score > best_score:
            best, best_score = sk, score
    return best


def create_udp(family: int, flags: int, who: Who) -> UdpSocket:
    return UdpSocket(family, flags, who)

