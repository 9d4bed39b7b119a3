"""/sys/class/net: the network interfaces. moss-py has no network devices and no way to
configure one, so there is only the loopback, down, as Linux shows it before `ip link set
lo up` (flags IFF_LOOPBACK, operstate down; reading carrier is EINVAL while it is down)."""
from __future__ import annotations

from ....errors import EINVAL, Errno
from .nodes import SysDir

LO = b"devices/virtual/net/lo"


def _no_carrier() -> bytes:
    raise Errno(EINVAL)                 # netif_running() is false: carrier_show's -EINVAL


def build_net(root: SysDir) -> None:
    lo = root.subdir(LO)
    for name, value, mode in (
            (b"addr_assign_type", "0", 0o444), (b"addr_len", "6", 0o444),
            (b"address", "00:00:00:00:00:00", 0o444), (b"broadcast", "00:00:00:00:00:00", 0o444),
            (b"dev_id", "0x0", 0o444), (b"dev_port", "0", 0o444), (b"flags", "0x8", 0o644),
            (b"ifindex", "1", 0o444), (b"iflink", "1", 0o444), (b"mtu", "65536", 0o644),
            (b"operstate", "down", 0o444), (b"tx_queue_len", "1000", 0o644), (b"type", "772", 0o444),
            (b"uevent", "INTERFACE=lo\nIFINDEX=1", 0o644)):
        lo.add_text(name, value, mode)
    lo.add_file(b"carrier", _no_carrier, 0o644)
    lo.subdir(b"statistics")
    lo.add_link(b"subsystem", b"../../../../class/net")
    root.add_link(b"class/net/lo", b"../../" + LO)
