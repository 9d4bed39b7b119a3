"""The page cache: one frame per page of file contents, shared by every mapping of it.

Every process running BusyBox maps the same text pages, so they share frames instead
of each copying the file again. That saves memory and, more importantly under TCG,
time: QEMU keeps its translated code per physical page, so a program whose code
stays in the same frames is translated once, not at every exec.

Private mappings get cached frames read-only; the first write copies the page
(copy-on-write, because the cache holds a reference of its own). Keys name the file
*version* (device, inode, mtime, size), so a rewritten file gets new pages and the
old ones age out. The cache is bounded and drops its least recently used pages.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Hashable

from moss_host.addr import PA, PAGE_SIZE

DEFAULT_LIMIT = 8192          # frames (32 MiB)


def file_version(inode) -> tuple:
    """What identifies the current contents of a regular file."""
    return (inode.sb.dev, inode.ino, inode.mtime_ns, inode.size)


class PageCache:
    def __init__(self, mem, limit: int = DEFAULT_LIMIT):
        self.mem = mem
        self.limit = limit
        self._pages: OrderedDict[Hashable, PA] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._pages)

    def frame(self, key: Hashable, fill: Callable[[], bytes]) -> PA:
        """The frame holding page `key`, filled by fill() (at most a page; the rest is zero)
        on a miss. The caller takes its own reference with mem.share()."""
        pa = self._pages.get(key)
        if pa is not None:
            self._pages.move_to_end(key)
            self.hits += 1
            return pa
        self.misses += 1
        data = fill()
        pa = self.mem.alloc_frame()
        self.mem.physmem.write(pa, data)
        if len(data) < PAGE_SIZE:
            self.mem.physmem.zero(pa + len(data), PAGE_SIZE - len(data))
        self._pages[key] = pa
        while len(self._pages) > max(self.limit, 1):      # never the page just filled
            self._evict_oldest()
        return pa

    def _evict_oldest(self) -> None:
        _, pa = self._pages.popitem(last=False)
        self.mem.release(pa)            # mappings keep the frame alive until they go

    def shrink(self, frames: int) -> int:
        """Give back up to `frames` pages (memory pressure); how many went."""
        n = min(frames, len(self._pages))
        for _ in range(n):
            self._evict_oldest()
        return n
