"""Extent trees (fs/ext4/ext4_extents.h): read into Runs, and rebuild from Runs.

The root lives in the inode's i_block (60 bytes: a 12-byte header and 4 entries);
deeper levels are whole blocks: header, (block_size - 12) // 12 entries, and with
metadata_csum a 4-byte tail holding crc32c(inode seed, header + all entry slots).
Leaves (depth 0) hold struct ext4_extent, index nodes struct ext4_extent_idx.

Writing rebuilds the whole tree from the run list, packed as densely as possible:
leaves full, as few index levels as needed, the root holding at most 4 entries. When
the root's 4 slots fill, the tree grows one level (ext4_ext_grow_indepth's effect).
Tree blocks are reused in order and allocated or freed as the count changes.
"""
from __future__ import annotations

import struct
from typing import Callable

from ....errors import EIO, Errno
from .crc32c import crc32c
from .runs import EXT_INIT_MAX_LEN, Run, Runs

EXT4_EXT_MAGIC = 0xF30A
HEADER = struct.Struct("<HHHHI")      # eh_magic, eh_entries, eh_max, eh_depth, eh_generation
EXTENT = struct.Struct("<IHHI")       # ee_block, ee_len, ee_start_hi, ee_start_lo
INDEX = struct.Struct("<IIHH")        # ei_block, ei_leaf_lo, ei_leaf_hi, ei_unused
ROOT_ENTRIES = 4
MAX_DEPTH = 5


def node_capacity(block_size: int) -> int:
    return (block_size - HEADER.size) // EXTENT.size


def tail_offset(block_size: int) -> int:
    return HEADER.size + node_capacity(block_size) * EXTENT.size


def read_extents(read_block: Callable[[int], bytes], root: bytes, seed: int | None) -> tuple[Runs, list[int]]:
    """The runs of an extent-mapped inode and the tree blocks below the root.
    `seed` is the inode's checksum seed (None: do not verify)."""
    runs: list[Run] = []
    tree: list[int] = []
    _walk(read_block, root, runs, tree, seed, MAX_DEPTH)
    return Runs(runs), tree


def _walk(read_block, node: bytes, runs: list[Run], tree: list[int], seed: int | None, budget: int) -> None:
    magic, entries, eh_max, depth, _gen = HEADER.unpack_from(node, 0)
    if magic != EXT4_EXT_MAGIC or depth > budget or entries > eh_max or eh_max > (len(node) - HEADER.size) // 12:
        raise Errno(EIO, "ext4: bad extent tree header")
    for k in range(entries):
        off = HEADER.size + 12 * k
        if depth == 0:
            ee_block, ee_len, hi, lo = EXTENT.unpack_from(node, off)
            uninit = ee_len > EXT_INIT_MAX_LEN
            runs.append(Run(ee_block, ee_len - EXT_INIT_MAX_LEN if uninit else ee_len, lo | (hi << 32), uninit))
        else:
            _ei_block, lo, hi, _ = INDEX.unpack_from(node, off)
            child = lo | (hi << 32)
            data = read_block(child)
            if seed is not None:
                t = tail_offset(len(data))
                if struct.unpack_from("<I", data, t)[0] != crc32c(seed, data[:t]):
                    raise Errno(EIO, f"ext4: extent block {child} checksum mismatch")
            tree.append(child)
            _walk(read_block, data, runs, tree, seed, depth - 1)


def _node(entries: list[bytes], depth: int, max_entries: int) -> bytearray:
    buf = bytearray(HEADER.pack(EXT4_EXT_MAGIC, len(entries), max_entries, depth, 0))
    for e in entries:
        buf += e
    return buf


def _extent(r: Run) -> bytes:
    ee_len = r.length + EXT_INIT_MAX_LEN if r.uninit else r.length
    return EXTENT.pack(r.lblk, ee_len, r.pblk >> 32, r.pblk & 0xFFFFFFFF)


def _index(first_lblk: int, blk: int) -> bytes:
    return INDEX.pack(first_lblk, blk & 0xFFFFFFFF, blk >> 32, 0)


def build_extents(runs: Runs, block_size: int, old_tree: list[int], alloc: Callable[[], int],
                  seed: int | None) -> tuple[bytes, list[int], dict[int, bytes], list[int]]:
    """Lay runs out as a tree. Returns (the 60-byte i_block root, the tree blocks now used,
    their contents {block: bytes}, the old tree blocks no longer needed)."""
    cap = node_capacity(block_size)
    level = [(r.lblk, _extent(r)) for r in runs]      # (first logical block, entry bytes)
    spare = list(old_tree)
    used: list[int] = []
    contents: dict[int, bytes] = {}
    depth = 0
    while len(level) > ROOT_ENTRIES:
        nxt = []
        for i in range(0, len(level), cap):
            chunk = level[i:i + cap]
            blk = spare.pop(0) if spare else alloc()
            contents[blk] = _finish_block(_node([e for _, e in chunk], depth, cap), block_size, seed)
            used.append(blk)
            nxt.append((chunk[0][0], _index(chunk[0][0], blk)))
        level = nxt
        depth += 1
    root = _node([e for _, e in level], depth, ROOT_ENTRIES)
    return bytes(root.ljust(60, b"\0")), used, contents, spare


def _finish_block(node: bytearray, block_size: int, seed: int | None) -> bytes:
    node = node.ljust(block_size, b"\0")
    if seed is not None:
        t = tail_offset(block_size)
        struct.pack_into("<I", node, t, crc32c(seed, bytes(node[:t])))
    return bytes(node)


def empty_root() -> bytes:
    return bytes(_node([], 0, ROOT_ENTRIES).ljust(60, b"\0"))
