"""Journal recovery: the three passes of jbd2's do_one_pass (fs/jbd2/recovery.c).

SCAN walks the log from s_start while each block carries the jbd2 magic and the
expected sequence, and finds the end: the first transaction without a valid commit
block. REVOKE collects each revoked block with the newest transaction revoking it.
REPLAY writes every logged block of the complete transactions to its home location,
unless a revoke from the same or a later transaction cancels it; a block whose tag
checksum is wrong is skipped, as Linux does. Afterwards the journal is marked empty
(s_start 0) with the sequence moved past everything seen.
"""
from __future__ import annotations

import logging
from typing import Callable

from . import journal_format as F

log = logging.getLogger(__name__)

ReadLog = Callable[[int], bytes]                     # journal-relative block -> contents
WriteHome = Callable[[int, bytes], None]             # filesystem block, contents


class JournalCorrupt(Exception):
    """The log cannot be replayed (bad checksum in a committed transaction's metadata)."""


class Recovery:
    def __init__(self, js: F.JournalSuper, read_log: ReadLog):
        self.js = js
        self.read_log = read_log
        self.end_transaction = js.sequence       # first sequence NOT to replay
        self.revoked: dict[int, int] = {}        # block -> newest revoking sequence
        self.replayed = 0                         # blocks written home
        self.bad_blocks = 0                       # skipped for a wrong tag checksum

    def _wrap(self, blk: int) -> int:
        return blk - (self.js.maxlen - self.js.first) if blk >= self.js.maxlen else blk

    def scan(self) -> None:
        """PASS_SCAN: how far the committed log goes."""
        seq, blk = self.js.sequence, self.js.start
        walked, size = 0, self.js.maxlen - self.js.first
        while walked < size:                # a damaged log never makes the scan go round forever
            block = self.read_log(blk)
            hdr = F.read_header(block)
            if hdr is None or hdr[1] != seq:
                break
            btype = hdr[0]
            blk = self._wrap(blk + 1)
            walked += 1
            if btype == F.DESCRIPTOR_BLOCK:
                if not F.tail_csum_ok(self.js, block):
                    break
                ntags = len(F.parse_tags(self.js, block))
                blk = self._wrap(blk + ntags)
                walked += ntags
            elif btype == F.COMMIT_BLOCK:
                if not F.commit_csum_ok(self.js, block):
                    break
                seq += 1
            elif btype != F.REVOKE_BLOCK:
                break
        self.end_transaction = seq

    def _walk(self, on_descriptor: Callable[[int, bytes, int], int], on_revoke: Callable[[int, bytes], None]) -> None:
        """Walk the complete transactions, calling back for descriptor and revoke blocks."""
        seq, blk = self.js.sequence, self.js.start
        while seq != self.end_transaction:
            block = self.read_log(blk)
            hdr = F.read_header(block)
            if hdr is None or hdr[1] != seq:
                raise JournalCorrupt(f"journal block {blk} changed between passes")
            blk = self._wrap(blk + 1)
            if hdr[0] == F.DESCRIPTOR_BLOCK:
                blk = on_descriptor(seq, block, blk)
            elif hdr[0] == F.REVOKE_BLOCK:
                on_revoke(seq, block)
            elif hdr[0] == F.COMMIT_BLOCK:
                seq += 1

    def collect_revokes(self) -> None:
        """PASS_REVOKE."""
        def on_revoke(seq: int, block: bytes) -> None:
            if not F.tail_csum_ok(self.js, block):
                raise JournalCorrupt("revoke block checksum is wrong")
            for b in F.parse_revoke(self.js, block):
                if self.revoked.get(b, seq - 1) < seq:
                    self.revoked[b] = seq

        self._walk(lambda seq, block, blk: self._wrap(blk + len(F.parse_tags(self.js, block))), on_revoke)

    def replay(self, write_home: WriteHome) -> None:
        """PASS_REPLAY."""
        def on_descriptor(seq: int, block: bytes, blk: int) -> int:
            for tag in F.parse_tags(self.js, block):
                data = bytearray(self.read_log(blk))
                blk = self._wrap(blk + 1)
                if self.revoked.get(tag.blocknr, seq - 1) >= seq:
                    continue
                if not self._tag_ok(tag, seq, data):
                    self.bad_blocks += 1
                    log.warning("jbd2: invalid checksum recovering block %d in transaction %d", tag.blocknr, seq)
                    continue
                if tag.flags & F.FLAG_ESCAPE:
                    data[0:4] = F.MAGIC_BYTES
                write_home(tag.blocknr, bytes(data))
                self.replayed += 1
            return blk

        self._walk(on_descriptor, lambda seq, block: None)

    def _tag_ok(self, tag: F.Tag, seq: int, data: bytes | bytearray) -> bool:
        if self.js.incompat & F.INCOMPAT_CSUM_V3:
            return F.block_tag_csum(self.js, seq, data) == tag.checksum
        if self.js.incompat & F.INCOMPAT_CSUM_V2:
            return F.block_tag_csum(self.js, seq, data) & 0xFFFF == tag.checksum
        return True


def recover(js: F.JournalSuper, read_log: ReadLog, write_home: WriteHome) -> Recovery:
    """Replay a journal whose s_start is set; the caller then marks it empty (mark_empty)."""
    r = Recovery(js, read_log)
    if js.start:
        r.scan()
        r.collect_revokes()
        r.replay(write_home)
    return r


def mark_empty(js: F.JournalSuper, next_sequence: int) -> bytes:
    """The superblock of a journal with nothing to replay, the next transaction numbered past
    every one seen (jbd2_journal_recover skips one, so stale blocks never match)."""
    js.start = 0
    js.sequence = next_sequence & 0xFFFFFFFF
    return js.pack()


