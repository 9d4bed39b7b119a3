"""ext4's export operations (Linux 6.1's fs/ext4/super.c ext4_export_ops): handles are the
default FILEID_INO32_GEN (inode number, i_generation), decoded by generic_fh_to_dentry and
ext4_nfs_get_inode -- an inode number outside the usable range, a free or deleted inode or
another generation is a stale handle."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ....errors import Errno
from ...fhandle import FILEID_INO32_GEN, ExportOps

if TYPE_CHECKING:
    from ...vfs import Inode, Superblock
    from .fs import Ext4Superblock
    from .node import Ext4Inode

FILEID_INO32_GEN_PARENT = 2
EXT4_ROOT_INO = 2


class Ext4Export(ExportOps):
    def generation(self, inode: "Inode") -> int:
        ext4_inode: Ext4Inode = inode       # type: ignore[assignment]
        return ext4_inode.disk.i_generation

    def find_inode(self, sb: "Superblock", words: tuple[int, ...], fh_type: int) -> Optional["Inode"]:
        if len(words) < 2 or fh_type not in (FILEID_INO32_GEN, FILEID_INO32_GEN_PARENT):
            return None
        fs: Ext4Superblock = sb             # type: ignore[assignment]
        ino, gen = words[0], words[1]
        if (ino < fs.sbd.first_ino and ino != EXT4_ROOT_INO) or ino > fs.sbd.s_inodes_count:
            return None                     # ext4_iget(EXT4_IGET_HANDLE): -ESTALE
        freed = fs.dirty_inodes.get(ino)
        if freed is not None and freed.dead:
            return None                     # released, not yet written back
        try:
            inode = fs.iget(ino)
        except Errno:
            return None                     # unreadable (a never-used inode's checksum)
        if inode.nlink == 0 and inode.open_count == 0:
            return None                     # deleted or never allocated
        if gen and inode.disk.i_generation != gen:
            return None                     # the number was reused: another file
        return inode


EXT4_EXPORT = Ext4Export()
