"""/proc/sys: the sysctl tree, one table row per file (kernel/sysctl.c's ctl_table).

A row is a path under /proc/sys, Linux's mode for it, and the handler Linux uses for its
text: integer vectors (proc_dointvec[_minmax], proc_doulongvec_minmax: values separated by
tabs, written as numbers separated by white space, each checked against its range), strings
(proc_dostring: cut at a newline and at the buffer's size), or a constant. Who may open a
file is Linux's proc_sys_permission: the row's mode bits for root (by euid, capabilities do
not count), for the root group, for everyone else; a write to a read-only file is EACCES
even for root.

The rows here describe what lives below the process layer (kernel/, fs/, vm/, user/); the
socket families register theirs (net/) with register_sysctl, as they do /proc/net files.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Optional, Sequence

from ....cred import CAP_LAST_CAP, CAP_SYS_ADMIN, capable
from ....errors import EACCES, EINVAL, EPERM, Errno
from ....machine.hostmem import drop_caches
from ....utsname import INIT_UTS_NS, UTSNAME, UtsNamespace
from ...pipe import PIPE_SYSCTLS, round_pipe_size
from ...vfs import MAY_EXEC, Inode
from .nodes import Entry, ProcDir, ProcFile, Reader
from .sysctl_values import (CORENAME_MAX_SIZE, INT_MAX, MAX_THREADS, MIN_THREADS, NGROUPS_MAX, NR_OPEN_MAX,
                            NR_OPEN_MIN, PID_MAX_LIMIT, RESERVED_PIDS, TUNABLES, ULONG_MAX, epoll_watches, file_max,
                            random_uuid, threads_max)

if TYPE_CHECKING:
    from moss_host.cred import Cred

    from . import ProcFs
    from .system import KernelView

Writer = Callable[[bytes, Reader], None]
UTS_MAXLEN = 65


@dataclass(frozen=True)
class Sysctl:
    """One file of /proc/sys: `path` below it ("kernel/pid_max"), its mode bits, its text
    now, and what a write of a text does (None: a read-only file)."""
    path: str
    mode: int
    read: Callable[[], bytes]
    write: Optional[Writer] = None
    read_by: Optional[Callable[[Reader], bytes]] = None    # a text that depends on who reads it

    def text_for(self, caller: Reader) -> bytes:
        return self.read() if self.read_by is None else self.read_by(caller)


# ---------------------------------------------------------------- the handlers

def parse_longs(data: bytes, count: int) -> list[int]:
    """Up to `count` numbers of a written text (proc_get_long): decimal, optionally negative,
    each followed by white space or the end; EINVAL for anything else or for no number."""
    words = data.split(None, count)[:count]
    if not words:
        raise Errno(EINVAL)
    out = []
    for w in words:
        digits = w[1:] if w.startswith(b"-") else w
        if not digits.isdigit():
            raise Errno(EINVAL)
        out.append(int(w))
    return out


def int_vector(path: str, get: Callable[[], Sequence[int]], put: Callable[[list[int]], None], *,
               lo: int = -INT_MAX - 1, hi: int = INT_MAX, mode: int = 0o644,
               admin: bool = False) -> Sysctl:
    """proc_dointvec_minmax / proc_doulongvec_minmax: the first values written replace the
    first values of the vector; one out of [lo, hi] is EINVAL. `admin`: the handler itself
    asks for CAP_SYS_ADMIN (EPERM), as proc_taint does."""
    def read() -> bytes:
        return "\t".join(str(v) for v in get()).encode() + b"\n"

    def write(data: bytes, caller: Reader) -> None:
        if admin and caller is not None and not capable(caller.creds, CAP_SYS_ADMIN):
            raise Errno(EPERM)
        current = list(get())
        values = parse_longs(data, len(current))
        if any(not lo <= v <= hi for v in values):
            raise Errno(EINVAL)
        put(values + current[len(values):])
    return Sysctl(path, mode, read, write)


def tunable(path: str, name: str, lo: int = -INT_MAX - 1, hi: int = INT_MAX, mode: int = 0o644) -> Sysctl:
    """One stored integer of Tunables (sysctl_values.py)."""
    return int_vector(path, lambda: [getattr(TUNABLES, name)],
                      lambda v: setattr(TUNABLES, name, v[0]), lo=lo, hi=hi, mode=mode)


def string(path: str, get: Callable[[], bytes], put: Callable[[bytes], None], maxlen: int,
           mode: int = 0o644) -> Sysctl:
    """proc_dostring: a write keeps what comes before the first newline or NUL, at most
    maxlen - 1 bytes (the rest is dropped without an error)."""
    def write(data: bytes, caller: Reader) -> None:
        text = data.split(b"\n", 1)[0].split(b"\0", 1)[0]
        put(text[:maxlen - 1])
    return Sysctl(path, mode, lambda: get() + b"\n", write)


def const(path: str, value: object, mode: int = 0o444) -> Sysctl:
    text = f"{value}\n".encode()
    return Sysctl(path, mode, lambda: text)


# ---------------------------------------------------------------- the tables

def uts_string(path: str, key: str) -> Sysctl:
    """proc_do_uts_string: the name in the caller's UTS namespace (the kernel's: the initial
    one), read and written with proc_dostring's rules."""
    def names(caller: Reader) -> UtsNamespace:
        return caller.uts if caller is not None else INIT_UTS_NS

    def write(data: bytes, caller: Reader) -> None:
        text = data.split(b"\n", 1)[0].split(b"\0", 1)[0]
        names(caller).set(key, text[:UTS_MAXLEN - 1])
    return Sysctl(path, 0o644, lambda: INIT_UTS_NS.get(key) + b"\n", write,
                  read_by=lambda caller: names(caller).get(key) + b"\n")


def uts_rows() -> list[Sysctl]:
    return [
        uts_string("kernel/hostname", "nodename"),
        uts_string("kernel/domainname", "domainname"),
        Sysctl("kernel/ostype", 0o444, lambda: UTSNAME["sysname"] + b"\n"),
        Sysctl("kernel/osrelease", 0o444, lambda: UTSNAME["release"] + b"\n"),
        Sysctl("kernel/version", 0o444, lambda: UTSNAME["version"] + b"\n"),
        Sysctl("kernel/arch", 0o444, lambda: UTSNAME["machine"] + b"\n"),
    ]


def ipc_rows(k: KernelView) -> list[Sysctl]:
    """kernel/{shmmax,...,sem} (the System V limits of the IPC namespace) and fs/mqueue/*."""
    def read(name: str) -> Callable[[], bytes]:
        return lambda: k.ipc.sysctl_read(name)

    def write(name: str) -> Writer:
        def put(data: bytes, caller: Reader) -> None:
            k.ipc.sysctl_write(name, data)
        return put
    rows = [Sysctl(f"kernel/{name}", 0o644, read(name), write(name))
            for name in ("msgmax", "msgmnb", "msgmni", "sem", "shmall", "shmmax", "shmmni")]
    # mqueue_sysctl.c: queues_max is proc_dointvec; the others have their MIN/HARD bounds
    def mq_get(name: str) -> Callable[[], list[int]]:
        return lambda: [getattr(k.ipc.mq_limits, name)]

    def mq_put(name: str) -> Callable[[list[int]], None]:
        return lambda v: setattr(k.ipc.mq_limits, name, v[0])
    for name, lo, hi in (("queues_max", 0, INT_MAX), ("msg_max", 1, 65536), ("msgsize_max", 128, 16 << 20),
                         ("msg_default", 1, 65536), ("msgsize_default", 128, 16 << 20)):
        rows.append(int_vector(f"fs/mqueue/{name}", mq_get(name), mq_put(name), lo=lo, hi=hi))
    return rows


def kernel_rows(k: KernelView) -> list[Sysctl]:
    t = TUNABLES

    def set_taint(v: list[int]) -> None:
        t.tainted |= v[0]                   # proc_taint: bits are only ever added

    def set_threads(v: list[int]) -> None:
        t.max_threads = v[0]
    return [
        tunable("kernel/pid_max", "pid_max", RESERVED_PIDS + 1, PID_MAX_LIMIT),
        int_vector("kernel/threads-max", lambda: [t.max_threads if t.max_threads is not None
                                                  else threads_max(k.memory_kb()[0])],
                   set_threads, lo=MIN_THREADS, hi=MAX_THREADS),
        int_vector("kernel/tainted", lambda: [t.tainted], set_taint, lo=0, hi=ULONG_MAX, admin=True),
        string("kernel/core_pattern", lambda: t.core_pattern,
               lambda v: setattr(t, "core_pattern", v), CORENAME_MAX_SIZE),
        tunable("kernel/core_uses_pid", "core_uses_pid"),
        tunable("kernel/core_pipe_limit", "core_pipe_limit", 0, INT_MAX),
        int_vector("kernel/printk", lambda: t.printk, lambda v: setattr(t, "printk", v)),
        tunable("kernel/printk_ratelimit", "printk_ratelimit"),
        tunable("kernel/printk_ratelimit_burst", "printk_ratelimit_burst"),
        tunable("kernel/dmesg_restrict", "dmesg_restrict", 0, 1),
        tunable("kernel/kptr_restrict", "kptr_restrict", 0, 2),
        tunable("kernel/panic", "panic"),
        tunable("kernel/panic_on_oops", "panic_on_oops"),
        tunable("kernel/print-fatal-signals", "print_fatal_signals"),
        tunable("kernel/sched_child_runs_first", "sched_child_runs_first"),
        tunable("kernel/randomize_va_space", "randomize_va_space"),
        tunable("kernel/overflowuid", "overflowuid", 0, 65535),
        tunable("kernel/overflowgid", "overflowgid", 0, 65535),
        const("kernel/cap_last_cap", CAP_LAST_CAP),
        const("kernel/ngroups_max", NGROUPS_MAX),
        Sysctl("kernel/random/boot_id", 0o444, lambda: t.boot_id + b"\n"),
        Sysctl("kernel/random/uuid", 0o444, lambda: random_uuid() + b"\n"),
        const("kernel/random/entropy_avail", 256),          # a ready CRNG: always the full pool
        const("kernel/random/poolsize", 256),
        tunable("kernel/random/urandom_min_reseed_secs", "urandom_min_reseed_secs"),
        tunable("kernel/random/write_wakeup_threshold", "write_wakeup_threshold"),
    ]


def fs_rows(k: KernelView) -> list[Sysctl]:
    t = TUNABLES

    def set_files_max(v: list[int]) -> None:
        t.files_max = v[0]

    def files_max() -> int:
        return t.files_max if t.files_max is not None else file_max(k.memory_kb()[1])

    def set_pipe_max(v: list[int]) -> None:
        PIPE_SYSCTLS.max_size = round_pipe_size(v[0])   # proc_dopipe_max_size: a power of two pages
    return [
        int_vector("fs/file-max", lambda: [files_max()], set_files_max, lo=0, hi=ULONG_MAX),
        Sysctl("fs/file-nr", 0o444, lambda: f"{open_files(k)}\t0\t{files_max()}\n".encode()),
        tunable("fs/nr_open", "nr_open", NR_OPEN_MIN, NR_OPEN_MAX),
        int_vector("fs/pipe-max-size", lambda: [PIPE_SYSCTLS.max_size], set_pipe_max, lo=0, hi=1 << 31),
        tunable("fs/pipe-user-pages-hard", "pipe_user_pages_hard", 0, ULONG_MAX),
        tunable("fs/pipe-user-pages-soft", "pipe_user_pages_soft", 0, ULONG_MAX),
        tunable("fs/overflowuid", "overflowuid", 0, 65535),
        tunable("fs/overflowgid", "overflowgid", 0, 65535),
        tunable("fs/suid_dumpable", "suid_dumpable", 0, 2),
        int_vector("fs/epoll/max_user_watches", lambda: [t.epoll_watches if t.epoll_watches is not None
                                                         else epoll_watches(k.memory_kb()[0])],
                   lambda v: setattr(t, "epoll_watches", v[0]), lo=0, hi=INT_MAX),
        const("fs/inotify/max_queued_events", 16384, 0o644),
        const("fs/inotify/max_user_instances", 128, 0o644),
        const("fs/inotify/max_user_watches", 8192, 0o644),
    ]


def vm_rows(k: KernelView) -> list[Sysctl]:
    from ....mm.vma import MMAP_MIN_ADDR
    return [
        tunable("vm/overcommit_memory", "overcommit_memory", 0, 2),
        tunable("vm/overcommit_ratio", "overcommit_ratio"),
        tunable("vm/overcommit_kbytes", "overcommit_kbytes", 0, ULONG_MAX),
        tunable("vm/max_map_count", "max_map_count", 0, INT_MAX),
        tunable("vm/swappiness", "swappiness", 0, 200),
        tunable("vm/panic_on_oom", "panic_on_oom", 0, 2),
        tunable("vm/oom_kill_allocating_task", "oom_kill_allocating_task"),
        tunable("vm/oom_dump_tasks", "oom_dump_tasks"),
        const("vm/mmap_min_addr", MMAP_MIN_ADDR),
        const("vm/legacy_va_layout", 0),
        const("vm/nr_hugepages", 0),
        Sysctl("vm/drop_caches", 0o200, lambda: b"0\n", _drop_caches),
    ]


def _drop_caches(data: bytes, caller: Reader) -> None:
    """drop_caches_sysctl_handler: 1 the page cache (and the disks' clean blocks), 2 the
    slab caches (the unused dentries and inodes; both trim the host heap), 4 only quiets
    Linux's log line; 1-4."""
    value = parse_longs(data, 1)[0]
    if not 1 <= value <= 4:
        raise Errno(EINVAL)
    drop_caches(pagecache=bool(value & 1), slab=bool(value & 2))


def user_rows() -> list[Sysctl]:
    return [const("user/max_inotify_instances", 128, 0o644), const("user/max_inotify_watches", 8192, 0o644)]


def open_files(k: KernelView) -> int:
    """fs.file-nr's first field: the open files of every process (each counted once)."""
    seen: set[int] = set()
    for task in k.pids.processes():
        if task.files is not None:
            seen.update(id(f) for _, f in task.files.items())
    return len(seen)


# Rows registered by the layers above (the socket families' net/...).
REGISTERED: list[Sysctl] = []


def register_sysctl(row: Sysctl) -> None:
    REGISTERED.append(row)


def sysctl_table(k: KernelView) -> list[Sysctl]:
    rows = [*uts_rows(), *ipc_rows(k), *kernel_rows(k), *fs_rows(k), *vm_rows(k), *user_rows()]
    return sorted(rows, key=lambda r: r.path)


# ---------------------------------------------------------------- the tree

class SysctlFile(ProcFile):
    """A file of /proc/sys: proc_sys_permission decides who opens it."""

    def __init__(self, sb: ProcFs, row: Sysctl, caller: Reader):
        def write(data: bytes) -> int:
            assert row.write is not None        # may_access let no writer open a read-only file
            row.write(data, self.caller)
            return len(data)
        super().__init__(sb, b"/sys/" + row.path.encode(), row.text_for, row.mode,
                         writer=write if row.write is not None else None, caller=caller)

    def may_access(self, cred: Optional[Cred], mask: int) -> None:
        if cred is None:
            return
        if mask & MAY_EXEC:
            raise Errno(EACCES)
        mode = self.mode
        if cred.uid == 0:                   # (Linux: the euid, which the fsuid follows)
            mode >>= 6
        elif cred.in_group(0):
            mode >>= 3
        if mask & mode & 7 != mask:
            raise Errno(EACCES)


class SysctlDir(ProcDir):
    """A directory of /proc/sys: the rows below `prefix`, and the directories they imply."""

    def __init__(self, sb: ProcFs, prefix: str, table: list[Sysctl], parent_ino: int,
                 caller: Reader = None):
        super().__init__(sb, b"/sys" + (b"/" + prefix.encode() if prefix else b""),
                         parent_ino=parent_ino, caller=caller)
        self.prefix = prefix
        self.table = table

    def entries(self, reader: Reader) -> list[Entry]:
        names: dict[str, Callable[[Reader], Inode]] = {}
        lead = self.prefix + "/" if self.prefix else ""
        for row in self._rows():
            if not row.path.startswith(lead):
                continue
            head, sep, _ = row.path[len(lead):].partition("/")
            if head in names:
                continue
            names[head] = self._dir_maker(lead + head) if sep else self._file_maker(row)
        return [Entry(2 + i, name.encode(), make) for i, (name, make) in enumerate(sorted(names.items()))]

    def _rows(self) -> Iterable[Sysctl]:
        return [*self.table, *REGISTERED]

    def _dir_maker(self, prefix: str) -> Callable[[Reader], ProcDir]:
        return lambda c: SysctlDir(self.sb, prefix, self.table, self.ino, caller=c)

    def _file_maker(self, row: Sysctl) -> Callable[[Reader], ProcFile]:
        return lambda c: SysctlFile(self.sb, row, c)
