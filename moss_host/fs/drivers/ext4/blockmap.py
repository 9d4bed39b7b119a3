"""ext2/ext3 block maps: i_block[0..11] point at data blocks directly, i_block[12] at a
block of pointers, [13] at a block of pointer blocks, [14] one level deeper still.
A pointer of 0 is a hole. Read into Runs; rebuild from Runs (for writes to such files).
"""
from __future__ import annotations

import struct
from typing import Callable

from ....errors import EFBIG, Errno
from .runs import EXT_INIT_MAX_LEN, Run, Runs

NDIR = 12


def read_blockmap(read_block: Callable[[int], bytes], i_block: bytes, block_size: int) -> tuple[Runs, list[int]]:
    """The runs of a block-mapped inode and its indirect blocks."""
    ptrs = struct.unpack("<15I", i_block)
    per = block_size // 4
    pairs: list[tuple[int, int]] = [(i, p) for i, p in enumerate(ptrs[:NDIR]) if p]
    meta: list[int] = []
    base = NDIR
    for level, top in enumerate(ptrs[NDIR:], start=1):
        if top:
            _collect(read_block, top, level, base, per, pairs, meta)
        base += per ** level
    return Runs(_coalesce(pairs)), meta


def _collect(read_block, blk: int, level: int, base: int, per: int, pairs: list, meta: list) -> None:
    meta.append(blk)
    ptrs = struct.unpack(f"<{per}I", read_block(blk))
    span = per ** (level - 1)
    for i, p in enumerate(ptrs):
        if not p:
            continue
        if level == 1:
            pairs.append((base + i, p))
        else:
            _collect(read_block, p, level - 1, base + i * span, per, pairs, meta)


def _coalesce(pairs: list[tuple[int, int]]) -> list[Run]:
    runs: list[Run] = []
    for lblk, pblk in sorted(pairs):
        last = runs[-1] if runs else None
        if last and last.end == lblk and last.pblk + last.length == pblk and last.length < EXT_INIT_MAX_LEN:
            last.length += 1
        else:
            runs.append(Run(lblk, 1, pblk))
    return runs


def build_blockmap(runs: Runs, block_size: int, old_meta: list[int], alloc: Callable[[], int]
                   ) -> tuple[bytes, list[int], dict[int, bytes], list[int]]:
    """Lay runs out as a block map: (i_block, indirect blocks used, their contents, spare old ones)."""
    per = block_size // 4
    i_block = [0] * 15
    spare = list(old_meta)
    nodes: dict[int, list[int]] = {}           # indirect block -> its pointers
    used: list[int] = []

    def node_for(parent_list: list[int], idx: int) -> list[int]:
        if not parent_list[idx]:
            blk = spare.pop(0) if spare else alloc()
            parent_list[idx] = blk
            nodes[blk] = [0] * per
            used.append(blk)
        return nodes[parent_list[idx]]

    for r in runs:
        for k in range(r.length):
            lblk, pblk = r.lblk + k, r.pblk + k
            if lblk < NDIR:
                i_block[lblk] = pblk
                continue
            rel, level = lblk - NDIR, 1
            while rel >= per ** level:
                rel -= per ** level
                level += 1
            if level > 3:
                raise Errno(EFBIG)
            node = node_for(i_block, NDIR + level - 1)
            for depth in range(level - 1, 0, -1):
                node = node_for(node, rel // per ** depth)
                rel %= per ** depth
            node[rel] = pblk
    contents = {blk: struct.pack(f"<{per}I", *p) for blk, p in nodes.items()}
    return struct.pack("<15I", *i_block), used, contents, spare
