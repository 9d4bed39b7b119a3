"""The way out of the guest and the way in: host sockets that moss-host opens on a guest's
behalf (QEMU's user-mode network does the same with slirp, one NAT'd host socket per flow).

* A guest TCP connection to an address outside the guest is a host connection (asyncio,
  never blocking the kernel's loop); the gateway 10.0.2.2 is the host's own 127.0.0.1.
  The guest socket's peer is a TcpSocket `far end` whose two relays copy bytes: what the
  guest writes is read from the far end and written to the host socket; what the host
  socket reads is sent into the guest through the far end (so the guest's receive side
  and its flow control are the loopback's).
* A guest UDP socket sending outside the guest gets a host datagram socket; replies come
  back as datagrams from the address the guest sent to. 10.0.2.3:53 is the host's resolver
  (the first nameserver in the host's /etc/resolv.conf).
* A port forward (`--forward tcp:HOSTPORT:GUESTPORT`) listens on the host; each host
  connection is a connection to the guest socket listening on GUESTPORT (a wildcard or
  10.0.2.15), from 10.0.2.2. `udp:` forwards relay datagrams to a guest UDP socket.
"""
from __future__ import annotations

import asyncio
import logging
import socket as pysocket
from dataclasses import dataclass
from typing import Optional

from ..errors import ECONNREFUSED, ENETUNREACH, ETIMEDOUT, Errno
from .inet_addr import v4_of
from .inet_tcp import TCP_SYN_SENT, FarEndBase, TcpSocket, find_listener, link
from .inet_udp import UdpSocket, find_receiver
from .interfaces import DNS4, GATEWAY4, GUEST4, NETWORK, host_address_of
from .socket import AF_INET, RCV_SHUTDOWN, SHUTDOWN_MASK
from .unix import TCP_CLOSE, TCP_ESTABLISHED

log = logging.getLogger(__name__)
RESOLV_CONF = "/etc/resolv.conf"
CHUNK = 256 * 1024
WRITE_BUFFER = 4 * 1024 * 1024
_tasks: set[asyncio.Task] = set()


def _spawn(coro) -> None:
    task = asyncio.get_running_loop().create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


# ---------------------------------------------------------------- TCP

class FarEnd(FarEndBase):
    """The guest-facing end of a host connection: its peer is the guest's socket."""

    def __init__(self, family: int):
        super().__init__(family, 0, None)
        self.gone = asyncio.Event()

    def peer_gone(self) -> None:
        self.gone.set()


async def connect_out(sock: TcpSocket, dest: bytes, port: int, nonblock: bool) -> None:
    """A guest connect to dest:port outside the guest. Blocking: the host connect's outcome
    is the call's; non-blocking: the socket is SYN_SENT until it is known."""
    sock.source_bind(dest)
    sock.peer_ip, sock.peer_port = sock.own(dest), port
    host = host_address_of(dest)
    assert host is not None
    if nonblock:
        sock.state = TCP_SYN_SENT
        _spawn(_open(sock, host, port, dest))
        return
    await _open(sock, host, port, dest)
    if sock.state != TCP_ESTABLISHED:
        err = sock.take_error() or ECONNREFUSED
        sock.shut = 0
        sock.state = TCP_CLOSE
        raise Errno(err)


async def _open(sock: TcpSocket, host: str, port: int, dest: bytes) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as e:
        if sock.dead:
            return
        sock.state = TCP_CLOSE
        sock.err = e.errno if e.errno else ETIMEDOUT
        sock.shut = SHUTDOWN_MASK
        sock.peer_ip = None
        sock.drop_port()
        sock.wq.wake_all()
        return
    if sock.dead:
        writer.close()
        return
    far = FarEnd(sock.family)
    far.local_ip, far.local_port = sock.peer_ip or dest, port
    far.peer_ip, far.peer_port = sock.local_ip, sock.local_port
    link(sock, far)
    sock.wq.wake_all()
    relay(far, reader, writer)


def relay(far: FarEnd, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Start copying both ways between a far end and its host connection."""
    # A deep host-side buffer: drain() then waits for the host socket only when megabytes are
    # pending, not at every 64 KiB (each wait is a turn of the loop the guest's traps share).
    writer.transport.set_write_buffer_limits(high=WRITE_BUFFER)
    state = _Relay(far, writer)
    _spawn(state.host_to_guest(reader))
    _spawn(state.guest_to_host())


@dataclass
class _Relay:
    far: FarEnd
    writer: asyncio.StreamWriter
    halves: int = 2

    def _half_done(self) -> None:
        self.halves -= 1
        if self.halves == 0:
            self.writer.close()
            self.far.release()

    async def host_to_guest(self, reader: asyncio.StreamReader) -> None:
        far = self.far
        try:
            while not far.dead:
                data = await reader.read(CHUNK)
                if not data:
                    break
                peer = far.peer
                if peer is None or peer.dead:
                    break
                await far.sendmsg(data, None, 0, None)
        except (OSError, Errno):
            pass
        finally:
            peer = far.peer
            if peer is not None and not peer.dead:
                peer.shut |= RCV_SHUTDOWN       # the host's FIN
                peer.wq.wake_all()
            self._half_done()

    async def guest_to_host(self) -> None:
        far = self.far
        try:
            while True:
                got = await _wait_recv(far)
                if got is None:
                    break
                self.writer.write(got)
                await self.writer.drain()
            if far.peer is not None and far.peer.err == 0 and self.writer.can_write_eof():
                self.writer.write_eof()
        except (OSError, Errno):
            pass
        finally:
            if far.peer is None or far.peer.dead:   # the guest closed: the host hears it now
                self.writer.close()
            self._half_done()


async def _wait_recv(far: FarEnd) -> Optional[bytes]:
    """What the guest wrote, or None at its FIN/close."""
    got = await far.recvmsg(CHUNK, 0)
    return got.data or None


# ---------------------------------------------------------------- UDP

class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, sock: UdpSocket, link_: "UdpLink"):
        self.sock = sock
        self.link = link_

    def datagram_received(self, data: bytes, addr) -> None:
        guest = self.link.routes.get((addr[0], addr[1]))
        if guest is None or self.sock.dead:
            return                              # not an answer to what the guest sent
        self.sock.deliver(data, guest[0], guest[1])

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError) and exc.errno == ECONNREFUSED and self.sock.peer_ip is not None:
            self.sock.err = ECONNREFUSED


@dataclass
class UdpLink:
    """A guest UDP socket's host sockets (one per address family) and the guest addresses
    its host destinations stand for."""
    transports: dict
    routes: dict


_udp_links: dict[int, UdpLink] = {}


async def udp_send_out(sock: UdpSocket, data: bytes, dest: bytes, port: int) -> None:
    if forwarded_reply(dest, port, data):
        return
    host, hport = _udp_target(dest, port)
    if host is None:
        raise Errno(ENETUNREACH)
    link_ = _udp_links.setdefault(sock.ino, UdpLink({}, {}))
    fam = pysocket.AF_INET6 if ":" in host else pysocket.AF_INET
    transport = link_.transports.get(fam)
    if transport is None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(sock, link_), family=fam,
                                                           local_addr=("::" if fam == pysocket.AF_INET6
                                                                       else "0.0.0.0", 0))
        link_.transports[fam] = transport
    link_.routes[(host, hport)] = (dest, port)
    transport.sendto(data, (host, hport))


def _udp_target(dest: bytes, port: int) -> tuple[Optional[str], int]:
    if dest == DNS4 and port == 53:
        return host_nameserver(), 53
    return host_address_of(dest), port


def host_nameserver() -> str:
    """The host's resolver: the first nameserver line of its /etc/resolv.conf."""
    try:
        with open(RESOLV_CONF) as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver":
                    return words[1]
    except OSError:
        pass
    return "127.0.0.1"


def udp_closed(sock: UdpSocket) -> None:
    link_ = _udp_links.pop(sock.ino, None)
    if link_ is not None:
        for transport in link_.transports.values():
            transport.close()


# ---------------------------------------------------------------- forwards in

@dataclass(frozen=True)
class Forward:
    proto: str                      # "tcp" or "udp"
    host_addr: str
    host_port: int
    guest_port: int


def parse_forward(spec: str) -> Forward:
    """tcp:HOSTPORT:GUESTPORT, tcp:HOSTADDR:HOSTPORT:GUESTPORT (udp: likewise)."""
    parts = spec.split(":")
    if parts[0] not in ("tcp", "udp") or len(parts) not in (3, 4):
        raise ValueError(f"--forward {spec!r}: want tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT")
    addr = parts[1] if len(parts) == 4 else "127.0.0.1"
    try:
        return Forward(parts[0], addr or "127.0.0.1", int(parts[-2]), int(parts[-1]))
    except ValueError:
        raise ValueError(f"--forward {spec!r}: ports are numbers") from None


_opened: list = []                  # the forwards' host servers and datagram transports


async def start_forwards(forwards: list[Forward]) -> None:
    """Listen on the host for each forward (those of an earlier kernel run, before a reboot, are closed first)."""
    while _opened:
        _opened.pop().close()
    opened = _opened
    loop = asyncio.get_running_loop()
    for fw in forwards:
        if fw.proto == "tcp":
            opened.append(await asyncio.start_server(_tcp_handler(fw), fw.host_addr, fw.host_port,
                                                     reuse_address=True))
        else:
            transport, _ = await loop.create_datagram_endpoint(_udp_factory(fw),
                                                               local_addr=(fw.host_addr, fw.host_port))
            opened.append(transport)


def _tcp_handler(fw: Forward):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _forward_tcp(fw, reader, writer)
    return handle


def _udp_factory(fw: Forward):
    def make() -> "_ForwardUdp":
        return _ForwardUdp(fw)
    return make


def _guest_dest() -> bytes:
    return GUEST4 if NETWORK.enabled else bytes([127, 0, 0, 1])


async def _forward_tcp(fw: Forward, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    dest = _guest_dest()
    listener = find_listener(dest, fw.guest_port)
    if listener is None:
        writer.close()                          # as a refused connection
        return
    far = FarEnd(AF_INET)
    peer = writer.get_extra_info("peername")
    far.local_ip = GATEWAY4
    far.local_port = peer[1] if peer else 0
    far._connect_to(listener, dest, fw.guest_port)
    relay(far, reader, writer)


class _ForwardUdp(asyncio.DatagramProtocol):
    """Datagrams to a host port go to the guest's UDP socket on the guest port, from 10.0.2.2;
    its answers (sent to 10.0.2.2:port) go back through this host socket."""

    def __init__(self, fw: Forward):
        self.fw = fw
        self.transport: Optional[asyncio.DatagramTransport] = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        dest = _guest_dest()
        target = find_receiver(dest, self.fw.guest_port, GATEWAY4, addr[1])
        if target is not None:
            forwarded[(GATEWAY4, addr[1])] = (self, addr)
            target.deliver(data, GATEWAY4, addr[1])


forwarded: dict[tuple[bytes, int], tuple[_ForwardUdp, tuple]] = {}


def forwarded_reply(dest: bytes, port: int, data: bytes) -> bool:
    """A guest datagram to 10.0.2.2:port answering a forwarded one goes back to its sender."""
    back = forwarded.get((v4_of(dest) or dest, port))
    if back is None or back[0].transport is None:
        return False
    back[0].transport.sendto(data, back[1])
    return True

