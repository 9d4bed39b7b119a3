"""Hash-indexed (htree, "dx") directories: the name hash and insertion that keeps the index.

Layout (fs/ext4/namei.c): block 0 holds "." and "..", then struct dx_root_info
(hash_version, indirect_levels) at 0x18 and the root's dx_countlimit at 0x20; an
interior node is an empty record spanning its block with its dx_countlimit at 8.
A countlimit (limit u16, count u16) overlays the hash of entry 0; entries are
(hash u32, logical block u32) sorted by hash, entry 0 covering everything below
entry 1. With metadata_csum a struct dx_tail (reserved u32, checksum u32) follows
`limit` entries.

Insertion (ext4_dx_add_entry, simplified): probe the leaf for the name's hash and
add there if it has room; otherwise split the leaf at a hash boundary into a new
block and add an index entry, growing the root into a second level when it is
full (indirect_levels 0 -> 1) or splitting a full second-level node. Anything
rarer (a third level, hash collisions across blocks) returns False and the caller
falls back to turning the directory into a linear one.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable

from ....errors import EIO, Errno
from .crc32c import crc32c
from .dir import DIRENT, TAIL_SIZE, entries, put_dirent, rec_len_needed

# dx_root_info.hash_version (DX_HASH_*); the _UNSIGNED variants are what s_flags selects
DX_HASH_LEGACY, DX_HASH_HALF_MD4, DX_HASH_TEA = 0, 1, 2
DX_HASH_LEGACY_UNSIGNED, DX_HASH_HALF_MD4_UNSIGNED, DX_HASH_TEA_UNSIGNED = 3, 4, 5
EXT2_FLAGS_UNSIGNED_HASH = 0x0002
ROOT_INFO = 0x18
ROOT_COUNT_OFFSET = 0x20
NODE_COUNT_OFFSET = 8
M32 = 0xFFFFFFFF


# ---------------------------------------------------------------- hashes (fs/ext4/hash.c)

def _rol(x: int, s: int) -> int:
    return ((x << s) | (x >> (32 - s))) & M32


def _half_md4(buf: list[int], d_in: list[int]) -> None:
    a, b, c, d = buf
    F = lambda x, y, z: z ^ (x & (y ^ z))             # noqa: E731
    G = lambda x, y, z: ((x & y) + ((x ^ y) & z)) & M32  # noqa: E731
    H = lambda x, y, z: x ^ y ^ z                     # noqa: E731
    for f, k, order, shifts in (
            (F, 0, (0, 1, 2, 3, 4, 5, 6, 7), (3, 7, 11, 19)),
            (G, 0x5A827999, (1, 3, 5, 7, 0, 2, 4, 6), (3, 5, 9, 13)),
            (H, 0x6ED9EBA1, (3, 7, 2, 6, 1, 5, 0, 4), (3, 9, 11, 15))):
        for i, x in enumerate(order):
            s = shifts[i % 4]
            if i % 4 == 0:
                a = _rol((a + f(b, c, d) + d_in[x] + k) & M32, s)
            elif i % 4 == 1:
                d = _rol((d + f(a, b, c) + d_in[x] + k) & M32, s)
            elif i % 4 == 2:
                c = _rol((c + f(d, a, b) + d_in[x] + k) & M32, s)
            else:
                b = _rol((b + f(c, d, a) + d_in[x] + k) & M32, s)
    buf[0] = (buf[0] + a) & M32
    buf[1] = (buf[1] + b) & M32
    buf[2] = (buf[2] + c) & M32
    buf[3] = (buf[3] + d) & M32


def _tea(buf: list[int], d_in: list[int]) -> None:
    s, b0, b1 = 0, buf[0], buf[1]
    a, b, c, d = d_in[:4]
    for _ in range(16):
        s = (s + 0x9E3779B9) & M32
        b0 = (b0 + ((((b1 << 4) + a) & M32) ^ ((b1 + s) & M32) ^ (((b1 >> 5) + b) & M32))) & M32
        b1 = (b1 + ((((b0 << 4) + c) & M32) ^ ((b0 + s) & M32) ^ (((b0 >> 5) + d) & M32))) & M32
    buf[0] = (buf[0] + b0) & M32
    buf[1] = (buf[1] + b1) & M32


def _chars(name: bytes, signed: bool) -> list[int]:
    return [c - 256 if signed and c >= 128 else c for c in name]


def _str2hashbuf(chars: list[int], length: int, num: int) -> list[int]:
    pad = (length | (length << 8)) & M32
    pad = (pad | (pad << 16)) & M32
    out, val = [], pad
    for i, ch in enumerate(chars[:num * 4]):
        if i % 4 == 0:
            val = pad
        val = (ch + (val << 8)) & M32
        if i % 4 == 3:
            out.append(val)
            val = pad
    if len(out) < num:
        out.append(val)
    while len(out) < num:
        out.append(pad)
    return out


def _legacy(chars: list[int]) -> int:
    h0, h1 = 0x12A3FE2D, 0x37ABE8F9
    for ch in chars:
        h = (h1 + (h0 ^ ((ch * 7152373) & M32))) & M32
        if h & 0x80000000:
            h = (h - 0x7FFFFFFF) & M32
        h1, h0 = h0, h
    return (h0 << 1) & M32


def dx_hash(name: bytes, version: int, seed: tuple[int, int, int, int]) -> int:
    """ext4fs_dirhash's major hash (low bit clear)."""
    signed = version < DX_HASH_LEGACY_UNSIGNED
    base = version % 3
    chars = _chars(name, signed)
    buf = list(seed) if any(seed) else [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    if base == DX_HASH_LEGACY:
        h = _legacy(chars)
    elif base == DX_HASH_HALF_MD4:
        for i in range(0, len(chars), 32):
            _half_md4(buf, _str2hashbuf(chars[i:], len(chars) - i, 8))
        h = buf[1]
    else:
        for i in range(0, len(chars), 16):
            _tea(buf, _str2hashbuf(chars[i:], len(chars) - i, 4))
        h = buf[0]
    h &= ~1 & M32
    return 0xFFFFFFFC if h == 0xFFFFFFFE else h


# ---------------------------------------------------------------- index nodes

@dataclass
class DxNode:
    """One index block: where its countlimit sits, and its entries [(hash, logical block)]."""
    lblk: int
    count_offset: int
    limit: int
    entries: list[tuple[int, int]]

    @classmethod
    def parse(cls, lblk: int, buf: bytes | bytearray, count_offset: int) -> "DxNode":
        limit, count = struct.unpack_from("<HH", buf, count_offset)
        if count > limit or count_offset + 8 * limit > len(buf):
            raise Errno(EIO, "ext4: corrupt htree index node")
        ents = []
        for i in range(count):
            h, blk = struct.unpack_from("<II", buf, count_offset + 8 * i)
            ents.append((0 if i == 0 else h, blk))
        return cls(lblk, count_offset, limit, ents)

    def find(self, h: int) -> int:
        """Index of the last entry whose hash is <= h (dx_probe's binary search)."""
        lo, hi = 1, len(self.entries) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            if self.entries[mid][0] > h:
                hi = mid - 1
            else:
                lo = mid + 1
        return lo - 1

    def store(self, buf: bytearray, seed: int | None) -> None:
        """Write count and entries back (and the dx_tail checksum)."""
        off = self.count_offset
        for i, (h, blk) in enumerate(self.entries):
            struct.pack_into("<II", buf, off + 8 * i, h, blk)
        struct.pack_into("<HH", buf, off, self.limit, len(self.entries))
        if seed is not None:
            t = off + 8 * self.limit
            struct.pack_into("<I", buf, t, 0)
            size = off + 8 * len(self.entries)
            c = crc32c(crc32c(seed, bytes(buf[:size])), bytes(buf[t:t + 4]) + bytes(4))
            struct.pack_into("<I", buf, t + 4, c)


def node_limit(bs: int, count_offset: int, csum: bool) -> int:
    return (bs - count_offset - (8 if csum else 0)) // 8


def empty_node(bs: int) -> bytearray:
    buf = bytearray(bs)
    DIRENT.pack_into(buf, 0, 0, bs, 0, 0)
    return buf


# ---------------------------------------------------------------- insertion

@dataclass
class DirIO:
    """What insertion needs from the directory: block access by logical number, growth,
    checksums. Supplied by Ext4Dir."""
    bs: int
    csum_seed: int | None              # inode seed when metadata_csum, else None
    block: Callable[[int], bytearray]  # logical block -> cached buffer
    dirty: Callable[[int, bool], None]  # (logical block, is a leaf) changed: store it (leaves get their tail)
    grow: Callable[[], int]            # append an empty block, return its logical number
    moved: Callable[[bytes, int], None]  # name now lives in logical block

    @property
    def csum(self) -> bool:
        return self.csum_seed is not None


def hash_version(root: bytes | bytearray, s_flags: int) -> int:
    """The directory's hash (dx_root_info.hash_version), made unsigned when s_flags says so."""
    version = root[ROOT_INFO + 4]
    if version <= DX_HASH_TEA and s_flags & EXT2_FLAGS_UNSIGNED_HASH:
        version += 3
    return version


def probe(io: DirIO, h: int) -> tuple[list[tuple[DxNode, int]], int] | None:
    """The path of (node, entry index) from the root down, and the leaf's logical block."""
    root = io.block(0)
    levels = root[ROOT_INFO + 6]
    if levels > 1 or root[ROOT_INFO + 5] != 8:
        return None
    node = DxNode.parse(0, root, ROOT_COUNT_OFFSET)
    path = []
    for level in range(levels + 1):
        if not node.entries:
            return None
        i = node.find(h)
        path.append((node, i))
        child = node.entries[i][1]
        if level < levels:
            node = DxNode.parse(child, io.block(child), NODE_COUNT_OFFSET)
        else:
            return path, child
    return None


def insert(io: DirIO, name: bytes, ino: int, ft: int, version: int, seed: tuple) -> bool:
    """Add name to an indexed directory keeping the index; False if this case is not handled
    (nothing has been changed then)."""
    h = dx_hash(name, version, seed)
    found = probe(io, h)
    if found is None:
        return False
    path, leaf = found
    if any(e[0] & 1 for node, _ in path for e in node.entries):
        return False                        # hash-collision continuations: leave to the fallback
    buf = io.block(leaf)
    usable = io.bs - (TAIL_SIZE if io.csum else 0)
    records = [(dx_hash(d.name, version, seed), d.name, d.inode, d.file_type)
               for d in entries(bytes(buf[:usable])) if d.inode]
    need = sum(rec_len_needed(len(n)) for _, n, _, _ in records) + rec_len_needed(len(name))
    if need <= usable:
        _write_leaf(io, leaf, records + [(h, name, ino, ft)])
        io.moved(name, leaf)
        return True
    records.append((h, name, ino, ft))
    records.sort()
    k = _split_point(records)
    if k is None or not _index_has_room(path, io):
        return False
    new_leaf = io.grow()                    # every block needed is allocated before any is written
    spare = io.grow() if len(path[-1][0].entries) >= path[-1][0].limit else None
    _write_leaf(io, leaf, records[:k])
    _write_leaf(io, new_leaf, records[k:])
    for _, n, _, _ in records[:k]:
        io.moved(n, leaf)
    for _, n, _, _ in records[k:]:
        io.moved(n, new_leaf)
    _add_index_entry(io, path, records[k][0], new_leaf, spare)
    return True


def _split_point(records: list) -> int | None:
    """An index near the middle where the hash changes (so both halves own a hash range)."""
    mid = len(records) // 2
    for k in sorted(range(1, len(records)), key=lambda k: abs(k - mid)):
        if records[k][0] != records[k - 1][0]:
            return k
    return None


def _write_leaf(io: DirIO, lblk: int, records: list) -> None:
    """Lay records out afresh in a leaf, the last one's rec_len reaching the usable end."""
    bs = io.bs
    usable = bs - (TAIL_SIZE if io.csum else 0)
    buf = io.block(lblk)
    buf[:usable] = bytes(usable)
    off = 0
    for i, (_, name, ino, ft) in enumerate(records):
        rec = rec_len_needed(len(name)) if i < len(records) - 1 else usable - off
        put_dirent(buf, off, ino, rec, name, ft)
        off += rec
    if not records:
        DIRENT.pack_into(buf, 0, 0, usable, 0, 0)
    io.dirty(lblk, True)


def _index_has_room(path: list[tuple[DxNode, int]], io: DirIO) -> bool:
    parent = path[-1][0]
    if len(parent.entries) < parent.limit:
        return True
    if len(path) == 1:
        return True                         # the root is full: it grows a level
    return len(path[0][0].entries) < path[0][0].limit   # split the node if the root has room


def _add_index_entry(io: DirIO, path: list[tuple[DxNode, int]], h: int, blk: int, spare: int | None) -> None:
    """Add (h, blk) after the probed entry; a full node first grows the root a level or
    splits, into the `spare` block."""
    node, i = path[-1]
    if len(node.entries) >= node.limit:
        assert spare is not None
        if len(path) == 1:
            node, i = _grow_root(io, node, i, spare)
        else:
            node, i = _split_node(io, path, h, spare)
    node.entries.insert(i + 1, (h, blk))
    _store_node(io, node)


def _store_node(io: DirIO, node: DxNode) -> None:
    buf = io.block(node.lblk)
    node.store(buf, io.csum_seed)
    io.dirty(node.lblk, False)


def _grow_root(io: DirIO, root: DxNode, i: int, lblk: int) -> tuple[DxNode, int]:
    """ext4's "add a level": the root's entries move to a new node the root then points at."""
    buf = io.block(lblk)
    buf[:] = empty_node(io.bs)
    child = DxNode(lblk, NODE_COUNT_OFFSET, node_limit(io.bs, NODE_COUNT_OFFSET, io.csum), list(root.entries))
    root.entries = [(0, lblk)]
    rbuf = io.block(0)
    rbuf[ROOT_INFO + 6] = 1                 # indirect_levels
    _store_node(io, root)
    return child, i


def _split_node(io: DirIO, path: list[tuple[DxNode, int]], h: int, lblk: int) -> tuple[DxNode, int]:
    """Move the upper half of a full second-level node to a new node listed in the root."""
    (root, ri), (node, _) = path[0], path[-1]
    mid = len(node.entries) // 2
    io.block(lblk)[:] = empty_node(io.bs)
    upper = DxNode(lblk, NODE_COUNT_OFFSET, node.limit, node.entries[mid:])
    node.entries = node.entries[:mid]
    upper_hash = upper.entries[0][0]
    root.entries.insert(ri + 1, (upper_hash, lblk))
    for n in (root, node, upper):
        _store_node(io, n)
    target = upper if h >= upper_hash else node
    return target, target.find(h)
