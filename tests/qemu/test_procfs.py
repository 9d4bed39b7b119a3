"""procfs and devfs under real programs: Debian's static BusyBox reading /proc and /dev in moss-py.

Most checks run one applet as pid 1; the last ones use the shell's fork for several processes.
"""
import re

import pytest

from .conftest import moss_run

pytestmark = pytest.mark.qemu


def run(*argv: str):
    r = moss_run(*argv)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout.decode(errors="replace")


def test_cat_proc_self_stat_shows_52_fields_of_the_cat_process():
    line = run("/bin/cat", "/proc/self/stat")
    head, tail = line.rstrip("\n").rsplit(") ", 1)
    assert head == "1 (cat"
    fields = tail.split(" ")
    assert len(fields) == 50 and fields[0] == "R"
    assert int(fields[20]) > 0 and int(fields[21]) > 0              # vsize, rss
    assert int(fields[45]) < int(fields[46]) <= int(fields[47]) < int(fields[48])   # arg and env ranges


def test_readlink_proc_self_exe_is_the_busybox_binary():
    assert run("/bin/readlink", "/proc/self/exe") == "/bin/busybox\n"


def test_busybox_re_executes_itself_through_proc_self_exe():
    assert run("/bin/sh", "-c", "exec -a echo /proc/self/exe re-executed") == "re-executed\n"
    assert run("/bin/sh", "-c", "exec -a readlink /proc/self/exe /proc/self/exe") == "/bin/busybox\n"


def test_cmdline_holds_the_arguments():
    assert run("/bin/cat", "/proc/self/cmdline") == "/bin/cat\0/proc/self/cmdline\0"


def test_maps_shows_the_program_and_the_stack():
    lines = run("/bin/cat", "/proc/self/maps").splitlines()
    assert re.fullmatch(r"00400000-[0-9a-f]{8} r-xp 00000000 [0-9a-f]{2}:[0-9a-f]{2} [1-9]\d* +/bin/busybox", lines[0])
    assert lines[-1].endswith(" [stack]")


def test_ls_dev_lists_the_devtmpfs_nodes():
    names = set(run("/bin/ls", "/dev").split())
    assert names >= {"null", "zero", "full", "random", "urandom", "tty", "console", "ptmx", "pts", "shm",
                     "fd", "stdin", "stdout", "stderr"}


def test_ls_l_dev_null_shows_the_device_numbers():
    assert re.match(r"crw-rw-rw- +1 root +root +1, +3 .* /dev/null\n", run("/bin/ls", "-l", "/dev/null"))


def test_ls_proc_lists_the_process_and_the_system_files():
    names = run("/bin/ls", "/proc").split()
    assert "1" in names and {"self", "meminfo", "cpuinfo", "mounts", "uptime", "stat"} <= set(names)


def test_cat_proc_meminfo_reports_the_guest_memory():
    text = run("/bin/cat", "/proc/meminfo")
    total = int(re.match(r"MemTotal: +(\d+) kB\n", text).group(1))
    free = int(re.search(r"\nMemFree: +(\d+) kB\n", text).group(1))
    assert 900 * 1024 < total <= 1024 * 1024 and 0 < free < total


def test_cat_proc_cpuinfo_describes_one_cortex_a72():
    text = run("/bin/cat", "/proc/cpuinfo")
    assert text.startswith("processor\t: 0\n") and "CPU part\t: 0xd08\n" in text


def test_ps_lists_itself():
    lines = run("/bin/ps").splitlines()
    assert lines[0].split()[:2] == ["PID", "USER"]
    assert re.fullmatch(r" +1 root +.*ps", lines[1])


def test_ps_columns_come_from_stat_and_status():
    lines = run("/bin/ps", "-o", "pid,ppid,user,vsz,stat,comm").splitlines()
    assert lines[1].split() == ["1", "0", "root", lines[1].split()[3], "R", "ps"]


def test_top_batch_mode_shows_memory_load_and_itself():
    text = run("/usr/bin/top", "-b", "-n1")
    assert re.search(r"^Mem: \d+K used, \d+K free", text, re.M)
    assert "Load average: 0.00 0.00 0.00 1/1 1" in text
    assert re.search(r"^ +1 +0 root +R .*top -b -n1", text, re.M)


def test_free_reads_meminfo():
    lines = run("/usr/bin/free").splitlines()
    assert lines[0].split() == ["total", "used", "free", "shared", "buff/cache", "available"]
    assert lines[1].startswith("Mem:") and int(lines[1].split()[-1]) > 0     # available: /proc/meminfo


def test_uptime_prints_the_load():
    assert re.search(r"up .*load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d\n$", run("/usr/bin/uptime"))


def test_mount_lists_root_dev_and_proc():
    assert run("/bin/mount").splitlines() == [
        "rootfs on / type rootfs (rw)",
        "devtmpfs on /dev type devtmpfs (rw,size=1048576k,mode=755)",
        "devpts on /dev/pts type devpts (rw,gid=5,mode=620,ptmxmode=000)",
        "proc on /proc type proc (rw)",
    ]


def test_writes_to_dev_null_vanish_and_dev_full_is_enospc():
    assert run("/bin/sh", "-c", "echo hi > /dev/null; echo $?") == "0\n"
    r = moss_run("/bin/sh", "-c", "echo hi > /dev/full; echo $?")
    assert r.stdout == b"1\n" and b"No space left on device" in r.stderr


def test_dev_zero_and_urandom_read():
    assert run("/usr/bin/od", "-An", "-tx1", "-N8", "/dev/zero").split() == ["00"] * 8
    assert len(run("/usr/bin/od", "-An", "-tx1", "-N8", "/dev/urandom").split()) == 8


def test_proc_self_comm_and_hostname_are_writable():
    out = run("/bin/sh", "-c", "echo -n renamed > /proc/self/comm; read c < /proc/self/comm; echo $c;"
                               " echo guest > /proc/sys/kernel/hostname; hostname")
    assert out == "renamed\nguest\n"


def test_proc_self_fd_lists_the_open_descriptors():
    out = run("/bin/sh", "-c", "cd /proc/self/fd && echo *")
    assert out.split()[:3] == ["0", "1", "2"]


# ---------------------------------------------------------------- with fork: several processes

def test_ps_lists_a_background_child_and_itself():
    lines = run("/bin/sh", "-c", "sleep 2 & sleep 0.5; ps -o pid,ppid,comm; wait").splitlines()
    rows = [line.split() for line in lines[1:]]
    assert ["1", "0", "sh"] in rows
    assert ["2", "1", "sleep"] in rows
    assert any(r[1] == "1" and r[2] == "ps" for r in rows)


def test_a_reaped_child_leaves_proc():
    out = run("/bin/sh", "-c", "sleep 0 & child=$!; wait; echo $child; ls /proc")
    child, *names = out.split()
    assert child not in names and "1" in names


def test_proc_self_in_a_child_is_the_child():
    out = run("/bin/sh", "-c", "readlink /proc/self; echo $$")
    reader, shell = out.split()
    assert shell == "1" and reader != "1"


def test_head_of_dev_zero_through_a_pipe():
    assert run("/bin/sh", "-c", "head -c 16 /dev/zero | od -An -tx1").split() == ["00"] * 16


def test_start_time_of_a_later_child_counts_from_boot():
    out = run("/bin/sh", "-c", "sleep 1; cat /proc/self/stat; cat /proc/uptime")
    stat, uptime = out.splitlines()
    start = int(stat.rsplit(") ", 1)[1].split()[19])           # field 22: starttime, in 1/100 s
    assert 100 <= start <= float(uptime.split()[0]) * 100


# ---------------------------------------------------------------- reopening descriptors through /proc/self/fd

def test_cat_dev_stdin_reads_the_pipe_from_the_host():
    r = moss_run("/bin/cat", "/dev/stdin", stdin=b"data in\n")
    assert (r.returncode, r.stdout) == (0, b"data in\n")


def test_cat_dev_stdin_reads_a_shell_pipe():
    assert run("/bin/sh", "-c", "echo hi | cat /dev/stdin") == "hi\n"


def test_redirections_to_dev_stdout_and_dev_fd_1():
    assert run("/bin/sh", "-c", "echo one > /dev/stdout; echo two > /dev/fd/1") == "one\ntwo\n"
