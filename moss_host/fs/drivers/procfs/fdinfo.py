"""/proc/<pid>/fdinfo/N: an open descriptor's position, flags, mount and inode (fs/proc/fd.c
seq_show), then the lines its kind of file adds in Linux 6.1 (the file's show_fdinfo):

    eventfd    eventfd-count (%16llx) and eventfd-id
    epoll      one `tfd:` line per registration
    signalfd   sigmask
    timerfd    clockid, ticks, settime flags, it_value, it_interval
    inotify    one `inotify wd:` line per watch, newest first, with a file handle
    others     what the file's fdinfo_lines() gives (a pidfd: Pid and NSpid)

flags is the open file's f_flags in octal, with O_CLOEXEC when the descriptor has it;
O_LARGEFILE only for a file opened by path (64-bit Linux forces it in open(2), not in
pipe2, eventfd, epoll_create or socket).
"""
from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING, Callable

from ....errors import ENOENT, Errno
from ...epoll import EpollFile
from ...eventfd import EventFd
from ...file import O_LARGEFILE, OpenFile
from ...inotify import Inotify
from ...signalfd import SignalFd
from ...timerfd import TimerFd
from .mounts import mount_id
from .nodes import Entry, ProcDir, ProcFile, Reader

if TYPE_CHECKING:
    from moss_host.proc.task import Task

O_CLOEXEC = 0o2000000
NSEC_PER_SEC = 1_000_000_000

# eventfd's ida: the lowest id no live eventfd has, given when fdinfo first shows it
_eventfd_ids: "weakref.WeakKeyDictionary[EventFd, int]" = weakref.WeakKeyDictionary()


def eventfd_id(f: EventFd) -> int:
    known = _eventfd_ids.get(f)
    if known is None:
        used = set(_eventfd_ids.values())
        known = _eventfd_ids[f] = next(i for i in itertools.count() if i not in used)
    return known


def _ino_dev(f: OpenFile) -> tuple[int, int]:
    try:
        st = f.stat()
    except Errno:
        return 0, 0
    return st.st_ino, st.st_dev


def _timespec(ns: int) -> str:
    return f"({ns // NSEC_PER_SEC}, {ns % NSEC_PER_SEC})"


def extra_lines(f: OpenFile) -> list[str]:
    if isinstance(f, EventFd):
        return [f"eventfd-count: {f.count:16x}", f"eventfd-id: {eventfd_id(f)}"]
    if isinstance(f, EpollFile):
        out = []
        for item in f.ep.items.values():
            ino, dev = _ino_dev(item.file)
            out.append(f"tfd: {item.fd:8d} events: {item.events:8x} data: {item.data:16x}  "
                       f"pos:{item.file.pos} ino:{ino:x} sdev:{dev:x}")
        return out
    if isinstance(f, SignalFd):
        return [f"sigmask:\t{f.mask:016x}"]
    if isinstance(f, TimerFd):
        interval, left = f.gettime()
        return [f"clockid: {f.clockid}", f"ticks: {f.ticks}", f"settime flags: 0{f.settime_flags:o}",
                f"it_value: {_timespec(left)}", f"it_interval: {_timespec(interval)}"]
    if isinstance(f, Inotify):
        out = []
        for wd in sorted(f.marks, reverse=True):           # marks are added at the list's head
            mark = f.marks[wd]
            ino, dev = mark.inode.ino, mark.inode.sb.dev
            handle = ino.to_bytes(4, "little").hex() + "00000000"      # a tmpfs-like (ino, generation)
            out.append(f"inotify wd:{wd:x} ino:{ino:x} sdev:{dev:x} mask:{mark.mask:x} ignored_mask:0 "
                       f"fhandle-bytes:8 fhandle-type:1 f_handle:{handle}")
        return out
    return f.fdinfo_lines()


def fdinfo_text(f: OpenFile, cloexec: bool) -> bytes:
    flags = f.flags if f.location is not None else f.flags & ~O_LARGEFILE
    if cloexec:
        flags |= O_CLOEXEC
    ino, _ = _ino_dev(f)
    mnt = mount_id(f.location.mount) if f.location is not None else 0
    lines = [f"pos:\t{f.pos}", f"flags:\t0{flags:o}", f"mnt_id:\t{mnt}", f"ino:\t{ino}", *extra_lines(f)]
    return "".join(line + "\n" for line in lines).encode()


class FdInfoDir(ProcDir):
    """/proc/<pid>/fdinfo: a file per open descriptor (dr-xr-xr-x, listed to those who may
    inspect the process: proc_fdinfo_permission)."""

    def __init__(self, owner, path: bytes, caller: Reader = None):
        c = owner.task.creds
        super().__init__(owner.sb, path, mode=0o555, uid=c.euid, gid=c.egid, parent_ino=owner.ino, caller=caller)
        self.owner = owner          # the PidDir

    def entries(self, reader: Reader) -> list[Entry]:
        from .pid import is_zombie
        task = self.owner.task
        if not self.sb.alive(task) or is_zombie(task):
            return []
        self.owner.may_inspect(reader)
        return [Entry(2 + fd, str(fd).encode(), self._maker(fd)) for fd, _ in task.files.items()]

    def _maker(self, fd: int) -> Callable[[Reader], ProcFile]:
        def render(reader: Reader) -> bytes:
            task: Task = self.owner.check()
            try:
                f = task.files.get(fd)
            except Errno:
                raise Errno(ENOENT) from None
            return fdinfo_text(f, task.files.cloexec(fd))

        def make(caller: Reader) -> ProcFile:
            c = self.owner.task.creds
            return ProcFile(self.sb, self.path + b"/" + str(fd).encode(), render, 0o444, c.euid, c.egid,
                            caller=caller, splice_read=False)
        return make
