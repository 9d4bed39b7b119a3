"""/proc/net/{tcp,tcp6,udp,udp6,dev,route,if_inet6,snmp,snmp6,netstat}: the inet sockets and the interfaces in
Linux's text formats (tcp4_seq_show, udp4_seg_show, dev_seq_show, fib_route_seq_show,
if6_seq_show). The device counters count the IP packets moss-py sees (inet_stats.py); the
kernel pointer column reads 0 as it does for a reader without CAP_SYSLOG (kptr_restrict).
"""
from __future__ import annotations

import struct

from ..fs.drivers.procfs import register_net_file
from . import inet_stats
from .inet_ports import TCP_PORTS, UDP_PORTS, PortTable
from .interfaces import GATEWAY4, NETWORK
from .socket import AF_INET

TCP_HEADER4 = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
               "inode")
TCP_HEADER6 = ("  sl  local_address                         remote_address                        st tx_queue "
               "rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
UDP_HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode "
              "ref pointer drops")
TCP_TIME_WAIT, TCP_CLOSE, TCP_LISTEN = 6, 7, 10


def _hex4(ip: bytes) -> str:
    return "%08X" % struct.unpack("<I", ip[-4:] if len(ip) == 4 else ip)[0]


def _hex6(ip: bytes) -> str:
    if len(ip) == 4:
        ip = bytes(10) + b"\xff\xff" + ip
    return "".join("%08X" % w for w in struct.unpack("<4I", ip))


def _sockets(table: PortTable, family: int) -> list:
    seen: list = []
    for users in table.ports.values():
        seen += [s for s in users if s.family == family and s not in seen]
    return sorted(seen, key=lambda s: s.ino)


def _row(sk, family: int) -> tuple[str, str, int, int, int]:
    hexa = _hex4 if family == AF_INET else _hex6
    peer = sk.peer_ip if sk.peer_ip is not None else (bytes(4) if family == AF_INET else bytes(16))
    local = f"{hexa(sk.local_ip)}:{sk.local_port:04X}"
    remote = f"{hexa(peer)}:{sk.peer_port if sk.peer_ip is not None else 0:04X}"
    state = sk.state if sk.type == 1 else (1 if sk.peer_ip is not None else TCP_CLOSE)
    rx = sum(m.left for m in sk.queue) if sk.type == 1 and state != TCP_LISTEN else (
        len(sk.pending) if sk.type == 1 else sk.rmem)
    return local, remote, state, rx, sk.uid


def _tcp(family: int) -> bytes:
    lines = [f"{TCP_HEADER4:<149}\n" if family == AF_INET else TCP_HEADER6]
    for i, sk in enumerate(_sockets(TCP_PORTS, family)):
        if sk.state == TCP_TIME_WAIT:           # get_timewait4_sock: timer 3, no owner, no inode
            hexa = _hex4 if family == AF_INET else _hex6
            line = (f"{i:4d}: {hexa(sk.local_ip)}:{sk.local_port:04X} {hexa(sk.peer_ip)}:{sk.peer_port:04X} 06 "
                    f"00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000")
            lines.append(f"{line:<149}\n" if family == AF_INET else line + "\n")
            continue
        local, remote, state, rx, uid = _row(sk, family)
        line = (f"{i:4d}: {local} {remote} {state:02X} {0:08X}:{rx:08X} 00:00000000 00000000 {uid:5d} "
                f"{0:8d} {sk.ino} 1 0000000000000000 20 4 0 10 -1")
        lines.append(f"{line:<149}\n" if family == AF_INET else line + "\n")
    return "".join(lines).encode()


def _udp(family: int) -> bytes:
    lines = [f"{UDP_HEADER:<127}\n"]
    for i, sk in enumerate(_sockets(UDP_PORTS, family)):
        local, remote, state, rx, uid = _row(sk, family)
        line = (f"{i:5d}: {local} {remote} {state:02X} {0:08X}:{rx:08X} 00:00000000 00000000 {uid:5d} "
                f"{0:8d} {sk.ino} 2 0000000000000000 0")
        lines.append(f"{line:<127}\n" if family == AF_INET else line + "\n")
    return "".join(lines).encode()


def proc_net_dev() -> bytes:
    lines = ["Inter-|   Receive                                                |  Transmit\n",
             " face |bytes    packets errs drop fifo frame compressed multicast|"
             "bytes    packets errs drop fifo colls carrier compressed\n"]
    for iface in NETWORK.interfaces:
        st = iface.counters()
        lines.append(f"{iface.name:>6}:" + "%8d %7d %4d %4d %4d %5d %10d %9d %8d %7d %4d %4d %4d %5d %7d %10d\n"
                     % (st["rx_bytes"], st["rx_packets"], 0, 0, 0, 0, 0, 0, st["tx_bytes"], st["tx_packets"],
                        0, 0, 0, 0, 0, 0))
    return "".join(lines).encode()


def proc_net_route() -> bytes:
    header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"
    lines = [f"{header:<127}\n"]
    eth0 = NETWORK.by_name("eth0")
    if eth0 is not None:
        for dest, gw, flags, mask in ((bytes(4), GATEWAY4, 0x3, bytes(4)),
                                      (bytes([10, 0, 2, 0]), bytes(4), 0x1, bytes([255, 255, 255, 0]))):
            line = f"eth0\t{_hex4(dest)}\t{_hex4(gw)}\t{flags:04X}\t0\t0\t0\t{_hex4(mask)}\t0\t0\t0"
            lines.append(f"{line:<127}\n")
    return "".join(lines).encode()


def proc_net_if_inet6() -> bytes:
    lines = []
    for iface in NETWORK.interfaces:
        for a in iface.addrs:
            if len(a.ip) != 16:
                continue
            scope = {254: 0x10, 253: 0x20}.get(a.scope, 0)
            flags = 0x80
            lines.append(f"{a.ip.hex()} {iface.index:02x} {a.prefix:02x} {scope:02x} {flags:02x} {iface.name:>8}\n")
    return "".join(lines).encode()


register_net_file(b"tcp", lambda: _tcp(AF_INET))
register_net_file(b"tcp6", lambda: _tcp(10))
register_net_file(b"udp", lambda: _udp(AF_INET))
register_net_file(b"udp6", lambda: _udp(10))
register_net_file(b"dev", proc_net_dev)
register_net_file(b"route", proc_net_route)
register_net_file(b"if_inet6", proc_net_if_inet6)
register_net_file(b"snmp", inet_stats.proc_net_snmp)
register_net_file(b"snmp6", inet_stats.proc_net_snmp6)
register_net_file(b"netstat", inet_stats.proc_net_netstat)
