"""procfs without QEMU: a fake kernel with real Task objects, read through the real VFS and path walk,
checked against the formats Linux 6.1 prints."""
import asyncio
import errno
import re
import stat as S
import time
from types import SimpleNamespace

import pytest

from moss_host.errors import Errno
from moss_host.fs.boot_mounts import mount_boot_filesystems
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.fdtable import FdTable
from moss_host.fs.file import O_RDONLY, O_WRONLY, InodeFile, OpenFile, open_file
from moss_host.fs.path import lookup
from moss_host.fs.stat import Stat, major, makedev, minor
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import Cred, FsContext, vfs_create, vfs_mkdir, vfs_symlink
from moss_host.mm.backing import Backing
from moss_host.mm.vma import MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, Vma, VmaSet
from moss_host.tty.devpts import Devpts
from moss_host.fs.drivers.procfs import ProcFs
from moss_host.proc.pidtable import PidTable
from moss_host.proc.task import Creds, State, Task, ThreadGroup
from moss_host.sched.scheduler import Scheduler
from moss_host.tty.tty import JobControl
from tests.unit.fakes import FakeMm

PAGE = 4096
ARGS = b"/bin/busybox\0ls\0-l\0"
ENV = b"PATH=/bin\0HOME=/root\0"


class EmptyBacking(Backing):
    """The pages of a file mapping that /proc only names (exec's mappings carry no inode)."""

    def read(self, offset, n):
        return b""


class ProcessMm(FakeMm):
    """An address space as procfs reads it: VMAs, resident pages, the brk, and the argv/env
    ranges (the user memory the shared FakeMm maps, holding ARGS and ENV)."""
    STACK = 0xFFFF_FFFF_0000

    def __init__(self):
        super().__init__(self.STACK - 0x100, len(ARGS + ENV))
        self.write(self.base, ARGS + ENV)
        self.vmas = VmaSet()
        backing = EmptyBacking()
        self.vmas.insert(Vma(0x400000, 0x5B3000, PROT_READ | PROT_EXEC, MAP_PRIVATE, backing, 0, "/bin/ls"))
        self.vmas.insert(Vma(0x5C9000, 0x5D0000, PROT_READ | PROT_WRITE, MAP_PRIVATE, backing, 0x1B9000,
                             "/bin/ls"))
        self.vmas.insert(Vma(0x5D0000, 0x5F0000, PROT_READ | PROT_WRITE, name="[heap]"))
        self.vmas.insert(Vma(0xFFFF_6FFF_0000, 0xFFFF_7000_0000, PROT_READ | PROT_WRITE))
        self.vmas.insert(Vma(self.STACK - 0x20000, self.STACK, PROT_READ | PROT_WRITE, name="[stack]"))
        self.resident = {0x400000: 1, 0x401000: 2, 0x5D0000: 3}
        self.brk_start, self.brk = 0x5D0000, 0x5F0000
        self.arg_start = self.base
        self.arg_end = self.env_start = self.arg_start + len(ARGS)
        self.env_end = self.env_start + len(ENV)
        self.start_code, self.end_code, self.start_data, self.end_data = 0x400000, 0x5B20CA, 0x5C9850, 0x5D2518
        self.start_stack = self.STACK - 0x200


class FakePipe(OpenFile):
    """An open file that lives in no filesystem: /proc/<pid>/fd shows it as pipe:[ino]."""

    def stat(self) -> Stat:
        return Stat(st_dev=9, st_ino=4242, st_mode=S.S_IFIFO | 0o600)


class FakeKernel:
    """What procfs reads of the kernel (procfs.system.KernelView): real pid table and scheduler."""

    def __init__(self, root_fs):
        self.pids = PidTable()
        self.sched = Scheduler()
        self.sched.boot_time = time.monotonic() - 100.0
        self.root_fs = root_fs

    def memory_kb(self):
        return 256 * 1024, 200 * 1024


class World:
    """A root tmpfs like the initramfs, devfs and procfs mounted, and a fake kernel with tasks."""

    def __init__(self, make_dirs: bool = True):
        ns = MountTable(Tmpfs(mode=0o755))
        self.fs = FsContext(ns.root_location())
        if make_dirs:
            for d in (b"proc", b"dev", b"bin", b"etc"):
                vfs_mkdir(self.fs.root, d, 0o755, None)
            busybox = vfs_create(lookup(self.fs, b"/bin"), b"busybox", S.S_IFREG | 0o755, None)
            busybox.inode.write(0, b"\x7fELF")
            vfs_symlink(lookup(self.fs, b"/bin"), b"ls", b"busybox", None)
            vfs_create(lookup(self.fs, b"/etc"), b"passwd", S.S_IFREG | 0o644, None)
        self.kernel = FakeKernel(self.fs)
        self.caller = None                      # the task walking paths (None: the kernel itself)
        mount_boot_filesystems(self.fs, lambda: Devpts(JobControl()), lambda: ProcFs(self.kernel))

    def spawn(self, comm: bytes = b"ls", uid: int = 0, parent=None, tgid=None, mm="fake", exe="/bin/ls"):
        tid = self.kernel.pids.alloc()
        group = ThreadGroup(tgid or tid, parent=parent, pgid=tgid or tid, sid=1)
        task = Task(tid=tid, group=group, mm=ProcessMm() if mm == "fake" else mm, fs=self.fs.copy(),
                    files=FdTable(), creds=Creds(uid, uid, uid, uid, uid, uid),
                    kernel=self.kernel, comm=comm, exe=exe)
        task.start_time = 2.5                              # seconds after boot
        task.utime_ns, task.stime_ns = 730_000_000, 120_000_000
        self.kernel.pids.add(task)
        return task

    def run_as(self, task):
        self.caller = task                      # what a syscall's path walk is given

    def lookup(self, path: bytes, follow: bool = True):
        return lookup(self.fs, path, follow=follow, caller=self.caller)

    def read(self, path: bytes) -> bytes:
        return self.lookup(path).inode.read(0, 1 << 20)

    def readlink(self, path: bytes) -> bytes:
        return self.lookup(path, follow=False).inode.readlink()

    def names(self, path: bytes) -> list[bytes]:
        return [e.name for e in self.lookup(path).inode.readdir(0)]


@pytest.fixture
def world():
    w = World()
    init = w.spawn(b"init", exe="/bin/busybox")
    w.run_as(init)
    return w


# ---------------------------------------------------------------- /proc/self and the pid directories

def test_proc_self_names_the_calling_process(world):
    other = world.spawn(b"sh", parent=world.kernel.pids.get(1))
    assert world.readlink(b"/proc/self") == b"1"
    world.run_as(other)
    assert world.readlink(b"/proc/self") == b"2"
    assert world.read(b"/proc/self/comm") == b"sh\n"


def test_proc_self_is_enoent_for_the_kernel_itself(world):
    world.run_as(None)
    with pytest.raises(Errno) as e:
        world.lookup(b"/proc/self/stat")
    assert e.value.code == errno.ENOENT


def test_thread_self_names_the_calling_thread(world):
    thread = world.spawn(b"init", tgid=1)
    world.run_as(thread)
    assert world.readlink(b"/proc/thread-self") == f"1/task/{thread.tid}".encode()
    assert world.read(b"/proc/thread-self/stat").startswith(f"{thread.tid} (init)".encode())


def test_proc_lists_fixed_entries_then_process_leaders_not_threads(world):
    world.spawn(b"init", tgid=1)                     # a second thread of pid 1: not listed
    sh = world.spawn(b"sh")
    names = world.names(b"/proc")
    assert names[:2] == [b".", b".."]
    for fixed in (b"self", b"thread-self", b"meminfo", b"cpuinfo", b"uptime", b"loadavg", b"mounts",
                  b"filesystems", b"stat", b"version", b"sys"):
        assert fixed in names
    pids = [n for n in names if n.isdigit()]
    assert pids == [b"1", str(sh.tid).encode()]
    assert names.index(b"sys") < names.index(b"1")


def test_proc_readdir_resumes_at_its_position_while_processes_exit(world):
    a, b, c = world.spawn(b"a"), world.spawn(b"b"), world.spawn(b"c")
    root = world.lookup(b"/proc").inode
    first = [e for e in root.readdir(0) if e.name in (b"1", str(a.tid).encode())]
    resume = first[-1].next_pos
    world.kernel.pids.remove(b)                  # b exits between two getdents calls
    rest = [e.name for e in root.readdir(resume)]
    assert rest == [str(c.tid).encode()]


def test_a_process_that_exited_disappears_and_its_open_files_give_esrch(world):
    sh = world.spawn(b"sh")
    stat_file = asyncio.run(open_file(world.fs, world.fs.root, f"/proc/{sh.tid}/stat".encode(), O_RDONLY,
                                      0, Cred(0, 0)))
    world.kernel.pids.remove(sh)
    assert str(sh.tid).encode() not in world.names(b"/proc")
    with pytest.raises(Errno) as e:
        world.lookup(f"/proc/{sh.tid}".encode())
    assert e.value.code == errno.ENOENT
    with pytest.raises(Errno) as e:
        asyncio.run(stat_file.read(4096))
    assert e.value.code == errno.ESRCH


def test_pid_directory_belongs_to_the_process_owner(world):
    user = world.spawn(b"id", uid=1000)
    st = world.lookup(f"/proc/{user.tid}".encode()).inode.getattr()
    assert (S.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o555, 1000, 1000)
    assert S.S_ISDIR(st.st_mode)


def test_pid_directory_has_the_linux_entries(world):
    names = set(world.names(b"/proc/1"))
    assert names >= {b"stat", b"status", b"statm", b"cmdline", b"environ", b"maps", b"fd", b"exe",
                     b"cwd", b"root", b"comm", b"mounts", b"task"}


def test_inode_numbers_are_stable_per_path_and_generated_files_have_size_zero(world):
    a = world.lookup(b"/proc/self/stat").inode.getattr()
    b = world.lookup(b"/proc/1/stat").inode.getattr()
    c = world.lookup(b"/proc/1/status").inode.getattr()
    assert a.st_ino == b.st_ino != c.st_ino
    assert a.st_size == 0 and S.S_ISREG(a.st_mode) and S.S_IMODE(a.st_mode) == 0o444
    assert world.lookup(b"/proc").inode.getattr().st_ino == 1
    assert world.read(b"/proc/meminfo") != b""
    assert world.lookup(b"/proc/meminfo").inode.getattr().st_size == 0


# ---------------------------------------------------------------- /proc/<pid>/stat, statm, status

def test_stat_has_52_fields_in_linux_order(world):
    sh = world.spawn(b"sh", parent=world.kernel.pids.get(1))
    line = world.read(f"/proc/{sh.tid}/stat".encode())
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    head, tail = line.rstrip(b"\n").rsplit(b") ", 1)
    pid, comm = head.split(b" (", 1)
    fields = [pid, comm] + tail.split(b" ")
    assert len(fields) == 52
    assert (int(pid), comm, fields[2], int(fields[3])) == (sh.tid, b"sh", b"R", 1)
    assert (int(fields[4]), int(fields[5])) == (sh.tid, 1)             # pgrp, session
    assert int(fields[6]) == 0 and int(fields[7]) == -1                # no controlling tty
    assert (int(fields[13]), int(fields[14])) == (73, 12)              # utime, stime in USER_HZ ticks
    assert (int(fields[17]), int(fields[18]), int(fields[19])) == (20, 0, 1)   # priority, nice, threads
    assert int(fields[21]) == 250                                      # starttime: 2.5 s after boot
    mm = sh.mm
    vsize = sum(v.end - v.start for v in mm.vmas)
    assert (int(fields[22]), int(fields[23])) == (vsize, 3)            # vsize bytes, rss pages
    assert int(fields[24]) == 2 ** 64 - 1                              # rsslim
    assert int(fields[37]) == 17                                       # exit_signal
    assert int(fields[46]) == mm.brk_start
    assert [int(f) for f in fields[47:51]] == [mm.arg_start, mm.arg_end, mm.env_start, mm.env_end]


def test_stat_comm_may_hold_spaces_and_parentheses(world):
    odd = world.spawn(b"a) b (c")
    line = world.read(f"/proc/{odd.tid}/stat".encode())
    assert line.startswith(f"{odd.tid} (a) b (c) R ".encode())
    assert len(line.rsplit(b") ", 1)[1].split()) == 50


def test_stat_of_a_stopped_and_a_sleeping_task(world):
    t = world.spawn(b"sleep")
    t.state = State.BLOCKED
    assert world.read(f"/proc/{t.tid}/stat".encode()).split(b") ")[1][:1] == b"S"
    assert b"State:\tS (sleeping)\n" in world.read(f"/proc/{t.tid}/status".encode())
    t.state = State.STOPPED
    assert b"State:\tT (stopped)\n" in world.read(f"/proc/{t.tid}/status".encode())


def test_status_lines_follow_linux(world):
    user = world.spawn(b"id", uid=1000, parent=world.kernel.pids.get(1))
    user.creds.groups = (10, 20)
    text = world.read(f"/proc/{user.tid}/status".encode()).decode()
    keys = [line.split(":", 1)[0] for line in text.splitlines()]
    assert keys[:16] == ["Name", "Umask", "State", "Tgid", "Ngid", "Pid", "PPid", "TracerPid", "Uid", "Gid",
                         "FDSize", "Groups", "NStgid", "NSpid", "NSpgid", "NSsid"]
    assert keys.index("VmRSS") < keys.index("Threads") < keys.index("SigPnd") < keys.index("CapEff")
    assert f"Name:\tid\nUmask:\t0022\nState:\tR (running)\nTgid:\t{user.tid}\nNgid:\t0\n" in text
    assert "PPid:\t1\n" in text
    assert "Uid:\t1000\t1000\t1000\t1000\n" in text
    assert "Groups:\t10 20 \n" in text
    assert "VmRSS:\t      12 kB\n" in text                           # 3 pages, %8lu kB
    assert re.search(r"^VmSize:\t +\d+ kB$", text, re.M)
    assert "CapEff:\t0000000000000000\n" in text                     # not root: no capabilities
    assert "SigBlk:\t0000000000000000\n" in text


def test_status_of_a_zombie_has_no_memory_lines(world):
    z = world.spawn(b"gone")
    z.state = State.ZOMBIE
    text = world.read(f"/proc/{z.tid}/status".encode())
    assert b"State:\tZ (zombie)\n" in text and b"VmSize" not in text
    assert world.read(f"/proc/{z.tid}/cmdline".encode()) == b""


def test_signal_masks_show_in_stat_and_status(world):
    from moss_host.proc.signals import SIG_IGN, SigHandlers
    t = world.spawn(b"sig")
    t.blocked = 1 << (10 - 1)                       # SIGUSR1
    t.sigpending = 1 << (2 - 1)                     # SIGINT
    t.sighand = SigHandlers()
    t.sighand.actions[13].handler = SIG_IGN         # SIGPIPE ignored
    t.sighand.actions[15].handler = 0x400123        # SIGTERM caught
    fields = world.read(f"/proc/{t.tid}/stat".encode()).rsplit(b") ", 1)[1].split()
    assert [int(f) for f in fields[28:32]] == [2, 512, 1 << 12, 1 << 14]
    text = world.read(f"/proc/{t.tid}/status".encode())
    assert b"SigPnd:\t0000000000000002\n" in text and b"SigCgt:\t0000000000004000\n" in text


def test_statm_counts_pages(world):
    values = [int(v) for v in world.read(b"/proc/self/statm").split()]
    vsize = sum(v.end - v.start for v in world.kernel.pids.get(1).mm.vmas)
    assert len(values) == 7 and values[0] == vsize // PAGE and values[1] == 3 and values[2] == 2


# ---------------------------------------------------------------- cmdline, environ, comm, maps

def test_cmdline_and_environ_come_from_the_process_memory(world):
    assert world.read(b"/proc/self/cmdline") == ARGS
    assert world.read(b"/proc/self/environ") == ENV
    st = world.lookup(b"/proc/self/environ").inode.getattr()
    assert S.S_IMODE(st.st_mode) == 0o400


def test_comm_can_be_rewritten_truncated_to_15_bytes(world):
    f = asyncio.run(open_file(world.fs, world.fs.root, b"/proc/self/comm", O_WRONLY | 0o1000, 0, Cred(0, 0), world.caller))
    assert asyncio.run(f.write(b"a-very-long-name-indeed")) == 23
    assert world.kernel.pids.get(1).comm == b"a-very-long-nam"
    assert world.read(b"/proc/self/comm") == b"a-very-long-nam\n"


def test_maps_lines_are_padded_like_linux(world):
    busybox = world.lookup(b"/bin/busybox").inode
    dev = f"{major(busybox.sb.dev):02x}:{minor(busybox.sb.dev):02x}"
    lines = world.read(b"/proc/self/maps").decode().splitlines()
    prefix = f"00400000-005b3000 r-xp 00000000 {dev} {busybox.ino} "
    assert lines[0] == prefix + " " * (73 - len(prefix)) + "/bin/busybox"   # the file, not the name exec got
    assert lines[1].startswith(f"005c9000-005d0000 rw-p 001b9000 {dev} {busybox.ino} ")
    assert lines[2].startswith("005d0000-005f0000 rw-p 00000000 00:00 0 ") and lines[2].endswith(" [heap]")
    assert lines[3] == "ffff6fff0000-ffff70000000 rw-p 00000000 00:00 0 "   # anonymous: trailing space
    assert lines[4].endswith(" [stack]") and lines[4].index("[stack]") == 73
    assert len(lines) == 5


def test_maps_keeps_the_name_of_a_file_that_cannot_be_found(world):
    t = world.kernel.pids.get(1)
    t.mm.vmas.insert(Vma(0x700000, 0x701000, PROT_READ, MAP_PRIVATE, EmptyBacking(), 0, "/gone"))
    line = [x for x in world.read(b"/proc/self/maps").decode().splitlines() if x.startswith("00700000")][0]
    assert line == "00700000-00701000 r--p 00000000 00:00 0" + " " * 34 + "/gone"


def test_stat_shows_the_controlling_tty_and_its_foreground_group(world):
    t = world.spawn(b"sh")
    t.ctty = SimpleNamespace(rdev=makedev(5, 1), pgrp=t.tid)
    fields = world.read(f"/proc/{t.tid}/stat".encode()).rsplit(b") ", 1)[1].split()
    assert (int(fields[4]), int(fields[5])) == (makedev(5, 1), t.tid)


# ---------------------------------------------------------------- exe, cwd, root, fd/

def test_exe_resolves_the_program_through_symlinks(world):
    sh = world.spawn(b"ls", exe="/bin/ls")          # /bin/ls -> busybox
    assert world.readlink(f"/proc/{sh.tid}/exe".encode()) == b"/bin/busybox"
    assert world.lookup(f"/proc/{sh.tid}/exe".encode()).inode.read(0, 4) == b"\x7fELF"


def test_cwd_and_root_links(world):
    t = world.spawn(b"sh")
    t.fs.cwd = world.lookup(b"/etc")
    assert world.readlink(f"/proc/{t.tid}/cwd".encode()) == b"/etc"
    assert world.readlink(f"/proc/{t.tid}/root".encode()) == b"/"
    assert world.lookup(f"/proc/{t.tid}/cwd/passwd".encode()).inode.is_reg


def test_another_users_exe_and_maps_are_hidden_from_an_unprivileged_reader(world):
    user = world.spawn(b"user", uid=1000)
    world.run_as(user)
    with pytest.raises(Errno) as e:
        world.readlink(b"/proc/1/exe")
    assert e.value.code == errno.EACCES
    with pytest.raises(Errno) as e:
        world.read(b"/proc/1/maps")
    assert e.value.code == errno.EACCES
    assert world.read(b"/proc/1/stat").startswith(b"1 (init) ")     # stat is for everyone
    assert world.readlink(f"/proc/{user.tid}/exe".encode()) == b"/bin/busybox"


def test_fd_directory_links_to_paths_and_pipes(world):
    t = world.kernel.pids.get(1)
    passwd = asyncio.run(open_file(world.fs, world.fs.root, b"/etc/passwd", O_RDONLY, 0, Cred(0, 0), world.caller))
    t.files.install_at(0, passwd)
    t.files.install_at(1, FakePipe(O_WRONLY))
    t.files.install_at(5, InodeFile(world.lookup(b"/etc"), O_RDONLY))
    assert world.names(b"/proc/self/fd") == [b".", b"..", b"0", b"1", b"5"]
    assert world.readlink(b"/proc/self/fd/0") == b"/etc/passwd"
    assert world.readlink(b"/proc/self/fd/1") == b"pipe:[4242]"
    assert world.readlink(b"/proc/self/fd/5") == b"/etc"
    modes = [S.S_IMODE(world.lookup(f"/proc/self/fd/{fd}".encode(), follow=False).inode.getattr().st_mode)
             for fd in (0, 1)]
    assert modes == [0o500, 0o300]                                     # lr-x------, l-wx------
    assert world.lookup(b"/proc/self/fd/0").inode is passwd.inode  # following the link opens the file
    t.files.close(5)
    for gone in (b"/proc/self/fd/5", b"/proc/self/fd/7"):
        with pytest.raises(Errno) as e:
            world.readlink(gone)
        assert e.value.code == errno.ENOENT


def test_deleted_open_file_shows_deleted(world):
    from moss_host.fs.vfs import vfs_unlink
    t = world.kernel.pids.get(1)
    tmp = vfs_create(world.lookup(b"/etc"), b"tmpfile", S.S_IFREG | 0o600, None)
    t.files.install_at(3, InodeFile(tmp, O_RDONLY))
    vfs_unlink(world.lookup(b"/etc"), b"tmpfile", None)
    assert world.readlink(b"/proc/self/fd/3") == b"/etc/tmpfile (deleted)"


def test_task_directory_lists_the_threads(world):
    t2 = world.spawn(b"init", tgid=1)
    assert world.names(b"/proc/1/task") == [b".", b"..", b"1", str(t2.tid).encode()]
    assert world.read(f"/proc/1/task/{t2.tid}/stat".encode()).startswith(f"{t2.tid} (init) ".encode())
    assert b"task" not in world.names(f"/proc/1/task/{t2.tid}".encode())
    assert b"Threads:\t2\n" in world.read(b"/proc/1/status")


# ---------------------------------------------------------------- system files

def test_meminfo_lines_have_linux_widths(world):
    text = world.read(b"/proc/meminfo").decode()
    lines = text.splitlines()
    assert lines[0] == "MemTotal:         262144 kB"
    assert lines[1] == "MemFree:          204800 kB"
    assert lines[2].startswith("MemAvailable:")
    for line in lines:
        assert re.fullmatch(r"[A-Za-z_()0-9]+: +\d+( kB)?", line), line
        if line.startswith(("HardwareCorrupted", "VmallocTotal")):
            continue
        assert len(line.split(" kB")[0]) == 24, line
    assert "HugePages_Total:       0" in lines


def test_cpuinfo_is_arm64_format_with_one_processor(world):
    text = world.read(b"/proc/cpuinfo").decode()
    assert text.startswith("processor\t: 0\nBogoMIPS\t: 125.00\nFeatures\t: fp asimd")
    assert "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\n" \
           "CPU revision\t: 3\n\n" in text
    assert text.count("processor\t:") == 1


def test_uptime_loadavg_and_stat(world):
    up, idle = world.read(b"/proc/uptime").decode().split()
    assert re.fullmatch(r"\d+\.\d\d", up) and 100 <= float(up) < 200 and float(idle) <= float(up)
    world.spawn(b"other").state = State.BLOCKED
    assert re.fullmatch(rb"0\.00 0\.00 0\.00 1/2 2\n", world.read(b"/proc/loadavg"))
    text = world.read(b"/proc/stat").decode()
    cpu = text.splitlines()[0]
    assert cpu.startswith("cpu  ") and len(cpu.split()) == 11
    user, nice, system, idle_ticks = (int(x) for x in cpu.split()[1:5])
    assert (user, system) == (146, 24) and idle_ticks > 9000
    for key in ("cpu0 ", "intr ", "ctxt ", "btime ", "processes ", "procs_running ", "procs_blocked "):
        assert f"\n{key}" in text


def test_version_filesystems_and_sysctl(world):
    assert world.read(b"/proc/version").startswith(b"Linux version 6.1.0-moss-py ")
    assert b"nodev\tproc\n" in world.read(b"/proc/filesystems")
    assert world.read(b"/proc/sys/kernel/ostype") == b"Linux\n"
    assert world.read(b"/proc/sys/kernel/osrelease") == b"6.1.0-moss-py\n"
    assert {b"fs", b"kernel", b"vm", b"user"} <= set(world.names(b"/proc/sys"))
    assert world.read(b"/proc/sys/kernel/pid_max") == b"32768\n"
    assert world.read(b"/proc/sys/kernel/threads-max") == b"2048\n"       # 256 MiB / 128 KiB
    assert world.read(b"/proc/sys/fs/pipe-user-pages-soft") == b"16384\n"


def test_limits_personality_timerslack_wchan_io(world):
    me = world.caller
    assert world.read(b"/proc/self/limits").splitlines()[4] == \
        b"Max stack size            8388608              unlimited            bytes     "
    assert world.read(b"/proc/self/personality") == b"00000000\n"
    assert world.read(b"/proc/self/wchan") == b"0"
    assert world.read(b"/proc/self/oom_score_adj") == b"0\n"
    assert world.read(b"/proc/self/io").startswith(b"rchar: 0\nwchar: 0\n")
    slack = world.lookup(b"/proc/self/timerslack_ns").inode
    assert slack.read(0, 99) == b"50000\n"
    slack.write(0, b"1000\n")
    assert me.timer_slack_ns == 1000 and slack.read(0, 99) == b"1000\n"
    slack.write(0, b"0")
    assert me.timer_slack_ns == 50000
    with pytest.raises(Errno) as e:
        slack.write(0, b"-1")
    assert e.value.code == errno.EINVAL


def test_writing_hostname_sets_the_node_name(world):
    from moss_host.fs.drivers.procfs.system import uts
    saved = uts()["nodename"]
    try:
        f = asyncio.run(open_file(world.fs, world.fs.root, b"/proc/sys/kernel/hostname", O_WRONLY, 0, Cred(0, 0), world.caller))
        asyncio.run(f.write(b"box\n"))
        assert world.read(b"/proc/sys/kernel/hostname") == b"box\n"
    finally:
        uts()["nodename"] = saved


def test_mounts_lists_root_dev_and_proc_as_the_caller_sees_them(world):
    assert world.readlink(b"/proc/mounts") == b"self/mounts"
    text = world.read(b"/proc/mounts").decode()
    assert text.splitlines() == [
        "rootfs / rootfs rw,size=1048576k,nr_inodes=262144,inode64 0 0",
        "devtmpfs /dev devtmpfs rw,relatime,size=1048576k,nr_inodes=262144,mode=755,inode64 0 0",
        "devpts /dev/pts devpts rw,relatime,gid=5,mode=620,ptmxmode=000 0 0",
        "proc /proc proc rw,relatime 0 0",
        "sysfs /sys sysfs rw,relatime 0 0",
    ]


def test_mounts_escapes_spaces_in_mountpoints(world):
    d = vfs_mkdir(world.fs.root, b"my dir", 0o755, None)
    world.fs.ns.mount(Tmpfs(), d)
    assert world.read(b"/proc/mounts").decode().splitlines()[-1].startswith("tmpfs /my\\040dir tmpfs rw,")


# ---------------------------------------------------------------- boot

def test_boot_mounts_create_missing_mountpoints():
    w = World(make_dirs=False)
    w.run_as(w.spawn(b"init", mm=None))
    assert S.S_IMODE(w.lookup(b"/proc").inode.mode) == 0o555
    assert w.lookup(b"/proc/self", follow=False).inode.is_symlink
    assert w.lookup(b"/dev/null").inode.rdev != 0


def test_dev_stdout_reaches_the_file_on_fd_1_through_proc_self(world):
    passwd = asyncio.run(open_file(world.fs, world.fs.root, b"/etc/passwd", O_RDONLY, 0, Cred(0, 0), world.caller))
    world.kernel.pids.get(1).files.install_at(1, passwd)
    assert world.lookup(b"/dev/stdout").inode is passwd.inode
    assert world.lookup(b"/dev/fd/1").inode is passwd.inode


def test_exe_survives_a_re_exec_through_proc_self_exe(world):
    t = world.spawn(b"sh", exe="/bin/ls")
    world.run_as(t)
    program = world.lookup(b"/proc/self/exe")          # what execve("/proc/self/exe") resolves
    assert program.inode.read(0, 4) == b"\x7fELF"
    t.exe, t.mm = "/proc/self/exe", ProcessMm()              # ... and what exec then records
    assert world.readlink(b"/proc/self/exe") == b"/bin/busybox"
    assert world.readlink(b"/proc/self/exe") == b"/bin/busybox"


def test_exe_that_names_itself_is_enoent_not_a_loop(world):
    t = world.spawn(b"odd", exe="/proc/self/exe")
    world.run_as(t)
    with pytest.raises(Errno) as e:
        world.readlink(b"/proc/self/exe")
    assert e.value.code == errno.ENOENT


def test_sysinfo_values_match_meminfo_and_uptime(world):
    from moss_host.fs.drivers.procfs.system import sysinfo_values
    info = sysinfo_values(world.kernel)
    assert (info["totalram"], info["freeram"], info["mem_unit"]) == (256 << 20, 200 << 20, 1)
    assert 100 <= info["uptime"] < 200 and info["procs"] == 1 and info["loads"] == [0, 0, 0]


def test_statfs_of_proc_is_its_magic_and_no_blocks(world):
    st = world.lookup(b"/proc").mount.sb.statfs()
    assert (st.f_type, st.f_blocks, st.f_files, st.f_namelen) == (0x9FA0, 0, 0, 255)


# ---------------------------------------------------------------- reopening through /proc/<pid>/fd

def _open(world, path: bytes, flags: int):
    return asyncio.run(open_file(world.fs, world.fs.root, path, flags, 0, Cred(0, 0), world.caller))


def test_opening_proc_self_fd_of_a_pipe_opens_the_same_pipe(world):
    from moss_host.fs.pipe import Pipe
    pipe = Pipe()
    t = world.kernel.pids.get(1)
    t.files.install_at(0, pipe.open_end(O_RDONLY))
    writer = pipe.open_end(O_WRONLY)
    t.files.install_at(1, writer)
    assert world.readlink(b"/proc/self/fd/0") == f"pipe:[{pipe.ino}]".encode()
    again = _open(world, b"/dev/stdin", O_RDONLY)            # /dev/stdin -> /proc/self/fd/0 -> pipe:[ino]
    assert again.pipe is pipe and again is not t.files.get(0)

    async def through():
        await writer.write(b"hello")
        return await again.read(100)
    assert asyncio.run(through()) == b"hello"
    t.files.install_at(4, again)
    assert world.readlink(b"/proc/self/fd/4") == f"pipe:[{pipe.ino}]".encode()
    st = world.lookup(b"/proc/self/fd/0").inode.getattr()
    assert S.S_ISFIFO(st.st_mode) and st.st_ino == pipe.ino


def test_reopening_a_pipe_whose_writers_are_gone_does_not_wait(world):
    from moss_host.fs.pipe import Pipe
    pipe = Pipe()
    world.kernel.pids.get(1).files.install_at(0, pipe.open_end(O_RDONLY))
    again = _open(world, b"/proc/self/fd/0", O_RDONLY)      # a FIFO would wait for a writer here
    assert asyncio.run(again.read(10)) == b""               # no writer ever: end of file


def test_opening_proc_self_fd_of_a_host_pipe_reads_the_host_pipe(world):
    import os
    from moss_host.fs.hostfile import HostFile
    r, w = os.pipe()
    try:
        world.kernel.pids.get(1).files.install_at(0, HostFile(r, O_RDONLY))
        os.write(w, b"from the host")
        again = _open(world, b"/proc/self/fd/0", O_RDONLY)
        assert isinstance(again, HostFile) and again.fd == r
        assert asyncio.run(again.read(100)) == b"from the host"
    finally:
        os.close(r)
        os.close(w)


def test_opening_proc_self_fd_of_a_socket_is_enxio(world):
    class FakeSocket(OpenFile):
        def stat(self):
            return Stat(st_dev=9, st_ino=77, st_mode=S.S_IFSOCK | 0o777)
    world.kernel.pids.get(1).files.install_at(3, FakeSocket(O_RDONLY))
    assert world.readlink(b"/proc/self/fd/3") == b"socket:[77]"
    with pytest.raises(Errno) as e:
        _open(world, b"/proc/self/fd/3", O_RDONLY)
    assert e.value.code == errno.ENXIO


def test_an_anonymous_name_not_open_in_the_process_is_enoent(world):
    for name in (b"/proc/self/fd/pipe:[999]", b"/proc/self/fd/socket:[1]"):
        with pytest.raises(Errno) as e:
            world.lookup(name)
        assert e.value.code == errno.ENOENT
    assert b"pipe:[999]" not in world.names(b"/proc/self/fd")


def test_mountinfo_numbers_each_mount_and_names_its_parent(world):
    lines = [line.split() for line in world.read(b"/proc/self/mountinfo").decode().splitlines()]
    assert [line[4] for line in lines] == ["/", "/dev", "/dev/pts", "/proc", "/sys"]
    root_id, dev_id = lines[0][0], lines[1][0]
    assert lines[0][1] == root_id and lines[1][1] == root_id and lines[3][1] == root_id
    assert lines[2][1] == dev_id                            # devpts sits on devfs
    assert len({line[0] for line in lines}) == 5
    proc = lines[3]
    dev = world.lookup(b"/proc").inode.getattr().st_dev
    assert proc[2] == f"{major(dev)}:{minor(dev)}" and proc[3] == "/"
    assert proc[5:] == ["rw,relatime", "-", "proc", "proc", "rw"]
    assert lines[0][5:] == ["rw", "-", "rootfs", "rootfs", "rw,size=1048576k,nr_inodes=262144,inode64"]
    assert world.read(b"/proc/self/mountinfo").split()[0] == world.read(b"/proc/1/mountinfo").split()[0]
