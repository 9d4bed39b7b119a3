"""Regular files, symlinks and special files (devices, FIFOs, sockets) of ext2/3/4."""
from __future__ import annotations

from ....errors import EINVAL, EIO, Errno
from ...vfs import PATH_MAX
from .node import Ext4Inode

EXT4_N_BLOCKS_BYTES = 60       # a symlink target shorter than this is stored in i_block ("fast")


class Ext4File(Ext4Inode):
    def read(self, offset: int, n: int) -> bytes:
        return self.read_data(offset, n)

    def write(self, offset: int, data: bytes) -> int:
        n = self.write_data(offset, data)
        self.touch()
        return n

    def truncate(self, size: int) -> None:
        if size < 0:
            raise Errno(EINVAL)
        self.truncate_data(size)
        self.touch()


class Ext4Symlink(Ext4Inode):
    @property
    def is_fast(self) -> bool:
        """ext4_inode_is_fast_symlink: the target is in i_block when no data block is charged."""
        acl_blocks = self.bs // 512 if self.disk.file_acl else 0
        return not self.is_inline and self.disk.blocks_512(self.bs) - acl_blocks == 0

    def has_block_map(self) -> bool:
        return not self.is_fast

    def readlink(self) -> bytes:
        if self.size >= min(self.bs, PATH_MAX):
            raise Errno(EIO, f"ext4: symlink {self.ino} claims {self.size} bytes")
        if self.is_fast:
            return bytes(self.disk.i_block[:self.size])
        return self.read_data(0, self.size)


class Ext4Special(Ext4Inode):
    """Device nodes, FIFOs and sockets: attributes only (rdev lives in i_block)."""

    def has_block_map(self) -> bool:
        return False
