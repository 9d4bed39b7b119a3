"""Extended-attribute storage: inline data (INCOMPAT_INLINE_DATA, EXT4_INLINE_DATA_FL; read
only: files and directories), and the reference count of external xattr blocks.

A small file's bytes live in the inode itself: the first 60 in i_block, the rest in
the value of the in-inode extended attribute "system.data" (name index 7). In-inode
xattrs start at 128 + i_extra_isize with the magic 0xEA020000, followed by entries
(struct ext4_xattr_entry) whose e_value_offs count from the first entry.
"""
from __future__ import annotations

import struct

from .crc32c import crc32c
from .dir import FT_DIR, Dirent, entries
from .inode import EXT4_GOOD_OLD_INODE_SIZE, DiskInode

XATTR_MAGIC = 0xEA020000
XATTR_ENTRY = struct.Struct("<BBHIII")    # e_name_len, e_name_index, e_value_offs, e_value_inum, e_value_size, e_hash
EXT4_XATTR_INDEX_SYSTEM = 7


def ibody_xattrs(disk: DiskInode) -> dict[tuple[int, bytes], bytes]:
    """The in-inode extended attributes: {(name index, name): value}."""
    raw = disk.raw
    start = EXT4_GOOD_OLD_INODE_SIZE + disk.i_extra_isize
    if start + 4 > len(raw) or struct.unpack_from("<I", raw, start)[0] != XATTR_MAGIC:
        return {}
    first = start + 4
    off, out = first, {}
    while off + XATTR_ENTRY.size <= len(raw) and struct.unpack_from("<I", raw, off)[0]:
        name_len, index, value_offs, _inum, value_size, _hash = XATTR_ENTRY.unpack_from(raw, off)
        name = bytes(raw[off + XATTR_ENTRY.size:off + XATTR_ENTRY.size + name_len])
        out[(index, name)] = bytes(raw[first + value_offs:first + value_offs + value_size])
        off += (name_len + XATTR_ENTRY.size + 3) & ~3
    return out


def _system_data(disk: DiskInode) -> bytes:
    return ibody_xattrs(disk).get((EXT4_XATTR_INDEX_SYSTEM, b"data"), b"")


def read_inline(disk: DiskInode) -> bytes:
    """All inline bytes of a file (i_block, then the system.data value), up to i_size."""
    return (bytes(disk.i_block) + _system_data(disk))[:disk.size]


def inline_dir_entries(disk: DiskInode, ino: int) -> list[Dirent]:
    """The live entries of an inline directory. i_block holds the parent's inode number and
    then records filling its other 56 bytes; more records fill the system.data value.
    "." and ".." are not stored: they are made up here. Offsets (readdir positions) are
    0 for ".", 1 for "..", 4.. inside i_block and 60.. inside the xattr value."""
    parent = struct.unpack_from("<I", disk.i_block, 0)[0]
    out = [Dirent(0, ino, 1, b".", FT_DIR), Dirent(1, parent, 3, b"..", FT_DIR)]
    for base, area in ((4, bytes(disk.i_block[4:])), (60, _system_data(disk))):
        out += [d._replace(off=base + d.off) for d in entries(area) if d.inode]
    return out


# ---------------------------------------------------------------- external xattr blocks

XATTR_BLOCK_REFCOUNT = 4      # h_refcount in struct ext4_xattr_header
XATTR_BLOCK_CHECKSUM = 0x10   # h_checksum


def xattr_block_checksum(fs_seed: int, blk: int, block: bytes) -> int:
    """ext4_xattr_block_csum: crc32c(seed, le64 block number, the block with h_checksum zero)."""
    buf = bytearray(block)
    struct.pack_into("<I", buf, XATTR_BLOCK_CHECKSUM, 0)
    return crc32c(crc32c(fs_seed, struct.pack("<Q", blk)), bytes(buf))


def drop_xattr_block_ref(buf: bytearray, blk: int, fs_seed: int | None) -> bool:
    """An inode stops using xattr block `blk` (contents in buf): decrement h_refcount and
    refresh the checksum. Returns True when no inode uses it any more (free it)."""
    if struct.unpack_from("<I", buf, 0)[0] != XATTR_MAGIC:
        return False                       # not an xattr block: leave it alone rather than guess
    refs = struct.unpack_from("<I", buf, XATTR_BLOCK_REFCOUNT)[0]
    if refs <= 1:
        return True
    struct.pack_into("<I", buf, XATTR_BLOCK_REFCOUNT, refs - 1)
    if fs_seed is not None:
        struct.pack_into("<I", buf, XATTR_BLOCK_CHECKSUM, xattr_block_checksum(fs_seed, blk, bytes(buf)))
    return False
