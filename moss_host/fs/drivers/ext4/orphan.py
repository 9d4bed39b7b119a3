"""The orphan list: inodes whose last name is gone while a file is still open.

Linux keeps such an inode (and its blocks) until the last close, and records it on disk
so a crash does not leak it: s_last_orphan names the newest orphan and each orphan's
i_dtime field names the next (fs/ext4/orphan.c, the pre-orphan_file scheme). Mounting
read-write walks that chain and finishes the job (ext4_orphan_cleanup): an inode with
no links left is freed, one that still has links (an interrupted truncate) is cut back
to its size.

The VFS tells an inode about opens and closes through Ext4Inode.opened()/closed().
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .fs import Ext4Superblock
    from .node import Ext4Inode


class OrphanList:
    def __init__(self, fs: "Ext4Superblock"):
        self.fs = fs
        self.chain: list[int] = []          # newest first, as on disk

    def add(self, inode: "Ext4Inode") -> None:
        sbd = self.fs.sbd
        inode.disk.i_dtime = sbd.s_last_orphan
        sbd.s_last_orphan = inode.ino
        self.chain.insert(0, inode.ino)
        inode.save()
        self.fs.write_super()

    def remove(self, inode: "Ext4Inode") -> None:
        if inode.ino not in self.chain:
            return
        i = self.chain.index(inode.ino)
        nxt = inode.disk.i_dtime
        if i == 0:
            self.fs.sbd.s_last_orphan = nxt
            self.fs.write_super()
        else:
            prev = self.fs.iget(self.chain[i - 1])
            prev.disk.i_dtime = nxt
            prev.save()
        del self.chain[i]
        inode.disk.i_dtime = 0

    def release_all(self) -> None:
        """Unmount: nothing is open any more, so every orphan goes."""
        for ino in list(self.chain):
            self.fs.release(self.fs.iget(ino))

    def cleanup_at_mount(self) -> int:
        """Finish what the orphan chain on disk records; returns how many inodes it named."""
        seen = 0
        ino = self.fs.sbd.s_last_orphan
        while ino and seen < self.fs.sbd.s_inodes_count:
            inode = self.fs.iget(ino)
            nxt = inode.disk.i_dtime
            inode.disk.i_dtime = 0
            if inode.nlink == 0:
                self.fs.release(inode)
            elif inode.has_block_map():
                inode.truncate_data(inode.size)
            ino, seen = nxt, seen + 1
        self.fs.sbd.s_last_orphan = 0
        self.chain.clear()
        return seen
