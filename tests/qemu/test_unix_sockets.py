"""AF_UNIX sockets in real programs: tests/programs/unix_stream.c, unix_dgram.c, unix_scm.c and
unix_errors.c run by moss-py and by Linux 6.1 booted in the same QEMU (the `linux_oracle`
fixture; the programs fork, so not qemu-aarch64); both must print the same and exit the same.
BusyBox's syslogd and logger over /dev/log run in moss-py.

Timings are printed by the programs as ok/FAIL against generous bounds; what the tests spell
out is a line near each program's end, so that two empty outputs cannot agree.
"""
import pytest

from tests.covers import covers

from .conftest import moss_run, same_as_linux
from .test_debian import same_as_linux as debian_same_as_linux

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


@covers("socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname",
        "getpeername", "getsockopt", "setsockopt", "shutdown", "recvfrom", "sendto", "read", "write",
        "readv", "writev", "ppoll", "epoll_pwait", "ioctl", "fstat", "readlinkat", "setitimer",
        "rt_sigaction")
def test_unix_stream_pairs_servers_names_half_close_and_options_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "unix_stream")
    assert "FAIL" not in out
    assert "write after SHUT_WR: -1 EPIPE sigpipes 1\n" in out
    assert out.startswith("read interrupted (no SA_RESTART): -1 EINTR\nread interrupted (SA_RESTART): 4 ok\n"
                          "read interrupted (SA_RESTART, SO_RCVTIMEO): -1 EINTR\n")
    assert "bulk: 1048576 bytes, 0 wrong, last read 0\n" in out
    assert out.endswith("SO_RCVTIMEO usec 1000000: EDOM\nrecv of 0 bytes with data queued: 0\n"
                        "SO_RCVLOWAT 4: a DONTWAIT read of 2 queued bytes: 2\ndone\n")


@covers("socketpair", "socket", "bind", "connect", "sendto", "recvfrom", "recvmsg", "getpeername",
        "getsockopt", "shutdown", "listen", "accept", "ppoll", "sendmmsg", "recvmmsg")
def test_unix_datagram_and_seqpacket_boundaries_limits_and_peers_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "unix_dgram")
    assert "cut to 2: 2 ok 'th' flags 20 namelen 0\n" in out
    assert out.startswith("sendmmsg: 3, msg_len 1 2 3\nrecvmmsg DONTWAIT: 3, msg_len 1 2 3 'ccc'\n")
    assert "send after the peer closed: ECONNREFUSED, then ENOTCONN" in out
    assert out.endswith("seq send after own SHUT_WR: -1 EPIPE sigpipes 0\ndone\n")


@covers("sendmsg", "recvmsg", "socketpair", "setsockopt", "getsockopt", "clone", "wait4", "setuid", "prlimit64")
def test_unix_scm_rights_and_credentials_between_processes_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "unix_scm")
    assert "child got 4 bytes 'file', 1 fd, ctllen 24, reads 'of the file'\n" in out
    assert "253 fds: 1, received 253 flags 0; 254 fds: EINVAL; open fds +0\n" in out
    assert "pipe writer in flight: poll 0, after the receiver closed: poll 10\n" in out
    assert "the child's write: 5 bytes, pid is the child 1, uid 65534 gid 65534\n" in out
    # Linux 6.1 does not collect such cycles when the descriptors close: the pipe stays open
    assert "a socket in flight in its own queue: pipe poll 0, after its peer closed: 0\n" in out
    assert "as nobody with RLIMIT_NOFILE 16: 17 sent, then ETOOMANYREFS\n" in out
    assert out.endswith("done\n")


@covers("socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname",
        "getpeername", "shutdown", "sendto", "recvfrom", "setsockopt", "getsockopt", "sendmsg", "recvmsg")
def test_unix_socket_errors_come_in_linux_order(linux_oracle):
    out = same_as_linux(linux_oracle, "unix_errors")
    assert "bind again, same path: EADDRINUSE\n" in out
    assert "connect as nobody to a 0755 socket: EACCES\n" in out
    assert out.endswith("sendmsg bad msghdr: EFAULT\ndone\n")


SYSLOG_SCRIPT = (
    "rm -f /tmp/syslog.txt; syslogd -O /tmp/syslog.txt; sleep 0.5; "
    "logger -t moss hello from logger; logger -t moss -p user.err second line; "
    "echo via stdin | logger -t piped; sleep 0.5; "
    "sed -E 's/^[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} [^ ]+ //' /tmp/syslog.txt | grep -v 'syslogd started'; "
    "ls -l /dev/log | cut -c1-10; grep -c ' /dev/log$' /proc/net/unix; "
    "killall syslogd; sleep 0.2; rm -f /dev/log /tmp/syslog.txt")


@covers("socket", "connect", "bind", "sendto", "recvfrom", "sendmsg", "recvmsg")
def test_busybox_syslogd_and_logger_over_dev_log_match_linux(linux_oracle):
    """syslogd binds /dev/log (a datagram socket); logger connects and sends; the lines land
    in the log file. /proc/net/unix lists the bound socket."""
    linux, status = linux_oracle.run(f"sh -c {SYSLOG_SCRIPT!r}")
    moss = moss_run("/bin/sh", "-c", SYSLOG_SCRIPT)
    assert (moss.stdout.decode(), moss.returncode) == (linux, status)
    assert linux == ("user.notice moss: hello from logger\nuser.err moss: second line\n"
                     "user.notice piped: via stdin\nsrw-rw-rw-\n1\n")


PY_UNIX = """
import asyncio, os, selectors, socket
print(type(selectors.DefaultSelector()).__name__)
path = "/tmp/echo.sock"
async def handle(reader, writer):
    line = await reader.readline()
    writer.write(line.upper())
    await writer.drain()
    writer.close()
async def main():
    server = await asyncio.start_unix_server(handle, path)
    replies = []
    for i in range(3):
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(f"hello {i}\\n".encode())
        await writer.drain()
        replies.append((await reader.readline()).decode().strip())
        writer.close()
    server.close()
    await server.wait_closed()
    print(replies)
asyncio.run(main())
a, b = socket.socketpair()
rfd, wfd = os.pipe()
os.write(wfd, b"through the fd")
socket.send_fds(a, [b"x"], [rfd])
msg, fds, flags, addr = socket.recv_fds(b, 10, 4)
print(msg, len(fds), os.read(fds[0], 100), flags)
print(b.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE), int(a.family), b.getpeername() == "")
"""


@pytest.mark.slow
@covers("socket", "bind", "listen", "accept4", "connect", "sendmsg", "recvmsg", "socketpair", "epoll_pwait")
def test_debian_python_asyncio_unix_server_selectors_and_send_fds_match_linux(linux_debian_oracle, moss_disk):
    """python3's asyncio echo server and clients over a Unix socket, selectors picking epoll,
    socket.send_fds/recv_fds over a socketpair: Debian's python3 under moss-py and Linux."""
    out = debian_same_as_linux(linux_debian_oracle, moss_disk, ["python3", "-c", PY_UNIX])
    assert out == ("EpollSelector\n['HELLO 0', 'HELLO 1', 'HELLO 2']\n"
                   "b'x' 1 b'through the fd' 0\n1 1 True\n")


@covers("epoll_pwait", "epoll_ctl", "accept4", "connect", "listen", "recvfrom", "sendto", "read", "write")
def test_an_epoll_server_over_unix_sockets_answers_forked_clients_as_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "unix_epoll_server")
    assert out == "accepted 4, requests 200, closed 4, reports 5, clients ok 5\n"


@pytest.mark.differential
def test_msg_oob_on_stream_sockets_matches_linux(linux_oracle):
    """CONFIG_AF_UNIX_OOB: the urgent byte, SIOCATMARK, reads stopping at the mark, SO_OOBINLINE, POLLPRI."""
    same_as_linux(linux_oracle, "unix_oob", status=0)


@pytest.mark.differential
def test_sockets_only_in_flight_on_unreachable_queues_are_collected_like_linux(linux_oracle):
    """unix_gc: a pair sent over itself and closed, a socket on its own queue, two pairs holding
    each other's ends go; one in flight on an open socket's queue stays and works."""
    same_as_linux(linux_oracle, "unix_gc", status=0)
