"""procfs: the kernel's state as files under /proc, generated when read (see docs/procfs.md).

    /proc/self, /proc/thread-self   symlinks to the *calling* task's directories
    /proc/<pid>/...                 pid.py: stat, status, statm, cmdline, environ, maps, comm,
                                    task/, exe, cwd, root; fd.py: fd/; mounts.py: mounts, mountinfo
    /proc/{meminfo,cpuinfo,uptime,loadavg,stat,version,filesystems,mounts}
                                    system.py
    /proc/sys/...                   sysctl.py (the table), sysctl_values.py (stored tunables)

Two things differ from a stored filesystem:

* Who is calling. /proc/self names the caller, and reading another process's environ or
  links depends on who reads. The path walk hands each lookup its caller (the task
  walking, vfs Inode.lookup_as), and every node made keeps it (nodes.py).
* Nothing is cached. The dentries of procfs directories keep no children (their
  `children` is a _NoCache), so every lookup asks the directory again: a process that
  exited disappears at once, a new one appears, and /proc/self resolves afresh for
  each caller. The price: nothing can be mounted below /proc (Linux allows it, e.g.
  binfmt_misc), since a mount is keyed by a dentry.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Callable, Optional

from ....errors import ENOENT, Errno
from ....machine.hostmem import register_shrinker
from ...locks import proc_locks_text
from ...vfs import Dentry, Inode, Location, StatFs, Superblock
from . import system
from .config import config_gz
from .mounts import mounts_text
from .nodes import Entry, ProcDir, ProcFile, ProcSymlink, Reader, static_entries
from .pid import PidDir
from .sysctl import SysctlDir, register_sysctl, sysctl_table
from .system import KernelView

if TYPE_CHECKING:
    from moss_host.proc.task import Task

PROC_SUPER_MAGIC = 0x9FA0
PID_POS = 1 << 20          # readdir position of /proc/<pid> is PID_POS + pid: after every fixed entry
PROC_ROOT_INO = 1


class _NoCache(dict):
    """The `children` of a procfs dentry: remembers nothing, so Dentry.lookup always asks the inode.
    Children made from it get a _NoCache of their own, so the whole procfs tree stays uncached."""
    __slots__ = ()

    def __setitem__(self, name: bytes, child: Dentry) -> None:
        child.children = _NoCache()




# /proc/net/<name> -> its text, registered by the socket families (moss_host/net).
NET_FILES: dict[bytes, Callable[[], bytes]] = {}


def register_net_file(name: bytes, render: Callable[[], bytes]) -> None:
    NET_FILES[name] = render


class ProcFs(Superblock):
    fstype = "proc"
    source = "proc"

    def __init__(self, kernel: KernelView):
        super().__init__()
        self.kernel = kernel
        self._path_inos: dict[bytes, int] = {b"": PROC_ROOT_INO}
        self._next_ino = PROC_ROOT_INO + 1
        self.exe_memo: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # pid.exe_location
        self.exe_resolving: weakref.WeakSet = weakref.WeakSet()
        self.root = ProcRoot(self)
        register_shrinker(self.forget_gone_pids, slab=True)

    @property
    def root_dentry(self) -> Dentry:
        if self._root_dentry is None:
            self._root_dentry = Dentry(b"/", self.root)
            self._root_dentry.children = _NoCache()
        return self._root_dentry

    def forget_gone_pids(self) -> None:
        """drop_caches (bit 2): forget the inode numbers of /proc/<pid>/... of pids that are
        gone, which would otherwise pile up with every process whose files were read (Linux
        gives a pid's proc inodes new numbers whenever they are built again)."""
        pids = self.kernel.pids

        def gone(path: bytes) -> bool:
            first = path[1:].partition(b"/")[0]
            return first.isdigit() and pids.get(int(first)) is None
        self._path_inos = {path: ino for path, ino in self._path_inos.items() if not gone(path)}

    def ino_for(self, path: bytes) -> int:
        """The inode number of the node at `path` inside /proc: the same every time it is asked."""
        ino = self._path_inos.get(path)
        if ino is None:
            ino = self._path_inos[path] = self._next_ino
            self._next_ino += 1
        return ino

    def statfs(self) -> StatFs:
        """proc has no blocks and no inode count (df lists it with zeros, or skips it)."""
        return StatFs(PROC_SUPER_MAGIC, 4096, 0, 0, 0, 0, 0, 255, 4096)

    # -- the kernel's state
    def alive(self, task: Task) -> bool:
        return self.kernel.pids.alive(task)

    def reader_root(self, reader: Reader) -> Location:
        """Paths in symlinks and mounts are shown as the reader sees them: from its root
        (the kernel itself sees the whole tree)."""
        if reader is not None:
            return reader.fs.root
        root_fs = self.kernel.root_fs
        assert root_fs is not None, "procfs is mounted on the root"
        return root_fs.root


class ProcRoot(ProcDir):
    """/proc: the fixed entries, then one directory per process (thread-group leaders)."""

    def __init__(self, sb: ProcFs):
        super().__init__(sb, b"", mode=0o555)
        k = sb.kernel
        self.fixed = static_entries([
            (b"self", lambda c: ProcSymlink(sb, b"/self", self._self_target, caller=c)),
            (b"thread-self", lambda c: ProcSymlink(sb, b"/thread-self", self._thread_self_target, caller=c)),
            (b"meminfo", self._file(b"meminfo", lambda: system.meminfo_text(k))),
            (b"cpuinfo", self._file(b"cpuinfo", lambda: system.cpuinfo_text(k))),
            (b"uptime", self._file(b"uptime", lambda: system.uptime_text(k))),
            (b"loadavg", self._file(b"loadavg", lambda: system.loadavg_text(k))),
            (b"stat", self._file(b"stat", lambda: system.stat_text(k))),
            (b"version", self._file(b"version", system.version_text)),
            (b"filesystems", self._file(b"filesystems", system.filesystems_text)),
            (b"locks", self._file(b"locks", proc_locks_text)),
            (b"config.gz", self._file(b"config.gz", config_gz)),
            (b"mounts", lambda c: ProcSymlink(sb, b"/mounts", lambda _: b"self/mounts", caller=c)),
            (b"sys", lambda c: SysctlDir(sb, "", self.sysctls, self.ino, caller=c)),
            (b"net", lambda c: ProcDir(sb, b"/net", self._net_entries, parent_ino=self.ino, caller=c)),
            (b"sysvipc", lambda c: ProcDir(sb, b"/sysvipc", self._sysvipc_entries, parent_ino=self.ino, caller=c)),
        ])
        self.sysctls = sysctl_table(k)          # built once: each row reads the live value

    def _file(self, name: bytes, render: Callable[[], bytes], mode: int = 0o444,
              writer: Optional[Callable[[bytes], int]] = None) -> Callable[[Reader], Inode]:
        """A system-wide file: the same text whoever reads it."""
        path = name if name.startswith(b"/") else b"/" + name
        return lambda c: ProcFile(self.sb, path, lambda _: render(), mode, writer=writer, caller=c)

    def _sysvipc_entries(self) -> list[Entry]:
        """/proc/sysvipc/{shm,sem,msg}: the System V IPC tables, what ipcs reads."""
        ipc = self.sb.kernel.ipc
        return static_entries([(b"msg", self._file(b"/sysvipc/msg", ipc.msg.proc_text)),
                               (b"sem", self._file(b"/sysvipc/sem", ipc.sem.proc_text)),
                               (b"shm", self._file(b"/sysvipc/shm", ipc.shm.proc_text))])

    def _net_entries(self) -> list[Entry]:
        """/proc/net: the tables the socket families registered (net/ sits above fs/)."""
        return static_entries([(name, self._file(b"/net/" + name, render))
                               for name, render in sorted(NET_FILES.items())])

    # -- /proc/self and /proc/thread-self
    @staticmethod
    def _reader(reader: Reader) -> Task:
        if reader is None:
            raise Errno(ENOENT)             # the kernel itself has no /proc/self
        return reader

    def _self_target(self, reader: Reader) -> bytes:
        return str(self._reader(reader).tgid).encode()

    def _thread_self_target(self, reader: Reader) -> bytes:
        task = self._reader(reader)
        return f"{task.tgid}/task/{task.tid}".encode()

    # -- the directory
    def entries(self, reader: Reader) -> list[Entry]:
        out = list(self.fixed)
        for task in self.sb.kernel.pids.processes():
            out.append(Entry(PID_POS + task.tid, str(task.tid).encode(), self._pid_maker(task)))
        return out

    def _pid_maker(self, task: Task) -> Callable[[Reader], Inode]:
        return lambda c: PidDir(self.sb, task, b"/" + str(task.tid).encode(), self.ino, caller=c)

    def lookup_as(self, name: bytes, caller: Reader) -> Inode:
        if name.isdigit():
            # Any live task by its number, threads included (Linux finds them too, unlisted).
            task = self.sb.kernel.pids.get(int(name))
            if task is None or name != str(task.tid).encode():
                raise Errno(ENOENT)
            return PidDir(self.sb, task, b"/" + name, self.ino, caller=caller)
        for entry in self.fixed:
            if entry.name == name:
                return entry.make(caller)
        raise Errno(ENOENT)


__all__ = ["ProcFs", "mounts_text", "register_net_file", "register_sysctl"]
