"""Fakes shared by the unit tests (no QEMU): user memory, and a task as a tty sees it (its
credentials, files and the kernel's job-control side)."""
from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import Optional

from moss_host.cred import CAP_FULL
from moss_host.errors import Errno
from moss_host.tty.tty import JobControl


class FakeMm:
    """User memory: one mapped window [base, base + size); an access outside it is EFAULT and
    an empty read or write touches nothing, as with the real AddressSpace. alloc/put/cstr hand
    out the window's free space from the bottom up, for a test's arguments."""

    def __init__(self, base: int = 0, size: int = 0x1000) -> None:
        self.base = base
        self.size = size
        self.mem = bytearray(size)
        self.next_free = base

    def _offset(self, ua: int, n: int) -> int:
        if ua < self.base or ua + n > self.base + self.size:
            raise Errno(errno.EFAULT)
        return ua - self.base

    def read(self, ua: int, n: int) -> bytes:
        if n <= 0:
            return b""
        off = self._offset(ua, n)
        return bytes(self.mem[off:off + n])

    def write(self, ua: int, data) -> None:
        if len(data) == 0:
            return
        off = self._offset(ua, len(data))
        self.mem[off:off + len(data)] = data

    def direct_offset(self, ua: int, n: int) -> int:
        """AddressSpace.direct_offset: never in place here (stores go through write())."""
        return -1

    def read_cstring(self, ua: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string without the NUL; ENAMETOOLONG if none within limit."""
        out = bytearray()
        while len(out) < limit:
            b = self.read(ua + len(out), 1)
            if b == b"\0":
                return bytes(out)
            out += b
        raise Errno(errno.ENAMETOOLONG)

    def alloc(self, n: int) -> int:
        """The address of n free bytes (16-byte aligned)."""
        ua = self.next_free
        self.next_free += (n + 15) & ~15
        return ua

    def put(self, data: bytes) -> int:
        ua = self.alloc(len(data))
        self.write(ua, data)
        return ua

    def cstr(self, s: bytes) -> int:
        return self.put(s + b"\0")


class FakeFiles:
    """A task's fd table, as far as opening a pty needs it: what was installed, from fd 3 up."""

    def __init__(self) -> None:
        self.installed: list[tuple[object, bool]] = []

    def install(self, f, cloexec: bool = False) -> int:
        f.get()
        self.installed.append((f, cloexec))
        return 3 + len(self.installed) - 1


@dataclass
class FakeCreds:
    euid: int = 0

    @property
    def cap_effective(self) -> int:
        """A root euid holds every capability, as a task exec'ed by init with it would."""
        return CAP_FULL if self.euid == 0 else 0


@dataclass(eq=False)
class FakeTask:
    """A process as the tty layer sees it: ids, controlling tty, credentials, memory, files."""
    tid: int
    pgid: int
    sid: int
    ctty: object = None
    creds: FakeCreds = field(default_factory=FakeCreds)
    mm: FakeMm = field(default_factory=FakeMm)
    files: FakeFiles = field(default_factory=FakeFiles)

    @property
    def tgid(self) -> int:
        return self.tid


class FakeJobs(JobControl):
    """The process layer's side of job control: the tasks there are, the one whose syscall runs
    (`current`), which signals each ignores, which groups are orphaned, and every group signal
    sent (`sent`: (pgid, signo) pairs)."""

    def __init__(self, *tasks: FakeTask, current: Optional[FakeTask] = None) -> None:
        self.tasks = list(tasks)
        self.sent: list[tuple[int, int]] = []
        self.current = current
        self.ignored: set[tuple[int, int]] = set()      # (tid, signo)
        self.orphaned: set[int] = set()                 # pgids

    def current_task(self):
        return self.current

    def signal_group(self, pgid, signo):
        self.sent.append((pgid, signo))

    def is_ignored(self, task, signo):
        return (task.tid, signo) in self.ignored

    def is_orphaned_pgrp(self, pgid):
        return pgid in self.orphaned

    def session_of_pgrp(self, pgid):
        for t in self.tasks:
            if t.pgid == pgid:
                return t.sid
        for t in self.tasks:
            if t.tgid == pgid:
                return t.sid
        return None

    def clear_session_ctty(self, sid, tty):
        for t in self.tasks:
            if t.sid == sid and t.ctty is tty:
                t.ctty = None
