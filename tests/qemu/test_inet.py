"""AF_INET/AF_INET6 in real programs, against Linux 6.1 booted in the same QEMU (the
`linux_oracle` fixture; its loopback is brought up for each test and put back down after,
as the oracle's /init leaves it).

tests/programs/inet_tcp.c and inet_udp.c check connect/accept/half-close/reset/options
and datagrams; BusyBox's httpd/wget and nc talk over 127.0.0.1; a host HTTP server is
fetched through 10.0.2.2, and a guest server from the host through --forward.
"""
import contextlib

import pytest

from tests.covers import covers

from .conftest import moss_run, same_as_linux

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
