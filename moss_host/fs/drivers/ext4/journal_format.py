"""The jbd2 on-disk format (include/linux/jbd2.h; e2fsprogs lib/ext2fs/kernel-jbd.h).

Every journal block starts with a big-endian header (magic, block type, transaction
sequence). The journal superblock (v2) says where the log starts (s_start, 0 = empty)
and which sequence it starts with. A transaction is one or more descriptor blocks, each
followed by the blocks its tags name, then optionally revoke blocks, then a commit block.
With CSUM_V3 every tag carries crc32c(seed, be32 sequence, block data), descriptor and
revoke blocks end with a crc32c tail, and the commit block holds its own crc32c; the seed
is crc32c(~0, the journal's UUID).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from .crc32c import crc32c

JBD2_MAGIC = 0xC03B3998
MAGIC_BYTES = struct.pack(">I", JBD2_MAGIC)

# h_blocktype
DESCRIPTOR_BLOCK = 1
COMMIT_BLOCK = 2
SUPERBLOCK_V1 = 3
SUPERBLOCK_V2 = 4
REVOKE_BLOCK = 5

# features
COMPAT_CHECKSUM = 0x1
INCOMPAT_REVOKE = 0x1
INCOMPAT_64BIT = 0x2
INCOMPAT_ASYNC_COMMIT = 0x4
INCOMPAT_CSUM_V2 = 0x8
INCOMPAT_CSUM_V3 = 0x10
INCOMPAT_FAST_COMMIT = 0x20
KNOWN_INCOMPAT = INCOMPAT_REVOKE | INCOMPAT_64BIT | INCOMPAT_ASYNC_COMMIT | INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3

JBD2_CRC32C_CHKSUM = 4

# tag flags
FLAG_ESCAPE = 1
FLAG_SAME_UUID = 2
FLAG_DELETED = 4
FLAG_LAST_TAG = 8

HEADER = struct.Struct(">III")
HEADER_SIZE = 12
TAIL_SIZE = 4               # struct jbd2_journal_block_tail
UUID_SIZE = 16
REVOKE_HEADER_SIZE = 16     # header + r_count
JSB_SIZE = 1024             # sizeof(journal_superblock_t), what s_checksum covers

# journal_superblock_t field offsets (big-endian)
_JSB = struct.Struct(">III IIII I IIII 16s II II B3x")
_JSB_CHECKSUM = 0xFC
_COMMIT_SEC = 0x30


def be32(buf: bytes | bytearray, off: int) -> int:
    return struct.unpack_from(">I", buf, off)[0]


@dataclass
class JournalSuper:
    """The fields of journal_superblock_t this driver uses; `raw` keeps the rest (s_users...)."""
    raw: bytearray
    blocktype: int
    blocksize: int
    maxlen: int
    first: int
    sequence: int
    start: int
    errno: int
    compat: int
    incompat: int
    ro_compat: int
    uuid: bytes
    checksum_type: int

    @classmethod
    def parse(cls, raw: bytes) -> "JournalSuper":
        (magic, btype, _seq, bsize, maxlen, first, sequence, start, errno, compat, incompat, ro_compat,
         uuid, _nr_users, _dyn, _maxt, _maxd, csum_type) = _JSB.unpack_from(raw, 0)
        if magic != JBD2_MAGIC or btype not in (SUPERBLOCK_V1, SUPERBLOCK_V2):
            raise ValueError("no jbd2 superblock")
        if btype == SUPERBLOCK_V1:
            compat = incompat = ro_compat = 0
        return cls(bytearray(raw[:max(len(raw), JSB_SIZE)]), btype, bsize, maxlen, first, sequence, start, errno,
                   compat, incompat, ro_compat, uuid, csum_type)

    @property
    def csum_v2v3(self) -> bool:
        return bool(self.incompat & (INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3))

    @property
    def csum_seed(self) -> int:
        return crc32c(0xFFFFFFFF, self.uuid)

    def checksum(self) -> int:
        b = bytearray(self.raw[:JSB_SIZE])
        b[_JSB_CHECKSUM:_JSB_CHECKSUM + 4] = bytes(4)
        return crc32c(0xFFFFFFFF, bytes(b))

    def checksum_ok(self) -> bool:
        return not self.csum_v2v3 or self.checksum() == be32(self.raw, _JSB_CHECKSUM)

    def pack(self) -> bytes:
        struct.pack_into(">III", self.raw, 0, JBD2_MAGIC, self.blocktype, 0)
        struct.pack_into(">IIII", self.raw, 0x0C, self.blocksize, self.maxlen, self.first, self.sequence)
        struct.pack_into(">II", self.raw, 0x1C, self.start, self.errno)
        if self.blocktype == SUPERBLOCK_V2:
            struct.pack_into(">III", self.raw, 0x24, self.compat, self.incompat, self.ro_compat)
            struct.pack_into(">B", self.raw, 0x50, self.checksum_type)
        if self.csum_v2v3:
            struct.pack_into(">I", self.raw, _JSB_CHECKSUM, self.checksum())
        return bytes(self.raw)

    def tag_bytes(self) -> int:
        """journal_tag_bytes(): 16 with CSUM_V3, else 8 (+4 with 64BIT, +2 with CSUM_V2)."""
        if self.incompat & INCOMPAT_CSUM_V3:
            return 16
        size = 12 + (2 if self.incompat & INCOMPAT_CSUM_V2 else 0)
        return size if self.incompat & INCOMPAT_64BIT else size - 4

    def revoke_record_bytes(self) -> int:
        return 8 if self.incompat & INCOMPAT_64BIT else 4

    def tail_bytes(self) -> int:
        return TAIL_SIZE if self.csum_v2v3 else 0


def header(blocktype: int, sequence: int) -> bytes:
    return HEADER.pack(JBD2_MAGIC, blocktype, sequence)


def read_header(block: bytes | bytearray) -> tuple[int, int] | None:
    """(blocktype, sequence) of a journal block, or None if it has no jbd2 magic."""
    magic, btype, seq = HEADER.unpack_from(block, 0)
    return (btype, seq) if magic == JBD2_MAGIC else None


def block_tag_csum(js: JournalSuper, sequence: int, data: bytes | bytearray) -> int:
    """jbd2_block_tag_csum_set: crc32c over the big-endian sequence, then the block."""
    return crc32c(crc32c(js.csum_seed, struct.pack(">I", sequence)), bytes(data))


def set_tail_csum(js: JournalSuper, block: bytearray) -> None:
    """jbd2_descriptor_block_csum_set (also revoke blocks): crc32c of the block, tail zeroed."""
    if not js.csum_v2v3:
        return
    block[-TAIL_SIZE:] = bytes(TAIL_SIZE)
    struct.pack_into(">I", block, len(block) - TAIL_SIZE, crc32c(js.csum_seed, bytes(block)))


def tail_csum_ok(js: JournalSuper, block: bytes | bytearray) -> bool:
    if not js.csum_v2v3:
        return True
    b = bytearray(block)
    stored = be32(b, len(b) - TAIL_SIZE)
    b[-TAIL_SIZE:] = bytes(TAIL_SIZE)
    return crc32c(js.csum_seed, bytes(b)) == stored


@dataclass
class Tag:
    blocknr: int
    flags: int
    checksum: int


def pack_descriptor(js: JournalSuper, sequence: int, tags: list[Tag]) -> bytearray:
    """A descriptor block for `tags` (the caller makes sure they fit: tags_per_descriptor)."""
    bs = js.blocksize
    out = bytearray(bs)
    out[0:HEADER_SIZE] = header(DESCRIPTOR_BLOCK, sequence)
    off = HEADER_SIZE
    v3 = js.incompat & INCOMPAT_CSUM_V3
    for i, t in enumerate(tags):
        flags = t.flags | (FLAG_SAME_UUID if i else 0) | (FLAG_LAST_TAG if i == len(tags) - 1 else 0)
        if v3:
            struct.pack_into(">IIII", out, off, t.blocknr & 0xFFFFFFFF, flags, t.blocknr >> 32, t.checksum)
        else:
            struct.pack_into(">IHH", out, off, t.blocknr & 0xFFFFFFFF, t.checksum & 0xFFFF, flags)
            if js.incompat & INCOMPAT_64BIT:
                struct.pack_into(">I", out, off + 8, t.blocknr >> 32)
        off += js.tag_bytes()
        if i == 0:
            out[off:off + UUID_SIZE] = js.uuid
            off += UUID_SIZE
    set_tail_csum(js, out)
    return out


def tags_per_descriptor(js: JournalSuper) -> int:
    """How many tags one descriptor holds (the first one is followed by the UUID)."""
    room = js.blocksize - HEADER_SIZE - js.tail_bytes() - UUID_SIZE
    return room // js.tag_bytes()


def parse_tags(js: JournalSuper, block: bytes | bytearray) -> list[Tag]:
    """The tags of a descriptor block, up to the one flagged LAST_TAG (or the block's end)."""
    tags: list[Tag] = []
    off, end = HEADER_SIZE, len(block) - js.tail_bytes()
    size = js.tag_bytes()
    v3 = js.incompat & INCOMPAT_CSUM_V3
    while off + size <= end:
        if v3:
            lo, flags, hi, csum = struct.unpack_from(">IIII", block, off)
        else:
            lo, csum, flags = struct.unpack_from(">IHH", block, off)
            hi = struct.unpack_from(">I", block, off + 8)[0] if js.incompat & INCOMPAT_64BIT else 0
        tags.append(Tag(lo | (hi << 32 if js.incompat & INCOMPAT_64BIT else 0), flags, csum))
        off += size
        if not flags & FLAG_SAME_UUID:
            off += UUID_SIZE
        if flags & FLAG_LAST_TAG:
            break
    return tags


def pack_revoke(js: JournalSuper, sequence: int, blocks: list[int]) -> bytearray:
    out = bytearray(js.blocksize)
    out[0:HEADER_SIZE] = header(REVOKE_BLOCK, sequence)
    rec = js.revoke_record_bytes()
    off = REVOKE_HEADER_SIZE
    for b in blocks:
        struct.pack_into(">Q" if rec == 8 else ">I", out, off, b)
        off += rec
    struct.pack_into(">I", out, HEADER_SIZE, off)
    set_tail_csum(js, out)
    return out


def revokes_per_block(js: JournalSuper) -> int:
    return (js.blocksize - REVOKE_HEADER_SIZE - js.tail_bytes()) // js.revoke_record_bytes()


def parse_revoke(js: JournalSuper, block: bytes | bytearray) -> list[int]:
    count = min(be32(block, HEADER_SIZE), len(block) - js.tail_bytes())
    rec = js.revoke_record_bytes()
    fmt = ">Q" if rec == 8 else ">I"
    return [struct.unpack_from(fmt, block, off)[0] for off in range(REVOKE_HEADER_SIZE, count - rec + 1, rec)]


def pack_commit(js: JournalSuper, sequence: int, sec: int, nsec: int) -> bytearray:
    """struct commit_header; with CSUM_V2/V3, h_chksum[0] = crc32c of the block (jbd2_commit_block_csum_set)."""
    out = bytearray(js.blocksize)
    out[0:HEADER_SIZE] = header(COMMIT_BLOCK, sequence)
    struct.pack_into(">QI", out, _COMMIT_SEC, sec, nsec)
    if js.csum_v2v3:
        struct.pack_into(">I", out, 0x10, crc32c(js.csum_seed, bytes(out)))
    return out


def commit_csum_ok(js: JournalSuper, block: bytes | bytearray) -> bool:
    if not js.csum_v2v3:
        return True
    b = bytearray(block)
    stored = be32(b, 0x10)
    b[0x10:0x14] = bytes(4)         # h_chksum[0] (jbd2_commit_block_csum_verify)
    return crc32c(js.csum_seed, bytes(b)) == stored
