"""procfs and devfs under real programs: Debian's static BusyBox reading /proc and /dev in moss-py,
compared with Linux 6.1 booted in the same QEMU (the `linux_oracle` fixture) running the same
BusyBox binary and the same command line.

Where values legitimately differ (pids, memory figures, times, addresses Linux randomises),
the comparison is field by field: the same fields in the same order, each value of the same
type and layout, and the values that do not depend on the run equal.  Most checks run one
applet as moss's pid 1; the last ones use the shell's fork for several processes.
"""
from __future__ import annotations

import re

import pytest

from .conftest import moss_run, same_as_linux

pytestmark = pytest.mark.qemu


def run(*argv: str) -> str:
    r = moss_run(*argv)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout.decode(errors="replace")


def sh(script: str) -> str:
    return run("/bin/sh", "-c", script)


def linux(oracle, script: str) -> str:
    out, err, status = oracle.run3(script)
    assert status == 0, err
    return out


def linux_ps(oracle, script: str) -> str:
    """For commands that list processes: run3's wrapper shell carries its stderr marker in its
    command line, which ps would print; run() keeps the markers out of every argv."""
    out, status = oracle.run(script)
    assert status == 0, out
    return out


def columns(line: str) -> str:
    """A line's layout with the numbers taken out: a number right-aligned in a padded field
    becomes <width of the field>, a bare number <n>; so two lines of one fixed-width format
    match whatever the values, and a field of another width or a missing pad shows."""
    return re.sub(r" *\d+", lambda m: f"<{len(m.group())}>" if m.group()[0] == " " else "<n>", line)


def tokens(text: str) -> str:
    """The shape of free-form text: every number is N."""
    return re.sub(r"\d+", "N", text)


def keyed(text: str, sep: str = ":") -> list[tuple[str, str]]:
    """`Key: value` lines as (key, value) pairs, in order."""
    return [tuple(line.split(sep, 1)) for line in text.splitlines() if line.strip()]


def differences(moss: list[tuple[str, str]], linux: list[tuple[str, str]], equal: set[str],
                layout=columns) -> list[str]:
    """Keyed lines compared field by field: the same keys in the same order, each value laid
    out alike, and the values of the keys in `equal` identical."""
    diffs = []
    moss_keys, linux_keys = [k for k, _ in moss], [k for k, _ in linux]
    if moss_keys != linux_keys:
        diffs.append(f"keys: missing {[k for k in linux_keys if k not in moss_keys]}, "
                     f"extra {[k for k in moss_keys if k not in linux_keys]}, "
                     f"order same: {[k for k in moss_keys if k in linux_keys] == [k for k in linux_keys if k in moss_keys]}")
    theirs = dict(linux)
    for key, value in moss:
        if key not in theirs:
            continue
        if key in equal and value != theirs[key]:
            diffs.append(f"{key}: moss {value!r}, Linux {theirs[key]!r}")
        elif layout(value) != layout(theirs[key]):
            diffs.append(f"{key} layout: moss {value!r}, Linux {theirs[key]!r}")
    return diffs


# ---------------------------------------------------------------- /proc/[pid]/status

# Values that depend only on the program (busybox cat, one thread, root, no handlers) and the
# CPU, not on pids, memory use or the shell it was started from.
STATUS_EQUAL = {
    "Name", "Umask", "State", "Uid", "Gid", "FDSize", "Groups", "VmLck", "VmPin", "VmExe", "VmLib",
    "VmSwap", "HugetlbPages", "CoreDumping", "THP_enabled", "Threads", "SigPnd", "ShdPnd", "SigBlk",
    "SigCgt", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp",
    "Seccomp_filters", "Speculation_Store_Bypass", "SpeculationIndirectBranch", "Cpus_allowed",
    "Cpus_allowed_list", "Mems_allowed", "Mems_allowed_list",
}


@pytest.mark.differential
def test_proc_self_status_has_linux_fields_order_and_layout(linux_oracle):
    moss = keyed(run("/bin/cat", "/proc/self/status"))
    theirs = keyed(linux(linux_oracle, "/bin/cat /proc/self/status"))
    assert len(theirs) > 50 and dict(moss).get("Name") == "\tcat"
    assert differences(moss, theirs, STATUS_EQUAL) == []


# ---------------------------------------------------------------- /proc/[pid]/stat

# 1-based field numbers of proc(5) whose values depend only on the program and its argv:
# comm, state, tty_nr, tpgid, priority, nice, num_threads, itrealvalue, rsslim, startcode,
# endcode, kstkesp, kstkeip, signal, blocked, sigcatch, wchan, nswap, cnswap, exit_signal,
# processor, rt_priority, policy, delayacct_blkio_ticks, guest_time, cguest_time, start_data,
# end_data, exit_code.  (The static busybox is not position independent: its code and data
# addresses are the same in every run.)
STAT_EQUAL = {2, 3, 7, 8, 18, 19, 20, 21, 25, 26, 27, 29, 30, 31, 32, 34, 35, 36, 37, 38, 39, 40,
              41, 42, 43, 44, 45, 46, 52}


def stat_fields(line: str) -> list[str]:
    head, tail = line.rstrip("\n").rsplit(") ", 1)
    pid, comm = head.split(" (", 1)
    return [pid, f"({comm})", *tail.split(" ")]


def stat_type(value: str) -> str:
    if re.fullmatch(r"\(.*\)", value):
        return "comm"
    if re.fullmatch(r"[A-Za-z]", value):
        return "state"
    return "int" if re.fullmatch(r"-?\d+", value) else f"other {value!r}"


@pytest.mark.differential
def test_proc_self_stat_has_linux_52_fields_with_its_types_and_constants(linux_oracle):
    cmd = "/bin/cat /proc/self/stat"
    moss, theirs = stat_fields(run(*cmd.split())), stat_fields(linux(linux_oracle, cmd))
    assert len(theirs) == 52 and moss[:2] == ["1", "(cat)"]
    assert len(moss) == 52
    assert [stat_type(v) for v in moss] == [stat_type(v) for v in theirs]
    assert {n: moss[n - 1] for n in STAT_EQUAL} == {n: theirs[n - 1] for n in STAT_EQUAL}
    # startstack, vsize, rss, arg and env ranges: addresses and sizes, so only their order and
    # the length of the same argv can be compared.
    for fields in (moss, theirs):
        vsize, rss, startstack = int(fields[22]), int(fields[23]), int(fields[27])
        arg_start, arg_end, env_start, env_end = (int(v) for v in fields[47:51])
        assert vsize > 0 and rss > 0 and startstack > 0, fields
        assert arg_start < arg_end <= env_start < env_end, fields
    assert int(moss[48]) - int(moss[47]) == int(theirs[48]) - int(theirs[47])


@pytest.mark.differential
def test_proc_self_statm_has_linux_seven_page_counts(linux_oracle):
    moss = run("/bin/cat", "/proc/self/statm")
    theirs = linux(linux_oracle, "/bin/cat /proc/self/statm")
    assert tokens(moss) == tokens(theirs) == "N N N N N N N\n"
    assert moss.split()[3] == theirs.split()[3]            # text: busybox's code pages


# ---------------------------------------------------------------- /proc/meminfo, cpuinfo, stat

@pytest.mark.differential
def test_proc_meminfo_has_linux_keys_in_order_and_layout(linux_oracle):
    moss = run("/bin/cat", "/proc/meminfo")
    theirs = linux(linux_oracle, "cat /proc/meminfo")
    assert moss.startswith("MemTotal:")
    assert differences(keyed(moss), keyed(theirs), {"SwapTotal", "SwapFree", "Hugepagesize"}) == []


@pytest.mark.differential
def test_proc_meminfo_reports_the_guest_memory(linux_oracle):
    """Both guests have 1 GiB; Linux keeps more of it for itself than moss's stub does."""
    def kb(text: str, key: str) -> int:
        return int(re.search(rf"^{key}: +(\d+) kB$", text, re.M).group(1))
    moss = run("/bin/cat", "/proc/meminfo")
    theirs = linux(linux_oracle, "cat /proc/meminfo")
    assert kb(theirs, "MemTotal") <= kb(moss, "MemTotal") <= 1024 * 1024
    assert 0 < kb(moss, "MemFree") < kb(moss, "MemTotal")


@pytest.mark.differential
def test_proc_cpuinfo_is_linux_s_for_the_same_cortex_a72(linux_oracle):
    moss = run("/bin/cat", "/proc/cpuinfo")
    theirs = linux(linux_oracle, "cat /proc/cpuinfo")
    assert "CPU part\t: 0xd08\n" in theirs
    assert moss == theirs


@pytest.mark.differential
def test_proc_stat_has_linux_lines_and_field_counts(linux_oracle):
    def table(text: str) -> list[tuple[str, int]]:
        return [(line.split()[0], len(line.split()) - 1) for line in text.splitlines()]
    moss = run("/bin/cat", "/proc/stat")
    theirs = linux(linux_oracle, "cat /proc/stat")
    for text in (moss, theirs):
        assert all(re.fullmatch(r"\w+ +\d+( \d+)*", line) for line in text.splitlines()), text
    # intr: the total, then one count per interrupt number the machine's controller has.
    counts = lambda t: [(k, n) for k, n in table(t) if k != "intr"]     # noqa: E731
    assert counts(moss) == counts(theirs)
    assert [k for k, _ in table(moss)] == [k for k, _ in table(theirs)]


@pytest.mark.differential
@pytest.mark.parametrize("name", ["uptime", "loadavg"])
def test_proc_uptime_and_loadavg_have_linux_format(linux_oracle, name):
    moss = run("/bin/cat", f"/proc/{name}")
    theirs = linux(linux_oracle, f"cat /proc/{name}")
    assert tokens(moss) == tokens(theirs)
    assert re.search(r"\d", theirs)


@pytest.mark.differential
def test_proc_version_names_the_release_and_version_uname_reports(linux_oracle):
    """`Linux version <uname -r> (<builder>) (<compiler>) <uname -v>`, on each system its own."""
    script = "cat /proc/version; uname -r; uname -v"
    for out in (sh(script), linux(linux_oracle, script)):
        version, release, uts_version = out.splitlines()
        assert re.fullmatch(rf"Linux version {re.escape(release)} \(\S+@\S+\) \(.+\) {re.escape(uts_version)}",
                            version), out


@pytest.mark.differential
def test_proc_filesystems_lines_match_linux(linux_fs_oracle):
    """`nodev\tNAME` or `\tNAME`, against Linux with its ext4 and vfat modules loaded: every
    filesystem moss lists is Linux's and listed alike, and the ones on block devices (which
    mount(8) tries in this order when it is given no type) come in Linux's order."""
    moss = run("/bin/cat", "/proc/filesystems").splitlines()
    theirs = linux(linux_fs_oracle, "cat /proc/filesystems").splitlines()
    assert all(re.fullmatch(r"(nodev)?\t\w+", line) for line in moss + theirs)
    assert "\text4" in theirs
    assert set(moss) <= set(theirs)
    assert [line for line in moss if not line.startswith("nodev")] == \
        [line for line in theirs if not line.startswith("nodev") and line in moss]


# ---------------------------------------------------------------- /proc/mounts and mount(8)

# The mounts moss-py starts with, made the same way in the oracle for the comparison (Linux
# boots with rootfs, proc and devtmpfs; devpts is mounted for the moment of the command).
MOUNT_DEVPTS = "mkdir -p /dev/pts && mount -t devpts -o gid=5,mode=620 devpts /dev/pts && "
UMOUNT_DEVPTS = "; s=$?; umount /dev/pts; exit $s"
# Values that depend on the machine's memory: the rest must match.
SIZED = {"size", "nr_inodes"}


def mount_lines(text: str, pattern: str) -> dict[str, tuple[str, ...]]:
    """mountpoint -> (source, type, options with sizes as keys, ...rest)."""
    table = {}
    for line in text.splitlines():
        source, point, fstype, options, *rest = re.fullmatch(pattern, line).groups()
        options = ",".join(o.split("=")[0] if o.split("=")[0] in SIZED else o for o in options.split(","))
        table[point] = (source, fstype, options, *rest)
    return table


def compare_mounts(moss: str, theirs: str, pattern: str) -> None:
    moss_table, linux_table = mount_lines(moss, pattern), mount_lines(theirs, pattern)
    assert set(moss_table) <= set(linux_table) and "/dev/pts" in moss_table, (moss, theirs)
    assert {p: moss_table[p] for p in moss_table} == {p: linux_table[p] for p in moss_table}


@pytest.mark.differential
def test_proc_mounts_lines_are_linux_s_for_the_same_mounts(linux_oracle):
    """Six fields; options in Linux's order and syntax (sizes differ with the memory)."""
    moss = run("/bin/cat", "/proc/mounts")
    theirs = linux(linux_oracle, MOUNT_DEVPTS + "cat /proc/mounts" + UMOUNT_DEVPTS)
    compare_mounts(moss, theirs, r"(\S+) (\S+) (\S+) (\S+) (\d+) (\d+)")


@pytest.mark.differential
def test_mount_lists_the_same_lines_as_linux_for_the_same_mounts(linux_oracle):
    moss = run("/bin/mount")
    theirs = linux(linux_oracle, MOUNT_DEVPTS + "mount" + UMOUNT_DEVPTS)
    compare_mounts(moss, theirs, r"(\S+) on (\S+) type (\S+) \((\S+)\)")


# ---------------------------------------------------------------- /proc/[pid]/maps

MAPS_LINE = r"([0-9a-f]{8,})-([0-9a-f]{8,}) ([r-][w-][x-][ps]) ([0-9a-f]{8}) ([0-9a-f]{2}:[0-9a-f]{2}) (\d+) *(.*)"


def maps(text: str) -> list[re.Match]:
    lines = text.splitlines()
    matches = [re.fullmatch(MAPS_LINE, line) for line in lines]
    assert all(matches), lines
    return matches


@pytest.mark.differential
def test_proc_self_maps_has_linux_lines_for_the_same_program(linux_oracle):
    """Linux's layout (name column, an unnamed mapping's trailing space), the same named
    mappings, and busybox's own mappings at the same addresses with the same rights."""
    moss = maps(run("/bin/cat", "/proc/self/maps"))
    theirs = maps(linux(linux_oracle, "/bin/cat /proc/self/maps"))

    def layout(m: re.Match) -> str:
        return f"name at {m.start(7)}" if m.group(7) else f"unnamed, ends {m.string[m.end(6):]!r}"

    def named(ms: list[re.Match]) -> list[str]:
        return [m.group(7) for m in ms if m.group(7)]

    def program(ms: list[re.Match]) -> list[tuple[str, ...]]:
        return [m.group(1, 2, 3, 4, 5) for m in ms if m.group(7) == "/bin/busybox"]

    def sizes(ms: list[re.Match]) -> list[tuple[str, int, str]]:
        """Mappings that are not busybox's file: the same program makes the same calls
        (bss, heap, the copy buffer cat maps when sendfile refuses), so the same sizes."""
        return sorted((m.group(7), int(m.group(2), 16) - int(m.group(1), 16), m.group(3))
                      for m in ms if m.group(7) != "/bin/busybox")
    assert program(theirs)[0][0] == "00400000" and named(theirs)[-1] == "[stack]"
    assert {
        "layouts": {layout(m) for m in moss} - {layout(m) for m in theirs},
        "names": named(moss),
        "busybox": program(moss),
        "other sizes": sizes(moss),
    } == {
        "layouts": set(),
        "names": named(theirs),
        "busybox": program(theirs),
        "other sizes": sizes(theirs),
    }


# ---------------------------------------------------------------- exe, cmdline, comm, fd

@pytest.mark.differential
def test_readlink_proc_self_exe_is_the_busybox_binary(linux_oracle):
    assert run("/bin/readlink", "/proc/self/exe") == linux(linux_oracle, "/bin/readlink /proc/self/exe")


@pytest.mark.differential
def test_busybox_re_executes_itself_through_proc_self_exe(linux_oracle):
    for script in ("exec -a echo /proc/self/exe re-executed", "exec -a readlink /proc/self/exe /proc/self/exe"):
        out = sh(script)
        assert out == linux(linux_oracle, script) and out.strip()


@pytest.mark.differential
def test_cmdline_holds_the_arguments(linux_oracle):
    out = run("/bin/cat", "/proc/self/cmdline")
    assert out == linux(linux_oracle, "/bin/cat /proc/self/cmdline") and "\0" in out


@pytest.mark.differential
def test_proc_self_comm_and_hostname_are_writable(linux_oracle):
    """The oracle's hostname is put back afterwards: one VM serves the whole session."""
    script = ("echo -n renamed > /proc/self/comm; read c < /proc/self/comm; echo $c;"
              " old=$(hostname); echo guest > /proc/sys/kernel/hostname; hostname; hostname \"$old\"")
    out = sh(script)
    assert out == linux(linux_oracle, script) and "renamed" in out


@pytest.mark.differential
def test_proc_self_fd_lists_the_open_descriptors(linux_oracle):
    script = "cd /proc/self/fd && echo *"
    out = sh(script).split()
    assert out[:3] == linux(linux_oracle, script).split()[:3] and out


# ---------------------------------------------------------------- /dev

DEVICE_ATTRS = "stat -c '%n %F %A %t:%T' "


def test_ls_dev_lists_the_devtmpfs_nodes():
    """What moss's /dev holds (Linux's devtmpfs has the device nodes; fd, std* and the
    pts/shm mount points come from userspace there)."""
    names = set(run("/bin/ls", "/dev").split())
    assert names >= {"null", "zero", "full", "random", "urandom", "tty", "console", "ptmx", "pts", "shm",
                     "fd", "stdin", "stdout", "stderr"}


@pytest.mark.differential
def test_device_nodes_have_linux_s_type_mode_and_numbers(linux_oracle):
    """Every device node of moss's /dev that Linux's devtmpfs also has."""
    moss = set(run("/bin/ls", "/dev").split())
    theirs = set(linux(linux_oracle, "ls /dev").split())
    both = " ".join(f"/dev/{n}" for n in sorted(moss & theirs))
    out = sh(DEVICE_ATTRS + both)
    assert "/dev/null character special file crw-rw-rw-" in out
    assert out == linux(linux_oracle, DEVICE_ATTRS + both)


@pytest.mark.differential
def test_ls_l_dev_null_shows_the_device_numbers(linux_oracle):
    """(The oracle has no /etc/passwd: ls shows uid 0 where moss's image names root.)"""
    def fields(line: str) -> list[str]:
        f = line.split()
        return f[:2] + f[4:6] + f[-1:]                  # mode, links, major, minor, name
    out = run("/bin/ls", "-l", "/dev/null")
    assert fields(out) == fields(linux(linux_oracle, "ls -l /dev/null")) and "/dev/null" in out


@pytest.mark.differential
def test_ls_proc_lists_the_process_and_only_files_linux_has(linux_oracle):
    names = set(run("/bin/ls", "/proc").split())
    theirs = set(linux(linux_oracle, "ls /proc").split())
    # config.gz: moss-py is built with CONFIG_IKCONFIG_PROC, the oracle's Debian kernel is not
    assert "1" in names and {n for n in names if not n.isdigit()} - {"config.gz"} <= theirs
    assert {"self", "meminfo", "cpuinfo", "mounts", "uptime", "stat"} <= names


@pytest.mark.differential
def test_writes_to_dev_null_vanish_and_dev_full_is_enospc(linux_oracle):
    for script in ("echo hi > /dev/null; echo $?", "echo hi > /dev/full; echo $?"):
        r = moss_run("/bin/sh", "-c", script)
        out, err, status = linux_oracle.run3(script)
        assert (r.stdout.decode(), r.stderr.decode(), r.returncode) == (out, err, status)
        assert out


@pytest.mark.differential
def test_dev_zero_and_urandom_read(linux_oracle):
    zero = "/usr/bin/od -An -tx1 -N8 /dev/zero"
    assert run(*zero.split()) == linux(linux_oracle, zero) and "00" in run(*zero.split())
    urandom = "/usr/bin/od -An -tx1 -N8 /dev/urandom"
    assert tokens(run(*urandom.split())).count(" ") == tokens(linux(linux_oracle, urandom)).count(" ")


# ---------------------------------------------------------------- ps, top, free, uptime: procfs readers

def as_uid(text: str) -> str:
    """The oracle has no /etc/passwd: user columns show 0 where moss's image names root."""
    return re.sub(r"(?<= )root(?= )", "0   ", text)


@pytest.mark.differential
def test_ps_lists_itself(linux_oracle):
    moss = as_uid(sh("ps")).splitlines()
    theirs = linux_ps(linux_oracle, "/bin/sh -c ps").splitlines()
    assert moss[0] == theirs[0]
    own = [line for line in theirs if line.endswith("{ps} /bin/sh -c ps")]
    assert [columns(line) for line in moss[1:]] == [columns(line) for line in own]


@pytest.mark.differential
def test_ps_columns_come_from_stat_and_status(linux_oracle):
    cmd = "ps -o pid,ppid,user,vsz,stat,comm"
    moss = as_uid(sh(cmd)).splitlines()
    theirs = linux_ps(linux_oracle, cmd).splitlines()
    assert moss[0] == theirs[0] and len(moss) == 2
    own = [line for line in theirs if line.endswith(" ps")]
    assert [moss[1].split()[i] for i in (2, 4, 5)] == [own[0].split()[i] for i in (2, 4, 5)]
    assert moss[1].split()[:2] == ["1", "0"]


@pytest.mark.differential
def test_top_batch_mode_shows_memory_load_and_itself(linux_oracle):
    moss = as_uid(run("/usr/bin/top", "-b", "-n1")).splitlines()
    theirs = linux_ps(linux_oracle, "/usr/bin/top -b -n1").splitlines()

    def shape(line: str) -> str:
        return tokens(re.sub(" +", " ", line))          # the CPU line pads its percentages
    assert [shape(line) for line in moss[:4]] == [shape(line) for line in theirs[:4]]
    own = [line for line in theirs if line.endswith("/usr/bin/top -b -n1")]
    assert [columns(line) for line in moss[4:] if line] == [columns(line) for line in own]


@pytest.mark.differential
def test_free_reads_meminfo(linux_oracle):
    moss, theirs = run("/usr/bin/free").splitlines(), linux(linux_oracle, "free").splitlines()
    assert moss[0] == theirs[0] and [columns(line) for line in moss] == [columns(line) for line in theirs]
    assert int(moss[1].split()[-1]) > 0                  # available: from /proc/meminfo


@pytest.mark.differential
def test_uptime_prints_the_load(linux_oracle):
    """(How long the system has been up is written in words that change with the time.)"""
    moss, theirs = run("/usr/bin/uptime"), linux(linux_oracle, "uptime")
    assert tokens(moss.split(" up ")[0]) == tokens(theirs.split(" up ")[0])
    assert tokens(moss.split("users,")[1]) == tokens(theirs.split("users,")[1])


# ---------------------------------------------------------------- with fork: several processes

@pytest.mark.differential
def test_ps_lists_a_background_child_and_itself(linux_oracle):
    """The shell, its background sleep and ps, with the parent links Linux shows."""
    script = "sleep 2 & sleep 0.5; echo $$; ps -o pid,ppid,comm; wait"
    for out in (sh(script), linux_ps(linux_oracle, script)):
        shell, _, *lines = out.splitlines()
        rows = [line.split() for line in lines]
        assert [shell, "sh"] in [[r[0], r[2]] for r in rows], out
        assert [shell, "sleep"] in [r[1:] for r in rows], out
        assert [shell, "ps"] in [r[1:] for r in rows], out


@pytest.mark.differential
def test_a_reaped_child_leaves_proc(linux_oracle):
    script = "sleep 0 & child=$!; wait; echo $child; ls /proc"
    for out in (sh(script), linux(linux_oracle, script)):
        child, *names = out.split()
        assert child not in names and "1" in names


@pytest.mark.differential
def test_proc_self_in_a_child_is_the_child(linux_oracle):
    script = "readlink /proc/self; echo $$"
    for out in (sh(script), linux(linux_oracle, script)):
        reader, shell = out.split()
        assert reader != shell


@pytest.mark.differential
def test_head_of_dev_zero_through_a_pipe(linux_oracle):
    script = "head -c 16 /dev/zero | od -An -tx1"
    out = sh(script)
    assert out == linux(linux_oracle, script) and "00" in out


@pytest.mark.differential
def test_start_time_of_a_later_child_counts_from_boot(linux_oracle):
    script = "sleep 1; cat /proc/self/stat; cat /proc/uptime"
    for out in (sh(script), linux(linux_oracle, script)):
        stat, uptime = out.splitlines()
        start = int(stat_fields(stat)[21])               # field 22: starttime, in clock ticks
        up_ticks = round(float(uptime.split()[0]) * 100)   # "32.55" is 3255 ticks (float: 3254.999...)
        assert 100 <= start <= up_ticks


# ---------------------------------------------------------------- reopening descriptors through /proc/self/fd

def with_dev_fd_links(script: str) -> str:
    """Linux's devtmpfs has no /dev/fd and /dev/std*: userspace (udev, mdev) links them to
    /proc. The links are made for the moment of `script` (one VM serves the session); its
    stdout is a pipe, as moss's is (the oracle's is a file, which /dev/stdout would reopen
    and truncate)."""
    links = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2"}
    make = " && ".join(f"ln -sfn {target} /dev/{name}" for name, target in links.items())
    remove = "rm -f " + " ".join(f"/dev/{name}" for name in links)
    return f"{make} && {{ {script}; }} | cat; s=$?; {remove}; exit $s"


def test_cat_dev_stdin_reads_the_pipe_from_the_host():
    r = moss_run("/bin/cat", "/dev/stdin", stdin=b"data in\n")
    assert (r.returncode, r.stdout) == (0, b"data in\n")


@pytest.mark.differential
def test_cat_dev_stdin_reads_a_shell_pipe(linux_oracle):
    out = sh("echo hi | cat /dev/stdin")
    assert out == linux(linux_oracle, with_dev_fd_links("echo hi | cat /dev/stdin")) and out


@pytest.mark.differential
def test_redirections_to_dev_stdout_and_dev_fd_1(linux_oracle):
    script = "echo one > /dev/stdout; echo two > /dev/fd/1"
    out = sh(script)
    assert out == linux(linux_oracle, with_dev_fd_links(script)) and "two" in out


# ---------------------------------------------------------------- fdinfo, smaps, pagemap, oom (issue 16 item 4)

@pytest.mark.differential
def test_fdinfo_of_files_pipes_eventfd_epoll_signalfd_timerfd_and_inotify_matches_linux(linux_oracle):
    same_as_linux(linux_oracle, "proc_fdinfo", status=0)


@pytest.mark.differential
def test_smaps_rollup_and_pagemap_of_known_mappings_match_linux(linux_oracle):
    same_as_linux(linux_oracle, "proc_smaps", status=0)


# The shell's own files (/proc/$$): a child's would show what it inherited at fork.
OOM_SCRIPT = ("sh -c 'p=/proc/$$; cat $p/oom_score_adj $p/oom_adj; "
              "s=$(cat $p/oom_score); [ $s -gt 600 ] && [ $s -le 700 ] && echo score-default; "
              "echo 500 > $p/oom_score_adj; cat $p/oom_adj; "
              "echo -17 > $p/oom_adj; cat $p/oom_score_adj $p/oom_score; "
              "echo 1000 > $p/oom_score_adj; cat $p/oom_adj; "
              "s=$(cat $p/oom_score); [ $s -gt 1300 ] && [ $s -le 1400 ] && echo score-max; "
              "echo 5 > $p/oom_adj; cat $p/oom_score_adj; "
              "echo 16 > $p/oom_adj 2>/dev/null || echo EINVAL; "
              "echo -9 > $p/oom_adj; cat $p/oom_score_adj $p/oom_adj; "
              "stat -c \"%n %a\" $p/oom_score $p/oom_adj $p/smaps $p/pagemap $p/smaps_rollup $p/fdinfo "
              "| sed s,^$p,PID,'; cat /proc/1/oom_score")


@pytest.mark.differential
def test_oom_score_and_the_legacy_oom_adj_match_linux(linux_oracle):
    assert sh(OOM_SCRIPT) == linux(linux_oracle, OOM_SCRIPT)


@pytest.mark.differential
def test_proc_self_auxv_is_the_exec_time_auxv_like_linux(linux_oracle):
    """gdb and libc's tools read /proc/PID/auxv (gdb relocates a PIE by its AT_ENTRY)."""
    out = same_as_linux(linux_oracle, "proc_auxv", status=0)
    assert "every pair as getauxval: yes" in out and "child reads the same: yes" in out
