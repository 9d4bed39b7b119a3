"""Shared anonymous memory: the pages behind a MAP_SHARED | MAP_ANONYMOUS mapping.

Every address space that maps the object (the mapper and its forked children) maps the
same frame for a page offset, so stores by one are seen by all: the object holds one
reference per frame, each mapping holds its own. The object lives as long as some VMA
refers to it (VMAs are its only owners, so CPython frees it as the last one goes), and
then gives its frames back.
"""
from __future__ import annotations

import itertools

from moss_host.addr import PA

from .backing import Backing

# Linux backs such a mapping with an unlinked file of its internal shmem mount, device 0:1,
# whose inode numbers come from a counter (get_next_ino).
SHMEM_MINOR = 1
_shmem_inos = itertools.count(1)


class SharedAnon(Backing):
    name = "/dev/zero (deleted)"          # how Linux names such a mapping in /proc/pid/maps

    def __init__(self, mem):
        self.mem = mem
        self.frames: dict[int, PA] = {}   # page offset in the object -> frame
        self.ino = next(_shmem_inos)

    def maps_ids(self) -> tuple[int, int, int]:
        return 0, SHMEM_MINOR, self.ino

    def shared_frame(self, offset: int) -> PA:
        """The frame of the page at `offset`, zero-filled the first time anyone touches it."""
        pa = self.frames.get(offset)
        if pa is None:
            pa = self.frames[offset] = self.mem.alloc_zeroed()
        return pa

    def has_page(self, offset: int) -> bool:
        return offset in self.frames

    def read(self, offset: int, n: int) -> bytes:
        pa = self.frames.get(offset)
        return bytes(n) if pa is None else self.mem.physmem.read(pa, n)

    def __del__(self):
        frames, self.frames = self.frames, {}
        for pa in frames.values():
            self.mem.release(pa)
