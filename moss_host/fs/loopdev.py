"""A loop device: a BlockDevice whose image is a regular file of our own VFS.

There are no loop device nodes (/dev/loopN): mount(2) with the moss option "loop" in its
data makes one for the image file it names (Linux would say ENOTBLK for a regular file;
BusyBox's `mount -o loop` sets up a loop device itself, so only a direct mount(2) call asks
for this). Reads and writes go through the image's inode, so the host never sees the image
and the filesystem holding it sees every write at flush time.
"""
from __future__ import annotations

import os

from ..errors import EIO
from .blockdev import BlockDevice, BlockDeviceError
from .vfs import Inode


class InodeBlockDevice(BlockDevice):
    """A BlockDevice whose image is a regular file of our own VFS (the host never sees it)."""

    def __init__(self, inode: Inode, name: str, read_only: bool):
        super().__init__(os.devnull, read_only=True)     # sets up the cache state, whatever it holds
        os.close(self._fd)
        self._fd = -1
        self.inode = inode
        self.path = name
        self.read_only = read_only
        self.size = inode.size

    def pread(self, offset: int, n: int) -> bytes:
        data = self.inode.read(offset, n)
        if len(data) != n:
            raise BlockDeviceError(EIO, f"image {self.path!r} is too short at offset {offset}")
        return data

    def flush(self) -> None:
        for blk in sorted(self.dirty):
            self.inode.write(blk * self.block_size, bytes(self.cache[blk]))
        self.dirty.clear()
        super().flush()                 # nothing dirty is left: only the base class's bookkeeping

    def write_through(self, blk: int, data: bytes | bytearray) -> None:
        cached = self.cache.get(blk)
        if cached is not None and cached is not data:
            cached[:] = data
        self.inode.write(blk * self.block_size, bytes(data))

    def barrier(self) -> None:
        """The image file's own filesystem orders and syncs its writes."""

    def close(self) -> None:
        self.flush()
