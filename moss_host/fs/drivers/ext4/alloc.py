"""The block and inode allocators: bitmaps, per-group and superblock free counts, checksums.

Each change keeps four things in step, as ext4's mballoc/ialloc do: the bitmap bit,
the group's free count (and used-dirs count for directories), the superblock's free
count, and the bitmap and descriptor checksums. Uninitialised groups (BLOCK_UNINIT,
INODE_UNINIT) are materialised the first time we allocate from them.
Allocation is first-fit from a goal, which keeps a growing file contiguous.
"""
from __future__ import annotations

from ....errors import EIO, ENOSPC, Errno
from .groups import EXT4_BG_BLOCK_UNINIT, EXT4_BG_INODE_UNINIT, GroupTable, bitmap_csum
from .superblock import RO_COMPAT_GDT_CSUM


def _find_zero(bm: bytearray, start: int, end: int) -> int:
    """Index of the first clear bit in [start, end), or -1 (whole 0xFF bytes are skipped)."""
    i = start
    while i < end:
        byte = bm[i >> 3]
        if byte == 0xFF and i & 7 == 0:
            i += 8
            continue
        if not byte >> (i & 7) & 1:
            return i
        i += 1
    return -1


def _get(bm: bytearray, i: int) -> bool:
    return bool(bm[i >> 3] >> (i & 7) & 1)


def _put(bm: bytearray, i: int, on: bool) -> None:
    if on:
        bm[i >> 3] |= 1 << (i & 7)
    else:
        bm[i >> 3] &= ~(1 << (i & 7)) & 0xFF


class Allocator:
    def __init__(self, groups: GroupTable):
        self.groups = groups
        self.sb = groups.sb
        self.dev = groups.dev
        self.uninit_csum = self.sb.metadata_csum or self.sb.has_ro_compat(RO_COMPAT_GDT_CSUM)
        self._dirty_block_bitmaps: set[int] = set()    # groups whose checksums finish() must redo
        self._dirty_inode_bitmaps: set[int] = set()
        # Blocks freed since the last journal commit: not reused before it, as mballoc keeps
        # them until the transaction freeing them commits (a crash before the commit must find
        # the old owner's contents intact). Cleared by Ext4Superblock.write_back.
        self.pending_free: set[int] = set()

    # -- bitmaps
    def block_bitmap(self, g: int) -> bytearray:
        d = self.groups.descs[g]
        bm = self.dev.block(d.block_bitmap)
        if self.uninit_csum and d.bg_flags & EXT4_BG_BLOCK_UNINIT:
            self._init_block_bitmap(g, bm)
        return bm

    def _init_block_bitmap(self, g: int, bm: bytearray) -> None:
        """Build the bitmap of an uninitialised group: its metadata used, past-the-end bits set."""
        bm[:] = bytes(len(bm))
        start = self.groups.group_start(g)
        for blk in self.groups.own_metadata_blocks(g):
            _put(bm, blk - start, True)
        for i in range(self.groups.blocks_in_group(g), len(bm) * 8):
            _put(bm, i, True)
        self.groups.descs[g].bg_flags &= ~EXT4_BG_BLOCK_UNINIT
        self._store_block_bitmap(g)

    def inode_bitmap(self, g: int) -> bytearray:
        d = self.groups.descs[g]
        bm = self.dev.block(d.inode_bitmap)
        if self.uninit_csum and d.bg_flags & EXT4_BG_INODE_UNINIT:
            bm[:] = bytes(len(bm))
            for i in range(self.sb.s_inodes_per_group, len(bm) * 8):
                _put(bm, i, True)
            d.bg_flags &= ~EXT4_BG_INODE_UNINIT
            self._store_inode_bitmap(g)
        return bm

    def _store_block_bitmap(self, g: int) -> None:
        self.dev.mark_dirty(self.groups.descs[g].block_bitmap)
        self._dirty_block_bitmaps.add(g)

    def _store_inode_bitmap(self, g: int) -> None:
        self.dev.mark_dirty(self.groups.descs[g].inode_bitmap)
        self._dirty_inode_bitmaps.add(g)

    def finish(self) -> None:
        """Before write-back: checksum the bitmaps changed since the last call and store their
        group descriptors. Deferred to here because a bitmap checksum covers the whole bitmap,
        far too costly to recompute on every allocation."""
        touched = self._dirty_block_bitmaps | self._dirty_inode_bitmaps
        if self.sb.metadata_csum:
            for g in self._dirty_block_bitmaps:
                d = self.groups.descs[g]
                c = bitmap_csum(self.sb, self.dev.block(d.block_bitmap), self.sb.s_clusters_per_group)
                d.bg_block_bitmap_csum_lo, d.bg_block_bitmap_csum_hi = c & 0xFFFF, c >> 16
            for g in self._dirty_inode_bitmaps:
                d = self.groups.descs[g]
                c = bitmap_csum(self.sb, self.dev.block(d.inode_bitmap), self.sb.s_inodes_per_group)
                d.bg_inode_bitmap_csum_lo, d.bg_inode_bitmap_csum_hi = c & 0xFFFF, c >> 16
        for g in sorted(touched):
            self.groups.write(g)
        self._dirty_block_bitmaps.clear()
        self._dirty_inode_bitmaps.clear()

    # -- blocks
    def alloc_blocks(self, goal: int, count: int) -> tuple[int, int]:
        """Allocate up to `count` contiguous blocks, at goal if free, else the first free run
        after it (wrapping). Returns (first block, how many); ENOSPC when none is free."""
        if self.sb.free_blocks_count == 0:
            raise Errno(ENOSPC)
        if not self.sb.s_first_data_block <= goal < self.sb.blocks_count:
            goal = self.sb.s_first_data_block
        g0, i0 = self.groups.group_of_block(goal)
        n = self.groups.count
        for k in range(n + 1):
            g = (g0 + k) % n
            if self.groups.descs[g].free_blocks == 0:
                continue
            start = i0 if k == 0 else 0
            got = self._alloc_in_group(g, start, count)
            if got:
                return got
        if self.pending_free:               # only blocks freed in this transaction are left
            self.pending_free.clear()
            return self.alloc_blocks(goal, count)
        raise Errno(ENOSPC)

    def _alloc_in_group(self, g: int, start: int, count: int) -> tuple[int, int] | None:
        bm = self.block_bitmap(g)
        limit = self.groups.blocks_in_group(g)
        base, pending = self.groups.group_start(g), self.pending_free
        i = _find_zero(bm, start, limit)
        while i >= 0 and pending and base + i in pending:
            i = _find_zero(bm, i + 1, limit)
        if i < 0:
            return None
        run = 1
        while run < count and i + run < limit and not _get(bm, i + run) and base + i + run not in pending:
            run += 1
        for j in range(i, i + run):
            _put(bm, j, True)
        self._account_blocks(g, -run)
        return self.groups.group_start(g) + i, run

    def free_blocks(self, first: int, count: int) -> None:
        """Release a run of blocks, group by group. A run outside the filesystem (corrupt
        metadata) is EIO rather than a write into some other group's bitmap."""
        if first < self.sb.s_first_data_block or first + count > self.sb.blocks_count:
            raise Errno(EIO, f"ext4: freeing blocks {first}+{count} outside the filesystem")
        while count:
            g, i = self.groups.group_of_block(first)
            here = min(count, self.groups.blocks_in_group(g) - i)
            bm = self.block_bitmap(g)
            for j in range(i, i + here):
                _put(bm, j, False)
            self.pending_free.update(range(first, first + here))
            self._account_blocks(g, here)
            first += here
            count -= here

    def _account_blocks(self, g: int, delta: int) -> None:
        d = self.groups.descs[g]
        d.free_blocks += delta
        self.sb.free_blocks_count += delta
        self._store_block_bitmap(g)

    # -- inodes
    def alloc_inode(self, is_dir: bool, goal_group: int = 0) -> int:
        """A free inode number (first fit from goal_group), marked used; ENOSPC if none."""
        if self.sb.s_free_inodes_count == 0:
            raise Errno(ENOSPC)
        n = self.groups.count
        ipg = self.sb.s_inodes_per_group
        for k in range(n):
            g = (goal_group + k) % n
            if self.groups.descs[g].free_inodes == 0:
                continue
            bm = self.inode_bitmap(g)
            first = self.sb.first_ino - 1 if g == 0 else 0      # reserved inodes 1..first_ino-1
            i = _find_zero(bm, first, ipg)
            if i >= 0:
                _put(bm, i, True)
                self._account_inode(g, i, -1, is_dir)
                return g * ipg + i + 1
        raise Errno(ENOSPC)

    def free_inode(self, ino: int, is_dir: bool) -> None:
        g, i = divmod(ino - 1, self.sb.s_inodes_per_group)
        _put(self.inode_bitmap(g), i, False)
        self._account_inode(g, i, 1, is_dir)

    def _account_inode(self, g: int, i: int, delta: int, is_dir: bool) -> None:
        d = self.groups.descs[g]
        d.free_inodes += delta
        self.sb.s_free_inodes_count += delta
        if is_dir:
            d.used_dirs -= delta
        if delta < 0 and self.uninit_csum:
            # bg_itable_unused counts the never-used inodes at the table's end; e2fsck checks it.
            ipg = self.sb.s_inodes_per_group
            d.itable_unused = min(d.itable_unused, ipg - i - 1)
        self._store_inode_bitmap(g)


