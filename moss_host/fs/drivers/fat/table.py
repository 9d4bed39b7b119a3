"""The file allocation table: cluster chains, allocation, free counting.

The first FAT copy is read whole into memory at mount (`entries`, one int per cluster);
changes are remembered by FAT sector and written to every copy at write-back, so the
copies stay equal (fsck.fat compares them). FAT32 entries keep their top 4 reserved bits.
"""
from __future__ import annotations

import struct
from typing import Callable

from ....errors import EIO, ENOSPC, Errno
from .bpb import BootSector

FREE = 0


class Fat:
    def __init__(self, bs: BootSector, read_sector: Callable[[int], bytes]):
        self.bs = bs
        self.bits = bs.fat_bits
        self.eoc = {12: 0xFFF, 16: 0xFFFF, 32: 0x0FFFFFFF}[self.bits]
        self.bad = self.eoc - 8
        self.max_cluster = bs.cluster_count + 1                 # clusters are 2..max_cluster
        nbytes = (self.max_cluster + 1) * self.bits // 8 + 2
        nsec = min(bs.fat_size, (nbytes + bs.bytes_per_sector - 1) // bs.bytes_per_sector)
        self.raw = bytearray(b"".join(read_sector(bs.first_fat_sector + i) for i in range(nsec)))
        n = self.max_cluster + 1
        if self.bits == 32:
            self.entries = [v & 0x0FFFFFFF for (v,) in struct.iter_unpack("<I", self.raw[:4 * n])]
        elif self.bits == 16:
            self.entries = [v for (v,) in struct.iter_unpack("<H", self.raw[:2 * n])]
        else:
            self.entries = [self._get_raw(c) for c in range(n)]
        self.dirty_sectors: set[int] = set()                    # sector index within one FAT copy
        self.free_count = self.entries.count(FREE) - (self.entries[0] == FREE) - (self.entries[1] == FREE)
        self.next_free = 2                                      # allocation hint

    # -- raw encoding
    def _get_raw(self, c: int) -> int:
        raw = self.raw
        if self.bits == 32:
            i = c * 4
            return int.from_bytes(raw[i:i + 4], "little") & 0x0FFFFFFF
        if self.bits == 16:
            return raw[c * 2] | raw[c * 2 + 1] << 8
        i = c * 3 // 2
        v = raw[i] | raw[i + 1] << 8
        return v >> 4 if c & 1 else v & 0xFFF

    def _set_raw(self, c: int, value: int) -> None:
        raw = self.raw
        if self.bits == 32:
            i = c * 4
            old = int.from_bytes(raw[i:i + 4], "little")
            raw[i:i + 4] = ((old & 0xF0000000) | value).to_bytes(4, "little")
            span = (i, i + 3)
        elif self.bits == 16:
            i = c * 2
            raw[i:i + 2] = value.to_bytes(2, "little")
            span = (i, i + 1)
        else:
            i = c * 3 // 2
            v = raw[i] | raw[i + 1] << 8
            v = (v & 0x000F) | (value << 4) if c & 1 else (v & 0xF000) | value
            raw[i], raw[i + 1] = v & 0xFF, v >> 8
            span = (i, i + 1)
        ss = self.bs.bytes_per_sector
        self.dirty_sectors.update((span[0] // ss, span[1] // ss))

    # -- entries
    def get(self, c: int) -> int:
        return self.entries[c]

    def set(self, c: int, value: int) -> None:
        old = self.entries[c]
        if old == value:
            return
        if old == FREE:
            self.free_count -= 1
        if value == FREE:
            self.free_count += 1
        self.entries[c] = value
        self._set_raw(c, value)

    def is_eoc(self, value: int) -> bool:
        return value >= self.eoc - 7

    def chain(self, first: int) -> list[int]:
        """The clusters of a chain starting at `first` (0: empty); EIO on a broken or looping chain."""
        out: list[int] = []
        c = first
        limit = self.max_cluster
        while c != 0:
            if not 2 <= c <= limit or len(out) > limit:
                raise Errno(EIO, f"fat: bad cluster chain starting at {first} (cluster {c})")
            out.append(c)
            nxt = self.entries[c]
            if self.is_eoc(nxt):
                break
            if nxt == FREE or nxt == self.bad:
                raise Errno(EIO, f"fat: cluster chain starting at {first} runs into a free or bad cluster")
            c = nxt
        return out

    # -- allocation
    def alloc(self, n: int, after: int = 0) -> list[int]:
        """Allocate n clusters as one chain, linked after cluster `after` (0: a new chain).
        Tries the clusters right after `after` first, then the next-free hint."""
        if n <= 0:
            return []
        if n > self.free_count:
            raise Errno(ENOSPC)
        got: list[int] = []
        c = after + 1 if after else self.next_free
        span = self.max_cluster - 1
        scanned = 0
        while len(got) < n:
            if not 2 <= c <= self.max_cluster:
                c = 2
            if self.entries[c] == FREE:
                got.append(c)
                self.entries[c] = -1            # reserved while we collect
            c += 1
            scanned += 1
            if scanned > span + 1:
                break
        if len(got) < n:                        # cannot happen with a right free_count
            for g in got:
                self.entries[g] = FREE
            raise Errno(ENOSPC)
        for a, b in zip(got, got[1:]):
            self.entries[a] = FREE
            self.set(a, b)
        self.entries[got[-1]] = FREE
        self.set(got[-1], self.eoc)
        if after:
            self.set(after, got[0])
        self.next_free = got[-1] + 1 if got[-1] < self.max_cluster else 2
        return got

    def free_chain(self, first: int) -> None:
        for c in self.chain(first):
            self.set(c, FREE)

    def cut_after(self, last: int) -> None:
        """Make `last` the end of its chain and free everything after it."""
        nxt = self.entries[last]
        self.set(last, self.eoc)
        if not self.is_eoc(nxt) and nxt != FREE:
            self.free_chain(nxt)

    # -- write-back
    def write_back(self, write_sector: Callable[[int, bytes], None]) -> None:
        """Copy the changed FAT sectors into every FAT copy."""
        ss = self.bs.bytes_per_sector
        for s in sorted(self.dirty_sectors):
            data = bytes(self.raw[s * ss:(s + 1) * ss])
            for copy in range(self.bs.num_fats):
                write_sector(self.bs.first_fat_sector + copy * self.bs.fat_size + s, data)
        self.dirty_sectors.clear()
