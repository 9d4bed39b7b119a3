"""What TCP and UDP sockets share (Linux's struct inet_sock and the generic inet_* calls):
the local and remote address, bind (inet_bind/__inet6_bind, in Linux's errno order), the
names getsockname/getpeername report, and the IPPROTO_IP/IPPROTO_IPV6 options and the
SOL_SOCKET options the inet families add (SO_REUSEPORT, SO_LINGER, SO_BROADCAST, ...).
"""
from __future__ import annotations

import struct
from typing import Optional

from ..cred import CAP_NET_BIND_SERVICE
from ..errors import EACCES, EADDRNOTAVAIL, EAFNOSUPPORT, EINVAL, ENODEV, ENOPROTOOPT, ENOTCONN, EOPNOTSUPP, EPERM, Errno
from . import inet_mcast as mcast
from ..fs.file import OpenFile
from .inet_addr import ANY4, ANY6, SIN, SIN6_LEN_RFC2133, family_of, in_family, pack, unpack_in6, v4_of
from .inet_ports import UNPRIVILEGED_PORT_START, PortTable
from .interfaces import NETWORK
from .socket import AF_INET, AF_INET6, AF_UNSPEC, HZ, INT, SOL_SOCKET, Socket, Who

IPPROTO_IP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6, IPPROTO_ICMPV6 = 0, 1, 6, 17, 41, 58
SO_DONTROUTE, SO_BROADCAST, SO_OOBINLINE, SO_PRIORITY, SO_LINGER, SO_REUSEPORT = 5, 6, 10, 12, 13, 15
SO_SNDLOWAT = 19
LINGER = struct.Struct("<ii")

# IPPROTO_IP options kept as ints: name -> (default, lowest, highest); a default of None is read back as given
IP_TOS, IP_TTL, IP_HDRINCL, IP_PKTINFO, IP_MTU_DISCOVER, IP_RECVERR = 1, 2, 3, 8, 10, 11
IP_RECVTTL, IP_RECVTOS, IP_FREEBIND, IP_TRANSPARENT, IP_BIND_ADDRESS_NO_PORT = 12, 13, 15, 19, 24
IP_MULTICAST_IF, IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP = 32, 33, 34, 35, 36
DEFAULT_TTL = 64                            # net.ipv4.ip_default_ttl
IP_RECVOPTS, IP_RETOPTS, IP_RECVORIGDSTADDR, IP_MULTICAST_ALL = 6, 7, 20, 49
IP_INTS = {IP_TOS: 0, IP_PKTINFO: 0, IP_RECVERR: 0, IP_RECVTTL: 0, IP_RECVTOS: 0, IP_FREEBIND: 0,
           IP_BIND_ADDRESS_NO_PORT: 0, IP_MTU_DISCOVER: 1, IP_MULTICAST_LOOP: 1, IP_RECVOPTS: 0, IP_RETOPTS: 0,
           IP_RECVORIGDSTADDR: 0, IP_MULTICAST_ALL: 1}
IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP, IPV6_RECVERR = 16, 18, 19, 25
IPV6_V6ONLY, IPV6_RECVPKTINFO, IPV6_TCLASS, IPV6_MTU_DISCOVER = 26, 49, 67, 23
IPV6_MULTICAST_IF, IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP = 17, 20, 21
IPV6_RECVHOPLIMIT, IPV6_HOPLIMIT, IPV6_RECVTCLASS, IPV6_2292HOPLIMIT = 51, 52, 66, 8
IPV6_BOOLS = {IPV6_RECVERR: 0, IPV6_RECVPKTINFO: 0, IPV6_RECVHOPLIMIT: 0, IPV6_RECVTCLASS: 0, IPV6_2292HOPLIMIT: 0}


def _int_of(value: bytes) -> int:
    """ip_setsockopt's reading of an option: an int, or one unsigned char."""
    if len(value) >= INT.size:
        return INT.unpack_from(value)[0]
    if len(value) >= 1:
        return value[0]
    raise Errno(EINVAL)


def refuse_rights(files: Optional[list[OpenFile]]) -> None:
    """SCM_RIGHTS is AF_UNIX's: an inet socket's send drops the files passed and fails (EINVAL)."""
    if files:
        for f in files:
            f.put()
        raise Errno(EINVAL)


class InetBase(Socket):
    """A TCP or UDP socket's addresses and options. `table` is the protocol's port table."""
    table: PortTable

    def __init__(self, type_: int, protocol: int, flags: int, who: Optional[Who] = None):
        super().__init__(type_, protocol, flags, who)
        self.family = AF_INET
        self.local_ip = ANY4
        self.local_port = 0                     # 0: not bound (inet_num)
        self.peer_ip: Optional[bytes] = None
        self.peer_port = 0
        self.v6only = False
        self.reuseport = 0
        self.bind_locked = False                # SOCK_BINDADDR_LOCK/BINDPORT_LOCK: bound by bind(2)
        self.linger: Optional[int] = None       # SO_LINGER seconds while on
        self.lingertime = 0
        self.sol_flags: dict[int, int] = {SO_BROADCAST: 0, SO_OOBINLINE: 0, SO_DONTROUTE: 0, SO_PRIORITY: 0}
        self.ip_opts: dict[int, int] = dict(IP_INTS)
        self.ttl = -1                           # -1: the sysctl default
        self.mcast_ttl = 1
        self.hops = -1
        self.mcast_hops = -1
        self.mcast_loop6 = 1
        self.tclass = 0
        self.ipv6_opts: dict[int, int] = dict(IPV6_BOOLS)
        self.mc_groups: set[tuple[bytes, int]] = set()     # (group, ifindex) joined, IPv4 and IPv6
        self.mc_index = 0                       # IP_MULTICAST_IF/IPV6_MULTICAST_IF: 0 is the route's
        self.mc_addr = ANY4                     # IP_MULTICAST_IF's address, read back by getsockopt

    def setup_family(self, family: int) -> None:
        self.family = family
        self.local_ip = ANY4 if family == AF_INET else ANY6

    @property
    def uid(self) -> int:
        return self.owner[0]

    @property
    def any_ip(self) -> bytes:
        return ANY4 if self.family == AF_INET else ANY6

    # -- names
    def parse_bind(self, addr: bytes) -> tuple[bytes, int]:
        """inet_bind's and inet6_bind's checks up to the port's capability: (address, port)."""
        if self.family == AF_INET:
            if len(addr) < SIN.size:
                raise Errno(EINVAL)
            fam, port_b, ip = SIN.unpack_from(addr)
            if fam != AF_INET and not (fam == AF_UNSPEC and ip == ANY4):
                raise Errno(EAFNOSUPPORT)
            if not self._bindable4(ip):
                raise Errno(EADDRNOTAVAIL)
            return ip, int.from_bytes(port_b, "big")
        if len(addr) < SIN6_LEN_RFC2133:
            raise Errno(EINVAL)
        if family_of(addr) != AF_INET6:
            raise Errno(EAFNOSUPPORT)
        return unpack_in6(addr)

    @staticmethod
    def _bindable4(ip: bytes) -> bool:
        """A local, broadcast, multicast or wildcard address (inet_addr_valid_or_nonlocal)."""
        return NETWORK.is_local(ip) or ip[0] >= 224 or ip == bytes([10, 0, 2, 255]) and NETWORK.enabled

    def bind(self, addr: bytes, who: Who) -> None:
        ip, port = self.parse_bind(addr)
        if port and port < UNPRIVILEGED_PORT_START and not who.cred.capable(CAP_NET_BIND_SERVICE):
            raise Errno(EACCES)
        if self.bound_or_busy():
            raise Errno(EINVAL)
        if self.family == AF_INET6:
            v4 = v4_of(ip)
            if v4 is not None:
                if self.v6only:
                    raise Errno(EINVAL)
                if not self._bindable4(v4):
                    raise Errno(EADDRNOTAVAIL)
            elif not NETWORK.is_local(ip) and ip[0] != 0xFF:
                raise Errno(EADDRNOTAVAIL)
        self.local_ip = ip
        try:
            self.take_port(port)
        except Errno:
            self.local_ip = self.any_ip
            raise
        self.bind_locked = True

    def bound_or_busy(self) -> bool:
        """inet_bind's EINVAL: already bound, or not closed."""
        return self.local_port != 0

    def take_port(self, port: int, parity: int = 1) -> None:
        """get_port: the given port if no one conflicts, or an automatic one for 0."""
        if port == 0:
            port = self.table.pick(self, parity)
        else:
            self.table.check(self, port)
        self.table.add(self, port)
        self.local_port = port

    def drop_port(self) -> None:
        if self.local_port:
            self.table.remove(self, self.local_port)
        self.local_port = 0

    def getname(self, peer: bool) -> bytes:
        if peer:
            if self.peer_ip is None:
                raise Errno(ENOTCONN)
            return pack(self.family, self.peer_ip, self.peer_port)
        return pack(self.family, self.local_ip, self.local_port)

    def own(self, ip: bytes) -> bytes:
        """ip (4 or 16 bytes) as this socket's family keeps it."""
        return in_family(ip, self.family)

    # -- options
    def setsockopt(self, level: int, name: int, value: bytes) -> None:
        if level == SOL_SOCKET:
            self._set_sol(name, value)
        elif level == IPPROTO_IP:
            self._set_ip(name, value)
        elif level == IPPROTO_IPV6 and self.family == AF_INET6:
            self._set_ipv6(name, value)
        else:
            self.set_proto_option(level, name, value)

    def set_proto_option(self, level: int, name: int, value: bytes) -> None:
        raise Errno(ENOPROTOOPT)

    def get_proto_option(self, level: int, name: int) -> bytes:
        raise Errno(ENOPROTOOPT)

    def _set_sol(self, name: int, value: bytes) -> None:
        if name == SO_LINGER:
            if len(value) < LINGER.size:
                raise Errno(EINVAL)
            onoff, secs = LINGER.unpack_from(value)
            if onoff:
                self.lingertime = min(secs & 0xFFFF_FFFF, 0x7FFF_FFFF // HZ) if secs > 0 else 0
                self.linger = self.lingertime
            else:
                self.linger = None
            return
        if name in (SO_REUSEPORT, *self.sol_flags):
            if len(value) < INT.size:
                raise Errno(EINVAL)
            (val,) = INT.unpack_from(value)
            if name == SO_REUSEPORT:
                self.reuseport = int(val != 0)
            elif name == SO_PRIORITY:
                if not 0 <= val <= 6:
                    raise Errno(EPERM)      # beyond 6 needs CAP_NET_ADMIN
                self.sol_flags[name] = val
            else:
                self.sol_flags[name] = int(val != 0)
            return
        super().setsockopt(SOL_SOCKET, name, value)

    def _set_ip(self, name: int, value: bytes) -> None:
        if name in (IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP):
            group, addr, index = mcast.parse_mreq(value)
            if name == IP_ADD_MEMBERSHIP:
                if not mcast.is_multicast(group):
                    raise Errno(EINVAL)
                mcast.join(self.mc_groups, group, mcast.resolve4(addr, index).index)
            else:
                mcast.leave(self.mc_groups, group, mcast.resolve4(addr, index).index)
            return
        if name == IP_MULTICAST_IF:
            self._set_mcast_if(value)
            return
        if name == IP_HDRINCL:
            raise Errno(ENOPROTOOPT)            # raw sockets only
        if name == IP_TRANSPARENT:
            raise Errno(EPERM)                  # CAP_NET_ADMIN
        val = _int_of(value)
        if name == IP_TTL:
            if val != -1 and not 1 <= val <= 255:
                raise Errno(EINVAL)
            self.ttl = val
        elif name == IP_MULTICAST_TTL:
            if val == -1:
                val = 1
            if not 0 <= val <= 255:
                raise Errno(EINVAL)
            self.mcast_ttl = val
        elif name == IP_MTU_DISCOVER:
            if not 0 <= val <= 5:
                raise Errno(EINVAL)
            self.ip_opts[name] = val
        elif name == IP_TOS:
            self.ip_opts[name] = val & 0xFC if self.protocol == IPPROTO_TCP else val & 0xFF
        elif name in self.ip_opts:
            self.ip_opts[name] = int(val != 0)
        else:
            raise Errno(ENOPROTOOPT)

    def _set_mcast_if(self, value: bytes) -> None:
        """IP_MULTICAST_IF: an in_addr, ip_mreq or ip_mreqn; both zero go back to the route."""
        if len(value) < 4:
            raise Errno(EINVAL)
        if len(value) >= 8:
            _group, addr, index = mcast.parse_mreq(value)
        else:
            addr, index = value[:4], 0
        if addr == ANY4 and not index:
            self.mc_index, self.mc_addr = 0, ANY4
            return
        try:
            self.mc_index = mcast.resolve4(addr, index).index
        except Errno:
            raise Errno(EADDRNOTAVAIL) from None
        self.mc_addr = addr

    def _set_ipv6_group(self, name: int, value: bytes) -> None:
        """IPV6_JOIN_GROUP/IPV6_LEAVE_GROUP: struct ipv6_mreq (ipv6_sock_mc_join/drop)."""
        if len(value) < 20:
            raise Errno(EINVAL)
        group, index = value[:16], INT.unpack_from(value, 16)[0]
        if name == IPV6_LEAVE_GROUP:
            mcast.leave(self.mc_groups, group, index)
            return
        if not mcast.is_multicast(group):
            raise Errno(EINVAL)
        if index == 0:
            eth0 = NETWORK.by_name("eth0")
            index = eth0.index if eth0 is not None else 0
        if NETWORK.by_index(index) is None:
            raise Errno(ENODEV)
        mcast.join(self.mc_groups, group, index)

    def _set_ipv6(self, name: int, value: bytes) -> None:
        if name in (IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP):
            self._set_ipv6_group(name, value)
            return
        if len(value) < INT.size:
            raise Errno(EINVAL)
        (val,) = INT.unpack_from(value)
        if name == IPV6_V6ONLY:
            if self.local_port:
                raise Errno(EINVAL)
            self.v6only = val != 0
        elif name == IPV6_MULTICAST_IF:
            if val and NETWORK.by_index(val) is None:
                raise Errno(ENODEV)
            self.mc_index = val
        elif name in (IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS):
            if not -1 <= val <= 255:
                raise Errno(EINVAL)
            if name == IPV6_UNICAST_HOPS:
                self.hops = val
            else:
                self.mcast_hops = val
        elif name == IPV6_MULTICAST_LOOP:
            if val not in (0, 1):
                raise Errno(EINVAL)
            self.mcast_loop6 = val
        elif name == IPV6_TCLASS:
            if not -1 <= val <= 255:
                raise Errno(EINVAL)
            self.tclass = max(val, 0)
        elif name == IPV6_MTU_DISCOVER:
            if not 0 <= val <= 5:
                raise Errno(EINVAL)
            self.ipv6_opts[name] = val
        elif name in self.ipv6_opts:
            self.ipv6_opts[name] = int(val != 0)
        else:
            raise Errno(ENOPROTOOPT)

    def getsockopt(self, level: int, name: int) -> bytes:
        if level == SOL_SOCKET:
            if name == SO_LINGER:
                return LINGER.pack(int(self.linger is not None), self.lingertime)
            if name == SO_REUSEPORT:
                return INT.pack(self.reuseport)
            if name == SO_SNDLOWAT:
                return INT.pack(1)
            if name in self.sol_flags:
                return INT.pack(self.sol_flags[name])
            return super().getsockopt(level, name)
        if level == IPPROTO_IP:
            if name == IP_MULTICAST_IF:
                return self.mc_addr
            return INT.pack(self._get_ip(name))
        if level == IPPROTO_IPV6 and self.family == AF_INET6:
            return INT.pack(self._get_ipv6(name))
        if level != self.protocol:
            # the protocol hands other levels down: ip_getsockopt refuses them with
            # EOPNOTSUPP, ipv6_getsockopt with ENOPROTOOPT
            raise Errno(EOPNOTSUPP if self.family == AF_INET else ENOPROTOOPT)
        return self.get_proto_option(level, name)

    def _get_ip(self, name: int) -> int:
        if name == IP_TTL:
            return DEFAULT_TTL if self.ttl == -1 else self.ttl
        if name == IP_MULTICAST_TTL:
            return self.mcast_ttl
        if name in self.ip_opts:
            return self.ip_opts[name]
        raise Errno(ENOPROTOOPT)

    def _get_ipv6(self, name: int) -> int:
        if name == IPV6_V6ONLY:
            return int(self.v6only)
        if name == IPV6_MULTICAST_IF:
            return self.mc_index
        if name == IPV6_UNICAST_HOPS:
            return DEFAULT_TTL if self.hops == -1 else self.hops
        if name == IPV6_MULTICAST_HOPS:
            return 1 if self.mcast_hops == -1 else self.mcast_hops
        if name == IPV6_MULTICAST_LOOP:
            return self.mcast_loop6
        if name == IPV6_TCLASS:
            return self.tclass
        if name in self.ipv6_opts:
            return self.ipv6_opts[name]
        raise Errno(ENOPROTOOPT)
