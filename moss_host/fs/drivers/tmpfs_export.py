"""tmpfs's export operations (Linux 6.1's mm/shmem.c shmem_export_ops): a handle is three
words, i_generation and the 64-bit inode number, of type 1. shmem hashes an inode when a
handle of it is first made (shmem_encode_fh) and finds it there again by number and
generation (ilookup5, whatever the handle's type): a handle of an inode that was freed since
is stale."""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Optional

from ..fhandle import FILEID_INO32_GEN, FILEID_INVALID, Encoded, ExportOps

if TYPE_CHECKING:
    from ..vfs import Inode, Superblock
    from .tmpfs import TmpInode


class ShmemExport(ExportOps):
    def __init__(self) -> None:
        # (superblock's device, ino) -> the inode a handle was made of (the inode hash)
        self._hashed: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

    def generation(self, inode: "Inode") -> int:
        tmp_inode: TmpInode = inode         # type: ignore[assignment]
        return tmp_inode.generation

    def encode(self, inode: "Inode", max_words: int) -> Encoded:
        if max_words < 3:
            return Encoded(FILEID_INVALID, (), 3)
        self._hashed[(inode.sb.dev, inode.ino)] = inode
        ino = inode.ino
        return Encoded(FILEID_INO32_GEN, (self.generation(inode), ino & 0xFFFF_FFFF, ino >> 32 & 0xFFFF_FFFF), 3)

    def find_inode(self, sb: "Superblock", words: tuple[int, ...], fh_type: int) -> Optional["Inode"]:
        if len(words) < 3:
            return None
        inode = self._hashed.get((sb.dev, words[2] << 32 | words[1]))
        if inode is None or inode.sb is not sb or self.generation(inode) != words[0]:
            return None
        if inode.nlink == 0 and inode.open_files == 0:
            return None                     # evicted in Linux: nothing holds it
        return inode


SHMEM_EXPORT = ShmemExport()
