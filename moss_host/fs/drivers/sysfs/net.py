"""/sys/class/net: the network interfaces of the net layer's table (moss_host/net/interfaces.py
hands it in through `devices`: sysfs sits below the net layer), each a directory under
/sys/devices/virtual/net with Linux's attribute files, read from the table when read, so
that they agree with `ip link`, the SIOCGIF* ioctls and /proc/net/dev.

`lo` is up as moss-py's loopback always is (Linux's after `ip link set lo up`: flags 0x9,
operstate unknown); eth0 (QEMU's user network) is up with its carrier. dev->flags never
holds IFF_RUNNING or IFF_LOWER_UP (netlink adds them from the carrier), so `flags` leaves
them out. Reading speed or duplex of the loopback is EINVAL (no ethtool link settings).
"""
from __future__ import annotations

from typing import Callable, Optional, Protocol, Sequence

from ....errors import EINVAL, EOPNOTSUPP, Errno
from .nodes import SysDir

IFF_LOOPBACK = 0x8
KERNEL_ONLY_FLAGS = 0x40 | 0x10000 | 0x20000        # IFF_RUNNING, IFF_LOWER_UP, IFF_DORMANT


class NetDevice(Protocol):
    """What sysfs reads of an interface (net/interfaces.Interface)."""
    index: int
    name: str
    flags: int
    mtu: int
    hwtype: int
    mac: bytes
    stats: dict[str, int]

    def counters(self) -> dict[str, int]: ...


# The net layer's interface table: set by moss_host/net/interfaces.py when it is imported.
devices: list[Callable[[], Sequence[NetDevice]]] = []


def _find(name: str) -> Optional[NetDevice]:
    for table in devices:
        for dev in table():
            if dev.name == name:
                return dev
    return None


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _fail(code: int) -> Callable[[], bytes]:
    def show() -> bytes:
        raise Errno(code)
    return show


def _const(text: bytes) -> Callable[[], bytes]:
    return lambda: text + b"\n"


def _counter(stat: str) -> Callable[[NetDevice], str]:
    return lambda dev: str(dev.counters()[stat])


def _attrs(dev: NetDevice) -> dict[bytes, Callable[[NetDevice], str]]:
    """The attributes whose values come from the table (net-sysfs.c's show methods)."""
    return {
        b"address": lambda d: _mac(d.mac),
        b"broadcast": lambda d: _mac(b"\xff" * 6 if d.hwtype == 1 else bytes(6)),
        b"flags": lambda d: f"{d.flags & ~KERNEL_ONLY_FLAGS:#x}",
        b"ifindex": lambda d: str(d.index),
        b"iflink": lambda d: str(d.index),
        b"mtu": lambda d: str(d.mtu),
        b"operstate": lambda d: "unknown" if d.flags & IFF_LOOPBACK else "up",
        b"type": lambda d: str(d.hwtype),
    }


def _build_device(root: SysDir, dev: NetDevice) -> None:
    name = dev.name
    loopback = bool(dev.flags & IFF_LOOPBACK)
    where = b"devices/virtual/net/" + name.encode()
    d = root.subdir(where)

    def live(attr: Callable[[NetDevice], str]) -> Callable[[], bytes]:
        def show() -> bytes:
            now = _find(name)
            if now is None:
                raise Errno(EINVAL)
            return attr(now).encode() + b"\n"
        return show

    computed = _attrs(dev)
    fixed = {
        b"addr_assign_type": "0", b"addr_len": "6", b"carrier": "1", b"carrier_changes": "0" if loopback else "2",
        b"carrier_down_count": "0" if loopback else "1", b"carrier_up_count": "0" if loopback else "1",
        b"dev_id": "0x0", b"dev_port": "0", b"dormant": "0", b"gro_flush_timeout": "0", b"ifalias": "",
        b"link_mode": "0", b"name_assign_type": "2" if loopback else "1", b"napi_defer_hard_irqs": "0",
        b"netdev_group": "0", b"proto_down": "0", b"testing": "0", b"threaded": "0", b"tx_queue_len": "1000",
        b"uevent": f"INTERFACE={name}\nIFINDEX={dev.index}"}
    writable = {b"carrier", b"flags", b"gro_flush_timeout", b"ifalias", b"mtu", b"napi_defer_hard_irqs",
                b"netdev_group", b"proto_down", b"threaded", b"tx_queue_len", b"uevent"}
    for attr in sorted({*computed, *fixed, b"duplex", b"speed", b"phys_port_id", b"phys_port_name",
                        b"phys_switch_id"}):
        mode = 0o644 if attr in writable else 0o444
        if attr in computed:
            d.add_file(attr, live(computed[attr]), mode)
        elif attr in fixed:
            d.add_text(attr, fixed[attr], mode)
        elif attr in (b"duplex", b"speed"):
            d.add_file(attr, _fail(EINVAL) if loopback else _const(b"unknown" if attr == b"duplex" else b"-1"), mode)
        else:
            d.add_file(attr, _fail(EOPNOTSUPP), mode)
        if attr == b"phys_switch_id":
            d.subdir(b"power")
            d.subdir(b"queues/rx-0")
            d.subdir(b"queues/tx-0")
    stats = d.subdir(b"statistics")
    for stat in dev.stats:
        stats.add_file(stat.encode(), live(_counter(stat)))
    d.add_link(b"subsystem", b"../../../../class/net")
    root.add_link(b"class/net/" + name.encode(), b"../../" + where)


def build_net(root: SysDir) -> None:
    root.subdir(b"class/net")
    for table in devices:
        for dev in table():
            _build_device(root, dev)
