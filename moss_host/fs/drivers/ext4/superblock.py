"""The on-disk superblock (struct ext4_super_block, fs/ext4/ext4.h): 1024 bytes at byte 1024.

Field names are the kernel's. Only the fields the driver uses are decoded; the raw
buffer is kept so a rewrite preserves everything else. With metadata_csum,
s_checksum is crc32c(~0, the first 1020 bytes).
"""
from __future__ import annotations

import struct
import sys
import time

from ....clock import REALTIME
from .crc32c import crc32c
from .layout import Layout

SUPERBLOCK_OFFSET = 1024
SUPERBLOCK_SIZE = 1024
EXT4_SUPER_MAGIC = 0xEF53

# s_state
EXT4_VALID_FS = 0x0001        # unmounted cleanly
EXT4_ERROR_FS = 0x0002
EXT4_ORPHAN_FS = 0x0004

# s_feature_compat
COMPAT_HAS_JOURNAL = 0x0004
COMPAT_EXT_ATTR = 0x0008
COMPAT_RESIZE_INODE = 0x0010
COMPAT_DIR_INDEX = 0x0020
COMPAT_SPARSE_SUPER2 = 0x0200
COMPAT_ORPHAN_FILE = 0x1000

# s_feature_incompat
INCOMPAT_FILETYPE = 0x0002
INCOMPAT_RECOVER = 0x0004         # the journal needs replaying
INCOMPAT_JOURNAL_DEV = 0x0008
INCOMPAT_META_BG = 0x0010
INCOMPAT_EXTENTS = 0x0040
INCOMPAT_64BIT = 0x0080
INCOMPAT_MMP = 0x0100
INCOMPAT_FLEX_BG = 0x0200
INCOMPAT_EA_INODE = 0x0400
INCOMPAT_DIRDATA = 0x1000
INCOMPAT_CSUM_SEED = 0x2000
INCOMPAT_LARGEDIR = 0x4000
INCOMPAT_INLINE_DATA = 0x8000
INCOMPAT_ENCRYPT = 0x10000
INCOMPAT_CASEFOLD = 0x20000

# s_feature_ro_compat
RO_COMPAT_SPARSE_SUPER = 0x0001
RO_COMPAT_LARGE_FILE = 0x0002
RO_COMPAT_HUGE_FILE = 0x0008
RO_COMPAT_GDT_CSUM = 0x0010
RO_COMPAT_DIR_NLINK = 0x0020
RO_COMPAT_EXTRA_ISIZE = 0x0040
RO_COMPAT_QUOTA = 0x0100
RO_COMPAT_BIGALLOC = 0x0200
RO_COMPAT_METADATA_CSUM = 0x0400
RO_COMPAT_READONLY = 0x1000
RO_COMPAT_PROJECT = 0x2000
RO_COMPAT_ORPHAN_PRESENT = 0x10000

# What this driver understands. Anything else in incompat refuses the mount; anything
# else in ro_compat allows only a read-only mount (the kernel's rule, ext4_feature_set_ok).
INCOMPAT_READ = (INCOMPAT_FILETYPE | INCOMPAT_RECOVER | INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG
                 | INCOMPAT_CSUM_SEED | INCOMPAT_LARGEDIR | INCOMPAT_INLINE_DATA | INCOMPAT_MMP)
INCOMPAT_WRITE = INCOMPAT_READ & ~(INCOMPAT_INLINE_DATA | INCOMPAT_MMP)
RO_COMPAT_WRITE = (RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_HUGE_FILE | RO_COMPAT_GDT_CSUM
                   | RO_COMPAT_DIR_NLINK | RO_COMPAT_EXTRA_ISIZE | RO_COMPAT_METADATA_CSUM)

_LAYOUT = Layout([
    ("s_inodes_count", 0x00, "I"), ("s_blocks_count_lo", 0x04, "I"), ("s_r_blocks_count_lo", 0x08, "I"),
    ("s_free_blocks_count_lo", 0x0C, "I"), ("s_free_inodes_count", 0x10, "I"),
    ("s_first_data_block", 0x14, "I"), ("s_log_block_size", 0x18, "I"), ("s_log_cluster_size", 0x1C, "I"),
    ("s_blocks_per_group", 0x20, "I"), ("s_clusters_per_group", 0x24, "I"), ("s_inodes_per_group", 0x28, "I"),
    ("s_mtime", 0x2C, "I"), ("s_wtime", 0x30, "I"), ("s_mnt_count", 0x34, "H"), ("s_max_mnt_count", 0x36, "h"),
    ("s_magic", 0x38, "H"), ("s_state", 0x3A, "H"), ("s_errors", 0x3C, "H"), ("s_rev_level", 0x4C, "I"),
    ("s_first_ino", 0x54, "I"), ("s_inode_size", 0x58, "H"),
    ("s_feature_compat", 0x5C, "I"), ("s_feature_incompat", 0x60, "I"), ("s_feature_ro_compat", 0x64, "I"),
    ("s_uuid", 0x68, "16s"), ("s_volume_name", 0x78, "16s"),
    ("s_reserved_gdt_blocks", 0xCE, "H"), ("s_journal_inum", 0xE0, "I"), ("s_last_orphan", 0xE8, "I"),
    ("s_hash_seed", 0xEC, "4I"), ("s_def_hash_version", 0xFC, "B"), ("s_desc_size", 0xFE, "H"),
    ("s_first_meta_bg", 0x104, "I"), ("s_blocks_count_hi", 0x150, "I"), ("s_r_blocks_count_hi", 0x154, "I"),
    ("s_free_blocks_count_hi", 0x158, "I"), ("s_min_extra_isize", 0x15C, "H"),
    ("s_want_extra_isize", 0x15E, "H"), ("s_flags", 0x160, "I"), ("s_log_groups_per_flex", 0x174, "B"),
    ("s_checksum_type", 0x175, "B"), ("s_kbytes_written", 0x178, "Q"), ("s_overhead_clusters", 0x248, "I"),
    ("s_checksum_seed", 0x270, "I"),
    ("s_checksum", 0x3FC, "I"),
])


# CLOCK_REALTIME_COARSE (<linux/time.h>); Python's time module does not name it.
_COARSE_CLOCK = getattr(time, "CLOCK_REALTIME_COARSE", 5 if sys.platform.startswith("linux") else time.CLOCK_REALTIME)


def now_seconds() -> int:
    """The time for superblock and dtime fields, from the coarse real-time clock as the kernel's
    ktime_get_real_seconds() is: e2fsck reads time() from that clock, and the precise clock can
    be a few milliseconds ahead of it, enough to write a second e2fsck calls "in the future"."""
    return REALTIME.read_ns(_COARSE_CLOCK) // 1_000_000_000 & 0xFFFFFFFF


class SuperBlockData:
    """The decoded superblock plus its raw 1024 bytes."""

    # The fields of _LAYOUT, set by _LAYOUT.unpack (test_ext4_layout_fields keeps the two in step).
    s_inodes_count: int
    s_blocks_count_lo: int
    s_r_blocks_count_lo: int
    s_free_blocks_count_lo: int
    s_free_inodes_count: int
    s_first_data_block: int
    s_log_block_size: int
    s_log_cluster_size: int
    s_blocks_per_group: int
    s_clusters_per_group: int
    s_inodes_per_group: int
    s_mtime: int
    s_wtime: int
    s_mnt_count: int
    s_max_mnt_count: int
    s_magic: int
    s_state: int
    s_errors: int
    s_rev_level: int
    s_first_ino: int
    s_inode_size: int
    s_feature_compat: int
    s_feature_incompat: int
    s_feature_ro_compat: int
    s_uuid: bytes
    s_volume_name: bytes
    s_reserved_gdt_blocks: int
    s_journal_inum: int
    s_last_orphan: int
    s_hash_seed: tuple[int, ...]
    s_def_hash_version: int
    s_desc_size: int
    s_first_meta_bg: int
    s_blocks_count_hi: int
    s_r_blocks_count_hi: int
    s_free_blocks_count_hi: int
    s_min_extra_isize: int
    s_want_extra_isize: int
    s_flags: int
    s_log_groups_per_flex: int
    s_checksum_type: int
    s_kbytes_written: int
    s_overhead_clusters: int
    s_checksum_seed: int
    s_checksum: int

    def __init__(self, raw: bytes):
        self.raw = bytearray(raw)
        _LAYOUT.unpack(self, self.raw)

    # -- derived geometry
    @property
    def block_size(self) -> int:
        return 1024 << self.s_log_block_size

    @property
    def is_64bit(self) -> bool:
        return bool(self.s_feature_incompat & INCOMPAT_64BIT)

    @property
    def blocks_count(self) -> int:
        return self.s_blocks_count_lo | ((self.s_blocks_count_hi << 32) if self.is_64bit else 0)

    @property
    def free_blocks_count(self) -> int:
        return self.s_free_blocks_count_lo | ((self.s_free_blocks_count_hi << 32) if self.is_64bit else 0)

    @free_blocks_count.setter
    def free_blocks_count(self, n: int) -> None:
        self.s_free_blocks_count_lo = n & 0xFFFFFFFF
        if self.is_64bit:
            self.s_free_blocks_count_hi = n >> 32

    @property
    def r_blocks_count(self) -> int:
        """Blocks reserved for root (ext4_r_blocks_count)."""
        return self.s_r_blocks_count_lo | ((self.s_r_blocks_count_hi << 32) if self.is_64bit else 0)

    @property
    def cluster_bits(self) -> int:
        """log2(blocks per cluster): 0 unless bigalloc (sbi->s_cluster_bits)."""
        if not self.has_ro_compat(RO_COMPAT_BIGALLOC):
            return 0
        return self.s_log_cluster_size - self.s_log_block_size

    @property
    def inode_size(self) -> int:
        return 128 if self.s_rev_level == 0 else self.s_inode_size

    @property
    def first_ino(self) -> int:
        return 11 if self.s_rev_level == 0 else self.s_first_ino

    @property
    def desc_size(self) -> int:
        return self.s_desc_size if self.is_64bit and self.s_desc_size else 32

    @property
    def group_count(self) -> int:
        return -(-(self.blocks_count - self.s_first_data_block) // self.s_blocks_per_group)

    def has_compat(self, f: int) -> bool:
        return bool(self.s_feature_compat & f)

    def has_incompat(self, f: int) -> bool:
        return bool(self.s_feature_incompat & f)

    def has_ro_compat(self, f: int) -> bool:
        return bool(self.s_feature_ro_compat & f)

    @property
    def metadata_csum(self) -> bool:
        return self.has_ro_compat(RO_COMPAT_METADATA_CSUM)

    @property
    def csum_seed(self) -> int:
        """The seed of every metadata checksum (ext4_fill_super's s_csum_seed)."""
        if self.has_incompat(INCOMPAT_CSUM_SEED):
            return self.s_checksum_seed
        return crc32c(0xFFFFFFFF, self.s_uuid)

    # -- checksum and serialisation
    def compute_checksum(self) -> int:
        return crc32c(0xFFFFFFFF, bytes(self.raw[:0x3FC]))

    def checksum_ok(self) -> bool:
        return not self.metadata_csum or self.compute_checksum() == self.s_checksum

    def pack(self) -> bytes:
        _LAYOUT.pack(self, self.raw)
        if self.metadata_csum:
            self.s_checksum = self.compute_checksum()
            struct.pack_into("<I", self.raw, 0x3FC, self.s_checksum)
        return bytes(self.raw)

    def touch_write_time(self) -> None:
        self.s_wtime = now_seconds()


def has_super_backup(sb: SuperBlockData, group: int) -> bool:
    """Does this group start with a superblock (and group-descriptor) copy? (ext4_bg_has_super)"""
    if group <= 1 or not sb.has_ro_compat(RO_COMPAT_SPARSE_SUPER):
        return True
    if group & 1 == 0:
        return False
    for base in (3, 5, 7):
        n = base
        while n < group:
            n *= base
        if n == group:
            return True
    return False
