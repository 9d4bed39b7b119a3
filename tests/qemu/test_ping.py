"""ICMP echo (moss_host/net/inet_icmp.py) against Linux 6.1 booted in the same QEMU: ping
sockets under net.ipv4.ping_group_range, raw ICMP sockets, the loopback's echo responder
and the Icmp counters of /proc/net/snmp (tests/programs/ping.c); BusyBox's ping (a raw
socket, as root) over 127.0.0.1; Debian's iputils ping and `ip -br addr` on the Debian image.
"""
import re
import shlex

import pytest

from tests.covers import covers

from .conftest import moss_run, same_as_linux
from .linux_oracle import linux_oracle  # noqa: F401  (fixture)
from .test_inet import loopback_up

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


@covers("socket", "sendto", "recvmsg", "connect", "setsockopt", "getsockopt", "getsockname")
def test_ping_and_raw_icmp_sockets_match_linux(linux_oracle):
    with loopback_up(linux_oracle):
        out = same_as_linux(linux_oracle, "ping")
    assert "reply: 64 bytes from 127.0.0.1 port 0 namelen 16 type 0 code 0 id mine seq 1" in out
    assert "raw 2:" in out and "Icmp InEchos: +" in out


def _times_out(text: str) -> str:
    """ping's times vary from run to run: kept as their shape."""
    return re.sub(r"\d+\.\d+", "T", text)


BUSYBOX_PING = "ping -c 2 -i 0.2 127.0.0.1; echo status $?; ping -c 1 -W 1 ::1; echo status $?"


@covers("socket", "sendto", "recvfrom")
def test_busybox_ping_over_the_loopback_matches_linux(linux_oracle):
    with loopback_up(linux_oracle):
        linux, _ = linux_oracle.run("sh -c " + shlex.quote(BUSYBOX_PING))
    moss = moss_run("/bin/sh", "-c", BUSYBOX_PING)
    assert _times_out(moss.stdout.decode()) == _times_out(linux), moss.stderr.decode()[-2000:]
    assert "2 packets transmitted, 2 packets received, 0% packet loss" in linux


DEBIAN_NET = ("ping -c 2 -i 0.2 127.0.0.1; echo status $?; ping -c 1 ::1 | head -2; ip -br addr; ip -br link; "
              # a ping socket once the range holds root's group (then the range put back)
              "echo 0 0 > /proc/sys/net/ipv4/ping_group_range; ping -c 1 127.0.0.1 | head -2; "
              "echo 1 0 > /proc/sys/net/ipv4/ping_group_range; cat /proc/sys/net/ipv4/ping_group_range")


def _iputils_shape(text: str) -> str:
    return re.sub(r"time \d+ms", "time Tms", _times_out(text))


@pytest.mark.slow
@covers("socket", "sendto", "recvmsg")
def test_debian_iputils_ping_and_ip_br_addr_match_linux(linux_debian_oracle, moss_disk):
    """iputils' ping as root: ping_group_range "1 0" refuses the ping socket (EACCES), so it
    falls back to a raw socket, on both kernels; `ip` of iproute2 reads the netlink dumps.
    The oracle has no network device: moss-py runs with --net none to have only `lo` too."""
    linux_debian_oracle.run_argv(["ip", "link", "set", "lo", "up"])
    try:
        linux, err, status = linux_debian_oracle.run_argv(["bash", "-c", DEBIAN_NET], timeout=300)
    finally:
        linux_debian_oracle.run_argv(["ip", "link", "set", "lo", "down"])
    moss = moss_run("bash", "-c", DEBIAN_NET, image=None, extra=("--disk", str(moss_disk), "--net", "none"),
                    timeout=300)
    assert _iputils_shape(moss.stdout.decode()) == _iputils_shape(linux), moss.stderr.decode()[-2000:]
    assert "2 packets transmitted, 2 received, 0% packet loss" in linux
    assert "lo               UNKNOWN        127.0.0.1/8 ::1/128" in linux


# What the counters and the device files look like; values that count traffic are compared
# as differences over a known exchange (two pings and one TCP connection over 127.0.0.1).
# IcmpMsg lines appear once a type was counted: on the shared oracle, earlier tests pinged.
NET_FILES = r"""
snap() { sed -n 's/^Icmp: //p; s/^Tcp: //p; s/^Udp: //p' /proc/net/snmp | sed -n '2p;4p;6p'; }
grep -hv IcmpMsg /proc/net/snmp /proc/net/netstat | awk 'NR % 2 == 1 {print $1, NF}'
awk '{print $1}' /proc/net/snmp6 | grep -v Type
before=$(snap)
ping -c 2 -i 0.2 -q 127.0.0.1 >/dev/null
nc -l -p 4711 >/dev/null & sleep 0.5; echo hi | nc 127.0.0.1 4711; wait
after=$(snap)
printf '%s\n%s\n' "$before" "$after" | awk '{
  for (i = 1; i <= NF; i++) v[NR, i] = $i; n[NR] = NF }
  END { for (r = 1; r <= 3; r++) { line = ""; for (i = 1; i <= n[r]; i++) {
        d = v[r + 3, i] - v[r, i]; line = line " " (d == 0 ? 0 : d > 0 ? "+" : "-") } print line } }'
cd /sys/class/net/lo && for f in address broadcast flags ifindex iflink mtu operstate type carrier addr_len; do
  echo "$f: $(cat $f)"; done; ls statistics | wc -l
for f in rx_packets tx_packets rx_bytes; do [ "$(cat statistics/$f)" -gt 0 ] && echo "$f > 0"; done
ls /sys/class/net
"""


@covers("socket", "sendto", "recvmsg", "connect", "accept")
def test_proc_net_snmp_and_sys_class_net_have_linuxs_shape_and_count_loopback_traffic(linux_oracle):
    with loopback_up(linux_oracle):
        linux, status = linux_oracle.run("sh -c " + shlex.quote(NET_FILES))
    moss = moss_run("/bin/sh", "-c", NET_FILES, extra=("--net", "none"))
    assert moss.stdout.decode() == linux, moss.stderr.decode()[-2000:]
    assert "Icmp: 30" in linux and "rx_packets > 0" in linux
