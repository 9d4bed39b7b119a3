"""The building blocks of procfs: directories, files and symlinks whose contents are computed
when they are read, never stored.

  ProcFile     read() renders the whole text and returns the slice asked for (like seq_file
               without the per-open buffer); st_size is 0, as in Linux. Optionally writable.
  ProcSymlink  readlink() computes the target.
  ProcDir      its entries come from entries(), evaluated at each lookup and readdir.
               Each entry has a stable position (getdents' d_off), so a directory listed
               in several getdents calls while processes come and go neither repeats nor
               skips the entries that stayed.

Every node gets its inode number from the superblock by its path inside /proc, so a path
keeps its number however often it is looked up.

Who is asking matters in /proc (/proc/self, who may read another process's environ, the
root a cwd link is shown from). Nothing is cached, so every node is made by a lookup for
one caller -- the task walking the path (vfs Inode.lookup_as), None for the kernel itself --
and keeps it: `render`, `target` and `entries` get that caller as the reader, as Linux
checks the opener at open (environ, maps) and the caller at readlink.
"""
from __future__ import annotations

import stat as S
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, NamedTuple, Optional, Sequence

from ....errors import EINVAL, ENOENT, EPERM, Errno
from ...stat import Stat
from ...vfs import DirEntry, Inode, dtype_of

if TYPE_CHECKING:
    from moss_host.proc.task import Task

    from . import ProcFs

Reader = Optional["Task"]     # who reads a node: the task it was looked up for, or None (the kernel)


class Entry(NamedTuple):
    """One name in a ProcDir: `pos` is its stable getdents position (>= 2), `make(caller)`
    builds its inode as caller sees it."""
    pos: int
    name: bytes
    make: Callable[[Reader], Inode]


class ProcNode(Inode):
    """Common to every procfs inode: a path (for the inode number) and Linux's st_size of 0."""
    sb: ProcFs

    def __init__(self, sb: ProcFs, path: bytes, mode: int, uid: int = 0, gid: int = 0, caller: Reader = None):
        super().__init__(sb, mode, uid, gid, ino=sb.ino_for(path))
        self.path = path
        self.caller = caller            # the task this node was looked up for (None: the kernel)

    def getattr(self) -> Stat:
        st = super().getattr()
        st.st_size = st.st_blocks = 0
        st.st_blksize = 1024
        return st

    def setattr(self, mode=None, uid=None, gid=None, atime_ns=None, mtime_ns=None) -> None:
        """Attributes are computed at each lookup, so changes would not last; chmod is EPERM as in Linux."""
        if mode is not None:
            raise Errno(EPERM)


class ProcFile(ProcNode):
    """A generated file: `render(reader)` gives its whole contents at the moment of the read.
    `splice_read`: sendfile(2) may read it (Linux: the proc_ops files with proc_read_iter and
    mounts/mountinfo can, the other per-process files cannot)."""

    def __init__(self, sb, path: bytes, render: Callable[[Reader], bytes], mode: int = 0o444,
                 uid: int = 0, gid: int = 0, writer: Optional[Callable[[bytes], int]] = None,
                 caller: Reader = None, splice_read: bool = True):
        super().__init__(sb, path, S.S_IFREG | mode, uid, gid, caller)
        self.render = render
        self.writer = writer
        self.splice_read = splice_read

    def read(self, offset: int, n: int) -> bytes:
        if n <= 0:
            return b""
        return self.render(self.caller)[offset:offset + n]

    def write(self, offset: int, data: bytes) -> int:
        if self.writer is None:
            raise Errno(EINVAL)         # vfs_write on a file without a write method
        return self.writer(bytes(data))

    def truncate(self, size: int) -> None:
        """O_TRUNC on a proc file is accepted and changes nothing (`echo x > /proc/self/comm`)."""


class ProcSymlink(ProcNode):
    def __init__(self, sb, path: bytes, target: Callable[[Reader], bytes], mode: int = 0o777,
                 uid: int = 0, gid: int = 0, caller: Reader = None, magic: bool = False):
        super().__init__(sb, path, S.S_IFLNK | mode, uid, gid, caller)
        self.target = target
        self.magic = magic              # a per-process link to a file (fd/N, cwd, root, exe)

    def is_magic_link(self) -> bool:
        return self.magic

    def readlink(self) -> bytes:
        return self.target(self.caller)


class ProcDir(ProcNode):
    """A directory whose entries are computed; subclasses (or `source`) provide entries()."""

    def __init__(self, sb, path: bytes, source: Optional[Callable[[], Iterable[Entry]]] = None,
                 mode: int = 0o555, uid: int = 0, gid: int = 0, parent_ino: Optional[int] = None,
                 caller: Reader = None):
        super().__init__(sb, path, S.S_IFDIR | mode, uid, gid, caller)
        self.source = source
        self.parent_ino = self.ino if parent_ino is None else parent_ino
        self.nlink = 2

    def entries(self, reader: Reader) -> Iterable[Entry]:
        return self.source() if self.source is not None else ()

    def lookup(self, name: bytes) -> Inode:
        return self.lookup_as(name, self.caller)

    def lookup_as(self, name: bytes, caller: Reader) -> Inode:
        for entry in self.entries(caller):
            if entry.name == name:
                return entry.make(caller)
        raise Errno(ENOENT)

    def readdir(self, pos: int) -> Iterator[DirEntry]:
        if pos <= 0:
            yield DirEntry(b".", self.ino, dtype_of(self.mode), 1)
        if pos <= 1:
            yield DirEntry(b"..", self.parent_ino, dtype_of(S.S_IFDIR), 2)
        for entry in sorted(self.entries(self.caller), key=lambda e: e.pos):
            if entry.pos >= pos:
                try:
                    inode = entry.make(self.caller)
                except Errno:
                    continue            # it went away while we listed (a process exited)
                yield DirEntry(entry.name, inode.ino, dtype_of(inode.mode), entry.pos + 1)


def static_entries(table: Sequence[tuple[bytes, Callable[[Reader], Inode]]], first: int = 2) -> list[Entry]:
    """Positions first, first+1, ... for a fixed list of (name, maker(caller))."""
    return [Entry(first + i, name, make) for i, (name, make) in enumerate(table)]
