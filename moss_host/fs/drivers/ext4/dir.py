"""Directory blocks: linear entries (struct ext4_dir_entry_2), the metadata_csum tail
(struct ext4_dir_entry_tail), and the htree (dx) index blocks.

A directory is a file of blocks, each block a chain of records
  inode u32 | rec_len u16 | name_len u8 | file_type u8 | name (padded to 4)
whose rec_lens sum to the block size; a record with inode 0 is free space, and a
record's slack past its name is free space too. With metadata_csum each leaf block
ends in a 12-byte fake record (rec_len 12, file_type 0xDE) holding
crc32c(inode seed, the block before it).

An htree directory (EXT4_INDEX_FL) hides its index where a linear reader sees only
free space: block 0 is "." and a ".." whose rec_len covers the rest of the block
(the dx_root lives in that slack), and interior index blocks are one empty record
spanning the block. So a linear scan of every block reads an htree directory
correctly. Removing an entry keeps the index valid (hash ranges do not change);
adding one goes through htree.py, or, in the cases it does not handle, first turns
the directory back into a plain linear one (deindex_block: the index blocks become
empty leaves, the flag is cleared), a form e2fsck accepts as is (tested).
"""
from __future__ import annotations

import struct
from typing import Iterator, NamedTuple

from ....errors import EIO, Errno
from .crc32c import crc32c

DIRENT = struct.Struct("<IHBB")         # inode, rec_len, name_len, file_type
TAIL_SIZE = 12
TAIL_FT = 0xDE

# file_type values (EXT4_FT_*)
FT_UNKNOWN, FT_REG_FILE, FT_DIR, FT_CHRDEV, FT_BLKDEV, FT_FIFO, FT_SOCK, FT_SYMLINK = range(8)


def ft_of_mode(mode: int) -> int:
    """EXT4_FT_* of an S_IF* mode (fs_umode_to_ftype)."""
    return {0o10: FT_REG_FILE, 0o04: FT_DIR, 0o02: FT_CHRDEV, 0o06: FT_BLKDEV, 0o01: FT_FIFO,
            0o14: FT_SOCK, 0o12: FT_SYMLINK}.get(mode >> 12, FT_UNKNOWN)


def rec_len_needed(name_len: int) -> int:
    """EXT4_DIR_REC_LEN: header + name, rounded up to 4."""
    return (8 + name_len + 3) & ~3


class Dirent(NamedTuple):
    off: int
    inode: int
    rec_len: int
    name: bytes
    file_type: int


def has_tail(buf: bytes) -> bool:
    t = len(buf) - TAIL_SIZE
    inode, rec_len, name_len, ft = DIRENT.unpack_from(buf, t)
    return inode == 0 and rec_len == TAIL_SIZE and name_len == 0 and ft == TAIL_FT


def entries(buf: bytes | bytearray, filetype: bool = True) -> Iterator[Dirent]:
    """Every record of a block, free ones included (inode 0), the checksum tail excluded.
    Stops at a malformed rec_len rather than looping (a corrupt block reads as shorter)."""
    off, end = 0, len(buf)
    while off + 8 <= end:
        inode, rec_len, name_len, ft = DIRENT.unpack_from(buf, off)
        if not filetype:
            name_len, ft = name_len | (ft << 8), FT_UNKNOWN
        if rec_len < 8 or rec_len % 4 or off + rec_len > end or 8 + name_len > rec_len:
            return
        if rec_len == TAIL_SIZE and inode == 0 and ft == TAIL_FT and off + rec_len == end:
            return
        yield Dirent(off, inode, rec_len, bytes(buf[off + 8:off + 8 + name_len]), ft)
        off += rec_len


def put_dirent(buf: bytearray, off: int, inode: int, rec_len: int, name: bytes, ft: int) -> None:
    DIRENT.pack_into(buf, off, inode, rec_len, len(name), ft)
    buf[off + 8:off + 8 + len(name)] = name


def set_tail(buf: bytearray, seed: int) -> None:
    """Write the metadata_csum tail record of a leaf block."""
    t = len(buf) - TAIL_SIZE
    DIRENT.pack_into(buf, t, 0, TAIL_SIZE, 0, TAIL_FT)
    struct.pack_into("<I", buf, t + 8, crc32c(seed, bytes(buf[:t])))


def tail_ok(buf: bytes, seed: int) -> bool:
    t = len(buf) - TAIL_SIZE
    return struct.unpack_from("<I", buf, t + 8)[0] == crc32c(seed, bytes(buf[:t]))


def empty_leaf(bs: int, csum: bool) -> bytearray:
    buf = bytearray(bs)
    DIRENT.pack_into(buf, 0, 0, bs - (TAIL_SIZE if csum else 0), 0, 0)
    return buf


def new_dir_block(ino: int, parent: int, bs: int, csum: bool, filetype: bool = True) -> bytearray:
    """The first block of a new directory: "." and ".." (ext4_init_dot_dotdot); their
    file_type is FT_DIR only on filesystems with the filetype feature."""
    buf = bytearray(bs)
    ft = FT_DIR if filetype else FT_UNKNOWN
    put_dirent(buf, 0, ino, 12, b".", ft)
    put_dirent(buf, 12, parent, bs - 12 - (TAIL_SIZE if csum else 0), b"..", ft)
    return buf


def find_space(buf: bytes | bytearray, name_len: int) -> tuple[int, int] | None:
    """Where a new record of name_len fits: (offset of the record to reuse or split, its new
    rec_len if split else 0), or None."""
    need = rec_len_needed(name_len)
    for d in entries(buf):
        if d.inode == 0 and d.rec_len >= need:
            return d.off, 0
        used = rec_len_needed(len(d.name))
        if d.inode and d.rec_len - used >= need:
            return d.off, used
    return None


def largest_space(buf: bytes | bytearray) -> int:
    """The longest record that find_space could place in this block (0 if none)."""
    best = 0
    for d in entries(buf):
        free = d.rec_len if d.inode == 0 else d.rec_len - rec_len_needed(len(d.name))
        best = max(best, free)
    return best


def add_at(buf: bytearray, slot: tuple[int, int], inode: int, name: bytes, ft: int) -> None:
    """Insert a record at a slot found by find_space (ext4_insert_dentry)."""
    off, split = slot
    _, rec_len, _, _ = DIRENT.unpack_from(buf, off)
    if split:
        struct.pack_into("<H", buf, off + 4, split)
        off, rec_len = off + split, rec_len - split
    put_dirent(buf, off, inode, rec_len, name, ft)


def remove(buf: bytearray, name: bytes) -> int | None:
    """Remove `name` from a block: merge it into the previous record, or free it if first
    (ext4_generic_delete_entry). Returns the inode it named, or None if absent."""
    prev = None
    for d in entries(buf):
        if d.inode and d.name == name:
            if prev is None:
                struct.pack_into("<I", buf, d.off, 0)
            else:
                struct.pack_into("<H", buf, prev.off + 4, prev.rec_len + d.rec_len)
            return d.inode
        prev = d
    return None


def retarget(buf: bytearray, name: bytes, inode: int, ft: int) -> bool:
    """Point an existing entry at another inode (rename over an existing name)."""
    for d in entries(buf):
        if d.inode and d.name == name:
            DIRENT.pack_into(buf, d.off, inode, d.rec_len, len(name), ft)
            return True
    return False


# ---------------------------------------------------------------- htree

def is_dx_node(buf: bytes | bytearray, block_index: int) -> bool:
    """Is this block of an indexed directory an index node (not a leaf)?"""
    if block_index == 0:
        return True
    inode, rec_len, name_len, _ = DIRENT.unpack_from(buf, 0)
    return inode == 0 and name_len == 0 and rec_len == len(buf)


def deindex_block(buf: bytes, block_index: int, csum: bool) -> bytearray:
    """An index block rewritten as a plain leaf with the same live entries:
    block 0 keeps "." and "..", interior nodes become empty."""
    bs = len(buf)
    if block_index != 0:
        return empty_leaf(bs, csum)
    dot = next(iter(entries(buf)), None)
    if dot is None or dot.name != b".":
        raise Errno(EIO, "ext4: htree root block without its \".\" entry")
    dotdot_ino = DIRENT.unpack_from(buf, 12)[0]
    out = bytearray(bs)
    put_dirent(out, 0, dot.inode, 12, b".", dot.file_type)
    put_dirent(out, 12, dotdot_ino, bs - 12 - (TAIL_SIZE if csum else 0), b"..", dot.file_type)
    return out
