"""/proc/<pid> and /proc/<pid>/task/<tid>: one process (or thread) as text, in Linux's formats
(fs/proc/array.c, fs/proc/base.c, fs/proc/task_mmu.c, fs/proc/fd.c of Linux 6.1).

Each inode holds the Task object itself, not just its number, and checks at every access
that this very task is still in the pid table: a reused pid never shows another process
through an old descriptor, and a reaped process answers ESRCH (reads) or ENOENT (lookups).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

from ....cred import CAP_SYS_PTRACE, capable
from ....errors import EACCES, EFAULT, ENOENT, ESRCH, Errno
from ...vfs import Inode, Location, path_of
from .fd import FdDir, FdLink
from .fdinfo import FdInfoDir
from .mem import MemFile
from .mounts import mountinfo_text, mounts_text
from .ns import NsDir
from .nodes import Entry, ProcDir, ProcFile, ProcSymlink, Reader, static_entries
from .pagemap import PagemapFile
from .smaps import smaps_rollup_text, smaps_text

if TYPE_CHECKING:
    from moss_host.fs.fdtable import FdTable
    from moss_host.mm.address_space import AddressSpace
    from moss_host.proc.pidtable import PidTable
    from moss_host.proc.task import Task

PAGE = 4096
USER_HZ = 100
NS_PER_TICK = 1_000_000_000 // USER_HZ
RLIM_INFINITY = (1 << 64) - 1
PROT_WRITE, PROT_EXEC = 2, 4
MAX_CMDLINE = 128 * 1024          # what a read of cmdline/environ returns at most

STATE_NAMES = {"R": "R (running)", "S": "S (sleeping)", "D": "D (disk sleep)", "T": "T (stopped)",
               "t": "t (tracing stop)", "X": "X (dead)", "Z": "Z (zombie)"}


# ---------------------------------------------------------------- reading a task

def state_letter(task: Task) -> str:
    if task.ptrace.stopped and task.state.value != "Z":
        return "t"                              # a ptrace stop (TASK_TRACED)
    return task.state.value


def is_zombie(task: Task) -> bool:
    return state_letter(task) in ("Z", "X")


def live_mm(task: Task) -> Optional[AddressSpace]:
    """The task's address space, or None for a zombie (Linux: no mm after exit)."""
    return None if is_zombie(task) else task.mm


def ppid_of(task: Task) -> int:
    return task.parent.tgid if task.parent is not None else 0


def ticks(ns: int) -> int:
    return int(ns) // NS_PER_TICK


def start_ticks(task: Task) -> int:
    """Clock ticks from boot to the task's start (Task.start_time: seconds since boot)."""
    return max(0, int(task.start_time * USER_HZ))


def signal_masks(task: Task) -> tuple[int, int, int, int]:
    """pending, blocked, ignored, caught: the bitmasks of stat and status (bit signo-1)."""
    ignored = caught = 0
    actions = task.sighand.actions if task.sighand is not None else ()
    for signo, action in enumerate(actions):
        if signo == 0:
            continue
        if action.handler == 1:
            ignored |= 1 << (signo - 1)
        elif action.handler != 0:
            caught |= 1 << (signo - 1)
    return task.sigpending, task.blocked, ignored, caught


class MemFigures:
    """The sizes /proc/<pid>/stat, statm and status derive from the VMAs and resident pages."""

    def __init__(self, mm: Optional[AddressSpace]):
        self.vm = self.stack = self.data = self.exe = self.lib = 0     # bytes
        self.rss = self.rss_file = self.rss_anon = 0                   # pages
        self.mm = mm
        if mm is None:
            return
        vmas = list(mm.vmas)
        main_name = next((v.name for v in vmas if v.backing is not None), None)
        for v in vmas:
            length = v.end - v.start
            self.vm += length
            if v.name == "[stack]":
                self.stack += length
            elif v.prot & PROT_EXEC and v.backing is not None:
                if v.name == main_name:
                    self.exe += length
                else:
                    self.lib += length
            elif v.prot & PROT_WRITE and not v.shared:
                self.data += length
        resident = mm.resident
        self.rss = len(resident)
        for va in resident:
            vma = mm.vmas.find(va)
            if vma is not None and vma.backing is not None:
                self.rss_file += 1
        self.rss_anon = self.rss - self.rss_file


# ---------------------------------------------------------------- file formats

def stat_text(pids: PidTable, task: Task, whole: bool = False) -> bytes:
    """/proc/<pid>/stat: 52 fields on one line (do_task_stat). `whole` (the process's
    stat, not /proc/<pid>/task/<tid>/stat): the CPU times of every thread it has had."""
    mm = live_mm(task)
    utime, stime = task.group.cpu_times() if whole else (task.utime_ns, task.stime_ns)
    min_flt, maj_flt = task.group.fault_counts() if whole else (task.min_flt, task.maj_flt)
    mem = MemFigures(mm)
    pending, blocked, ignored, caught = signal_masks(task)
    ctty = task.ctty
    tty_nr = ctty.rdev if ctty is not None else 0
    tpgid = ctty.pgrp if ctty is not None else -1                   # the foreground group
    brk_start, arg_start, arg_end, env_start, env_end = (
        (mm.brk_start, mm.arg_start, mm.arg_end, mm.env_start, mm.env_end) if mm is not None else (0,) * 5)
    code, data, start_stack = (((mm.start_code, mm.end_code), (mm.start_data, mm.end_data), mm.start_stack)
                               if mm is not None else ((0, 0), (0, 0), 0))
    fields = [
        task.tid, f"({task.comm.decode(errors='replace')})", state_letter(task),
        ppid_of(task), task.pgid, task.sid, tty_nr, tpgid,
        0,                                                          # flags (PF_*)
        min_flt, task.group.cmin_flt, maj_flt, task.group.cmaj_flt,
        ticks(utime), ticks(stime), ticks(task.cutime_ns), ticks(task.cstime_ns),
        -1 - task.sched_priority if task.sched_priority else 20 + task.nice,   # priority (task_prio)
        task.nice,
        len(pids.threads_of(task)), 0,                              # num_threads, itrealvalue
        start_ticks(task), mem.vm, mem.rss, RLIM_INFINITY,
        *code, start_stack,                                         # startcode, endcode, startstack
        0, 0,                                                       # kstkesp, kstkeip
        pending, blocked, ignored, caught,
        0, 0, 0,                                                    # wchan, nswap, cnswap
        task.exit_signal, task.last_cpu,
        task.sched_priority, task.sched_policy,                     # rt_priority, policy
        0, 0, 0,                        # delayacct_blkio_ticks, guest_time, cguest_time
        *data, brk_start,                                           # start_data, end_data, start_brk
        arg_start, arg_end, env_start, env_end,
        (task.exit_status or 0) if is_zombie(task) else 0,
    ]
    return (" ".join(str(f) for f in fields) + "\n").encode()


def statm_text(task: Task) -> bytes:
    """/proc/<pid>/statm: size resident shared text lib data dt, in pages."""
    mem = MemFigures(live_mm(task))
    values = [mem.vm // PAGE, mem.rss, mem.rss_file, mem.exe // PAGE, 0,
              (mem.data + mem.stack) // PAGE, 0]
    return (" ".join(map(str, values)) + "\n").encode()


def _kb(nbytes: int) -> str:
    return f"{nbytes // 1024:8d} kB"


def status_text(pids: PidTable, task: Task) -> bytes:
    """/proc/<pid>/status (proc_pid_status), the lines Linux 6.1 prints, in its order."""
    creds = task.creds
    fsuid, fsgid = creds.fs_ids
    pending, blocked, ignored, caught = signal_masks(task)
    pgid, sid = task.pgid, task.sid
    groups = "".join(f"{g} " for g in creds.groups) or " "
    lines = [
        f"Name:\t{task.comm.decode(errors='replace')}",
        f"Umask:\t{task.fs.umask:04o}",
        f"State:\t{STATE_NAMES.get(state_letter(task), 'R (running)')}",
        f"Tgid:\t{task.tgid}",
        "Ngid:\t0",
        f"Pid:\t{task.tid}",
        f"PPid:\t{ppid_of(task)}",
        f"TracerPid:\t{task.ptrace.tracer.tid if task.ptrace.tracer is not None else 0}",
        f"Uid:\t{creds.uid}\t{creds.euid}\t{creds.suid}\t{fsuid}",
        f"Gid:\t{creds.gid}\t{creds.egid}\t{creds.sgid}\t{fsgid}",
        f"FDSize:\t{_fd_size(task.files)}",
        f"Groups:\t{groups}",
        f"NStgid:\t{task.tgid}",
        f"NSpid:\t{task.tid}",
        f"NSpgid:\t{pgid}",
        f"NSsid:\t{sid}",
    ]
    mm = live_mm(task)
    if mm is not None:
        mem = MemFigures(mm)
        lines += [
            f"VmPeak:\t{_kb(mem.vm)}", f"VmSize:\t{_kb(mem.vm)}",
            f"VmLck:\t{_kb(mm.vmas.locked_bytes())}", f"VmPin:\t{_kb(0)}",
            f"VmHWM:\t{_kb(mem.rss * PAGE)}", f"VmRSS:\t{_kb(mem.rss * PAGE)}",
            f"RssAnon:\t{_kb(mem.rss_anon * PAGE)}", f"RssFile:\t{_kb(mem.rss_file * PAGE)}",
            f"RssShmem:\t{_kb(0)}", f"VmData:\t{_kb(mem.data)}", f"VmStk:\t{_kb(mem.stack)}",
            f"VmExe:\t{_kb(mem.exe)}", f"VmLib:\t{_kb(mem.lib)}", f"VmPTE:\t{_kb(0)}",
            f"VmSwap:\t{_kb(0)}", f"HugetlbPages:\t{_kb(0)}",
        ]
    lines += [
        "CoreDumping:\t0",
        "THP_enabled:\t1",
        f"Threads:\t{len(pids.threads_of(task))}",
        "SigQ:\t0/3935",
        f"SigPnd:\t{pending:016x}",
        f"ShdPnd:\t{task.group.shared_pending:016x}",
        f"SigBlk:\t{blocked:016x}",
        f"SigIgn:\t{ignored:016x}",
        f"SigCgt:\t{caught:016x}",
        f"CapInh:\t{creds.cap_inheritable:016x}",
        f"CapPrm:\t{creds.cap_permitted:016x}",
        f"CapEff:\t{creds.cap_effective:016x}",
        f"CapBnd:\t{creds.cap_bounding:016x}",
        f"CapAmb:\t{creds.cap_ambient:016x}",
        f"NoNewPrivs:\t{int(task.no_new_privs)}",
        f"Seccomp:\t{task.seccomp.mode if task.seccomp is not None else 0}",
        f"Seccomp_filters:\t{task.seccomp.filter_count() if task.seccomp is not None else 0}",
        # arm64 without SSBS: the mitigation is off for everyone (PR_SPEC_NOT_AFFECTED is
        # not claimed, and no per-thread control exists), so Linux says "vulnerable".
        "Speculation_Store_Bypass:\tvulnerable",
        "SpeculationIndirectBranch:\tunknown",
        "Cpus_allowed:\t1",
        "Cpus_allowed_list:\t0",
        "Mems_allowed:\t0001",                  # a nodemask of MAX_NUMNODES (16 on arm64) bits
        "Mems_allowed_list:\t0",
        "voluntary_ctxt_switches:\t0",
        "nonvoluntary_ctxt_switches:\t0",
    ]
    return ("\n".join(lines) + "\n").encode()


def _fd_size(files: FdTable) -> int:
    """The fd table's allocated size: Linux grows it in powers of two from 64."""
    n = 64
    top = max((fd for fd, _ in files.items()), default=-1)
    while n <= top:
        n *= 2
    return n


def cmdline_text(task: Task) -> bytes:
    mm = live_mm(task)
    return user_area(mm, mm.arg_start, mm.arg_end) if mm is not None else b""


def environ_text(task: Task) -> bytes:
    mm = live_mm(task)
    return user_area(mm, mm.env_start, mm.env_end) if mm is not None else b""


def auxv_text(task: Task) -> bytes:
    """/proc/<pid>/auxv: the pairs exec put on the stack, as they were then (mm->saved_auxv)."""
    mm = live_mm(task)
    return mm.saved_auxv if mm is not None else b""


def user_area(mm: AddressSpace, start: int, end: int) -> bytes:
    """The bytes of the argv or environment area of the task's memory (cmdline, environ)."""
    if not start or end <= start:
        return b""
    try:
        return mm.read(start, min(end - start, MAX_CMDLINE))
    except Errno as e:
        if e.code == EFAULT:
            return b""
        raise


def maps_text(task: Task) -> bytes:
    """/proc/<pid>/maps: one line per VMA. A file mapping shows its file's device, inode and
    path, as Linux's d_path does: the VMA's name (the path exec was given) resolved in the
    task's view, so /bin/ls shows as /bin/busybox."""
    from ...stat import major, minor
    mm = live_mm(task)
    if mm is None:
        return b""
    files: dict[str, tuple[Optional[Inode], str]] = {}
    out = []
    for v in mm.vmas:
        inode = v.backing.inode if v.backing is not None else None     # the file of an mmap
        name = v.name
        if inode is None and v.backing is not None and name.startswith("/"):
            if name not in files:
                files[name] = _mapped_file(task, name)
            inode, name = files[name]
        if inode is not None:
            line = v.slice(v.start, v.end, name=name).maps_line(major(inode.sb.dev), minor(inode.sb.dev), inode.ino)
        elif v.backing is not None:
            line = v.maps_line(*v.backing.maps_ids())          # shared anonymous memory: shmem's 0:1
        else:
            line = v.maps_line()
        out.append(line + "\n")
    return "".join(out).encode(errors="surrogateescape")


def smaps_of(task: Task) -> bytes:
    mm = live_mm(task)
    if mm is None:
        return b""
    return smaps_text(mm, maps_text(task).decode(errors="surrogateescape").splitlines())


def smaps_rollup_of(task: Task) -> bytes:
    mm = live_mm(task)
    return smaps_rollup_text(mm) if mm is not None else b""


def _mapped_file(task: Task, name: str) -> tuple[Optional[Inode], str]:
    """(inode, shown path) of the file a VMA maps, by its name; (None, name) if it cannot be found."""
    from ...path import lookup
    fs = task.fs
    try:
        loc = lookup(fs, name.encode(errors="surrogateescape"), cred=None, caller=task)
    except Errno:
        return None, name
    path, _ = path_of(loc, fs.root)
    return loc.inode, path.decode(errors="surrogateescape")


# ---------------------------------------------------------------- the inodes

class PidDir(ProcDir):
    """/proc/<pid> (with_task_dir) or /proc/<pid>/task/<tid>."""

    def __init__(self, sb, task: Task, path: bytes, parent_ino: int, with_task_dir: bool = True,
                 caller: Reader = None):
        c = task.creds
        super().__init__(sb, path, mode=0o555, uid=c.euid, gid=c.egid, parent_ino=parent_ino, caller=caller)
        self.task = task
        self.with_task_dir = with_task_dir

    # -- helpers shared by the children
    def check(self) -> Task:
        """The task, if still alive; ESRCH otherwise (what a read of a dead process's file gives)."""
        if not self.sb.alive(self.task):
            raise Errno(ESRCH)
        return self.task

    def may_inspect(self, reader: Reader) -> None:
        """ptrace_may_access, simplified: the kernel, root, or the same user (exe, cwd, root, fd/)."""
        if reader is None:
            return
        rc, tc = reader.creds, self.task.creds
        if not capable(rc, CAP_SYS_PTRACE) and not (rc.euid == tc.uid == tc.euid == tc.suid):
            raise Errno(EACCES)

    def _file(self, name: bytes, render: Callable[[Task], bytes], mode: int = 0o444,
              writer: Optional[Callable[[bytes], int]] = None,
              private: bool = False, splice_read: bool = False) -> Callable[[Reader], ProcFile]:
        """A file of this task; `private` ones (maps, environ) are for those who may inspect it.
        Linux's per-process files cannot be sendfile(2)'s source, except mounts and mountinfo."""
        def read(reader: Reader) -> bytes:
            task = self.check()
            if private:
                self.may_inspect(reader)
            return render(task)

        def make(caller: Reader) -> ProcFile:
            c = self.task.creds
            return ProcFile(self.sb, self.path + b"/" + name, read, mode, c.euid, c.egid, writer, caller=caller,
                            splice_read=splice_read)
        return make

    def _mem(self, caller: Reader) -> MemFile:
        """/proc/[pid]/mem, for those who may inspect the task (procfs/mem.py)."""
        def mm_of(reader: Reader):
            task = self.check()
            self.may_inspect(reader)
            return live_mm(task)
        c = self.task.creds
        return MemFile(self.sb, self.path + b"/mem", mm_of, c.euid, c.egid, caller=caller)

    def _pagemap(self, caller: Reader) -> PagemapFile:
        """/proc/[pid]/pagemap, for those who may inspect the task (procfs/pagemap.py)."""
        def mm_of(reader: Reader):
            task = self.check()
            self.may_inspect(reader)
            return live_mm(task)
        c = self.task.creds
        return PagemapFile(self.sb, self.path + b"/pagemap", mm_of, c.euid, c.egid, caller=caller)

    def _total_kb(self) -> int:
        return self.sb.kernel.memory_kb()[0]

    def _link(self, name: bytes, target: Callable[[Task, Reader], bytes]) -> Callable[[Reader], ProcSymlink]:
        def read_target(reader: Reader) -> bytes:
            task = self.check()
            self.may_inspect(reader)
            return target(task, reader)

        def make(caller: Reader) -> ProcSymlink:
            c = self.task.creds
            return ProcSymlink(self.sb, self.path + b"/" + name, read_target, 0o777, c.euid, c.egid, caller=caller,
                               magic=True)
        return make

    # -- the directory
    def entries(self, reader: Reader) -> list[Entry]:
        if not self.sb.alive(self.task):
            return []
        pids = self.sb.kernel.pids
        table: list[tuple[bytes, Callable[[Reader], Inode]]] = []
        if self.with_task_dir:
            table.append((b"task", lambda c: TaskDir(self.sb, self.task, self.path + b"/task", self.ino, caller=c)))
        table += [
            (b"fd", lambda c: FdDir(self, self.path + b"/fd", caller=c)),
            (b"ns", lambda c: NsDir(self, self.path + b"/ns", caller=c)),
            (b"environ", self._file(b"environ", environ_text, 0o400, private=True)),
            (b"auxv", self._file(b"auxv", auxv_text, 0o400, private=True)),
            (b"status", self._file(b"status", lambda t: status_text(pids, t))),
            (b"comm", self._file(b"comm", lambda t: t.comm + b"\n", 0o644, self._write_comm)),
            (b"cmdline", self._file(b"cmdline", cmdline_text)),
            (b"stat", self._file(b"stat", lambda t: stat_text(pids, t, self.with_task_dir))),
            (b"statm", self._file(b"statm", statm_text)),
            (b"maps", self._file(b"maps", maps_text, private=True)),
            (b"mem", self._mem),
            (b"fdinfo", lambda c: FdInfoDir(self, self.path + b"/fdinfo", caller=c)),
            (b"smaps", self._file(b"smaps", smaps_of, private=True)),
            (b"smaps_rollup", self._file(b"smaps_rollup", smaps_rollup_of, private=True)),
            (b"pagemap", self._pagemap),
            (b"cwd", self._place_link(b"cwd", lambda t: t.fs.cwd)),
            (b"root", self._place_link(b"root", lambda t: t.fs.root)),
            (b"exe", self._link(b"exe", self._exe)),
            (b"mounts", self._file(b"mounts", lambda t: mounts_text(t.fs.ns, t.fs.root), splice_read=True)),
            (b"mountinfo", self._file(b"mountinfo", lambda t: mountinfo_text(t.fs.ns, t.fs.root),
                                      splice_read=True)),
            *self._info_entries(),
        ]
        return static_entries(table)

    def _info_entries(self) -> list[tuple[bytes, Callable[[Reader], Inode]]]:
        """limits, personality, timerslack_ns, wchan, oom_score_adj, io (pid_info.py); oom_score, oom_adj (oom.py)."""
        from . import oom
        from . import pid_info as info       # here: pid_info imports this module
        return [
            (b"limits", self._file(b"limits", info.limits_text)),
            (b"personality", self._file(b"personality", info.personality_text, 0o400, private=True)),
            (b"timerslack_ns", self._file(b"timerslack_ns", info.timerslack_text, 0o666,
                                          lambda data: info.set_timerslack(self.check(), data))),
            (b"wchan", self._file(b"wchan", info.wchan_text)),
            (b"oom_score_adj", self._file(b"oom_score_adj", info.oom_score_adj_text, 0o644,
                                          lambda data: info.set_oom_score_adj(self.check(), data))),
            (b"io", self._file(b"io", info.io_text, 0o400, private=True)),
            (b"oom_score", self._file(b"oom_score", lambda t: oom.oom_score_text(t, self._total_kb))),
            (b"oom_adj", self._file(b"oom_adj", oom.oom_adj_text, 0o644,
                                    lambda data: oom.set_oom_adj(self.check(), data))),
        ]

    def _place_link(self, name: bytes, place: Callable[[Task], Location]) -> Callable[[Reader], ProcSymlink]:
        """cwd and root: following one goes to the task's very directory (proc_cwd_link,
        proc_root_link), which may be in another mount namespace than the reader's; readlink
        shows its path."""
        def make(caller: Reader) -> ProcSymlink:
            def read_target(reader: Reader) -> bytes:
                task = self.check()
                self.may_inspect(reader)
                return self._path(task, place(task), reader)

            def jump() -> Optional[Location]:
                task = self.check()
                self.may_inspect(caller)
                if is_zombie(task):
                    raise Errno(ENOENT)
                return place(task)
            c = self.task.creds
            return FdLink(self.sb, self.path + b"/" + name, read_target, 0o777, c.euid, c.egid, caller, jump)
        return make

    def _write_comm(self, data: bytes) -> int:
        """Writing comm renames the task: up to 15 bytes, cut at a NUL (comm_write)."""
        task = self.check()
        task.comm = data[:15].split(b"\0")[0]
        return len(data)

    def _path(self, task: Task, loc: Optional[Location], reader: Reader) -> bytes:
        if is_zombie(task) or loc is None:
            raise Errno(ENOENT)
        path, _ = path_of(loc, self.sb.reader_root(reader))
        return path + b" (deleted)" if loc.dentry.unlinked else path

    def _exe(self, task: Task, reader: Reader) -> bytes:
        """The executable's path (see exe_location)."""
        if is_zombie(task):
            raise Errno(ENOENT)
        return self._path(task, exe_location(self.sb, task), reader)


def exe_location(sb, task: Task) -> Location:
    """Where the task's program is: task.exe, the path exec was given, resolved in its view.

    Resolving the path exec was given is not always possible afterwards: after
    execve("/proc/self/exe") (BusyBox re-executing itself) task.exe is "/proc/self/exe",
    whose resolution asks this very function again. So each answer is remembered per task
    with the (exe, mm) it was computed for, and a resolution that comes back to the same task
    gets the previous answer, which is right: the exec resolved "/proc/self/exe" through
    here too, before the new program replaced the old one.
    """
    exe, mm = task.exe, task.mm
    known = sb.exe_memo.get(task)
    if known is not None and known[0] == exe and known[1] is mm:
        return known[2]
    if task in sb.exe_resolving:
        if known is None:
            raise Errno(ENOENT)
        return known[2]
    if not exe:
        raise Errno(ENOENT)
    from ...path import lookup
    sb.exe_resolving.add(task)
    try:
        loc = lookup(task.fs, exe.encode(), cred=None, caller=task)
    finally:
        sb.exe_resolving.discard(task)
    sb.exe_memo[task] = (exe, mm, loc)
    return loc


class TaskDir(ProcDir):
    """/proc/<pid>/task: one directory per thread of the process."""

    def __init__(self, sb, leader: Task, path: bytes, parent_ino: int, caller: Reader = None):
        c = leader.creds
        super().__init__(sb, path, mode=0o555, uid=c.euid, gid=c.egid, parent_ino=parent_ino, caller=caller)
        self.leader = leader

    def entries(self, reader: Reader) -> list[Entry]:
        if not self.sb.alive(self.leader):
            return []
        return [Entry(2 + t.tid, str(t.tid).encode(), self._maker(t))
                for t in self.sb.kernel.pids.threads_of(self.leader)]

    def _maker(self, t: Task) -> Callable[[Reader], Inode]:
        return lambda c: PidDir(self.sb, t, self.path + b"/" + str(t.tid).encode(), self.ino,
                                with_task_dir=False, caller=c)
