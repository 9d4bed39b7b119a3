"""The interface ioctls of inet sockets (Linux's dev_ioctl/devinet_ioctl): SIOCGIFCONF and
the SIOCGIF* questions about one interface named in a struct ifreq. Setting anything
(SIOCSIF*) needs CAP_NET_ADMIN and is refused (EPERM) or not supported.

struct ifreq on arm64: 16 bytes of name, then a 24-byte union (sockaddr, short flags,
int index/mtu, the hardware address as a sockaddr).
"""
from __future__ import annotations

import struct

from ..cred import CAP_NET_ADMIN, capable
from ..errors import EADDRNOTAVAIL, EFAULT, EINVAL, ENODEV, EOPNOTSUPP, EPERM, Errno
from .inet_addr import SIN
from .interfaces import NETWORK, Interface
from .socket import AF_INET

SIOCGIFNAME, SIOCGIFCONF, SIOCGIFFLAGS, SIOCSIFFLAGS = 0x8910, 0x8912, 0x8913, 0x8914
SIOCGIFADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK, SIOCGIFMETRIC, SIOCGIFMTU = 0x8915, 0x8919, 0x891B, 0x891D, 0x8921
SIOCGIFHWADDR, SIOCGIFINDEX, SIOCGIFTXQLEN = 0x8927, 0x8933, 0x8942
SIOCSIFADDR, SIOCSIFMTU, SIOCSIFNETMASK, SIOCSIFBRDADDR = 0x8916, 0x8922, 0x891C, 0x891A
SETTERS = (SIOCSIFFLAGS, SIOCSIFADDR, SIOCSIFMTU, SIOCSIFNETMASK, SIOCSIFBRDADDR)
IFNAMSIZ = 16
IFREQ_SIZE = 40
IFCONF = struct.Struct("<i4xQ")             # int ifc_len; union { char *buf; struct ifreq *req; }


def _sockaddr(ip: bytes) -> bytes:
    return SIN.pack(AF_INET, b"\0\0", ip)


def _v4(iface: Interface):
    return next((a for a in iface.addrs if len(a.ip) == 4), None)


def interface_ioctl(task, cmd: int, arg: int, otherwise: int) -> int:
    """Answer cmd about the interface named at arg; `otherwise` is the errno of a command
    that is none of these (the protocol's ENOIOCTLCMD answer)."""
    if cmd == SIOCGIFCONF:
        return _ifconf(task, arg)
    if cmd in SETTERS:
        if not capable(task.creds, CAP_NET_ADMIN):
            raise Errno(EPERM)
        raise Errno(EOPNOTSUPP)
    if cmd not in (SIOCGIFNAME, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK, SIOCGIFMETRIC,
                   SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFINDEX, SIOCGIFTXQLEN):
        raise Errno(otherwise)
    req = task.mm.read(arg, IFREQ_SIZE)
    if cmd == SIOCGIFNAME:
        index = struct.unpack_from("<i", req, IFNAMSIZ)[0]
        found = NETWORK.by_index(index)
        if found is None:
            raise Errno(ENODEV)
        task.mm.write(arg, found.name.encode().ljust(IFNAMSIZ, b"\0"))
        return 0
    name = req[:IFNAMSIZ].split(b"\0", 1)[0].decode(errors="replace")
    iface = NETWORK.by_name(name)
    if iface is None:
        raise Errno(ENODEV)
    task.mm.write(arg + IFNAMSIZ, _answer(cmd, iface).ljust(24, b"\0")[:24])
    return 0


def _answer(cmd: int, iface: Interface) -> bytes:
    if cmd == SIOCGIFFLAGS:
        return struct.pack("<H", iface.flags & 0xFFFF)
    if cmd == SIOCGIFINDEX:
        return struct.pack("<i", iface.index)
    if cmd == SIOCGIFMTU:
        return struct.pack("<i", iface.mtu)
    if cmd == SIOCGIFMETRIC:
        return struct.pack("<i", 0)
    if cmd == SIOCGIFTXQLEN:
        return struct.pack("<i", 1000)
    if cmd == SIOCGIFHWADDR:
        return struct.pack("<H", iface.hwtype) + iface.mac
    addr = _v4(iface)
    if addr is None:
        raise Errno(EADDRNOTAVAIL)
    if cmd == SIOCGIFADDR:
        return _sockaddr(addr.ip)
    if cmd == SIOCGIFNETMASK:
        return _sockaddr(addr.netmask)
    if addr.broadcast is None:                  # no IFF_BROADCAST: devinet_ioctl's EINVAL
        raise Errno(EINVAL)
    return _sockaddr(addr.broadcast)


def _ifconf(task, arg: int) -> int:
    """SIOCGIFCONF: one ifreq (name + IPv4 address) per address; a NULL buffer asks the length."""
    length, buf = IFCONF.unpack(task.mm.read(arg, IFCONF.size))
    entries = [iface.name.encode().ljust(IFNAMSIZ, b"\0") + _sockaddr(a.ip).ljust(24, b"\0")
               for iface in NETWORK.interfaces for a in iface.addrs if len(a.ip) == 4]
    if buf == 0:
        task.mm.write(arg, struct.pack("<i", len(entries) * IFREQ_SIZE))
        return 0
    if length < 0:
        raise Errno(EFAULT)
    fit = entries[:max(length, 0) // IFREQ_SIZE]
    if fit:
        task.mm.write(buf, b"".join(fit))
    task.mm.write(arg, struct.pack("<i", len(fit) * IFREQ_SIZE))
    return 0
