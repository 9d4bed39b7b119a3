"""AF_INET/AF_INET6 without QEMU (moss_host/net/inet*): the port table's sharing rules,
connections over the loopback, half-close and reset, UDP boundaries. The behaviour is
checked against Linux by tests/qemu/test_inet.py; these pin the pieces."""
import asyncio
import struct

import pytest

from moss_host.cred import Cred
from moss_host.errors import (EACCES, EADDRINUSE, EADDRNOTAVAIL, ECONNREFUSED, ECONNRESET, EINPROGRESS,
                              EINVAL, EISCONN, ENOTCONN, EPIPE, Errno)
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import FsContext
from moss_host.net import inet  # noqa: F401
from moss_host.net.inet_addr import pack
from moss_host.net.inet_ports import LOCAL_PORT_RANGE, TCP_PORTS, UDP_PORTS
from moss_host.net.socket import (AF_INET, AF_INET6, MSG_PEEK, MSG_TRUNC, SOCK_DGRAM, SOCK_NONBLOCK,
                                  SOCK_STREAM, SOL_SOCKET, UCred, Who, create_socket)

LO = bytes([127, 0, 0, 1])
SO_REUSEADDR, SO_RCVBUF = 2, 8


def run(coro):
    return asyncio.run(coro)


def make_who(uid=0):
    fs = FsContext(MountTable(Tmpfs(mode=0o777)).root_location())
    return Who(fs, Cred(uid, uid), None, 100, UCred(100, uid, uid), UCred(100, uid, uid), ({uid}, {uid}),
               uid == 0, lambda pid: True, 1024)


@pytest.fixture
def who():
    return make_who()


@pytest.fixture(autouse=True)
def fresh_ports():
    yield
    TCP_PORTS.ports.clear()
    UDP_PORTS.ports.clear()


def sin(ip=LO, port=0):
    return pack(AF_INET, ip, port)


def sin6(ip=bytes(15) + b"\1", port=0):
    return pack(AF_INET6, ip, port)


def port_of(sock):
    return struct.unpack(">H", sock.getname(False)[2:4])[0]


def server(who, family=AF_INET, addr=None):
    s = create_socket(family, SOCK_STREAM, 0, 0, who)
    s.bind(addr or (sin(LO, 0) if family == AF_INET else sin6()), who)
    s.listen(5, who)
    return s


def test_bind_errors_come_in_linux_order(who):
    s = create_socket(AF_INET, SOCK_STREAM, 0, 0, who)
    for addr, code, by in [(sin()[:15], EINVAL, who), (sin(bytes([8, 8, 8, 8])), EADDRNOTAVAIL, who),
                           (sin(LO, 80), EACCES, make_who(1000))]:
        with pytest.raises(Errno) as e:
            s.bind(addr, by)
        assert e.value.code == code
    s.bind(sin(LO, 0), who)
    low, high = LOCAL_PORT_RANGE
    assert low <= port_of(s) <= high and port_of(s) % 2 == 1
    with pytest.raises(Errno) as e:
        s.bind(sin(LO, 0), who)
    assert e.value.code == EINVAL


def test_a_wildcard_v6_socket_takes_the_v4_port_unless_v6only(who):
    a = create_socket(AF_INET6, SOCK_STREAM, 0, 0, who)
    a.bind(sin6(bytes(16), 5555), who)
    b = create_socket(AF_INET, SOCK_STREAM, 0, 0, who)
    with pytest.raises(Errno) as e:
        b.bind(sin(LO, 5555), who)
    assert e.value.code == EADDRINUSE
    c = create_socket(AF_INET6, SOCK_STREAM, 0, 0, who)
    c.setsockopt(41, 26, struct.pack("<i", 1))
    d = create_socket(AF_INET, SOCK_STREAM, 0, 0, who)
    c.bind(sin6(bytes(16), 5556), who)
    d.bind(sin(LO, 5556), who)


def test_reuseaddr_shares_a_port_until_one_listens(who):
    socks = [create_socket(AF_INET, SOCK_STREAM, 0, 0, who) for _ in range(3)]
    for s in socks:
        s.setsockopt(SOL_SOCKET, SO_REUSEADDR, struct.pack("<i", 1))
    socks[0].bind(sin(LO, 6000), who)
    socks[1].bind(sin(LO, 6000), who)
    socks[0].listen(1, who)
    with pytest.raises(Errno) as e:
        socks[2].bind(sin(LO, 6000), who)
    assert e.value.code == EADDRINUSE


def test_connect_accept_stream_half_close_and_reset(who):
    async def go():
        srv = server(who)
        c = create_socket(AF_INET, SOCK_STREAM, 0, 0, who)
        await c.connect(sin(LO, port_of(srv)), who)
        a = await srv.accept(0, who)
        assert a.getname(True) == c.getname(False) and c.getname(True) == a.getname(False)
        await c.sendmsg(b"hello", None, 0, who)
        await c.sendmsg(b" world", None, 0, who)
        assert (await a.recvmsg(100, MSG_PEEK)).data == b"hello world"
        assert (await a.recvmsg(100, 0)).data == b"hello world"
        c.shutdown(1)
        assert (await a.recvmsg(100, 0)).data == b""
        await a.sendmsg(b"back", None, 0, who)          # the other way still works
        assert (await c.recvmsg(100, 0)).data == b"back"
        await a.sendmsg(b"unread", None, 0, who)
        c.release()                                     # unread data: RST
        with pytest.raises(Errno) as e:
            await a.recvmsg(10, 0)
        assert e.value.code == ECONNRESET
        assert (await a.recvmsg(10, 0)).data == b""
        with pytest.raises(Errno) as e:
            await a.sendmsg(b"x", None, 0, who)
        assert e.value.code == EPIPE
    run(go())


def test_a_write_to_a_closed_peer_succeeds_once_then_epipe(who):
    async def go():
        srv = server(who)
        c = create_socket(AF_INET, SOCK_STREAM, 0, 0, who)
        await c.connect(sin(LO, port_of(srv)), who)
        a = await srv.accept(0, who)
        a.release()
        assert (await c.recvmsg(10, 0)).data == b""
        assert await c.sendmsg(b"x", None, 0, who) == 1
        with pytest.raises(Errno) as e:
            await c.sendmsg(b"x", None, 0, who)
        assert e.value.code == EPIPE
    run(go())


def test_refused_and_nonblocking_connects(who):
    async def go():
        c = create_socket(AF_INET, SOCK_STREAM, 0, 0, who)
        with pytest.raises(Errno) as e:
            await c.connect(sin(LO, 1), who)
        assert e.value.code == ECONNREFUSED
        n = create_socket(AF_INET, SOCK_STREAM, 0, SOCK_NONBLOCK, who)
        with pytest.raises(Errno) as e:
            await n.connect(sin(LO, 1), who)
        assert e.value.code == EINPROGRESS
        assert n.take_error() == ECONNREFUSED
        srv = server(who, AF_INET6, sin6(bytes(16), 0))   # :: takes IPv4 too
        m = create_socket(AF_INET, SOCK_STREAM, 0, SOCK_NONBLOCK, who)
        with pytest.raises(Errno) as e:
            await m.connect(sin(LO, port_of(srv)), who)
        assert e.value.code == EINPROGRESS
        await m.connect(sin(LO, port_of(srv)), who)       # done: 0, then EISCONN
        with pytest.raises(Errno) as e:
            await m.connect(sin(LO, port_of(srv)), who)
        assert e.value.code == EISCONN
        a = await srv.accept(0, who)
        assert a.getname(True)[8:24] == bytes(10) + b"\xff\xff" + LO
    run(go())


def test_an_unconnected_stream_socket_is_enotconn_and_epipe(who):
    async def go():
        s = create_socket(AF_INET, SOCK_STREAM, 0, 0, who)
        with pytest.raises(Errno) as e:
            await s.recvmsg(1, 0)
        assert e.value.code == ENOTCONN
        with pytest.raises(Errno) as e:
            await s.sendmsg(b"x", None, 0, who)
        assert e.value.code == EPIPE
        with pytest.raises(Errno) as e:
            s.shutdown(2)
        assert e.value.code == ENOTCONN
    run(go())


def test_udp_keeps_boundaries_and_reports_the_sender(who):
    async def go():
        r = create_socket(AF_INET, SOCK_DGRAM, 0, 0, who)
        r.bind(sin(LO, 0), who)
        s = create_socket(AF_INET, SOCK_DGRAM, 0, 0, who)
        await s.sendmsg(b"one", sin(LO, port_of(r)), 0, who)
        await s.sendmsg(b"", sin(LO, port_of(r)), 0, who)
        await s.sendmsg(b"three", sin(LO, port_of(r)), 0, who)
        got = await r.recvmsg(100, 0)
        assert got.data == b"one" and got.addr == sin(LO, port_of(s))     # its own name says 0.0.0.0
        assert (await r.recvmsg(100, 0)).data == b""
        got = await r.recvmsg(2, MSG_TRUNC)
        assert (got.data, got.count, got.flags) == (b"th", 5, MSG_TRUNC)
        await s.connect(sin(LO, 9), who)                 # nobody there
        await s.sendmsg(b"x", None, 0, who)
        with pytest.raises(Errno) as e:
            await s.sendmsg(b"x", None, 0, who)
        assert e.value.code == ECONNREFUSED
    run(go())


def test_socket_options_read_back_as_linux(who):
    s = create_socket(AF_INET, SOCK_STREAM, 0, 0, who)
    assert s.getsockopt(SOL_SOCKET, 7) == struct.pack("<i", 16384)
    assert s.getsockopt(SOL_SOCKET, SO_RCVBUF) == struct.pack("<i", 131072)
    s.setsockopt(SOL_SOCKET, SO_RCVBUF, struct.pack("<i", 10000))
    assert s.getsockopt(SOL_SOCKET, SO_RCVBUF) == struct.pack("<i", 20000)
    assert s.getsockopt(0, 2) == struct.pack("<i", 64)
    assert s.getsockopt(6, 4) == struct.pack("<i", 7200)
    with pytest.raises(Errno) as e:
        s.setsockopt(6, 4, struct.pack("<i", 0))
    assert e.value.code == EINVAL


def test_a_netlink_route_dump_lists_the_interfaces_then_done(who):
    from moss_host.net.netlink import NLMSG_DONE, NLMSGHDR, RTM_GETLINK, RTM_NEWLINK
    from moss_host.net.socket import AF_NETLINK, SOCK_RAW

    async def go():
        s = create_socket(AF_NETLINK, SOCK_RAW, 0, 0, who)
        req = NLMSGHDR.pack(NLMSGHDR.size + 16, RTM_GETLINK, 0x301, 7, 0) + bytes(16)
        await s.sendmsg(req, None, 0, who)
        got = (await s.recvmsg(65536, 0)).data
        kinds, off = [], 0
        while off < len(got):
            length, kind, _, seq, pid = NLMSGHDR.unpack_from(got, off)
            assert seq == 7 and pid == 100
            kinds.append(kind)
            off += (length + 3) & ~3
        assert kinds == [RTM_NEWLINK, RTM_NEWLINK, NLMSG_DONE]      # lo and eth0
    run(go())
