"""The nodes of sysfs: directories with a fixed list of children, attribute files whose text
is computed when read, and relative symlinks (Linux's kernfs).

Linux shows every attribute file with st_size 4096 (a page, the most show() may write) and
no blocks, directories and links with size 0; a directory's link count is 2 plus its
subdirectories. The tree is built when the filesystem is made and never changes.
"""
from __future__ import annotations

import stat as S
from typing import Callable, Iterator, Optional

from ....errors import EACCES, EEXIST, ENOENT, EPERM, Errno
from ...stat import Stat
from ...vfs import DirEntry, Inode, Superblock, dtype_of

ATTR_SIZE = 4096


class SysNode(Inode):
    def getattr(self) -> Stat:
        st = super().getattr()
        st.st_blocks = 0
        st.st_blksize = 4096
        return st

    def setattr(self, mode=None, uid=None, gid=None, atime_ns=None, mtime_ns=None) -> None:
        """The tree is the kernel's: only root changes it in Linux, and nothing here keeps it."""
        if mode is not None or uid is not None or gid is not None:
            raise Errno(EPERM)


class SysFile(SysNode):
    """An attribute: `show()` gives its whole text at the moment of the read."""

    def __init__(self, sb: Superblock, show: Callable[[], bytes], mode: int = 0o444):
        super().__init__(sb, S.S_IFREG | mode)
        self.show = show

    @property
    def size(self) -> int:
        return ATTR_SIZE

    def read(self, offset: int, n: int) -> bytes:
        if n <= 0:
            return b""
        return self.show()[offset:offset + n]

    def write(self, offset: int, data: bytes) -> int:
        raise Errno(EACCES)             # no store method: kernfs refuses the write

    def truncate(self, size: int) -> None:
        """O_TRUNC on an attribute is accepted and changes nothing, as in kernfs."""


class SysLink(SysNode):
    def __init__(self, sb: Superblock, target: bytes):
        super().__init__(sb, S.S_IFLNK | 0o777)
        self.target = target

    def readlink(self) -> bytes:
        return self.target


class SysDir(SysNode):
    """A directory whose children are added as the tree is built, listed in that order."""

    def __init__(self, sb: Superblock, parent: Optional["SysDir"], mode: int = 0o755):
        super().__init__(sb, S.S_IFDIR | mode)
        self.parent = parent
        self.children: dict[bytes, Inode] = {}
        self.nlink = 2

    def add(self, name: bytes, node: Inode) -> Inode:
        if name in self.children:
            raise Errno(EEXIST)
        self.children[name] = node
        if node.is_dir:
            self.nlink += 1
        return node

    def subdir(self, path: bytes, mode: int = 0o755) -> "SysDir":
        """The directory at the relative `path`, made (with the ones above it) if missing."""
        d = self
        for name in path.split(b"/"):
            child = d.children.get(name)
            if child is None:
                child = d.add(name, SysDir(self.sb, d, mode))
            assert isinstance(child, SysDir), path
            d = child
        return d

    def add_file(self, path: bytes, show: Callable[[], bytes], mode: int = 0o444) -> None:
        where, _, name = path.rpartition(b"/")
        (self.subdir(where) if where else self).add(name, SysFile(self.sb, show, mode))

    def add_text(self, path: bytes, value: str, mode: int = 0o444) -> None:
        """An attribute whose value never changes; a newline is added, as show() methods do."""
        data = value.encode() + b"\n"
        self.add_file(path, lambda: data, mode)

    def add_link(self, path: bytes, target: bytes) -> None:
        where, _, name = path.rpartition(b"/")
        (self.subdir(where) if where else self).add(name, SysLink(self.sb, target))

    def lookup(self, name: bytes) -> Inode:
        try:
            return self.children[name]
        except KeyError:
            raise Errno(ENOENT) from None

    def readdir(self, pos: int) -> Iterator[DirEntry]:
        if pos <= 0:
            yield DirEntry(b".", self.ino, dtype_of(self.mode), 1)
        if pos <= 1:
            parent = self.parent if self.parent is not None else self
            yield DirEntry(b"..", parent.ino, dtype_of(S.S_IFDIR), 2)
        for i, (name, node) in enumerate(list(self.children.items())):
            if i + 2 >= pos:
                yield DirEntry(name, node.ino, dtype_of(node.mode), i + 3)
