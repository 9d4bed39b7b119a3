"""The AF_UNIX socket layer without QEMU (moss_host/net): names, connections, queues, files in
flight, ancillary data layouts and the family table. The behaviour itself is checked against
Linux by tests/qemu/test_unix_sockets.py; these pin the pieces it is built from."""
import asyncio
import stat as S
import struct

import pytest

from moss_host.cred import Cred
from moss_host.errors import (EADDRINUSE, EAFNOSUPPORT, EAGAIN, ECONNREFUSED, ECONNRESET, EINVAL,
                              EISCONN, ENOTCONN, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT, Errno)
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.file import POLLHUP, POLLIN, POLLOUT, POLLRDHUP, OpenFile
from moss_host.fs.namespace import MountTable
from moss_host.fs.path import lookup
from moss_host.fs.vfs import FsContext
from moss_host.net import unix
from moss_host.net.scm import SCM_CREDENTIALS, SCM_RIGHTS, build_control, cmsg_len, cmsg_space, parse_control
from moss_host.net.socket import (AF_UNIX, MSG_CTRUNC, MSG_PEEK, MSG_TRUNC, SOCK_DGRAM,
                                  SOCK_RDM, SOCK_SEQPACKET, SOCK_STREAM, SOL_SOCKET, UCred, Who,
                                  create_socket)


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def who():
    fs = FsContext(MountTable(Tmpfs(mode=0o777)).root_location())
    return Who(fs, Cred(0, 0), None, 100, UCred(100, 0, 0), UCred(100, 0, 0), ({0}, {0}), True,
               lambda pid: pid in (1, 100), 1024)


@pytest.fixture(autouse=True)
def fresh_namespaces():
    """Names and the socket list are kernel-wide: each test starts without the last one's."""
    yield
    unix._abstract.clear()
    unix._by_inode.clear()
    unix._live.clear()


def addr(path: bytes) -> bytes:
    return struct.pack("<H", AF_UNIX) + path + (b"\0" if path[:1] != b"\0" else b"")


def stream_pair(who):
    a, b = unix.socketpair(SOCK_STREAM, 0, who)
    return a.get(), b.get()


class Counted(OpenFile):
    """A file that counts its releases: files in flight must be closed exactly once."""
    released = 0

    def release(self) -> None:
        Counted.released += 1


def test_the_family_table_refuses_families_types_and_protocols_as_linux(who):
    with pytest.raises(Errno) as e:
        create_socket(3, SOCK_STREAM, 0, 0, who)          # AF_AX25: a family moss-py has not
    assert e.value.code == EAFNOSUPPORT
    for family, type_, proto, code in [(46, SOCK_STREAM, 0, EAFNOSUPPORT), (AF_UNIX, 11, 5, EINVAL),
                                       (AF_UNIX, SOCK_RDM, 0, ESOCKTNOSUPPORT),
                                       (AF_UNIX, SOCK_STREAM, 2, EPROTONOSUPPORT)]:
        with pytest.raises(Errno) as e:
            create_socket(family, type_, proto, 0, who)
        assert e.value.code == code
    assert create_socket(AF_UNIX, 3, 1, 0, who).type == SOCK_DGRAM       # SOCK_RAW is a datagram socket


def test_a_stream_read_merges_writes_and_a_peek_leaves_them(who):
    a, b = stream_pair(who)
    assert run(a.sendmsg(b"abc", None, 0, who)) == 3
    assert run(a.sendmsg(b"defg", None, 0, who)) == 4
    assert run(b.recvmsg(100, MSG_PEEK)).data == b"abcdefg"
    assert run(b.recvmsg(5, 0)).data == b"abcde"
    assert run(b.recvmsg(100, 0)).data == b"fg"
    assert a.wmem == 0                          # everything read: the sender's buffer is back


def test_half_close_gives_eof_to_the_reader_and_sigpipe_to_the_writer(who):
    a, b = stream_pair(who)
    a.shutdown(1)
    assert b.poll_events(POLLIN | POLLOUT) & (POLLIN | POLLRDHUP) == POLLIN | POLLRDHUP
    assert run(b.recvmsg(10, 0)).data == b""
    with pytest.raises(unix.SigPipe):
        run(a.sendmsg(b"x", None, 0, who))


def test_closing_with_unread_data_resets_the_peer_once(who):
    a, b = stream_pair(who)
    run(a.sendmsg(b"unread", None, 0, who))
    b.put()
    assert a.poll_events(POLLIN | POLLOUT) & POLLHUP
    with pytest.raises(Errno) as e:
        run(a.recvmsg(10, 0))
    assert e.value.code == ECONNRESET
    assert run(a.recvmsg(10, 0)).data == b""


def test_bind_makes_a_socket_node_and_a_second_bind_is_eaddrinuse(who):
    s = unix.create_unix(SOCK_STREAM, 0, 0, who)
    s.bind(addr(b"/sock"), who)
    node = lookup(who.fs, b"/sock")
    assert S.S_ISSOCK(node.inode.mode) and node.inode.mode & 0o777 == 0o755
    assert s.getname(False) == addr(b"/sock")
    t = unix.create_unix(SOCK_STREAM, 0, 0, who)
    with pytest.raises(Errno) as e:
        t.bind(addr(b"/sock"), who)
    assert e.value.code == EADDRINUSE


def test_connect_needs_a_listener_and_the_backlog_takes_one_more_than_asked(who):
    srv = unix.create_unix(SOCK_STREAM, 0, 0, who)
    srv.bind(addr(b"\0srv"), who)
    c = unix.create_unix(SOCK_STREAM, 0, 0o4000, who)
    with pytest.raises(Errno) as e:
        run(c.connect(addr(b"\0srv"), who))
    assert e.value.code == ECONNREFUSED
    srv.listen(1, who)
    clients = [unix.create_unix(SOCK_STREAM, 0, 0o4000, who) for _ in range(3)]
    run(clients[0].connect(addr(b"\0srv"), who))
    run(clients[1].connect(addr(b"\0srv"), who))
    with pytest.raises(Errno) as e:
        run(clients[2].connect(addr(b"\0srv"), who))
    assert e.value.code == EAGAIN
    run(clients[0].sendmsg(b"early", None, 0, who))       # before accept
    new = run(srv.accept(0, who))
    assert run(new.recvmsg(10, 0)).data == b"early"
    assert new.peer_cred() == who.peer_cred and new.getname(False) == addr(b"\0srv")
    with pytest.raises(Errno) as e:
        run(clients[0].sendmsg(b"x", addr(b"\0srv"), 0, who))
    assert e.value.code == EISCONN


def test_autobind_names_five_hex_digits_in_the_abstract_namespace(who):
    s = unix.create_unix(SOCK_DGRAM, 0, 0, who)
    s.bind(struct.pack("<H", AF_UNIX), who)
    name = s.getname(False)
    assert len(name) == 8 and name[2] == 0 and int(name[3:], 16) >= 0


def test_datagrams_keep_boundaries_and_truncate(who):
    a, b = unix.socketpair(SOCK_DGRAM, 0, who)
    run(a.sendmsg(b"three", None, 0, who))
    run(a.sendmsg(b"seventeen", None, 0, who))
    got = run(b.recvmsg(2, 0))
    assert (got.data, got.flags, got.count) == (b"th", MSG_TRUNC, 2)
    assert run(b.recvmsg(4, MSG_TRUNC)).count == 9


def test_an_unconnected_receiver_queues_eleven_datagrams(who):
    srv = unix.create_unix(SOCK_DGRAM, 0, 0, who)
    srv.bind(addr(b"\0q"), who)
    c = unix.create_unix(SOCK_DGRAM, 0, 0, who)
    sent = 0
    with pytest.raises(Errno) as e:
        while sent < 100:
            run(c.sendmsg(b"q", addr(b"\0q"), 0x40, who))
            sent += 1
    assert (sent, e.value.code) == (11, EAGAIN)


def test_a_datagram_peer_that_closed_is_econnrefused_then_enotconn(who):
    srv = unix.create_unix(SOCK_DGRAM, 0, 0, who)
    srv.bind(addr(b"\0gone"), who)
    c = unix.create_unix(SOCK_DGRAM, 0, 0, who)
    run(c.connect(addr(b"\0gone"), who))
    third = unix.create_unix(SOCK_DGRAM, 0, 0, who)
    run(srv.connect(addr(b"\0gone"), who))                # srv now talks only to itself
    with pytest.raises(Errno) as e:
        run(third.sendmsg(b"x", addr(b"\0gone"), 0, who))
    assert e.value.code == EPERM
    srv.release()
    for code in (ECONNREFUSED, ENOTCONN):
        with pytest.raises(Errno) as e:
            run(c.sendmsg(b"x", None, 0, who))
        assert e.value.code == code


def test_seqpacket_reads_one_message_and_drops_its_rest(who):
    a, b = unix.socketpair(SOCK_SEQPACKET, 0, who)
    run(a.sendmsg(b"first", None, 0, who))
    run(a.sendmsg(b"second", None, 0, who))
    assert run(b.recvmsg(3, 0)).data == b"fir"
    assert run(b.recvmsg(64, 0)).data == b"second"


def test_files_in_flight_close_with_a_dropped_message(who):
    a, b = stream_pair(who)
    Counted.released = 0
    f = Counted(0).get()
    run(a.sendmsg(b"f", None, 0, who, [f.get()]))
    f.put()
    assert Counted.released == 0                # the message holds it
    b.put()
    assert Counted.released == 1


def test_a_stream_read_stops_after_a_message_with_files(who):
    a, b = stream_pair(who)
    run(a.sendmsg(b"ab", None, 0, who))
    run(a.sendmsg(b"cd", None, 0, who, [Counted(0).get()]))
    run(a.sendmsg(b"ef", None, 0, who))
    got = run(b.recvmsg(10, 0))
    assert (got.data, len(got.files)) == (b"abcd", 1)
    assert run(b.recvmsg(10, 0)).data == b"ef"


def test_credentials_go_with_a_message_only_when_asked_for(who):
    a, b = unix.socketpair(SOCK_DGRAM, 0, who)
    run(a.sendmsg(b"before", None, 0, who))
    b.passcred = True
    run(a.sendmsg(b"after", None, 0, who))
    assert run(b.recvmsg(10, 0)).creds == UCred(0, 65534, 65534)
    assert run(b.recvmsg(10, 0)).creds == UCred(100, 0, 0)


def test_parse_control_takes_rights_and_checks_credentials(who):
    files = {3: Counted(0)}
    rights = struct.pack("<Qii", cmsg_len(8), SOL_SOCKET, SCM_RIGHTS) + struct.pack("<ii", 3, 3)
    creds = struct.pack("<Qii", cmsg_len(12), SOL_SOCKET, SCM_CREDENTIALS) + struct.pack("<iII", 1, 5, 6) + b"\0" * 4
    got, cred = parse_control(rights + creds, files.__getitem__, who)
    assert got == [files[3], files[3]] and files[3].refs == 2 and cred == UCred(1, 5, 6)
    for f in got:
        f.put()
    with pytest.raises(Errno) as e:
        parse_control(struct.pack("<Qii", 8, SOL_SOCKET, SCM_RIGHTS), files.__getitem__, who)
    assert e.value.code == EINVAL


def test_build_control_fits_what_it_can_and_says_ctrunc():
    fds = iter(range(10, 20))
    files = [Counted(0).get() for _ in range(3)]
    pieces, used, flags = build_control(cmsg_space(4), True, None, files, lambda f: next(fds))
    assert flags == MSG_CTRUNC and used == cmsg_space(4)
    assert pieces == [(0, struct.pack("<Qii", cmsg_len(8), SOL_SOCKET, SCM_RIGHTS) + struct.pack("<ii", 10, 11))]
    pieces, used, flags = build_control(0, False, UCred(1, 2, 3), [], lambda f: 0)
    assert (pieces, used, flags) == ([], 0, MSG_CTRUNC)


def test_proc_net_unix_lists_bound_and_listening_sockets(who):
    s = unix.create_unix(SOCK_STREAM, 0, 0, who)
    s.bind(addr(b"/listening"), who)
    s.listen(5, who)
    line = [x for x in unix.proc_net_unix().decode().splitlines() if x.endswith(" /listening")][0]
    assert line.split()[3:6] == ["00010000", "0001", "01"]
    s.release()
    assert b" /listening\n" not in unix.proc_net_unix()


def test_a_read_of_an_empty_stream_socket_parks_and_the_peers_write_answers_it_inline(who):
    from moss_host.errors import ERESTARTSYS
    from moss_host.sched.parked import Parked
    from moss_host.syscalls.socket import unix_read_now
    from tests.unit.test_pipe import make_task

    async def main():
        a, b = stream_pair(who)
        task = make_task()
        buf = task.mm.alloc(16)
        results: list = []
        parked = unix_read_now(task, b, buf, 16)
        assert type(parked) is Parked
        parked.resume = lambda t, r: results.append(r)      # (Scheduler.park sets it)
        assert await a.write(b"ping") == 4
        assert results == [4] and task.mm.read(buf, 4) == b"ping"    # inline, in the send
        parked = unix_read_now(task, b, buf, 16)
        parked.resume = lambda t, r: results.append(r)
        assert parked.cancel()                              # a signal
        assert results == [4, -ERESTARTSYS]
        await a.write(b"xy")
        assert results == [4, -ERESTARTSYS]                 # no watch left behind
        assert unix_read_now(task, b, buf, 16) == 2         # queued: at once
        parked = unix_read_now(task, b, buf, 16)
        parked.resume = lambda t, r: results.append(r)
        a.shutdown(1)                                       # SHUT_WR: the end of file
        assert results == [4, -ERESTARTSYS, 0]
    run(main())
