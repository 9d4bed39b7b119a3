"""The on-disk inode (struct ext4_inode, fs/ext4/ext4.h): decode, encode, checksum.

An inode record is s_inode_size bytes (128 on ext2-era filesystems, 256 by default):
the 128-byte base plus i_extra_isize bytes of extra fields (nanosecond times, crtime,
i_checksum_hi). Timestamps: a signed 32-bit seconds field plus, when the extra field
fits, *_extra = (nanoseconds << 2) | epoch bits (seconds bits 32-33).
With metadata_csum, the checksum is crc32c over the whole record (checksum fields as
zero) seeded with crc32c(crc32c(fs seed, le32 ino), le32 i_generation).
"""
from __future__ import annotations

import struct

from .crc32c import crc32c
from .layout import Layout

# i_flags
EXT4_SECRM_FL = 0x00000001
EXT4_INDEX_FL = 0x00001000          # hash-indexed directory
EXT4_HUGE_FILE_FL = 0x00040000      # i_blocks counts fs blocks, not 512-byte sectors
EXT4_EXTENTS_FL = 0x00080000
EXT4_EA_INODE_FL = 0x00200000
EXT4_INLINE_DATA_FL = 0x10000000

EXT4_GOOD_OLD_INODE_SIZE = 128
EXT4_N_BLOCKS = 15                  # i_block: 12 direct, 1 indirect, 1 double, 1 triple (or the extent root)

_BASE = Layout([
    ("i_mode", 0x00, "H"), ("i_uid", 0x02, "H"), ("i_size_lo", 0x04, "I"), ("i_atime", 0x08, "i"),
    ("i_ctime", 0x0C, "i"), ("i_mtime", 0x10, "i"), ("i_dtime", 0x14, "I"), ("i_gid", 0x18, "H"),
    ("i_links_count", 0x1A, "H"), ("i_blocks_lo", 0x1C, "I"), ("i_flags", 0x20, "I"),
    ("i_block", 0x28, "60s"), ("i_generation", 0x64, "I"), ("i_file_acl_lo", 0x68, "I"),
    ("i_size_high", 0x6C, "I"), ("l_i_blocks_high", 0x74, "H"), ("l_i_file_acl_high", 0x76, "H"),
    ("l_i_uid_high", 0x78, "H"), ("l_i_gid_high", 0x7A, "H"), ("l_i_checksum_lo", 0x7C, "H"),
])
_CHECKSUM_LO = 0x7C
_EXTRA_ISIZE = 0x80
_CHECKSUM_HI = 0x82
_EXTRA_TIMES = {"ctime": 0x84, "mtime": 0x88, "atime": 0x8C}
_CRTIME = 0x90          # i_crtime, then i_crtime_extra at 0x94
NSEC = 1_000_000_000


def _fits(extra_isize: int, off: int, size: int) -> bool:
    """EXT4_FITS_IN_INODE: is the extra field at `off` inside the used extra area?"""
    return off + size <= EXT4_GOOD_OLD_INODE_SIZE + extra_isize


def encode_time(ns: int) -> tuple[int, int]:
    """(signed 32-bit seconds, *_extra) for a time in nanoseconds (ext4_encode_extra_time)."""
    sec, nsec = divmod(ns, NSEC)
    lo = (sec + (1 << 31)) % (1 << 32) - (1 << 31)
    epoch = ((sec - lo) >> 32) & 3
    return lo, (nsec << 2) | epoch


def decode_time(lo: int, extra: int | None) -> int:
    if extra is None:
        return lo * NSEC
    return (lo + ((extra & 3) << 32)) * NSEC + (extra >> 2)


class DiskInode:
    """A decoded inode record. Attributes are the kernel's field names; times are exposed
    in nanoseconds as atime_ns/mtime_ns/ctime_ns/crtime_ns."""

    # The fields of _BASE, set by _BASE.unpack (test_ext4_layout_fields keeps the two in step).
    i_mode: int
    i_uid: int
    i_size_lo: int
    i_atime: int
    i_ctime: int
    i_mtime: int
    i_dtime: int
    i_gid: int
    i_links_count: int
    i_blocks_lo: int
    i_flags: int
    i_block: bytes
    i_generation: int
    i_file_acl_lo: int
    i_size_high: int
    l_i_blocks_high: int
    l_i_file_acl_high: int
    l_i_uid_high: int
    l_i_gid_high: int
    l_i_checksum_lo: int
    # Times in nanoseconds, decoded from i_*time and their *_extra fields.
    atime_ns: int
    ctime_ns: int
    mtime_ns: int

    def __init__(self, raw: bytes, huge_file: bool):
        self.raw = bytearray(raw)
        self.huge_file = huge_file
        _BASE.unpack(self, self.raw)
        big = len(raw) > EXT4_GOOD_OLD_INODE_SIZE
        self.i_extra_isize = struct.unpack_from("<H", raw, _EXTRA_ISIZE)[0] if big else 0
        for name in ("atime", "ctime", "mtime"):
            setattr(self, name + "_ns", decode_time(getattr(self, "i_" + name), self._extra(_EXTRA_TIMES[name])))
        crt = self._extra(_CRTIME, 8, "<iI")
        self.crtime_ns = decode_time(*crt) if crt else 0

    def _extra(self, off: int, size: int = 4, fmt: str = "<I"):
        if not _fits(self.i_extra_isize, off, size):
            return None
        vals = struct.unpack_from(fmt, self.raw, off)
        return vals if len(vals) > 1 else vals[0]

    # -- combined fields
    @property
    def size(self) -> int:
        return self.i_size_lo | (self.i_size_high << 32)

    @size.setter
    def size(self, n: int) -> None:
        self.i_size_lo, self.i_size_high = n & 0xFFFFFFFF, n >> 32

    @property
    def uid(self) -> int:
        return self.i_uid | (self.l_i_uid_high << 16)

    @uid.setter
    def uid(self, v: int) -> None:
        self.i_uid, self.l_i_uid_high = v & 0xFFFF, v >> 16

    @property
    def gid(self) -> int:
        return self.i_gid | (self.l_i_gid_high << 16)

    @gid.setter
    def gid(self, v: int) -> None:
        self.i_gid, self.l_i_gid_high = v & 0xFFFF, v >> 16

    @property
    def file_acl(self) -> int:
        return self.i_file_acl_lo | (self.l_i_file_acl_high << 32)

    def blocks_512(self, block_size: int) -> int:
        """i_blocks in 512-byte units, whatever the on-disk unit (ext4_inode_blocks)."""
        n = self.i_blocks_lo | ((self.l_i_blocks_high << 32) if self.huge_file else 0)
        if self.huge_file and self.i_flags & EXT4_HUGE_FILE_FL:
            n *= block_size // 512
        return n

    def set_blocks_512(self, n: int, block_size: int) -> None:
        """ext4_inode_blocks_set: 512-byte units when they fit in 48 bits, else fs blocks."""
        if n < 1 << 32 or (self.huge_file and n < 1 << 48):
            self.i_flags &= ~EXT4_HUGE_FILE_FL
        else:
            self.i_flags |= EXT4_HUGE_FILE_FL
            n //= block_size // 512
        self.i_blocks_lo, self.l_i_blocks_high = n & 0xFFFFFFFF, (n >> 32) if self.huge_file else 0

    # -- encoding
    def pack(self) -> bytearray:
        """The record with every decoded field written back (the checksum is the caller's)."""
        for name in ("atime", "ctime", "mtime"):
            lo, extra = encode_time(getattr(self, name + "_ns"))
            setattr(self, "i_" + name, lo)
            if _fits(self.i_extra_isize, _EXTRA_TIMES[name], 4):
                struct.pack_into("<I", self.raw, _EXTRA_TIMES[name], extra)
        if _fits(self.i_extra_isize, _CRTIME, 8):
            struct.pack_into("<iI", self.raw, _CRTIME, *encode_time(self.crtime_ns))
        _BASE.pack(self, self.raw)
        if len(self.raw) > EXT4_GOOD_OLD_INODE_SIZE:
            struct.pack_into("<H", self.raw, _EXTRA_ISIZE, self.i_extra_isize)
        return self.raw

    def checksum(self, fs_seed: int, ino: int) -> int:
        raw = bytearray(self.raw)
        struct.pack_into("<H", raw, _CHECKSUM_LO, 0)
        has_hi = _fits(self.i_extra_isize, _CHECKSUM_HI, 2)
        if has_hi:
            struct.pack_into("<H", raw, _CHECKSUM_HI, 0)
        c = crc32c(self.seed(fs_seed, ino), bytes(raw))
        return c if has_hi else c & 0xFFFF

    def stored_checksum(self) -> int:
        lo = self.l_i_checksum_lo
        if _fits(self.i_extra_isize, _CHECKSUM_HI, 2):
            return lo | (struct.unpack_from("<H", self.raw, _CHECKSUM_HI)[0] << 16)
        return lo

    def set_checksum(self, c: int) -> None:
        self.l_i_checksum_lo = c & 0xFFFF
        struct.pack_into("<H", self.raw, _CHECKSUM_LO, c & 0xFFFF)
        if _fits(self.i_extra_isize, _CHECKSUM_HI, 2):
            struct.pack_into("<H", self.raw, _CHECKSUM_HI, c >> 16)

    def seed(self, fs_seed: int, ino: int) -> int:
        """The per-inode checksum seed that extent blocks and directory blocks use too."""
        return crc32c(crc32c(fs_seed, struct.pack("<I", ino)), struct.pack("<I", self.i_generation))


def new_disk_inode(inode_size: int, extra_isize: int, huge_file: bool) -> DiskInode:
    """A zeroed record with i_extra_isize set (what __ext4_new_inode starts from)."""
    raw = bytearray(inode_size)
    if inode_size > EXT4_GOOD_OLD_INODE_SIZE:
        struct.pack_into("<H", raw, _EXTRA_ISIZE, extra_isize)
    return DiskInode(bytes(raw), huge_file)
