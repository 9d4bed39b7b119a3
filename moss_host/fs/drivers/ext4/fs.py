"""The mounted filesystem: Ext4Superblock and mount_ext4().

Mounting checks what Linux's ext4_fill_super checks that matters here: the magic, the
superblock and group-descriptor checksums, the feature sets (an unknown incompat
feature refuses the mount, an unknown ro_compat feature refuses a read-write one), and
that the image is as long as the filesystem. A read-write mount of a filesystem with
a journal replays it first if it needs recovery (journal_replay.py), then journals every
change (journal.py, ordered mode): write_back() is a jbd2 commit, run by fsync/sync, at
unmount, every COMMIT_INTERVAL seconds while something is dirty, and soon after the
changes grow big. A read-only mount sees the main filesystem as last checkpointed.

Mount state follows Linux: read-write clears EXT4_VALID_FS in s_state, bumps
s_mnt_count, sets s_mtime and (with a journal) needs_recovery, and commits at once;
unmount() empties the journal, restores the state it found and sets s_wtime, so a
clean unmount leaves a clean filesystem.
"""
from __future__ import annotations

import asyncio
import logging
import os
import stat as S
import struct
from typing import Optional

from ....errors import EBUSY, EINVAL, EIO, EROFS, Errno
from ....machine.hostmem import register_shrinker
from ....mm.page_cache import write_back_superblock
from ...blockdev import BlockDevice
from ...dcache import unused_but_here
from ...stat import makedev
from ...vfs import StatFs, Superblock, now_ns
from . import dir as D
from .alloc import Allocator
from .export import EXT4_EXPORT
from .directory import Ext4Dir
from .blockmap import read_blockmap
from .extents import empty_root, read_extents
from .file import EXT4_N_BLOCKS_BYTES, Ext4File, Ext4Special, Ext4Symlink
from .groups import GroupTable, check_descriptors
from .inode import EXT4_EXTENTS_FL, DiskInode, new_disk_inode
from .journal import Journal, JournalMap, replay_journal
from .node import Ext4Inode, encode_rdev
from .orphan import OrphanList
from .xattr_ops import NAMESPACES
from .statfs import ext4_statfs, overhead_blocks
from .superblock import (COMPAT_HAS_JOURNAL, EXT4_SUPER_MAGIC, EXT4_VALID_FS, INCOMPAT_EXTENTS, INCOMPAT_FILETYPE,
                         INCOMPAT_READ, INCOMPAT_RECOVER, INCOMPAT_WRITE, RO_COMPAT_DIR_NLINK, RO_COMPAT_HUGE_FILE,
                         RO_COMPAT_WRITE, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, SuperBlockData, now_seconds)

EXT4_ROOT_INO = 2
COMMIT_INTERVAL = 5.0           # seconds: ext4's default commit= (JBD2_DEFAULT_MAX_COMMIT_AGE)
COMMIT_POLL = 1.0               # how often the commit timer looks at the size of the changes
# A transaction is closed once its metadata blocks reach this share of the log (jbd2 closes
# one well before it could outgrow the log: its handles reserve credits against a quarter).
EARLY_COMMIT_SHARE = 8

log = logging.getLogger(__name__)


DEFAULT_EXTRA_ISIZE = 32


class Ext4Superblock(Superblock):
    fstype = "ext4"
    xattr_namespaces: tuple[bytes, ...] = NAMESPACES
    export_op = EXT4_EXPORT

    def __init__(self, blockdev: BlockDevice, sbd: SuperBlockData, read_only: bool, devnum: Optional[int]):
        super().__init__(dev=devnum, read_only=read_only)
        self.blockdev: BlockDevice = blockdev   # never None on a disk filesystem; `dev` is the st_dev number
        self.sbd = sbd
        self.block_size = sbd.block_size
        self.groups = GroupTable(blockdev, sbd)
        bad = self.groups.verify()
        if bad:
            raise Errno(EINVAL, f"ext4: group descriptor checksum wrong for groups {bad[:8]}; run e2fsck")
        check_descriptors(self.groups)
        self.alloc = Allocator(self.groups)
        self.csum = sbd.metadata_csum
        self.filetype = sbd.has_incompat(INCOMPAT_FILETYPE)
        self.dir_nlink = sbd.has_ro_compat(RO_COMPAT_DIR_NLINK)
        self.max_file_size = self._max_file_size()
        self._count_free()
        self.overhead: int = overhead_blocks(sbd, self.groups.gdt_blocks, self._journal_blocks())  # fixed at mount
        self._inodes: dict[int, Ext4Inode] = {}
        self.verified_dir_blocks: set[int] = set()      # directory blocks whose checksum was checked
        # Work deferred to write_back(): inodes to store, directory leaves to checksum.
        self.dirty_inodes: dict[int, Ext4Inode] = {}
        self.dirty_dir_leaves: dict[int, int] = {}       # block -> its directory's checksum seed
        self._mount_state = sbd.s_state
        self.journal: Optional[Journal] = None           # set by a read-write mount with a journal
        self.data_blocks: set[int] = set()               # file data written since the last commit
        self._commit_timer: Optional[asyncio.TimerHandle] = None
        self._since_commit = 0.0
        self._early_limit = 0                            # metadata blocks that close a transaction
        self._early_commit: Optional[asyncio.Handle] = None
        self.orphans = OrphanList(self)
        self.root = self.iget(EXT4_ROOT_INO)
        register_shrinker(self.shrink_inodes, slab=True)     # drop_caches, after the dentries
        if not self.root.is_dir:
            raise Errno(EINVAL, f"disk image {blockdev.path!r}: the ext4 root inode is not a directory")

    def _max_file_size(self) -> int:
        bs = self.block_size
        if self.sbd.has_incompat(INCOMPAT_EXTENTS):
            return ((1 << 32) - 1) * bs
        per = bs // 4
        return min((12 + per + per ** 2 + per ** 3) * bs, (1 << 63) - 1)

    def check_writable(self) -> None:
        """Every modifying operation starts here: EROFS on a read-only mount."""
        if self.read_only:
            raise Errno(EROFS)

    def statfs(self) -> StatFs:
        """Figures for statfs(2)/df (ext4_statfs): blocks, free blocks, inodes, free inodes."""
        return ext4_statfs(self.sbd, self.overhead)

    def _count_free(self) -> None:
        """The superblock's free counts are a hint: Linux sums the group descriptors' at mount
        (ext4_count_free_clusters/ext4_count_free_inodes) and writes those back."""
        self.sbd.free_blocks_count = sum(d.free_blocks for d in self.groups.descs)
        self.sbd.s_free_inodes_count = sum(d.free_inodes for d in self.groups.descs)

    def _journal_blocks(self) -> int:
        """The internal journal's length, which the overhead counts (0 without one)."""
        ino = self.sbd.s_journal_inum
        if not self.sbd.has_compat(COMPAT_HAS_JOURNAL) or not ino:
            return 0
        return self.read_inode(ino).size // self.block_size

    def _start_journal(self) -> None:
        """Load the journal for writing (a read-write mount) and start the commit timer."""
        if not self.sbd.has_compat(COMPAT_HAS_JOURNAL) or not self.sbd.s_journal_inum:
            return
        jinode = self.iget(self.sbd.s_journal_inum)
        jmap = JournalMap(self.blockdev, jinode.runs(), jinode.size // self.block_size)
        try:
            self.journal = Journal(jmap, self.block_size, self.sbd.is_64bit, self.csum)
        except Errno:
            self.read_only = True
            raise
        self.sbd.s_feature_incompat |= INCOMPAT_RECOVER
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:                 # no event loop (host-side tools, unit tests)
            return
        self._commit_timer = loop.call_later(COMMIT_POLL, self._commit_tick)
        self._early_limit = self.journal.size // EARLY_COMMIT_SHARE
        self.blockdev.dirty_limit = self._early_limit
        self.blockdev.on_dirty_limit = self._dirty_limit_reached

    def _dirty_limit_reached(self) -> None:
        """The changed blocks reached the watch (BlockDevice.dirty_limit). File data goes home,
        not through the log, so only metadata counts: enough of it closes the transaction at
        the loop's next turn (after the operation under way, as the commit timer does: a
        burst of directory changes outran the timer's once-a-second look, 2,230 blocks, and
        had to be written unjournaled); else the watch moves up by what is still allowed."""
        dev = self.blockdev
        meta = len(dev.dirty) - len(self.data_blocks)
        if meta < self._early_limit:
            dev.dirty_limit = len(dev.dirty) + self._early_limit - meta
        elif self._early_commit is None:
            self._early_commit = asyncio.get_running_loop().call_soon(self._commit_early)

    def _commit_early(self) -> None:
        self._early_commit = None
        if self.journal is None or self.read_only:
            return
        try:
            self.write_back()
        except Errno as e:
            log.error("ext4: journal commit failed: %s", e)

    def _commit_tick(self) -> None:
        """The journal thread's periodic commit: every COMMIT_INTERVAL while something is
        dirty, at once when the changes fill a good part of the log."""
        self._commit_timer = None
        if self.journal is None or self.read_only:
            return
        self._since_commit += COMMIT_POLL
        dirty = len(self.blockdev.dirty) + len(self.dirty_inodes)
        if dirty and (self._since_commit >= COMMIT_INTERVAL or not self.journal.fits(2 * dirty)):
            try:
                self.write_back()
            except Errno as e:
                log.error("ext4: periodic journal commit failed: %s", e)
        self._commit_timer = asyncio.get_running_loop().call_later(COMMIT_POLL, self._commit_tick)

    # -- inode table
    def _inode_location(self, ino: int) -> tuple[int, int]:
        g, idx = divmod(ino - 1, self.sbd.s_inodes_per_group)
        if not 0 < ino <= self.sbd.s_inodes_count:
            raise Errno(EIO, f"ext4: inode number {ino} out of range")
        byte = idx * self.sbd.inode_size
        return self.groups.descs[g].inode_table + byte // self.block_size, byte % self.block_size

    def read_inode(self, ino: int) -> DiskInode:
        blk, off = self._inode_location(ino)
        raw = self.blockdev.read_block(blk)[off:off + self.sbd.inode_size]
        disk = DiskInode(raw, self.sbd.has_ro_compat(RO_COMPAT_HUGE_FILE))
        if self.csum and disk.checksum(self.sbd.csum_seed, ino) != disk.stored_checksum():
            raise Errno(EIO, f"ext4: inode {ino} checksum mismatch")
        return disk

    def write_inode(self, ino: int, disk: DiskInode) -> None:
        raw = disk.pack()
        if self.csum:
            disk.set_checksum(disk.checksum(self.sbd.csum_seed, ino))
        blk, off = self._inode_location(ino)
        buf = self.blockdev.block(blk)
        if buf[off:off + len(raw)] != raw:
            buf[off:off + len(raw)] = raw
            self.blockdev.mark_dirty(blk)

    def inode_seed(self, inode: Ext4Inode) -> Optional[int]:
        """The per-inode checksum seed for extent and directory blocks (None without metadata_csum)."""
        return inode.disk.seed(self.sbd.csum_seed, inode.ino) if self.csum else None

    def iget(self, ino: int) -> Ext4Inode:
        """The one in-memory inode for ino (hard links share it)."""
        inode = self._inodes.get(ino)
        if inode is None and ino in self.dirty_inodes and not self.dirty_inodes[ino].dead:
            inode = self._inodes[ino] = self.dirty_inodes[ino]
        if inode is None:
            inode = self._make(ino, self.read_inode(ino))
            self._inodes[ino] = inode
        return inode

    def shrink_inodes(self) -> None:
        """prune_icache_sb at drop_caches: forget every inode nothing else holds (no dentry,
        open file or mapping; clean), and the name indexes of the directories that stay;
        the next iget reads the inode table again."""
        inodes = self._inodes
        for ino in [ino for ino, inode in inodes.items() if inode.evictable() and ino != EXT4_ROOT_INO]:
            if unused_but_here(inodes, ino):
                del inodes[ino]
        self._inodes = dict(inodes)         # a dict keeps its table at its largest: a compact copy
        for inode in self._inodes.values():
            inode.forget_index()

    def _make(self, ino: int, disk: DiskInode) -> Ext4Inode:
        mode = disk.i_mode
        cls = (Ext4Dir if S.S_ISDIR(mode) else Ext4File if S.S_ISREG(mode)
               else Ext4Symlink if S.S_ISLNK(mode) else Ext4Special)
        return cls(self, ino, disk)

    # -- creating and deleting inodes
    def new_inode(self, mode: int, uid: int, gid: int, parent: Ext4Inode, rdev: int = 0) -> Ext4Inode:
        """Allocate and initialise an inode (__ext4_new_inode): regular files, directories and
        slow symlinks get an empty extent tree when the filesystem has extents."""
        self.check_writable()
        goal_group = (parent.ino - 1) // self.sbd.s_inodes_per_group
        ino = self.alloc.alloc_inode(S.S_ISDIR(mode), goal_group)
        disk = new_disk_inode(self.sbd.inode_size, self.sbd.s_want_extra_isize or DEFAULT_EXTRA_ISIZE,
                              self.sbd.has_ro_compat(RO_COMPAT_HUGE_FILE))
        disk.i_mode = mode
        disk.uid, disk.gid = uid, gid
        disk.i_links_count = 1
        disk.i_generation = int.from_bytes(os.urandom(4), "little")
        disk.atime_ns = disk.mtime_ns = disk.ctime_ns = disk.crtime_ns = now_ns()
        if S.S_ISCHR(mode) or S.S_ISBLK(mode):
            disk.i_block = encode_rdev(rdev)
        elif self.sbd.has_incompat(INCOMPAT_EXTENTS) and (S.S_ISREG(mode) or S.S_ISDIR(mode) or S.S_ISLNK(mode)):
            disk.i_flags |= EXT4_EXTENTS_FL
            disk.i_block = empty_root()
        inode = self._make(ino, disk)
        self._inodes[ino] = inode
        inode.save()
        return inode

    def new_symlink(self, target: bytes, uid: int, gid: int, parent: Ext4Inode) -> Ext4Inode:
        """ext4_symlink: a target shorter than 60 bytes goes in i_block (fast, no extents flag)."""
        inode = self.new_inode(S.S_IFLNK | 0o777, uid, gid, parent)
        if len(target) < EXT4_N_BLOCKS_BYTES:
            inode.disk.i_flags &= ~EXT4_EXTENTS_FL
            inode.disk.i_block = bytes(target).ljust(60, b"\0")
            inode.disk.size = len(target)
            inode.save()
        else:
            try:
                inode.write_data(0, target)
            except Errno:
                self.release(inode)
                raise
        return inode

    def drop_link(self, inode: Ext4Inode) -> None:
        """One name of a non-directory is gone; the inode goes with its last name, or at its
        last close if it is open (then it waits on the orphan list)."""
        inode.nlink -= 1
        inode.ctime_ns = now_ns()
        if inode.nlink <= 0:
            self._unlinked(inode)
        else:
            inode.save()

    def drop_dir(self, inode: Ext4Inode) -> None:
        inode.nlink = 0
        self._unlinked(inode)

    def _unlinked(self, inode: Ext4Inode) -> None:
        inode.nlink = 0
        if inode.open_count > 0:
            self.orphans.add(inode)
        else:
            self.release(inode)

    def release(self, inode: Ext4Inode) -> None:
        """Free an inode and its blocks (ext4_evict_inode + ext4_free_inode): links 0, dtime set."""
        self.orphans.remove(inode)
        if inode.is_dir:                     # its leaves may become file data: no tails then
            for r in inode.runs():
                for blk in range(r.pblk, r.pblk + r.length):
                    self.dirty_dir_leaves.pop(blk, None)
        inode.free_all_blocks()
        inode.nlink = 0
        inode.disk.size = 0
        inode.disk.set_blocks_512(0, self.block_size)
        inode.disk.i_dtime = now_seconds()
        inode.save()
        self.alloc.free_inode(inode.ino, inode.is_dir)
        inode.dead = True                    # stays in dirty_inodes until written back
        self._inodes.pop(inode.ino, None)

    # -- superblock state and write-back
    def write_super(self) -> None:
        raw = self.sbd.pack()
        bs = self.block_size
        blk, off = divmod(SUPERBLOCK_OFFSET, bs)
        buf = self.blockdev.block(blk)
        buf[off:off + SUPERBLOCK_SIZE] = raw
        self.blockdev.mark_dirty(blk)

    def mark_mounted(self) -> None:
        """What a read-write mount writes at once; an orphan chain left by a crash is cleaned up."""
        sbd = self.sbd
        if sbd.s_last_orphan:
            self.orphans.cleanup_at_mount()
        sbd.s_state &= ~EXT4_VALID_FS
        sbd.s_mnt_count = (sbd.s_mnt_count + 1) & 0xFFFF
        sbd.s_mtime = now_seconds()
        self._start_journal()
        self.write_back()

    def write_back(self) -> None:
        """Finish the deferred work (bitmap and descriptor checksums, inode records, directory
        tails), store the superblock and flush every dirty block to the image."""
        write_back_superblock(self)         # stores through shared mappings reach the files first
        self.alloc.finish()
        for ino, inode in sorted(self.dirty_inodes.items()):
            inode.sync_to_disk()
        self.dirty_inodes.clear()
        for blk, seed in self.dirty_dir_leaves.items():
            D.set_tail(self.blockdev.block(blk), seed)
        self.dirty_dir_leaves.clear()
        self.write_super()
        if self.journal is not None:
            self._commit(self.journal)
        else:
            self.blockdev.flush()
        self.data_blocks.clear()
        self.alloc.pending_free.clear()
        self._since_commit = 0.0
        if self._early_limit:
            self.blockdev.dirty_limit = self._early_limit   # (the watch may have moved up for data)
        if self._early_commit is not None:      # the watch fired during this write-back: done now
            self._early_commit.cancel()
            self._early_commit = None

    def _commit(self, journal: Journal) -> None:
        """One jbd2 transaction: file data home first, every other changed block through the log."""
        dev = self.blockdev
        data = dev.dirty & self.data_blocks
        meta = {blk: dev.cache[blk] for blk in dev.dirty - data}
        if journal.fits(len(meta)):
            journal.commit(meta, data)
            dev.dirty.clear()
        else:                               # bigger than the log: written in place, not atomically
            log.warning("ext4: %d changed metadata blocks do not fit the journal; written unjournaled", len(meta))
            journal.checkpoint()
        dev.flush()

    def sync(self) -> None:
        """sync(2)/fsync(2)/syncfs(2): write everything changed to the image."""
        if self.read_only:
            return
        self.sbd.touch_write_time()
        self.write_back()

    def remount_read_only(self) -> None:
        """ext4_remount to read-only: written back, and the state found at mount (clean stays
        clean) back on disk at once, as unmount leaves it. EBUSY while unlinked files are open
        (their blocks are freed at the last close, a write)."""
        if self.sbd.s_last_orphan:
            raise Errno(EBUSY)
        self.sync()
        self._stop_journal()
        self.sbd.s_state = self._mount_state
        self.write_super()
        self.blockdev.flush()
        self.read_only = True

    def fsid(self) -> tuple[int, int]:
        """f_fsid: the UUID folded to 64 bits (uuid_to_fsid), as two signed ints."""
        lo, hi = struct.unpack("<QQ", bytes(self.sbd.s_uuid))
        v = lo ^ hi
        return _s32(v & 0xFFFF_FFFF), _s32(v >> 32)

    def unmount(self) -> None:
        """Restore the state found at mount (clean stays clean) and flush."""
        if self.read_only:
            return
        self.orphans.release_all()
        self.sync()
        self._stop_journal()
        self.sbd.s_state = self._mount_state
        self.write_super()
        self.blockdev.flush()

    def _stop_journal(self) -> None:
        """After the last commit: the log is emptied, then needs_recovery cleared in place."""
        if self._commit_timer is not None:
            self._commit_timer.cancel()
            self._commit_timer = None
        if self._early_commit is not None:
            self._early_commit.cancel()
            self._early_commit = None
        self.blockdev.dirty_limit, self.blockdev.on_dirty_limit = 0, None
        if self.journal is not None:
            self.journal.close()
            self.journal = None
            self.sbd.s_feature_incompat &= ~INCOMPAT_RECOVER


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x8000_0000 else v


def mount_ext4(blockdev: BlockDevice, read_only: bool = False, dev: Optional[int] = None) -> Ext4Superblock:
    """Mount the ext2/3/4 filesystem on blockdev; `dev` is the st_dev number to report
    (default: block major 254 with a fresh minor). Raises Errno with a reason on refusal."""
    read_only = read_only or blockdev.read_only
    sbd = SuperBlockData(blockdev.pread(SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE))
    _check_super(blockdev, sbd, read_only)
    blockdev.set_block_size(sbd.block_size)
    if not read_only and sbd.has_incompat(INCOMPAT_RECOVER) and sbd.has_compat(COMPAT_HAS_JOURNAL):
        sbd = _recover(blockdev, sbd)
    fs = Ext4Superblock(blockdev, sbd, read_only, dev if dev is not None else _next_devnum())
    if not read_only:
        fs.mark_mounted()
    return fs


def _check_super(blockdev: BlockDevice, sbd: SuperBlockData, read_only: bool) -> None:
    where = f"disk image {blockdev.path!r}"
    if sbd.s_magic != EXT4_SUPER_MAGIC:
        raise Errno(EINVAL, f"{where} has no ext2/3/4 filesystem (bad superblock magic)")
    if not sbd.checksum_ok():
        raise Errno(EINVAL, f"{where}: ext4 superblock checksum is wrong; run e2fsck")
    if not _geometry_ok(sbd):
        raise Errno(EINVAL, f"{where}: ext4 superblock has an impossible geometry")
    unknown = sbd.s_feature_incompat & ~INCOMPAT_READ
    if unknown:
        raise Errno(EINVAL, f"{where}: unsupported ext4 incompatible features {unknown:#x}")
    if sbd.blocks_count * sbd.block_size > blockdev.size:
        raise Errno(EIO, f"{where} is truncated: the filesystem needs {sbd.blocks_count * sbd.block_size} "
                         f"bytes, the image has {blockdev.size}")
    if read_only:
        return
    if sbd.has_incompat(INCOMPAT_RECOVER) and not sbd.has_compat(COMPAT_HAS_JOURNAL):
        raise Errno(EROFS, f"{where}: needs_recovery is set but there is no journal; run e2fsck")
    unknown_w = (sbd.s_feature_incompat & ~INCOMPAT_WRITE) | (sbd.s_feature_ro_compat & ~RO_COMPAT_WRITE)
    if unknown_w:
        raise Errno(EROFS, f"{where}: features {unknown_w:#x} can only be mounted read-only")


def _recover(blockdev: BlockDevice, sbd: SuperBlockData) -> SuperBlockData:
    """Replay the journal (ext4_load_journal -> jbd2_journal_load), then read the superblock
    the replay may have rewritten; needs_recovery stays set until the mount commits."""
    groups = GroupTable(blockdev, sbd)
    ino = sbd.s_journal_inum
    g, idx = divmod(ino - 1, sbd.s_inodes_per_group)
    byte = idx * sbd.inode_size
    raw = blockdev.read_block(groups.descs[g].inode_table + byte // sbd.block_size)
    off = byte % sbd.block_size
    disk = DiskInode(raw[off:off + sbd.inode_size], sbd.has_ro_compat(RO_COMPAT_HUGE_FILE))
    if disk.i_flags & EXT4_EXTENTS_FL:
        runs = read_extents(blockdev.read_block, disk.i_block, None)[0]
    else:
        runs = read_blockmap(blockdev.read_block, disk.i_block, sbd.block_size)[0]
    replay_journal(JournalMap(blockdev, runs, disk.size // sbd.block_size), sbd.block_size)
    blockdev.set_block_size(sbd.block_size)          # drop every cached block
    fresh = SuperBlockData(blockdev.pread(SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE))
    _check_super(blockdev, fresh, read_only=False)
    return fresh


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _geometry_ok(sbd: SuperBlockData) -> bool:
    """The sanity checks of ext4_fill_super that keep the rest of the driver's arithmetic sound."""
    if sbd.s_log_block_size > 6:
        return False
    bs = sbd.block_size
    return (0 < sbd.s_blocks_per_group <= 8 * bs and 0 < sbd.s_inodes_per_group <= 8 * bs
            and sbd.s_first_data_block <= (1 if bs == 1024 else 0) and sbd.blocks_count > sbd.s_first_data_block
            and _power_of_two(sbd.inode_size) and 128 <= sbd.inode_size <= bs
            and (not sbd.is_64bit or (_power_of_two(sbd.desc_size) and 32 <= sbd.desc_size <= 1024))
            and sbd.s_inodes_count <= sbd.group_count * sbd.s_inodes_per_group
            and sbd.first_ino > 2)


_minors = iter(range(0, 1 << 20))


def _next_devnum() -> int:
    return makedev(254, next(_minors))
