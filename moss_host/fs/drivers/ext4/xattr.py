"""Extended-attribute storage: the on-disk encoding of entries in the inode body and in an
external xattr block (hashes as e2fsck checks them), inline data (INCOMPAT_INLINE_DATA,
EXT4_INLINE_DATA_FL; read only: files and directories), and the reference count of
external xattr blocks. xattr_ops.py puts the attributes of a file there.

A small file's bytes live in the inode itself: the first 60 in i_block, the rest in
the value of the in-inode extended attribute "system.data" (name index 7). In-inode
xattrs start at 128 + i_extra_isize with the magic 0xEA020000, followed by entries
(struct ext4_xattr_entry) whose e_value_offs count from the first entry.
"""
from __future__ import annotations

import struct
from typing import NamedTuple, Optional

from .crc32c import crc32c
from .dir import FT_DIR, Dirent, entries
from .inode import EXT4_GOOD_OLD_INODE_SIZE, DiskInode

XATTR_MAGIC = 0xEA020000
XATTR_ENTRY = struct.Struct("<BBHIII")    # e_name_len, e_name_index, e_value_offs, e_value_inum, e_value_size, e_hash
EXT4_XATTR_INDEX_SYSTEM = 7
XATTR_HEADER_SIZE = 32      # struct ext4_xattr_header: magic, refcount, blocks, hash, checksum, reserved
NAME_HASH_SHIFT = 5
VALUE_HASH_SHIFT = 16
BLOCK_HASH_SHIFT = 16


class XEntry(NamedTuple):
    """One stored attribute: the name index (its namespace), the name after the prefix, the value."""
    name_index: int
    name: bytes
    value: bytes


def _pad(n: int) -> int:
    return (n + 3) & ~3


def entry_len(e: XEntry) -> int:
    """EXT4_XATTR_LEN + EXT4_XATTR_SIZE: the room an entry and its value take."""
    return _pad(XATTR_ENTRY.size + len(e.name)) + _pad(len(e.value))


def parse_entries(buf: bytes | bytearray, off: int, end: int, value_base: int) -> list[XEntry]:
    """The entries from `off` to the 4-byte zero that ends them; values at value_base + e_value_offs."""
    out = []
    while off + XATTR_ENTRY.size <= end and struct.unpack_from("<I", buf, off)[0]:
        name_len, index, value_offs, _inum, value_size, _hash = XATTR_ENTRY.unpack_from(buf, off)
        name = bytes(buf[off + XATTR_ENTRY.size:off + XATTR_ENTRY.size + name_len])
        out.append(XEntry(index, name, bytes(buf[value_base + value_offs:value_base + value_offs + value_size])))
        off += _pad(name_len + XATTR_ENTRY.size)
    return out


def ibody_entries(disk: DiskInode) -> list[XEntry]:
    """The in-inode extended attributes, in their stored order."""
    raw = disk.raw
    start = EXT4_GOOD_OLD_INODE_SIZE + disk.i_extra_isize
    if start + 4 > len(raw) or struct.unpack_from("<I", raw, start)[0] != XATTR_MAGIC:
        return []
    return parse_entries(raw, start + 4, len(raw), start + 4)


def ibody_xattrs(disk: DiskInode) -> dict[tuple[int, bytes], bytes]:
    """The in-inode extended attributes: {(name index, name): value}."""
    return {(e.name_index, e.name): e.value for e in ibody_entries(disk)}


def entry_hash(e: XEntry) -> int:
    """ext4_xattr_hash_entry: the name's bytes, then the value as little-endian words (zero padded)."""
    h = 0
    for c in e.name:
        h = ((h << NAME_HASH_SHIFT) ^ (h >> (32 - NAME_HASH_SHIFT)) ^ c) & 0xFFFFFFFF
    padded = e.value + bytes(_pad(len(e.value)) - len(e.value))
    for (w,) in struct.iter_unpack("<I", padded):
        h = ((h << VALUE_HASH_SHIFT) ^ (h >> (32 - VALUE_HASH_SHIFT)) ^ w) & 0xFFFFFFFF
    return h


def block_hash(entries: list[XEntry]) -> int:
    """ext4_xattr_rehash: the entries' hashes folded into h_hash (0 if any entry's hash is 0)."""
    h = 0
    for e in entries:
        eh = entry_hash(e)
        if eh == 0:
            return 0
        h = ((h << BLOCK_HASH_SHIFT) ^ (h >> (32 - BLOCK_HASH_SHIFT)) ^ eh) & 0xFFFFFFFF
    return h


def pack_entries(buf: bytearray, entries: list[XEntry], off: int, end: int, value_base: int,
                 hashed: bool) -> bool:
    """Write the entries from `off` on and their values down from `end` (e_value_offs relative
    to value_base), then the 4-byte terminator. False, leaving buf alone, if they do not fit.
    Linux hashes the entries of a block only; in the inode body e_hash stays 0 (e2fsck allows it)."""
    if sum(entry_len(e) for e in entries) + 4 > end - off:
        return False
    buf[off:end] = bytes(end - off)
    top = end
    for e in entries:
        value_offs = 0
        if e.value:
            top -= _pad(len(e.value))
            buf[top:top + len(e.value)] = e.value
            value_offs = top - value_base
        XATTR_ENTRY.pack_into(buf, off, len(e.name), e.name_index, value_offs, 0, len(e.value), entry_hash(e) if hashed else 0)
        buf[off + XATTR_ENTRY.size:off + XATTR_ENTRY.size + len(e.name)] = e.name
        off += _pad(XATTR_ENTRY.size + len(e.name))
    return True


def store_ibody(disk: DiskInode, entries: list[XEntry]) -> bool:
    """Rewrite the in-inode area with `entries` (none: no magic, as ext4_xattr_ibody_set leaves
    it); False if they do not fit."""
    raw = disk.raw
    start = EXT4_GOOD_OLD_INODE_SIZE + disk.i_extra_isize
    if start + 8 > len(raw):
        return not entries
    if not pack_entries(raw, entries, start + 4, len(raw), start + 4, hashed=False):
        return False
    struct.pack_into("<I", raw, start, XATTR_MAGIC if entries else 0)
    return True


def block_sort_key(e: XEntry) -> tuple[int, int, bytes]:
    """Entries of an xattr block are sorted by index, name length, name (xattr_find_entry)."""
    return e.name_index, len(e.name), e.name


def block_entries(block: bytes | bytearray) -> list[XEntry]:
    """The entries of an external xattr block ([] if it is not one)."""
    if struct.unpack_from("<I", block, 0)[0] != XATTR_MAGIC:
        return []
    return parse_entries(block, XATTR_HEADER_SIZE, len(block), 0)


def encode_block(entries: list[XEntry], block_size: int, refcount: int = 1) -> Optional[bytearray]:
    """A whole xattr block (struct ext4_xattr_header, then the entries, values at the end);
    h_checksum is left 0 for the caller (it depends on the block number). None if too big."""
    buf = bytearray(block_size)
    if not pack_entries(buf, entries, XATTR_HEADER_SIZE, block_size, 0, hashed=True):
        return None
    struct.pack_into("<IIII", buf, 0, XATTR_MAGIC, refcount, 1, block_hash(entries))
    return buf


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
