"""The guest's network interfaces: `lo` and, unless the network is off, `eth0` with the
addresses QEMU's user-mode network gives a guest (10.0.2.15/24, gateway 10.0.2.2, DNS
10.0.2.3; IPv6 fec0::/64 by SLAAC from the MAC 52:54:00:12:34:56).

Nothing here moves packets: the inet sockets ask which addresses are the guest's own
(`is_local`: carried inside moss-py), which are the host's loopback seen from the guest
(`HOST_ALIASES`), and which route nowhere. The ioctls, netlink and /proc/net read the table.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Callable, Optional

from ..fs.drivers.sysfs import net as sysfs_net

IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_RUNNING, IFF_MULTICAST = 0x1, 0x2, 0x8, 0x40, 0x1000
IFF_LOWER_UP = 0x10000
ARPHRD_ETHER, ARPHRD_LOOPBACK = 1, 772

GATEWAY4 = bytes([10, 0, 2, 2])
DNS4 = bytes([10, 0, 2, 3])
GUEST4 = bytes([10, 0, 2, 15])
MAC = bytes.fromhex("525400123456")
GATEWAY6 = ipaddress.IPv6Address("fec0::2").packed
DNS6 = ipaddress.IPv6Address("fec0::3").packed


@dataclass(frozen=True)
class IfAddr:
    """One address of an interface: 4 or 16 bytes, its prefix length, IPv4 broadcast."""
    ip: bytes
    prefix: int
    broadcast: Optional[bytes] = None
    scope: int = 0                  # RT_SCOPE_UNIVERSE 0, LINK 253, HOST 254

    @property
    def netmask(self) -> bytes:
        bits = len(self.ip) * 8
        return (((1 << self.prefix) - 1) << (bits - self.prefix)).to_bytes(len(self.ip), "big")


STAT_NAMES = ("collisions multicast rx_bytes rx_compressed rx_crc_errors rx_dropped rx_errors rx_fifo_errors "
              "rx_frame_errors rx_length_errors rx_missed_errors rx_nohandler rx_over_errors rx_packets "
              "tx_aborted_errors tx_bytes tx_carrier_errors tx_compressed tx_dropped tx_errors tx_fifo_errors "
              "tx_heartbeat_errors tx_packets tx_window_errors").split()


@dataclass
class Interface:
    """A device as `ip link` and /sys/class/net show it; `stats` are struct rtnl_link_stats64's
    counters (/sys/class/net/DEV/statistics, /proc/net/dev), of the IP packets moss-py sees."""
    index: int
    name: str
    flags: int
    mtu: int
    hwtype: int
    mac: bytes
    addrs: list[IfAddr] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAT_NAMES, 0))

    def sent(self, size: int) -> None:
        self.stats["tx_packets"] += 1
        self.stats["tx_bytes"] += size

    def counters(self) -> dict[str, int]:
        """`stats` brought up to date (inet_stats folds in what it only tallied)."""
        NETWORK.before_read()
        return self.stats

    def received(self, size: int) -> None:
        self.stats["rx_packets"] += 1
        self.stats["rx_bytes"] += size

    @property
    def hw_broadcast(self) -> bytes:
        return b"\xff" * 6 if self.hwtype == ARPHRD_ETHER else bytes(6)


def _v6(text: str) -> bytes:
    return ipaddress.IPv6Address(text).packed


def _make_lo() -> Interface:
    return Interface(1, "lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING, 65536, ARPHRD_LOOPBACK, bytes(6),
                     [IfAddr(bytes([127, 0, 0, 1]), 8, None, 254), IfAddr(_v6("::1"), 128, None, 254)])


def _make_eth0() -> Interface:
    return Interface(2, "eth0", IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST, 1500, ARPHRD_ETHER, MAC,
                     [IfAddr(GUEST4, 24, bytes([10, 0, 2, 255])),
                      IfAddr(_v6("fec0::5054:ff:fe12:3456"), 64),
                      IfAddr(_v6("fe80::5054:ff:fe12:3456"), 64, None, 253)])


@dataclass
class Network:
    """The interface table and whether eth0 (the way out through the host) exists."""
    enabled: bool = True
    interfaces: list[Interface] = field(default_factory=list)
    before_read: Callable[[], None] = lambda: None     # brings the counters up to date (inet_stats)

    def __post_init__(self) -> None:
        self.configure(self.enabled)

    def configure(self, enabled: bool) -> None:
        """`--net none` (enabled False): only the loopback."""
        self.enabled = enabled
        self.interfaces = [_make_lo()] + ([_make_eth0()] if enabled else [])

    def count(self, size: int, out: bool, into: bool) -> None:
        """An IP packet of `size` bytes: both ways on the loopback, one way on eth0."""
        if out and into:
            lo = self.interfaces[0]
            lo.sent(size)
            lo.received(size)
        elif len(self.interfaces) > 1:
            eth0 = self.interfaces[1]
            if out:
                eth0.sent(size)
            else:
                eth0.received(size)

    def by_name(self, name: str) -> Optional[Interface]:
        return next((i for i in self.interfaces if i.name == name), None)

    def by_index(self, index: int) -> Optional[Interface]:
        return next((i for i in self.interfaces if i.index == index), None)

    def is_local(self, ip: bytes) -> bool:
        """An address a socket may bind and whose traffic never leaves moss-py."""
        if len(ip) == 4:
            if ip[0] == 127 or ip == bytes(4):
                return True
        elif ip == bytes(16):
            return True
        return any(a.ip == ip for i in self.interfaces for a in i.addrs)

    def source_for(self, dest: bytes) -> bytes:
        """The source address a connection to dest gets (the route's preferred source)."""
        if len(dest) == 4:
            return bytes([127, 0, 0, 1]) if dest[0] == 127 or dest == bytes(4) else (
                dest if self.is_local(dest) else GUEST4)
        if dest in (bytes(16), _v6("::1")) or not self.enabled:
            return _v6("::1")
        return dest if self.is_local(dest) else _v6("fec0::5054:ff:fe12:3456")

    def routable(self, dest: bytes) -> bool:
        """Whether a destination outside the guest has a route (through eth0)."""
        if self.is_local(dest):
            return True
        return self.enabled


NETWORK = Network()


def host_address_of(dest: bytes) -> Optional[str]:
    """The host address a guest's outbound connection to dest goes to (the gateway is the
    host's own loopback, as QEMU's slirp does), or None for the DNS forwarder."""
    if dest == GATEWAY4:
        return "127.0.0.1"
    if dest == GATEWAY6:
        return "::1"
    if len(dest) == 4:
        return str(ipaddress.IPv4Address(dest))
    return str(ipaddress.IPv6Address(dest))


sysfs_net.devices.append(lambda: NETWORK.interfaces)        # /sys/class/net reads this table
