"""Debian's tools that read /proc/sys, /proc/sysvipc, the capability sets, /sys and
/proc/config.gz (issue 16's Done-when: ipcs, ipcrm, getpcaps, capsh, sysctl, lscpu, lsblk,
`cat /proc/config.gz | gunzip`), run from build/debian.ext4 under moss-py and under Linux 6.1
chrooted into a copy of the same image (test_debian.py's harness).

What is the machine's and not the kernel's is masked before the comparison: pids, IPC keys
and ids, the CPU count and the disk's size and name, values computed from the RAM.
"""
from __future__ import annotations

import pytest

from .test_debian import bash, run_in_moss, same_as_linux

pytestmark = [pytest.mark.qemu, pytest.mark.slow]


@pytest.mark.differential
def test_ipcmk_ipcs_and_ipcrm_match_linux(linux_debian_oracle, moss_disk):
    # keys and ids are the machine's: ipcs's first two columns are masked
    script = r"""
mask() { awk 'NF >= 5 && $1 ~ /^0x/ { $1 = "KEY"; $2 = "ID" } { print }'; }
m=$(ipcmk -M 8192 | awk '{print $NF}'); s=$(ipcmk -S 3 | awk '{print $NF}'); q=$(ipcmk -Q | awk '{print $NF}')
ipcs | mask
ipcs -m -i "$m" | grep -E '^(uid|mode|bytes|att)' | sed -e 's/time=.*//' -e 's/pid=[0-9]*/pid=PID/g'
ipcrm -m "$m" -s "$s" -q "$q"; echo "ipcrm $?"
ipcrm -m "$m" 2>/dev/null; echo "again $?"
ipcs | mask
ipcs -l
"""
    same_as_linux(linux_debian_oracle, moss_disk, bash(script))


@pytest.mark.differential
def test_getpcaps_and_capsh_print_match_linux(linux_debian_oracle, moss_disk):
    script = r"""
getpcaps $$ | sed 's/^[0-9]*/PID/'
capsh --print
capsh --drop=cap_net_raw,cap_sys_admin --caps=cap_chown,cap_kill+ep -- -c 'getpcaps $$ | sed "s/^[0-9]*/PID/"; grep ^Cap /proc/self/status'
"""
    same_as_linux(linux_debian_oracle, moss_disk, bash(script))


# Keys whose values are the kernel's defaults, the same on any machine (not the RAM, the CPU
# count, the boot's log level, randomization or a per-boot id).
SYSCTL_KEYS = """kernel.ostype kernel.cap_last_cap kernel.ngroups_max kernel.pid_max kernel.domainname
kernel.core_pattern kernel.core_uses_pid kernel.tainted kernel.overflowuid kernel.overflowgid
kernel.printk_ratelimit kernel.printk_ratelimit_burst kernel.panic kernel.panic_on_oops
kernel.shmmni kernel.shmmax kernel.shmall kernel.msgmax kernel.msgmnb kernel.msgmni kernel.sem
kernel.random.poolsize kernel.random.urandom_min_reseed_secs kernel.random.write_wakeup_threshold
fs.nr_open fs.pipe-max-size fs.pipe-user-pages-soft fs.pipe-user-pages-hard fs.suid_dumpable
fs.overflowuid fs.mqueue.msg_max fs.mqueue.msgsize_max fs.mqueue.queues_max fs.mqueue.msg_default
fs.inotify.max_queued_events fs.inotify.max_user_instances fs.inotify.max_user_watches
vm.overcommit_memory vm.overcommit_ratio vm.overcommit_kbytes vm.max_map_count vm.swappiness
vm.panic_on_oom vm.oom_dump_tasks vm.legacy_va_layout vm.nr_hugepages
net.unix.max_dgram_qlen net.core.somaxconn net.core.rmem_default net.core.wmem_max""".split()


@pytest.mark.differential
def test_sysctl_lists_linux_names_with_linux_values(linux_debian_oracle, moss_disk):
    """Every key moss-py lists is one Linux lists, and the machine-independent ones read alike."""
    listing = "sysctl -a 2>/dev/null | cut -d' ' -f1 | sort"
    linux_keys, _, status = linux_debian_oracle.run_argv(bash(listing))
    assert status == 0
    moss = run_in_moss(moss_disk, bash(listing))
    moss_keys = moss.stdout.decode().split()
    assert len(moss_keys) >= 70, moss.stderr.decode(errors="replace")[-2000:]
    assert set(moss_keys) <= set(linux_keys.split()), set(moss_keys) - set(linux_keys.split())
    same_as_linux(linux_debian_oracle, moss_disk, ["sysctl", *SYSCTL_KEYS])


@pytest.mark.differential
def test_sysctl_writes_ranges_and_permissions_match_linux(linux_debian_oracle, moss_disk):
    """Root sets a value and reads it back; an out-of-range value and a read-only file are
    refused; a user may read but not write. The oracle's values are put back."""
    script = r"""
sysctl -w vm.overcommit_ratio=60; sysctl -n vm.overcommit_ratio
sysctl -w vm.overcommit_memory=3 2>/dev/null; echo "range $?"; sysctl -n vm.overcommit_memory
echo 5 > /proc/sys/kernel/cap_last_cap 2>/dev/null; echo "read-only $?"
echo 7 >/proc/sys/kernel/pid_max 2>/dev/null; echo "pid_max 7: $?"; cat /proc/sys/kernel/pid_max
printf '4096 junk' >/proc/sys/kernel/pid_max 2>/dev/null; echo "junk $?"; cat /proc/sys/kernel/pid_max
setpriv --reuid=1000 --regid=1000 --clear-groups sh -c 'cat /proc/sys/vm/overcommit_ratio; echo 70 > /proc/sys/vm/overcommit_ratio' 2>/dev/null; echo "user $?"
sysctl -w fs.pipe-max-size=5000; sysctl -n fs.pipe-max-size
setpriv --reuid=1000 --regid=1000 --clear-groups python3 -c '
import fcntl, os
r, w = os.pipe()
for size in (8192, 16384):
    try:
        print(size, fcntl.fcntl(r, 1031, size))
    except OSError as e:
        print(size, e.strerror)'
sysctl -w fs.nr_open=10 2>/dev/null; echo "nr_open 10: $?"
sysctl -w fs.nr_open=2048; (ulimit -Hn 4096 2>/dev/null; echo "ulimit 4096: $?"); (ulimit -Hn 2048; echo "ulimit 2048: $?")
sysctl -w vm.overcommit_ratio=50 kernel.pid_max=32768 fs.pipe-max-size=1048576 fs.nr_open=1048576 >/dev/null
sysctl -n kernel.random.boot_id | grep -cE '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
[ "$(cat /proc/sys/kernel/random/uuid)" != "$(cat /proc/sys/kernel/random/uuid)" ] && echo "uuid fresh"
"""
    same_as_linux(linux_debian_oracle, moss_disk, bash(script))


@pytest.mark.differential
def test_lscpu_and_lsblk_match_linux(linux_debian_oracle, moss_disk):
    # the CPU's identity and the disk's kind; counts, sizes and names are the machine's.
    # The oracle's chroot has no /sys: it is mounted for the test and put back.
    script = r"""
mountpoint -q /sys || { busybox mount -t sysfs sysfs /sys && trap 'busybox umount /sys' EXIT; }
lscpu | grep -E '^(Architecture|Byte Order|Vendor ID|Model name|Thread\(s\) per core):' | sed 's/:  */: /'
lsblk -d -n -o TYPE,RO,RM | sort -u
"""
    same_as_linux(linux_debian_oracle, moss_disk, bash(script))


def test_proc_config_gz_is_a_config_a_harness_can_parse(moss_disk):
    """Linux's Debian kernel has no /proc/config.gz (CONFIG_IKCONFIG_PROC is off): moss-py's
    is checked for its shape, and for naming what it does and does not implement."""
    r = run_in_moss(moss_disk, bash(
        "cat /proc/config.gz | gunzip | head -3; zcat /proc/config.gz | grep -c '^CONFIG_'; "
        "zcat /proc/config.gz | grep -E '^(CONFIG_SYSVIPC=|# CONFIG_IO_URING |CONFIG_UNIX=|# CONFIG_KEYS )'"))
    out = r.stdout.decode().splitlines()
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-2000:]
    assert out[:3] == ["#", "# Automatically generated file; DO NOT EDIT.",
                       "# Linux/arm64 6.1.0 Kernel Configuration (moss-py)"]
    assert int(out[3]) > 40
    assert out[4:] == ["# CONFIG_KEYS is not set", "CONFIG_SYSVIPC=y", "# CONFIG_IO_URING is not set", "CONFIG_UNIX=y"]
