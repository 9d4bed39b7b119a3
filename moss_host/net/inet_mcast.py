"""Multicast group memberships and the broadcast addresses (Linux's net/ipv4/igmp.c,
net/ipv6/mcast.c, the local routing table's broadcast routes).

A membership is (group, interface index), counted per interface over all sockets: Linux
delivers a multicast datagram that arrives on an interface where any socket joined the
group to every socket bound to the port (IP_MULTICAST_ALL is on by default), not only to
the members. On `lo` the datagram is looped by the device itself, so IP_MULTICAST_LOOP
does not matter there; on eth0 a local copy is made only when the sender leaves it on.
The loopback has no IPv6 multicast route (lo is not IFF_MULTICAST): sending there is
ENETUNREACH, as on Linux.
"""
from __future__ import annotations

import struct
from typing import Optional

from ..errors import EADDRINUSE, EADDRNOTAVAIL, EINVAL, ENODEV, Errno
from .interfaces import NETWORK, Interface

LO_BROADCAST = bytes([127, 255, 255, 255])
LIMITED_BROADCAST = b"\xff" * 4
MEMBERS: dict[tuple[bytes, int], int] = {}      # (group, ifindex) -> sockets joined


def is_multicast(ip: bytes) -> bool:
    return (ip[0] & 0xF0) == 0xE0 if len(ip) == 4 else ip[0] == 0xFF


def broadcast_kind(ip: bytes) -> Optional[str]:
    """'limited' for 255.255.255.255, 'subnet' for an interface's broadcast address, else None."""
    if ip == LIMITED_BROADCAST:
        return "limited"
    if ip == LO_BROADCAST:
        return "subnet"
    for iface in NETWORK.interfaces:
        if any(a.broadcast == ip for a in iface.addrs):
            return "subnet"
    return None


def _iface_of_addr(ip: bytes) -> Optional[Interface]:
    """__ip_dev_find: the interface owning a local IPv4 address (127/8 is the loopback's)."""
    if ip[0] == 127:
        return NETWORK.interfaces[0]
    return next((i for i in NETWORK.interfaces if any(a.ip == ip for a in i.addrs)), None)


def _default_mcast_iface() -> Optional[Interface]:
    """The interface the default route takes multicast to: eth0, if there is one."""
    return NETWORK.by_name("eth0")


def parse_mreq(value: bytes) -> tuple[bytes, bytes, int]:
    """struct ip_mreqn (12 bytes or more) or ip_mreq (8): (group, address, ifindex)."""
    if len(value) >= 12:
        group, addr, index = struct.unpack_from("<4s4si", value)
        return group, addr, index
    if len(value) >= 8:
        group, addr = struct.unpack_from("<4s4s", value)
        return group, addr, 0
    raise Errno(EINVAL)


def resolve4(addr: bytes, index: int) -> Interface:
    """ip_mc_find_dev: by index, else by address, else the route to the group; ENODEV."""
    if index:
        iface = NETWORK.by_index(index)
    elif addr != bytes(4):
        iface = _iface_of_addr(addr)
    else:
        iface = _default_mcast_iface()
    if iface is None:
        raise Errno(ENODEV)
    return iface


def join(groups: set[tuple[bytes, int]], group: bytes, index: int) -> None:
    if (group, index) in groups:
        raise Errno(EADDRINUSE)
    groups.add((group, index))
    MEMBERS[group, index] = MEMBERS.get((group, index), 0) + 1


def leave(groups: set[tuple[bytes, int]], group: bytes, index: int) -> None:
    if (group, index) not in groups:
        raise Errno(EADDRNOTAVAIL)
    groups.discard((group, index))
    MEMBERS[group, index] -= 1
    if not MEMBERS[group, index]:
        del MEMBERS[group, index]


def leave_all(groups: set[tuple[bytes, int]]) -> None:
    for group, index in list(groups):
        leave(groups, group, index)


def joined_on(group: bytes, index: int) -> bool:
    return (group, index) in MEMBERS
