"""Block groups: the group descriptor table (struct ext4_group_desc) and its checksums,
and the block/inode bitmaps with their checksums.

The descriptor table starts in the block after the superblock (s_first_data_block + 1);
meta_bg layouts are not supported. Descriptors are 32 bytes, or s_desc_size (64) with
the 64bit feature, the _hi halves then extending each _lo field.
"""
from __future__ import annotations

import struct

from ....errors import EINVAL, Errno
from ...blockdev import BlockDevice
from .crc32c import crc16, crc32c
from .layout import Layout
from .superblock import RO_COMPAT_GDT_CSUM, SuperBlockData, has_super_backup

# bg_flags
EXT4_BG_INODE_UNINIT = 0x0001    # inode bitmap not initialised (reads as all free)
EXT4_BG_BLOCK_UNINIT = 0x0002    # block bitmap not initialised (only the group's own metadata used)
EXT4_BG_INODE_ZEROED = 0x0004

_LO = Layout([
    ("bg_block_bitmap_lo", 0x00, "I"), ("bg_inode_bitmap_lo", 0x04, "I"), ("bg_inode_table_lo", 0x08, "I"),
    ("bg_free_blocks_count_lo", 0x0C, "H"), ("bg_free_inodes_count_lo", 0x0E, "H"),
    ("bg_used_dirs_count_lo", 0x10, "H"), ("bg_flags", 0x12, "H"),
    ("bg_block_bitmap_csum_lo", 0x18, "H"), ("bg_inode_bitmap_csum_lo", 0x1A, "H"),
    ("bg_itable_unused_lo", 0x1C, "H"), ("bg_checksum", 0x1E, "H"),
])
_HI = Layout([
    ("bg_block_bitmap_hi", 0x20, "I"), ("bg_inode_bitmap_hi", 0x24, "I"), ("bg_inode_table_hi", 0x28, "I"),
    ("bg_free_blocks_count_hi", 0x2C, "H"), ("bg_free_inodes_count_hi", 0x2E, "H"),
    ("bg_used_dirs_count_hi", 0x30, "H"), ("bg_itable_unused_hi", 0x32, "H"),
    ("bg_block_bitmap_csum_hi", 0x38, "H"), ("bg_inode_bitmap_csum_hi", 0x3A, "H"),
])
_HI_FIELDS = [name for name, _, _ in _HI.fields]
_BG_CHECKSUM_OFF = 0x1E


def _split(name: str) -> tuple[str, str, int]:
    """field -> (lo attribute, hi attribute, bits of the lo half)."""
    bits = 32 if name in ("block_bitmap", "inode_bitmap", "inode_table") else 16
    return f"bg_{name}_lo", f"bg_{name}_hi", bits


class GroupDesc:
    """One decoded descriptor; 64-bit values are exposed as combined properties."""

    # The fields of _LO and _HI, set by their unpack (test_ext4_layout_fields keeps them in step);
    # the _HI ones are 0 on a 32-byte descriptor.
    bg_block_bitmap_lo: int
    bg_inode_bitmap_lo: int
    bg_inode_table_lo: int
    bg_free_blocks_count_lo: int
    bg_free_inodes_count_lo: int
    bg_used_dirs_count_lo: int
    bg_flags: int
    bg_block_bitmap_csum_lo: int
    bg_inode_bitmap_csum_lo: int
    bg_itable_unused_lo: int
    bg_checksum: int
    bg_block_bitmap_hi: int
    bg_inode_bitmap_hi: int
    bg_inode_table_hi: int
    bg_free_blocks_count_hi: int
    bg_free_inodes_count_hi: int
    bg_used_dirs_count_hi: int
    bg_itable_unused_hi: int
    bg_block_bitmap_csum_hi: int
    bg_inode_bitmap_csum_hi: int

    def __init__(self, raw: bytes, wide: bool):
        self.wide = wide
        self.raw = bytearray(raw)
        _LO.unpack(self, self.raw)
        if wide:
            _HI.unpack(self, self.raw)
        else:
            for name in _HI_FIELDS:
                setattr(self, name, 0)

    def _get(self, name: str) -> int:
        lo, hi, bits = _split(name)
        return getattr(self, lo) | (getattr(self, hi) << bits)

    def _set(self, name: str, value: int) -> None:
        lo, hi, bits = _split(name)
        setattr(self, lo, value & ((1 << bits) - 1))
        setattr(self, hi, value >> bits if self.wide else 0)

    block_bitmap = property(lambda s: s._get("block_bitmap"))
    inode_bitmap = property(lambda s: s._get("inode_bitmap"))
    inode_table = property(lambda s: s._get("inode_table"))
    free_blocks = property(lambda s: s._get("free_blocks_count"), lambda s, v: s._set("free_blocks_count", v))
    free_inodes = property(lambda s: s._get("free_inodes_count"), lambda s, v: s._set("free_inodes_count", v))
    used_dirs = property(lambda s: s._get("used_dirs_count"), lambda s, v: s._set("used_dirs_count", v))
    itable_unused = property(lambda s: s._get("itable_unused"), lambda s, v: s._set("itable_unused", v))

    def pack(self) -> bytearray:
        _LO.pack(self, self.raw)
        if self.wide:
            _HI.pack(self, self.raw)
        return self.raw


class GroupTable:
    """All group descriptors of a filesystem, read at mount and written back on change."""

    def __init__(self, dev: BlockDevice, sb: SuperBlockData):
        self.dev = dev
        self.sb = sb
        self.bs = sb.block_size
        self.dsize = sb.desc_size
        self.first_block = sb.s_first_data_block + 1
        self.count = sb.group_count
        per_block = self.bs // self.dsize
        self.gdt_blocks = -(-self.count // per_block)
        self.descs = [self._read(g) for g in range(self.count)]

    def _where(self, g: int) -> tuple[int, int]:
        off = g * self.dsize
        return self.first_block + off // self.bs, off % self.bs

    def _read(self, g: int) -> GroupDesc:
        blk, off = self._where(g)
        raw = self.dev.read_block(blk)[off:off + self.dsize]
        return GroupDesc(raw, self.dsize >= 64)

    def verify(self) -> list[int]:
        """The groups whose descriptor checksum is wrong."""
        return [g for g, d in enumerate(self.descs) if self._uses_csum() and self.checksum(g, d) != d.bg_checksum]

    def _uses_csum(self) -> bool:
        return self.sb.metadata_csum or self.sb.has_ro_compat(RO_COMPAT_GDT_CSUM)

    def checksum(self, g: int, d: GroupDesc) -> int:
        """ext4_group_desc_csum: crc32c (metadata_csum, bg_checksum counted as zero) or crc16
        (gdt_csum, bg_checksum skipped)."""
        raw = bytearray(d.pack())
        struct.pack_into("<H", raw, _BG_CHECKSUM_OFF, 0)
        le_group = struct.pack("<I", g)
        if self.sb.metadata_csum:
            return crc32c(crc32c(self.sb.csum_seed, le_group), bytes(raw)) & 0xFFFF
        skip = _BG_CHECKSUM_OFF
        return crc16(crc16(0xFFFF, self.sb.s_uuid + le_group), bytes(raw[:skip] + raw[skip + 2:]))

    def write(self, g: int) -> None:
        """Store descriptor g (checksum refreshed) into its table block."""
        d = self.descs[g]
        if self._uses_csum():
            d.bg_checksum = self.checksum(g, d)
        raw = d.pack()
        blk, off = self._where(g)
        buf = self.dev.block(blk)
        buf[off:off + self.dsize] = raw
        self.dev.mark_dirty(blk)

    # -- geometry
    def group_start(self, g: int) -> int:
        return self.sb.s_first_data_block + g * self.sb.s_blocks_per_group

    def blocks_in_group(self, g: int) -> int:
        return min(self.sb.s_blocks_per_group, self.sb.blocks_count - self.group_start(g))

    def group_of_block(self, blk: int) -> tuple[int, int]:
        return divmod(blk - self.sb.s_first_data_block, self.sb.s_blocks_per_group)

    def own_metadata_blocks(self, g: int) -> list[int]:
        """Blocks inside group g used by metadata: its superblock/GDT copies, and any group's
        bitmaps and inode table that flex_bg placed there (what ext4_init_block_bitmap marks)."""
        start, n = self.group_start(g), self.blocks_in_group(g)
        used: list[int] = []
        if has_super_backup(self.sb, g):
            used += range(start, start + 1 + self.gdt_blocks + self.sb.s_reserved_gdt_blocks)
        itable_blocks = -(-self.sb.s_inodes_per_group * self.sb.inode_size // self.bs)
        for d in self.descs:
            for blk in (d.block_bitmap, d.inode_bitmap, *range(d.inode_table, d.inode_table + itable_blocks)):
                if start <= blk < start + n:
                    used.append(blk)
        return used


def bitmap_csum(sb: SuperBlockData, bitmap: bytes | bytearray, nbits: int) -> int:
    """ext4_inode_bitmap_csum_set / ext4_block_bitmap_csum_set: crc32c over the used bits' bytes."""
    return crc32c(sb.csum_seed, bytes(bitmap[:nbits // 8]))


def check_descriptors(table: GroupTable) -> None:
    """ext4_check_descriptors: every group's bitmaps and inode table lie inside the
    filesystem (a corrupt descriptor would otherwise send writes anywhere)."""
    itable_blocks = -(-table.sb.s_inodes_per_group * table.sb.inode_size // table.bs)
    for g, d in enumerate(table.descs):
        for what, blk, n in (("block bitmap", d.block_bitmap, 1), ("inode bitmap", d.inode_bitmap, 1),
                             ("inode table", d.inode_table, itable_blocks)):
            if not table.sb.s_first_data_block < blk <= table.sb.blocks_count - n:
                raise Errno(EINVAL, f"ext4: the {what} of group {g} (block {blk}) is outside the filesystem")
