"""AF_INET/AF_INET6 in real programs, against Linux 6.1 booted in the same QEMU (the
`linux_oracle` fixture; its loopback is brought up for each test and put back down after,
as the oracle's /init leaves it).

tests/programs/inet_tcp.c and inet_udp.c check connect/accept/half-close/reset/options
and datagrams; BusyBox's httpd/wget and nc talk over 127.0.0.1; a host HTTP server is
fetched through 10.0.2.2, and a guest server from the host through --forward.
"""
import contextlib
import functools
import hashlib
import http.server
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tests.covers import covers

from .conftest import IMAGE, REPO, moss_run, same_as_linux

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


@contextlib.contextmanager
def loopback_up(oracle):
    oracle.run("ip link set lo up")
    try:
        yield
    finally:
        oracle.run("ip link set lo down")


@covers("socket", "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername",
        "getsockopt", "setsockopt", "shutdown", "recvfrom", "sendto", "read", "write", "ppoll", "ioctl")
def test_tcp_connections_half_close_reset_and_options_match_linux(linux_oracle):
    with loopback_up(linux_oracle):
        out = same_as_linux(linux_oracle, "inet_tcp")
    assert "connect to a closed port: ECONNREFUSED\n" in out
    assert "non-blocking connect to a closed port: EINPROGRESS\n" in out
    assert out.endswith("done\n")


@covers("socket", "bind", "connect", "sendto", "recvfrom", "recvmsg", "getsockname", "getpeername",
        "getsockopt", "shutdown", "ppoll", "ioctl", "socketpair")
def test_udp_boundaries_connected_sockets_and_socket_errors_match_linux(linux_oracle):
    with loopback_up(linux_oracle):
        out = same_as_linux(linux_oracle, "inet_udp")
    assert "cut to 2: 2 'th' flags 0x20 from 127.0.0.1:eph/16\n" in out
    assert "send again: ECONNREFUSED\n" in out
    assert out.endswith("socketpair AF_INET: EOPNOTSUPP\ndone\n")


BUSYBOX_SCRIPT = """
mkdir -p /tmp/www && echo page > /tmp/www/index.html && httpd -p 127.0.0.1:8081 -h /tmp/www && sleep 0.5
wget -q -O - http://127.0.0.1:8081/index.html; echo "wget: $?"
wget -q -O - http://127.0.0.1:8081/nope 2>&1; echo "wget missing: $?"
wget -q -O - http://127.0.0.1:8089/ 2>&1; echo "wget closed port: $?"
awk '$2 == "0100007F:1F91" && $4 == "0A" {print "listening in /proc/net/tcp:", $3, $4}' /proc/net/tcp
killall httpd
nc -l -p 8082 > /tmp/nc.out & sleep 0.5
echo via nc | nc 127.0.0.1 8082; echo "nc: $?"
wait; cat /tmp/nc.out
rm -rf /tmp/www /tmp/nc.out
"""


@covers("socket", "bind", "listen", "accept", "connect", "sendto", "recvfrom", "shutdown")
def test_busybox_httpd_wget_and_nc_over_the_loopback_match_linux(linux_oracle):
    with loopback_up(linux_oracle):
        linux, status = linux_oracle.run("sh -c " + shlex.quote(BUSYBOX_SCRIPT))
    moss = moss_run("/bin/sh", "-c", BUSYBOX_SCRIPT)
    assert moss.stdout.decode() == linux
    # (closed connections in TIME_WAIT, which moss-py does not keep, are left out)
    assert "page\nwget: 0\n" in linux and "listening in /proc/net/tcp: 00000000:0000 0A\n" in linux
    assert linux.endswith("nc: 0\nvia nc\n")


@covers("socket", "bind", "listen", "accept", "connect", "ppoll", "read", "write", "shutdown")
def test_a_hundred_loopback_connections_each_move_a_mib_intact(linux_oracle):
    with loopback_up(linux_oracle):
        out = same_as_linux(linux_oracle, "inet_stress", "100", "1048576")
    assert out == "100 connections, 104857600 bytes, 0 wrong: ok\n"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def host_http_server(directory):
    """An HTTP server on the host's 127.0.0.1 (an ephemeral port) serving directory."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()


@covers("socket", "connect", "sendto", "recvfrom", "read", "write")
def test_the_guest_fetches_from_the_hosts_loopback_through_the_gateway(tmp_path):
    (tmp_path / "hi.txt").write_text("hello from the host\n")
    blob = os.urandom(1 << 20)
    (tmp_path / "big").write_bytes(blob)
    with host_http_server(tmp_path) as port:
        out = moss_run("/bin/sh", "-c", f"wget -q -O - http://10.0.2.2:{port}/hi.txt; echo status $?; "
                       f"wget -q -O - http://10.0.2.2:{port}/big | md5sum")
        off = moss_run("/bin/sh", "-c", f"wget -q -O - http://10.0.2.2:{port}/hi.txt 2>&1; echo status $?",
                       extra=("--net", "none"))
    assert out.stdout.decode() == f"hello from the host\nstatus 0\n{hashlib.md5(blob).hexdigest()}  -\n"
    assert off.stdout.decode() == "wget: can't connect to remote host (10.0.2.2): Network is unreachable\nstatus 1\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


GUEST_SERVER = ("mkdir -p /tmp/www; echo guest page > /tmp/www/index.html; "
                "head -c 1048576 /dev/urandom > /tmp/www/big; md5sum /tmp/www/big | cut -c1-32 > /tmp/www/big.md5; "
                "httpd -f -p 8080 -h /tmp/www & echo ready; sleep 120")


def fetch(url: str, deadline: float) -> bytes:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@covers("socket", "bind", "listen", "accept", "read", "write")
def test_the_host_fetches_from_a_guest_server_through_a_forward():
    """--forward tcp:HOSTPORT:8080: a host connection is a connection accepted by BusyBox
    httpd listening on the guest's port 8080 (any address)."""
    port = free_port()
    cmd = [sys.executable, "-m", "moss_host.cli", "run", "--image", str(IMAGE), "--forward", f"tcp:{port}:8080",
           "--", "/bin/sh", "-c", GUEST_SERVER]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        deadline = time.monotonic() + 60
        assert fetch(f"http://127.0.0.1:{port}/", deadline) == b"guest page\n"
        big = fetch(f"http://127.0.0.1:{port}/big", deadline)
        md5 = fetch(f"http://127.0.0.1:{port}/big.md5", deadline)
        assert len(big) == 1 << 20 and hashlib.md5(big).hexdigest().encode() + b"\n" == md5
    finally:
        proc.kill()
        proc.wait()


# the oracle's counters count what earlier tests sent over its loopback: left out
NET_TOOLS = ("ifconfig | grep -v -e packets -e bytes; ip addr; ip route; ip link; "
             "cat /proc/net/if_inet6 /proc/net/route /proc/sys/net/ipv4/ip_local_port_range; "
             "sed 1,2d /proc/net/dev | cut -c1-7")


@covers("socket", "bind", "getsockname", "sendto", "recvmsg", "ioctl")
def test_ifconfig_and_ip_see_the_loopback_as_on_linux(linux_oracle):
    """With --net none moss-py has only `lo`, as the oracle (no network device) has once it is
    up: ifconfig's ioctls, ip's NETLINK_ROUTE dumps and the /proc/net files agree."""
    with loopback_up(linux_oracle):
        linux, status = linux_oracle.run("sh -c " + shlex.quote(NET_TOOLS))
    moss = moss_run("/bin/sh", "-c", NET_TOOLS, extra=("--net", "none"))
    assert moss.stdout.decode() == linux
    assert "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\n" in linux


@covers("socket", "bind", "recvfrom", "sendto")
def test_a_udp_forward_carries_datagrams_both_ways():
    """--forward udp:HOSTPORT:9000: a host datagram reaches the guest's socket from 10.0.2.2,
    and the guest's answer to that address comes back to the host sender."""
    port = free_port()
    cmd = [sys.executable, "-m", "moss_host.cli", "run", "--image", str(IMAGE), "--forward", f"udp:{port}:9000",
           "--", "/tests/inet_udp_echo", "9000", "1"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(30)
            s.sendto(b"ping", ("127.0.0.1", port))
            assert s.recvfrom(100)[0] == b"echo:ping"
        out, _ = proc.communicate(timeout=60)
        assert out == b"from 10.0.2.2\n"
    finally:
        proc.kill()
        proc.wait()


@covers("bind", "listen", "connect", "accept", "setsockopt")
def test_the_side_that_closes_first_keeps_its_port_in_time_wait_as_on_linux(linux_oracle):
    """TIME_WAIT: EADDRINUSE for a bind of the port without SO_REUSEADDR, allowed with it when
    the closed socket had it; state 06 in /proc/net/tcp. (Runs once per oracle: its TIME_WAIT
    lasts 60 s.)"""
    with loopback_up(linux_oracle):
        out = same_as_linux(linux_oracle, "inet_timewait")
    assert "port 4310: 06" in out and "bind server port: EADDRINUSE" in out


@covers("setsockopt", "getsockopt", "sendto", "recvfrom", "connect")
def test_udp_broadcast_and_multicast_on_the_loopback_match_linux(linux_oracle):
    """SO_BROADCAST, IP_ADD_MEMBERSHIP and friends (tests/programs/inet_mcast.c); the oracle
    has only `lo`, so moss-py runs with --net none."""
    with loopback_up(linux_oracle):
        linux, err, status = linux_oracle.run3("/tests/inet_mcast", timeout=120)
    moss = moss_run("/tests/inet_mcast", extra=("--net", "none"))
    assert moss.stdout.decode() == linux, moss.stderr.decode(errors="replace")[-2000:]
    assert moss.returncode == status == 0
    assert "not a member: [g1]" in linux and "send 127.255.255.255 without SO_BROADCAST: EACCES" in linux


class HTTPServer6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


@covers("socket", "connect", "sendto", "recvfrom", "read", "write")
def test_the_guest_reaches_the_hosts_ipv6_loopback_through_the_gateway_fec0_2(tmp_path):
    """IPv6 out: fec0::2 is the host's ::1 (as QEMU's slirp maps its IPv6 gateway); the
    gateway also answers ping itself (slirp's icmp reflection: ttl 255)."""
    (tmp_path / "hi.txt").write_text("hello over IPv6\n")
    blob = os.urandom(1 << 19)
    (tmp_path / "big").write_bytes(blob)
    srv = HTTPServer6(("::1", 0), functools.partial(QuietHandler, directory=str(tmp_path)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    try:
        out = moss_run("/bin/sh", "-c", f"wget -q -O - 'http://[fec0::2]:{port}/hi.txt'; echo status $?; "
                       f"wget -q -O - 'http://[fec0::2]:{port}/big' | md5sum; "
                       "ping -c 1 10.0.2.2 | grep -o 'ttl=[0-9]*'; ping -c 1 fec0::2 | grep -o 'ttl=[0-9]*'")
    finally:
        srv.shutdown()
        srv.server_close()
    assert out.stdout.decode() == (f"hello over IPv6\nstatus 0\n{hashlib.md5(blob).hexdigest()}  -\n"
                                   "ttl=255\nttl=255\n"), out.stderr.decode()[-2000:]
