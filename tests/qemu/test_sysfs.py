"""sysfs on /sys (moss_host/fs/drivers/sysfs) against Linux 6.1 in the same QEMU: the files
whose values do not depend on the machine or the run (the CPU lists, topology and ID
registers, the loopback, the disk's size and limits), and what Debian's lscpu, lsblk and
findmnt print from them. The oracle's /init mounts sysfs on /sys; moss-py mounts it at boot.
"""
from __future__ import annotations

import re

import pytest

from .conftest import moss_run
from .linux_debian_oracle import ROOT
from .test_debian import run_in_moss
from .test_inet import loopback_up

pytestmark = pytest.mark.qemu

CPU = "/sys/devices/system/cpu"
FILES = [f"{CPU}/{name}" for name in ("online", "possible", "present", "offline", "kernel_max", "modalias")] + [
    f"{CPU}/cpu0/{name}" for name in (
        "topology/core_id", "topology/cluster_id", "topology/physical_package_id", "topology/thread_siblings",
        "topology/core_siblings_list", "topology/package_cpus", "regs/identification/midr_el1",
        "regs/identification/revidr_el1", "cpu_capacity", "cache/index0/type", "cache/index1/level",
        "cache/index1/shared_cpu_map", "online")] + [
    "/sys/devices/system/node/node0/cpulist", "/sys/devices/system/node/online",
    "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "/sys/fs/cgroup"] + [
    f"/sys/class/net/lo/{name}" for name in (
        "flags", "mtu", "address", "broadcast", "type", "ifindex", "iflink", "addr_len", "operstate",
        "tx_queue_len", "uevent", "carrier")]
# What each file is: type, permissions, size (kernfs gives attributes 4096, links and directories 0).
STATS = ["/sys/devices/system/cpu/online", "/sys/class/net/lo", "/sys/class/net/lo/mtu", "/sys/fs/cgroup",
         "/sys/kernel/mm/transparent_hugepage/enabled", "/sys/devices/system/cpu/cpu0/uevent", "/sys"]
SCRIPT = (f"for f in {' '.join(FILES)}; do printf '%s: ' $f; cat $f 2>&1 | sed 's/^cat: //'; done; "
          f"stat -c '%n %F %a %s %u %g' {' '.join(STATS)}; stat -f -c '%T %s %b' /sys; "
          "readlink /sys/class/net/lo; readlink /sys/devices/system/cpu/cpu0/subsystem")


@pytest.mark.differential
def test_cpu_node_net_and_kernel_files_match_linux(linux_oracle):
    with loopback_up(linux_oracle):                 # moss-py's loopback is always up
        out, err, status = linux_oracle.run3(SCRIPT)
    assert status == 0, err
    moss = moss_run("/bin/sh", "-c", SCRIPT, extra=("--net", "none"))
    assert moss.stdout.decode() == out, moss.stderr.decode(errors="replace")[-2000:]
    assert f"{CPU}/cpu0/online: can't open" in out and "/sys/class/net/lo/carrier: 1" in out


def debian_linux(oracle, argv: list[str]) -> str:
    """argv in the Debian chroot, with sysfs mounted on its /sys (once per session)."""
    out, status = oracle.run(f"grep -q ' {ROOT}/sys ' /proc/mounts || mount -t sysfs sysfs {ROOT}/sys")
    assert status == 0, out
    out, err, status = oracle.run_argv(argv)
    assert status == 0, err
    return out


DISK_SCRIPT = ("cd /sys/block/vda && for f in dev size ro removable range ext_range capability hidden "
               "queue/logical_block_size queue/physical_block_size queue/hw_sector_size queue/minimum_io_size "
               "queue/optimal_io_size queue/rotational queue/read_ahead_kb queue/max_sectors_kb; do "
               "echo $f: $(cat $f); done; grep -v DISKSEQ uevent; "
               "readlink /sys/block/vda /sys/dev/block/254:0 /sys/class/block/vda; ls /sys/block")


@pytest.mark.differential
def test_the_disk_s_attributes_match_linux(linux_debian_oracle, moss_disk):
    theirs = debian_linux(linux_debian_oracle, ["bash", "-c", DISK_SCRIPT])
    moss = run_in_moss(moss_disk, ["bash", "-c", DISK_SCRIPT])
    # Linux also lists its eight loop devices (moss-py has none).
    assert moss.stdout.decode() == re.sub(r"loop\d\n", "", theirs), moss.stderr.decode(errors="replace")[-2000:]


@pytest.mark.differential
def test_lsblk_matches_linux(linux_debian_oracle, moss_disk):
    for argv in (["lsblk"], ["lsblk", "-b", "-o", "NAME,MAJ:MIN,RM,SIZE,RO,TYPE,MOUNTPOINTS"]):
        theirs = debian_linux(linux_debian_oracle, argv)
        moss = run_in_moss(moss_disk, argv)
        assert moss.stdout.decode() == theirs, moss.stderr.decode(errors="replace")[-2000:]


def fields(text: str) -> dict[str, str]:
    """lscpu's `Field: value` lines, spacing dropped."""
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in text.splitlines())}


@pytest.mark.differential
def test_lscpu_says_what_linux_says(linux_debian_oracle, moss_disk):
    """Every field moss-py's lscpu prints is Linux's; Linux adds the Vulnerability lines (moss-py
    has no /sys/devices/system/cpu/vulnerabilities), which also widen its columns."""
    theirs = fields(debian_linux(linux_debian_oracle, ["lscpu"]))
    moss = run_in_moss(moss_disk, ["lscpu"])
    ours = fields(moss.stdout.decode())
    assert ours == {k: theirs[k] for k in ours}, moss.stderr.decode(errors="replace")[-2000:]
    assert {k for k in theirs if not k.startswith("Vulnerability")} <= set(ours)


@pytest.mark.differential
def test_findmnt_shows_proc_and_sys_as_linux_does(linux_debian_oracle, moss_disk):
    """The root's source is not compared: Linux names the disk it mounted (/dev/vda), moss-py
    the /dev/root a booted Linux shows."""
    script = ("findmnt -n -o TARGET,SOURCE,FSTYPE,OPTIONS /sys; findmnt -n -o TARGET,SOURCE,FSTYPE,OPTIONS /proc; "
              "findmnt -n -o TARGET,FSTYPE /")
    theirs = debian_linux(linux_debian_oracle, ["bash", "-c", script])
    moss = run_in_moss(moss_disk, ["bash", "-c", script])
    assert moss.stdout.decode() == theirs, moss.stderr.decode(errors="replace")[-2000:]


# ---------------------------------------------------------------- /proc files tools read (item 4, part)

# Machine-specific lines are dropped: RLIMIT_NPROC and RLIMIT_SIGPENDING derive from the
# memory, io's counters from what the shell read. randomize_va_space differs on purpose
# (moss-py has no address randomization: 0, Linux 2) and is not compared.
PROC_SCRIPT = ("cd /proc/sys && cat kernel/pid_max kernel/tainted kernel/core_pattern fs/pipe-max-size "
               "fs/pipe-user-pages-soft; cd /proc/self && cat personality timerslack_ns oom_score_adj; "
               "cat /proc/self/wchan; echo; grep -v -e processes -e signals limits; sed 's/:.*//' io; "
               "echo 7000 > timerslack_ns && cat timerslack_ns; "
               "stat -c '%n %a' limits personality timerslack_ns wchan oom_score_adj io")


@pytest.mark.differential
def test_proc_limits_personality_timerslack_and_sysctls_match_linux(linux_oracle):
    out, err, status = linux_oracle.run3(PROC_SCRIPT)
    assert status == 0, err
    moss = moss_run("/bin/sh", "-c", PROC_SCRIPT)
    assert moss.stdout.decode() == out, moss.stderr.decode(errors="replace")[-2000:]
