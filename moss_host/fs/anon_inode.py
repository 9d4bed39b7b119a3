"""Files without a filesystem node (Linux's anon_inodes): eventfd, timerfd, signalfd, epoll.

Every such file shares one inode of the internal anon_inodefs, as in Linux: fstat shows
the same device and inode number for all of them and a mode of 0600 with no file type.
/proc/pid/fd names them `anon_inode:[<name>]`.
"""
from __future__ import annotations

from .file import O_RDWR, OpenFile
from .stat import Stat
from .vfs import alloc_internal_dev

ANON_INODE_DEV = alloc_internal_dev()
ANON_INODE_INO = 1
PAGE_SIZE = 4096


class AnonFile(OpenFile):
    """An open file on the shared anonymous inode; `anon_name` is its kind ("[eventfd]")."""
    anon_name: str | None = "[unknown]"

    def __init__(self, flags: int = O_RDWR):
        super().__init__(flags)

    def lseek(self, offset: int, whence: int) -> int:
        """noop_llseek: every seek succeeds and leaves the position (0) where it was."""
        return self.pos

    def stat(self) -> Stat:
        return Stat(st_dev=ANON_INODE_DEV, st_ino=ANON_INODE_INO, st_mode=0o600, st_blksize=PAGE_SIZE)
