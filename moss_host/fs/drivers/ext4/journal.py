"""The ext4 journal (jbd2) as this driver writes it: ordered mode, one transaction per commit.

Changes collect in the block device's cache between commits (Ext4Superblock.write_back).
A commit, as jbd2_journal_commit_transaction in ordered mode:
  1. the file data blocks go to their home locations (ordered: before the metadata that
     points at them commits);
  2. descriptor blocks, a copy of every changed metadata block, and a revoke block for
     logged metadata blocks that became file data, go to the log; a barrier (fsync);
  3. the commit block; a barrier: the transaction is durable, fsync(2) may return;
  4. the metadata blocks go to their home locations (the checkpoint, done at once here).
When the log has no room for the next transaction, a barrier makes the checkpointed
blocks durable and the journal superblock's s_start/s_sequence move up to the head
(jbd2_cleanup_journal_tail). While mounted, s_start is non-zero and the filesystem
carries needs_recovery; unmount empties the log (s_start 0), as jbd2_journal_destroy.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Iterable, Mapping

from ....errors import EINVAL, EIO, EROFS, Errno
from ...blockdev import BlockDevice
from . import journal_format as F
from .journal_replay import JournalCorrupt, mark_empty, recover
from .superblock import now_seconds

if TYPE_CHECKING:
    from .runs import Runs

log = logging.getLogger(__name__)


class JournalMap:
    """The journal inode's blocks: journal-relative block -> filesystem block."""

    def __init__(self, dev: BlockDevice, runs: "Runs", length: int):
        self.dev = dev
        self.pblk: list[int] = []
        for r in runs:
            if r.lblk != len(self.pblk) or r.uninit:
                raise Errno(EINVAL, "ext4: the journal inode has holes")
            self.pblk.extend(range(r.pblk, r.pblk + r.length))
        if len(self.pblk) < length:
            raise Errno(EINVAL, "ext4: the journal inode is shorter than its superblock says")

    def read(self, jblk: int) -> bytes:
        if not 0 <= jblk < len(self.pblk):
            raise Errno(EIO, f"ext4: journal block {jblk} out of range")
        return self.dev.pread(self.pblk[jblk] * self.dev.block_size, self.dev.block_size)

    def write(self, jblk: int, data: bytes | bytearray) -> None:
        self.dev.write_through(self.pblk[jblk], data)


def load_super(jmap: JournalMap, block_size: int) -> F.JournalSuper:
    try:
        js = F.JournalSuper.parse(jmap.read(0))
    except ValueError:
        raise Errno(EINVAL, "ext4: the journal has no jbd2 superblock") from None
    if js.blocksize != block_size or not 0 < js.first < js.maxlen or js.maxlen > len(jmap.pblk):
        raise Errno(EINVAL, "ext4: the journal superblock has an impossible geometry")
    if not js.checksum_ok():
        raise Errno(EINVAL, "ext4: the journal superblock checksum is wrong; run e2fsck")
    if js.incompat & ~F.KNOWN_INCOMPAT:
        raise Errno(EINVAL, f"ext4: unsupported journal features {js.incompat & ~F.KNOWN_INCOMPAT:#x}")
    return js


def replay_journal(jmap: JournalMap, block_size: int) -> int:
    """Recover a journal left dirty (by a crash of this kernel or of Linux) and mark it
    empty; returns the blocks written home. The caller re-reads everything it cached."""
    js = load_super(jmap, block_size)
    dev = jmap.dev
    try:
        r = recover(js, jmap.read, dev.write_through)
    except JournalCorrupt as e:
        raise Errno(EIO, f"ext4: journal recovery failed: {e}; run e2fsck") from None
    dev.barrier()
    jmap.write(0, mark_empty(js, r.end_transaction + 1))
    dev.barrier()
    log.info("ext4: journal recovered: %d blocks replayed up to transaction %d", r.replayed, r.end_transaction)
    return r.replayed


class Journal:
    """The running journal of a read-write mount."""

    def __init__(self, jmap: JournalMap, block_size: int, fs_64bit: bool, metadata_csum: bool):
        self.jmap = jmap
        self.dev = jmap.dev
        js = self.js = load_super(jmap, block_size)
        if js.start:            # a remount read-write of a filesystem mounted with a dirty log
            raise Errno(EROFS, "ext4: the journal needs recovery: mount the filesystem read-write afresh")
        # What Linux sets when it loads a journal for ext4 (ext4_fill_super, set_journal_csum_feature_set).
        if js.blocktype == F.SUPERBLOCK_V2:
            js.incompat |= F.INCOMPAT_REVOKE | (F.INCOMPAT_64BIT if fs_64bit else 0)
            if metadata_csum:
                js.incompat = (js.incompat | F.INCOMPAT_CSUM_V3) & ~(F.INCOMPAT_CSUM_V2 | F.INCOMPAT_ASYNC_COMMIT)
                js.compat &= ~F.COMPAT_CHECKSUM
                js.checksum_type = F.JBD2_CRC32C_CHKSUM
        self.first, self.last = js.first, js.maxlen
        self.head = self.first                  # where the next transaction goes
        self.sequence = js.sequence             # the next transaction's number
        self.logged: set[int] = set()           # blocks logged in the live part of the log
        self.commits = 0
        self._move_tail()

    @property
    def size(self) -> int:
        return self.last - self.first

    def _free(self, tail: int) -> int:
        used = (self.head - tail) % self.size
        return self.size - used - 1

    def checkpoint(self) -> None:
        """Empty the live log (everything logged is home): the caller then writes in place."""
        self._move_tail()

    def _move_tail(self) -> None:
        """Everything logged so far is home and durable: the log restarts at the head."""
        self.dev.barrier()
        self.js.start, self.js.sequence = self.head, self.sequence
        self.jmap.write(0, self.js.pack())
        self.dev.barrier()
        self.tail = self.head
        self.logged.clear()

    def _blocks_needed(self, nmeta: int, nrevoke: int) -> int:
        per = F.tags_per_descriptor(self.js)
        rev = F.revokes_per_block(self.js)
        return -(-nmeta // per) + nmeta + -(-nrevoke // rev) + 1

    def fits(self, nmeta: int) -> bool:
        """Can a transaction of nmeta metadata blocks ever be logged (with room for revokes)?"""
        return self._blocks_needed(nmeta, nmeta) < self.size // 2

    def commit(self, meta: Mapping[int, bytes | bytearray], data: Iterable[int]) -> None:
        """Write one transaction: `data` home first, then `meta` through the log, then home."""
        dev = self.dev
        data = sorted(data)
        for blk in data:
            dev.write_through(blk, dev.cache[blk])
        if not meta:
            dev.barrier()
            return
        revoke = sorted(b for b in data if b in self.logged)
        if self._blocks_needed(len(meta), len(revoke)) > self._free(self.tail):
            self._move_tail()
            revoke = []
        seq = self.sequence
        self._write_log(seq, meta, revoke)
        dev.barrier()
        now = now_seconds()
        self._put(F.pack_commit(self.js, seq, now, 0))
        dev.barrier()
        for blk in sorted(meta):                # the checkpoint
            dev.write_through(blk, meta[blk])
        self.logged.update(meta)
        self.sequence = (seq + 1) & 0xFFFFFFFF
        self.commits += 1

    def _put(self, block: bytes | bytearray) -> None:
        self.jmap.write(self.head, block)
        self.head += 1
        if self.head >= self.last:
            self.head = self.first

    def _write_log(self, seq: int, meta: Mapping[int, bytes | bytearray], revoke: list[int]) -> None:
        per = F.tags_per_descriptor(self.js)
        blocks = sorted(meta)
        for i in range(0, len(blocks), per):
            chunk = blocks[i:i + per]
            tags, copies = [], []
            for blk in chunk:
                data = bytes(meta[blk])
                flags = 0
                if data[:4] == F.MAGIC_BYTES:       # would look like a journal block: escaped
                    data, flags = bytes(4) + data[4:], F.FLAG_ESCAPE
                csum = F.block_tag_csum(self.js, seq, data) if self.js.csum_v2v3 else 0
                tags.append(F.Tag(blk, flags, csum))
                copies.append(data)
            self._put(F.pack_descriptor(self.js, seq, tags))
            for c in copies:
                self._put(c)
        per_rev = F.revokes_per_block(self.js)
        for i in range(0, len(revoke), per_rev):
            self._put(F.pack_revoke(self.js, seq, revoke[i:i + per_rev]))

    def close(self) -> None:
        """Unmount: everything is home; the log is empty (jbd2_mark_journal_empty)."""
        self.dev.barrier()
        self.jmap.write(0, mark_empty(self.js, self.sequence))
        self.dev.barrier()
