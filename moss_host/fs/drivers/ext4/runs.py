"""A file's block mapping held in memory as a sorted list of runs (logical block, length,
physical block, uninitialised?), whatever the on-disk form (extent tree or ext2 block map).

Readers turn the on-disk form into runs; writers rebuild the on-disk form from runs.
Edits are `punch` (unmap a range, returning the physical runs freed) and `insert`
(map an unmapped range), which merges neighbours the way ext4_ext_try_to_merge does.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

EXT_INIT_MAX_LEN = 1 << 15          # longest initialised extent (ee_len <= 32768)
EXT_UNWRITTEN_MAX_LEN = (1 << 15) - 1


@dataclass
class Run:
    lblk: int
    length: int
    pblk: int
    uninit: bool = False

    @property
    def end(self) -> int:
        return self.lblk + self.length


class Runs:
    def __init__(self, runs: list[Run] | None = None):
        self._runs: list[Run] = sorted(runs or [], key=lambda r: r.lblk)
        self._starts: list[int] | None = None       # r.lblk of each run, for bisect; rebuilt after edits

    @property
    def runs(self) -> list[Run]:
        return self._runs

    @runs.setter
    def runs(self, value: list[Run]) -> None:
        self._runs = value
        self._starts = None

    def __iter__(self):
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    def _index(self, lblk: int) -> int:
        """Index of the last run starting at or before lblk (-1 if none)."""
        if self._starts is None:
            self._starts = [r.lblk for r in self._runs]
        return bisect.bisect_right(self._starts, lblk) - 1

    def lookup(self, lblk: int) -> tuple[int, bool] | None:
        """(physical block, uninitialised) of logical block lblk, or None for a hole."""
        i = self._index(lblk)
        if i >= 0 and lblk < self.runs[i].end:
            r = self.runs[i]
            return r.pblk + lblk - r.lblk, r.uninit
        return None

    def next_mapped(self, lblk: int) -> int | None:
        """First mapped logical block >= lblk (to size a hole)."""
        for r in self.runs[max(0, self._index(lblk)):]:
            if r.end > lblk:
                return max(r.lblk, lblk)
        return None

    def punch(self, start: int, end: int) -> list[tuple[int, int]]:
        """Unmap logical blocks [start, end); return the freed (pblk, count) runs."""
        freed, keep = [], []
        for r in self.runs:
            if r.end <= start or r.lblk >= end:
                keep.append(r)
                continue
            lo, hi = max(r.lblk, start), min(r.end, end)
            freed.append((r.pblk + lo - r.lblk, hi - lo))
            if r.lblk < lo:
                keep.append(Run(r.lblk, lo - r.lblk, r.pblk, r.uninit))
            if hi < r.end:
                keep.append(Run(hi, r.end - hi, r.pblk + hi - r.lblk, r.uninit))
        self.runs = sorted(keep, key=lambda r: r.lblk)
        return freed

    def insert(self, lblk: int, pblk: int, length: int, uninit: bool = False) -> None:
        """Map the (unmapped) range [lblk, lblk+length) to pblk..., merging with neighbours."""
        i = self._index(lblk) + 1
        self.runs.insert(i, Run(lblk, length, pblk, uninit))
        self._starts = None
        self._merge(i)
        if i > 0:
            self._merge(i - 1)

    def _merge(self, i: int) -> None:
        """Merge run i with run i+1 when contiguous both ways and short enough."""
        if i + 1 >= len(self.runs):
            return
        a, b = self.runs[i], self.runs[i + 1]
        limit = EXT_UNWRITTEN_MAX_LEN if a.uninit else EXT_INIT_MAX_LEN
        if (a.end == b.lblk and a.pblk + a.length == b.pblk and a.uninit == b.uninit
                and a.length + b.length <= limit):
            a.length += b.length
            del self.runs[i + 1]
            self._starts = None

    def mapped_blocks(self) -> int:
        return sum(r.length for r in self.runs)

    def last_pblk(self, before: int) -> int | None:
        """Physical block just after the mapping of the last run starting below `before`
        (the allocation goal that keeps a file contiguous)."""
        i = self._index(before - 1) if before > 0 else -1
        if i < 0:
            return None
        r = self.runs[i]
        return r.pblk + min(r.length, before - r.lblk)
