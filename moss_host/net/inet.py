"""AF_INET and AF_INET6: socket(2)'s checks (inet_create/inet6_create) and the family table.

    inet_addr.py   sockaddr_in/sockaddr_in6, IPv4-mapped addresses
    inet_ports.py  the TCP and UDP port tables: bind conflicts, automatic ports
    inet_sock.py   what TCP and UDP share: addresses, bind, IP/IPv6/SOL_SOCKET options
    inet_tcp.py    TCP over the guest's loopback (AF_UNIX's stream data path)
    inet_udp.py    UDP
    inet_icmp.py   ping sockets, raw ICMP, the echo responder
    inet_stats.py  the SNMP counters (/proc/net/snmp, snmp6, netstat)
    inet_host.py   connections and datagrams to the world through host sockets, port forwards
    inet_ioctl.py  SIOCGIF* on inet sockets
    inet_proc.py   /proc/net/{tcp,tcp6,udp,udp6,...}
    interfaces.py  lo and eth0
"""
from __future__ import annotations

from ..cred import CAP_NET_RAW
from ..errors import EINVAL, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT, Errno
from . import inet_proc  # noqa: F401  (registers /proc/net files)
from .inet_icmp import create_icmp
from .inet_sock import IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP, InetBase
from .inet_tcp import create_tcp
from .inet_udp import create_udp
from .socket import AF_INET, AF_INET6, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM, Who, register_family

IPPROTO_MAX = 256


def _create(family: int, type_: int, protocol: int, flags: int, who: Who) -> InetBase:
    """inet_create's search of inetsw[type]: no entry for the type is ESOCKTNOSUPPORT, a
    protocol the type does not have EPROTONOSUPPORT; raw sockets need CAP_NET_RAW, ping
    sockets a group in ping_group_range (inet_icmp.py)."""
    if protocol < 0 or protocol >= IPPROTO_MAX:
        raise Errno(EINVAL)
    icmp = IPPROTO_ICMP if family == AF_INET else IPPROTO_ICMPV6
    if type_ == SOCK_STREAM:
        if protocol not in (IPPROTO_IP, IPPROTO_TCP):
            raise Errno(EPROTONOSUPPORT)
        return create_tcp(family, flags, who)
    if type_ == SOCK_DGRAM:
        if protocol == icmp:
            return create_icmp(family, type_, flags, who)
        if protocol not in (IPPROTO_IP, IPPROTO_UDP):
            raise Errno(EPROTONOSUPPORT)
        return create_udp(family, flags, who)
    if type_ == SOCK_RAW:
        if not who.cred.capable(CAP_NET_RAW):
            raise Errno(EPERM)
        if protocol == icmp:
            return create_icmp(family, type_, flags, who)
        raise Errno(EPROTONOSUPPORT)            # raw sockets of other protocols: no packets to see
    raise Errno(ESOCKTNOSUPPORT)


def create_inet(type_: int, protocol: int, flags: int, who: Who) -> InetBase:
    return _create(AF_INET, type_, protocol, flags, who)


def create_inet6(type_: int, protocol: int, flags: int, who: Who) -> InetBase:
    return _create(AF_INET6, type_, protocol, flags, who)


register_family(AF_INET, create_inet)
register_family(AF_INET6, create_inet6)
