"""The port tables of TCP and UDP (Linux's bind hash buckets), shared by IPv4 and IPv6.

Who may share a port is inet_csk_bind_conflict's (TCP) and udp_lib_lport_inuse's (UDP) rule:
two sockets conflict when their addresses overlap, unless both set SO_REUSEADDR (and, for
TCP, the one already there is not listening) or both set SO_REUSEPORT under the same user.
An AF_INET6 socket on :: covers every IPv4 address too unless it is IPV6_V6ONLY.
Automatic ports come from net.ipv4.ip_local_port_range: bind(0) picks odd ones, connect
even ones, as Linux 6.1 does (so the two do not crowd each other).
"""
from __future__ import annotations

import random
from typing import Iterator, Optional, Protocol

from ..errors import EADDRINUSE, EADDRNOTAVAIL, EINVAL, Errno
from ..fs.drivers.procfs.sysctl import int_vector, register_sysctl
from .inet_addr import v4_of
from .socket import AF_INET

LOCAL_PORT_RANGE = [32768, 60999]              # net.ipv4.ip_local_port_range, settable
UNPRIVILEGED_PORT_START = 1024
ANY = b"*"


class Bound(Protocol):
    """What the table needs to know of a bound socket."""
    family: int
    local_ip: bytes
    v6only: bool
    reuseaddr: int
    reuseport: int

    @property
    def uid(self) -> int: ...

    @property
    def listening(self) -> bool: ...


def coverage(sk: Bound) -> tuple[Optional[bytes], Optional[bytes]]:
    """The (IPv4, IPv6) addresses sk receives on: None for none, ANY for all of a family."""
    ip = sk.local_ip
    if sk.family == AF_INET:
        return (ANY if ip == bytes(4) else ip), None
    v4 = v4_of(ip)
    if v4 is not None:
        return (ANY if v4 == bytes(4) else v4), None
    if ip == bytes(16):
        return (None if sk.v6only else ANY), ANY
    return None, ip


def _meet(a: Optional[bytes], b: Optional[bytes]) -> bool:
    return a is not None and b is not None and (a == ANY or b == ANY or a == b)


def overlap(a: Bound, b: Bound) -> bool:
    a4, a6 = coverage(a)
    b4, b6 = coverage(b)
    return _meet(a4, b4) or _meet(a6, b6)


def receives(sk: Bound, ip: bytes) -> bool:
    """Whether sk's address takes traffic sent to ip (4 or 16 bytes, IPv4-mapped allowed)."""
    s4, s6 = coverage(sk)
    v4 = v4_of(ip)
    return _meet(s4, v4) if v4 is not None else _meet(s6, ip)


class PortTable:
    def __init__(self, tcp: bool):
        self.tcp = tcp
        self.ports: dict[int, list[Bound]] = {}

    def conflicts(self, sk: Bound, other: Bound) -> bool:
        if not overlap(sk, other):
            return False
        if sk.reuseaddr and other.reuseaddr and not (self.tcp and other.listening):
            return False
        return not (sk.reuseport and other.reuseport and sk.uid == other.uid)

    def check(self, sk: Bound, port: int) -> None:
        """EADDRINUSE if sk may not have port (listen asks again, as inet_csk_get_port)."""
        if any(o is not sk and self.conflicts(sk, o) for o in self.ports.get(port, ())):
            raise Errno(EADDRINUSE)

    def add(self, sk: Bound, port: int) -> None:
        self.ports.setdefault(port, []).append(sk)

    def remove(self, sk: Bound, port: int) -> None:
        users = self.ports.get(port)
        if users is None:
            return
        users[:] = [o for o in users if o is not sk]
        if not users:
            del self.ports[port]

    def users(self, port: int) -> Iterator[Bound]:
        return iter(list(self.ports.get(port, ())))

    def pick(self, sk: Bound, parity: int) -> int:
        """An automatic port for sk: a random start, ports of the given parity (0, 1) first,
        or of any parity (2: UDP's udp_lib_get_port)."""
        low, high = LOCAL_PORT_RANGE
        span = high + 1 - low
        start = random.randrange(span)
        for want in ((parity, 1 - parity) if parity in (0, 1) else (2,)):
            for i in range(span):
                port = low + (start + i) % span
                if want != 2 and port % 2 != want:
                    continue
                if not any(self.conflicts(sk, o) for o in self.ports.get(port, ())):
                    return port
        raise Errno(EADDRNOTAVAIL if not self.tcp else EADDRINUSE)


TCP_PORTS = PortTable(tcp=True)
UDP_PORTS = PortTable(tcp=False)


def _set_port_range(values: list[int]) -> None:
    """ipv4_local_port_range: a low end of at least 1, not above the high end."""
    low, high = values[0], values[1]
    if low < 1 or high < low:
        raise Errno(EINVAL)
    LOCAL_PORT_RANGE[:] = [low, high]


register_sysctl(int_vector("net/ipv4/ip_local_port_range", lambda: LOCAL_PORT_RANGE, _set_port_range,
                           lo=0, hi=65535))
