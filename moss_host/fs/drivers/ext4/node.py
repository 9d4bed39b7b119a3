"""Ext4Inode: the VFS inode of an ext2/3/4 file, common to every file type.

It owns the decoded on-disk record (`disk`), the in-memory block mapping (Runs, loaded
on first use, from the extent tree or the ext2 block map), and the byte-level I/O on
top of them: read with holes as zeros, write allocating blocks, truncate freeing them.
Every change is written through to the inode table block in the page cache (`save`);
nothing reaches the image before the superblock's next journal commit (write_back); the
blocks of regular files are marked as data (`fs.data_blocks`), written home rather than
journaled.
"""
from __future__ import annotations

import stat as S
import struct
from typing import TYPE_CHECKING, Optional

from ....errors import EFBIG, EIO, ENOSPC, Errno
from ...stat import Stat, major, makedev, minor
from ...vfs import Inode
from .blockmap import build_blockmap, read_blockmap
from .extents import build_extents, read_extents
from .inode import EXT4_EXTENTS_FL, EXT4_INLINE_DATA_FL, DiskInode
from . import xattr_ops
from .runs import Runs
from .xattr import drop_xattr_block_ref, read_inline

if TYPE_CHECKING:
    from .fs import Ext4Superblock

MAX_LBLK = (1 << 32) - 1        # extents address 32-bit logical blocks


class Ext4Inode(Inode):
    def __init__(self, fs: "Ext4Superblock", ino: int, disk: DiskInode):
        super().__init__(fs, disk.i_mode, disk.uid, disk.gid, ino=ino, rdev=decode_rdev(disk))
        self.fs = fs
        self.disk = disk
        self.nlink = disk.i_links_count
        self.atime_ns, self.mtime_ns, self.ctime_ns = disk.atime_ns, disk.mtime_ns, disk.ctime_ns
        self.dead = False               # freed (last link gone); see Ext4Superblock.release
        self.open_count = 0             # open files on it (opened/closed); keeps an unlinked inode alive
        self._runs: Optional[Runs] = None
        self._tree: list[int] = []      # extent-tree or indirect blocks

    # -- open/close notifications (the hook that lets an unlinked open file live on)
    def opened(self) -> None:
        self.open_count += 1

    def closed(self) -> None:
        """The last close of an inode whose names are all gone frees it."""
        self.open_count -= 1
        if self.open_count == 0 and self.nlink == 0 and not self.dead and not self.fs.read_only:
            self.fs.release(self)

    def evictable(self) -> bool:
        """Nothing but the inode cache needs this inode (prune_icache_sb's test): clean, not
        open, no pages, locks, watches or FIFO on it; the disk has all of it."""
        return (self.ino not in self.fs.dirty_inodes and not self.dead and self.nlink > 0
                and self.open_count == 0 and self.open_files == 0 and not self.linkable
                and self.page_cache is None and self.fifo_pipe is None
                and not self.file_locks and not self.fsnotify_marks)

    def forget_index(self) -> None:
        """Drop what is rebuilt from the blocks on the next use (a directory's name index)."""

    # -- attributes
    @property
    def size(self) -> int:
        return self.disk.size

    @property
    def bs(self) -> int:
        return self.fs.block_size

    def getattr(self) -> Stat:
        st = super().getattr()
        st.st_blocks = self.disk.blocks_512(self.bs)
        st.st_blksize = self.bs
        return st

    def setattr(self, mode=None, uid=None, gid=None, atime_ns=None, mtime_ns=None) -> None:
        self.fs.check_writable()
        super().setattr(mode, uid, gid, atime_ns, mtime_ns)
        self.save()

    def touch(self) -> None:
        super().touch()
        self.save()

    def save(self) -> None:
        """The inode changed: it is written to the inode table (with its checksum) at the next
        write-back (Ext4Superblock.write_back), like a dirty inode in Linux."""
        if self.dead or self.fs.read_only:
            return
        self.fs.dirty_inodes[self.ino] = self

    def sync_to_disk(self) -> None:
        """Copy the VFS-visible attributes into the record and store it in the inode table."""
        d = self.disk
        d.i_mode = self.mode & 0xFFFF
        d.uid, d.gid = self.uid, self.gid
        d.i_links_count = self.nlink
        d.atime_ns, d.mtime_ns, d.ctime_ns = self.atime_ns, self.mtime_ns, self.ctime_ns
        self.fs.write_inode(self.ino, d)

    # -- extended attributes (xattr_ops.py)
    def xattr_get(self, name: bytes) -> bytes:
        return xattr_ops.xattr_get(self, name)

    def xattr_set(self, name: bytes, value: Optional[bytes], flags: int) -> None:
        xattr_ops.xattr_set(self, name, value, flags)

    def xattr_list(self) -> list[bytes]:
        return xattr_ops.xattr_list(self)

    # -- block mapping
    @property
    def uses_extents(self) -> bool:
        return bool(self.disk.i_flags & EXT4_EXTENTS_FL)

    @property
    def is_inline(self) -> bool:
        return bool(self.disk.i_flags & EXT4_INLINE_DATA_FL)

    def runs(self) -> Runs:
        if self._runs is None:
            self._runs, self._tree = self._load_map()
        return self._runs

    def _load_map(self) -> tuple[Runs, list[int]]:
        if self.is_inline or not self.has_block_map():
            return Runs(), []
        read = self.fs.blockdev.read_block
        if self.uses_extents:
            return read_extents(read, self.disk.i_block, self.fs.inode_seed(self))
        return read_blockmap(read, self.disk.i_block, self.bs)

    def has_block_map(self) -> bool:
        """Device nodes, FIFOs, sockets and fast symlinks use i_block for something else."""
        return S.S_ISREG(self.mode) or S.S_ISDIR(self.mode) or S.S_ISLNK(self.mode)

    def _commit_map(self) -> None:
        """Rebuild the on-disk mapping from the runs; update i_block and i_blocks."""
        goal, runs = self._goal(), self.runs()
        alloc = lambda: self.fs.alloc.alloc_blocks(goal, 1)[0]  # noqa: E731
        if self.uses_extents:
            root, used, contents, spare = build_extents(runs, self.bs, self._tree, alloc,
                                                        self.fs.inode_seed(self))
        else:
            root, used, contents, spare = build_blockmap(runs, self.bs, self._tree, alloc)
        for blk, data in contents.items():
            self.fs.blockdev.write_block(blk, data)
        for blk in spare:
            self.fs.alloc.free_blocks(blk, 1)
        self._tree = used
        self.disk.i_block = root
        self._update_blocks()

    def _update_blocks(self) -> None:
        n = self.runs().mapped_blocks() + len(self._tree) + (1 if self.disk.file_acl else 0)
        self.disk.set_blocks_512(n * (self.bs // 512), self.bs)

    def _goal(self) -> int:
        """Where new blocks should go: after this file's last block, else the inode's group."""
        last = self._runs.last_pblk(MAX_LBLK) if self._runs else None
        if last is not None:
            return last
        g = (self.ino - 1) // self.fs.sbd.s_inodes_per_group
        return self.fs.groups.group_start(g)

    # -- data
    def read_data(self, offset: int, n: int) -> bytes:
        """Bytes [offset, offset+n) clipped to the size; holes and unwritten extents read as zeros."""
        end = min(offset + n, self.size)
        if end <= offset:
            return b""
        if self.is_inline:
            return read_inline(self.disk)[offset:end]
        bs, runs, out = self.bs, self.runs(), bytearray()
        lblk = offset // bs
        while lblk * bs < end:
            m = runs.lookup(lblk)
            block = bytes(bs) if m is None or m[1] else self.fs.blockdev.read_block(m[0])
            lo = max(offset - lblk * bs, 0)
            hi = min(end - lblk * bs, bs)
            out += block[lo:hi]
            lblk += 1
        return bytes(out)

    def write_data(self, offset: int, data: bytes) -> int:
        """Store data at offset, allocating blocks; returns the bytes written (short on ENOSPC)."""
        self.fs.check_writable()
        if self.dead:
            raise Errno(EIO, "write to a freed ext4 inode")
        if not data:
            return 0
        if (offset + len(data) - 1) // self.bs > MAX_LBLK or offset + len(data) > self.fs.max_file_size:
            raise Errno(EFBIG)
        self.runs()
        done = 0
        try:
            done = self._write_blocks(offset, data)
        finally:
            if done:
                self._commit_map()
                self.disk.size = max(self.size, offset + done)
                self.save()
        return done

    def _write_blocks(self, offset: int, data: bytes) -> int:
        bs, runs, dev = self.bs, self.runs(), self.fs.blockdev
        is_data = S.S_ISREG(self.mode)          # file data is written home, not journaled
        end = offset + len(data)
        lblk = offset // bs
        done = 0
        while lblk * bs < end:
            m = runs.lookup(lblk)
            if m is None:
                try:
                    pblk, count = self._allocate(lblk, (end - 1) // bs)
                except Errno as e:
                    if e.code == ENOSPC and done:
                        return done
                    raise
                fresh = True
            else:
                (pblk, uninit), count, fresh = m, 1, m[1]
                if uninit:                          # becomes written: split it out as initialised
                    runs.punch(lblk, lblk + 1)
                    runs.insert(lblk, pblk, 1)
            if is_data:
                self.fs.data_blocks.update(range(pblk, pblk + count))
            for k in range(count):
                b = lblk + k
                lo, hi = max(offset, b * bs), min(end, (b + 1) * bs)
                if hi - lo == bs:
                    dev.write_block(pblk + k, data[lo - offset:hi - offset])
                else:
                    base = bytearray(bs) if fresh else bytearray(dev.read_block(pblk + k))
                    base[lo - b * bs:hi - b * bs] = data[lo - offset:hi - offset]
                    dev.write_block(pblk + k, base)
                done = hi - offset
            lblk += count
        return done

    def _allocate(self, lblk: int, last: int) -> tuple[int, int]:
        """Allocate blocks for the hole starting at lblk (up to `last` or the next mapped block)."""
        runs = self.runs()
        nxt = runs.next_mapped(lblk)
        want = (min(nxt, last + 1) if nxt is not None else last + 1) - lblk
        # Keep room for the mapping blocks these data blocks may need (extent leaves and index
        # levels, or indirect blocks): running out while rebuilding the map would leave data
        # blocks allocated but unmapped. Linux reserves metadata space for the same reason.
        reserve = 3 + want // (self.bs // 4)
        want = min(want, self.fs.sbd.free_blocks_count - reserve)
        if want <= 0:
            raise Errno(ENOSPC)
        goal = runs.last_pblk(lblk) or self._goal()
        pblk, count = self.fs.alloc.alloc_blocks(goal, want)
        runs.insert(lblk, pblk, count)
        return pblk, count

    def truncate_data(self, size: int) -> None:
        """Set the size: shrinking frees whole blocks past it and zeroes the partial last block's
        tail (so a later extension reads zeros); growing leaves a hole."""
        self.fs.check_writable()
        if size > self.fs.max_file_size:
            raise Errno(EFBIG)
        if self.dead:
            return
        bs = self.bs
        if size < self.size and not self.is_inline:
            runs = self.runs()
            keep = -(-size // bs)
            for pblk, count in runs.punch(keep, MAX_LBLK + 1):
                self.fs.alloc.free_blocks(pblk, count)
            m = runs.lookup(size // bs) if size % bs else None
            if m is not None and not m[1]:
                buf = self.fs.blockdev.block(m[0])
                buf[size % bs:] = bytes(bs - size % bs)
                self.fs.blockdev.mark_dirty(m[0])
                self.fs.data_blocks.add(m[0])
            self._commit_map()
        self.disk.size = size
        self.save()

    def free_all_blocks(self) -> None:
        """Release data and mapping blocks, and this inode's reference to an xattr block
        (the inode is being deleted)."""
        if self.has_block_map() and not self.is_inline:
            for r in self.runs():
                self.fs.alloc.free_blocks(r.pblk, r.length)
            for blk in self._tree:
                self.fs.alloc.free_blocks(blk, 1)
        self._runs, self._tree = Runs(), []
        acl = self.disk.file_acl
        if acl:
            buf = self.fs.blockdev.block(acl)
            seed = self.fs.sbd.csum_seed if self.fs.csum else None
            if drop_xattr_block_ref(buf, acl, seed):
                self.fs.alloc.free_blocks(acl, 1)
            else:
                self.fs.blockdev.mark_dirty(acl)
            self.disk.i_file_acl_lo = self.disk.l_i_file_acl_high = 0


# ---------------------------------------------------------------- device numbers in i_block

def decode_rdev(disk: DiskInode) -> int:
    """A device node's number: old 16-bit encoding in i_block[0], else the new one in i_block[1]."""
    if not (S.S_ISCHR(disk.i_mode) or S.S_ISBLK(disk.i_mode)):
        return 0
    old, new = struct.unpack_from("<II", disk.i_block, 0)
    if old:
        return makedev((old >> 8) & 0xFF, old & 0xFF)
    return makedev((new & 0xFFF00) >> 8, (new & 0xFF) | ((new >> 12) & 0xFFF00))


def encode_rdev(rdev: int) -> bytes:
    """i_block for a device node (ext4_mknod via ext4_set_inode_... old_valid_dev rule)."""
    ma, mi = major(rdev), minor(rdev)
    if ma < 256 and mi < 256:
        return struct.pack("<I", (ma << 8) | mi).ljust(60, b"\0")
    new = (mi & 0xFF) | (ma << 8) | ((mi & ~0xFF) << 12)
    return struct.pack("<II", 0, new).ljust(60, b"\0")


