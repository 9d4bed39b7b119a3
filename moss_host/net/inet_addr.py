"""struct sockaddr_in and sockaddr_in6 in and out, and the IPv4-mapped IPv6 addresses.

An address inside moss-py is its bytes: 4 for IPv4, 16 for IPv6. An AF_INET6 socket keeps
IPv4 peers as ::ffff:a.b.c.d (as Linux does); `v4_of` finds the IPv4 address in either form.
"""
from __future__ import annotations

import ipaddress
import struct
from typing import Optional

from ..errors import EAFNOSUPPORT, EINVAL, Errno
from .socket import AF_INET, AF_INET6, AF_UNSPEC

SIN = struct.Struct("<H2s4s8x")             # family, port (big-endian), address, zero
SIN6 = struct.Struct("<H2sI16sI")           # family, port, flowinfo, address, scope_id
SIN6_LEN_RFC2133 = 24                       # a sockaddr_in6 without sin6_scope_id
V4MAPPED = bytes(10) + b"\xff\xff"
ANY4, ANY6 = bytes(4), bytes(16)
LOOPBACK4 = bytes([127, 0, 0, 1])
LOOPBACK6 = bytes(15) + b"\x01"

Endpoint = tuple[bytes, int]                # (address, port)


def v4_of(ip: bytes) -> Optional[bytes]:
    """The IPv4 address ip is (4 bytes, or ::ffff:a.b.c.d), else None."""
    if len(ip) == 4:
        return ip
    return ip[12:] if ip[:12] == V4MAPPED else None


def mapped(ip: bytes) -> bytes:
    """ip as an AF_INET6 socket shows it: IPv4 addresses mapped."""
    return V4MAPPED + ip if len(ip) == 4 else ip


def in_family(ip: bytes, family: int) -> bytes:
    """ip in the form a socket of family keeps it."""
    if family == AF_INET6:
        return mapped(ip)
    v4 = v4_of(ip)
    assert v4 is not None
    return v4


def pack(family: int, ip: bytes, port: int) -> bytes:
    """The sockaddr getsockname/getpeername/recvfrom report."""
    if family == AF_INET:
        return SIN.pack(AF_INET, port.to_bytes(2, "big"), ip)
    return SIN6.pack(AF_INET6, port.to_bytes(2, "big"), 0, mapped(ip), 0)


def unpack_in(addr: bytes, unspec_ok: bool = False) -> Endpoint:
    """A sockaddr_in: EINVAL if short, EAFNOSUPPORT for another family (AF_UNSPEC too unless
    unspec_ok, as udp_sendmsg allows it)."""
    if len(addr) < SIN.size:
        raise Errno(EINVAL)
    family, port, ip = SIN.unpack_from(addr)
    if family != AF_INET and not (unspec_ok and family == AF_UNSPEC):
        raise Errno(EAFNOSUPPORT)
    return ip, int.from_bytes(port, "big")


def unpack_in6(addr: bytes) -> Endpoint:
    """A sockaddr_in6 (sin6_scope_id may be left out)."""
    if len(addr) < SIN6_LEN_RFC2133:
        raise Errno(EINVAL)
    family, port, _flow, ip, _scope = SIN6.unpack_from(addr + bytes(4))
    if family != AF_INET6:
        raise Errno(EAFNOSUPPORT)
    return ip, int.from_bytes(port, "big")


def family_of(addr: bytes) -> int:
    if len(addr) < 2:
        raise Errno(EINVAL)
    return struct.unpack_from("<H", addr)[0]


def text(ip: bytes) -> str:
    v4 = v4_of(ip) if len(ip) == 4 else None
    return str(ipaddress.IPv4Address(v4)) if v4 else str(ipaddress.IPv6Address(ip))
