"""The page cache: one frame per page of a file, which *is* the file's contents in memory.

A file's cached pages (FilePages, hung on its inode as `inode.page_cache`) are keyed by
page index, not by version: every MAP_SHARED mapping of the file in every process maps
the same frame writable, and private mappings map it read-only until they write it
(copy-on-write, because the cache holds a reference of its own). Sharing also saves
time under TCG: QEMU keeps translated code per physical page, so code that stays in
the same frames is translated once, not at every exec.

Coherence with read(2)/write(2), exactly and with little work on those paths:
  * write(2) goes to the file and, through `after_write`, into the cached frames of the
    pages it touches (write-through): every mapping sees it at once.
  * A store through a mapping lands only in the frame. Pages a writable MAP_SHARED
    mapping maps are `maybe_dirty`; `before_read` writes those of the range being read
    back to the file first (only bytes that differ), so read(2) sees the store at once.
    A file with no such page pays one attribute test per read.
  * truncate (`truncate_file`) drops the pages past the new end, unmapping them (and
    private copies of them) from every address space that maps the file (`mappers`, a
    reverse map kept per file, not per page), and zeroes the partial page's tail. A later
    access past the end is SIGBUS, as on Linux (AddressSpace.fault).
Maybe-dirty pages reach the file at msync, munmap and exit (writeback.py), at fsync,
sync(2) and unmount (`write_back_superblock`, which the disk filesystems call before
flushing) and when the LRU evicts them. The LRU bound never drops a page some mapping
maps (the frame has other references).

TCG hazard (memory.py): QEMU does not see the host's stores into guest RAM, so the host
never writes in place into a frame that was ever mapped executable (`mem.exec_frames`):
write(2) and truncate give such a page a fresh copy, unmap the old frame everywhere
(the mappings fault the new one in) and release it to be scrubbed.

Pages of an exec'd program's segments (proc/exec.py) are cached apart, under keys
naming the file *version* (`file_version`): a segment's last page holds zeros past its
end rather than the file's next bytes, and those private pages are never written by
the host.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Callable, Hashable, Iterable
from weakref import WeakSet

from moss_host.addr import PA, PAGE_SIZE
from moss_host.errors import Errno
from moss_host.machine.hostmem import register_shrinker

if TYPE_CHECKING:
    from moss_host.fs.vfs import Inode, Superblock

    from .address_space import AddressSpace
    from .memory import Memory

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 8192          # frames (32 MiB)
PAGE_SHIFT = 12
EVICT_SCAN = 64               # mapped pages passed over per eviction before the bound gives way

# Files with maybe-dirty pages, for sync(2) and unmount: the disk filesystems ask here by
# superblock (they cannot reach the Memory that owns the cache).
_dirty_files: set["FilePages"] = set()


def file_version(inode) -> tuple:
    """What identifies the current contents of a regular file."""
    return (inode.sb.dev, inode.ino, inode.mtime_ns, inode.size)


class FilePages:
    """The cached pages of one file (Linux's address_space of an inode)."""

    def __init__(self, cache: "PageCache", inode: "Inode"):
        self.cache = cache
        self.inode = inode
        self.frames: dict[int, PA] = {}             # page index -> frame
        # Pages a writable MAP_SHARED mapping maps (or mapped since their last write-back):
        # their frame may hold stores the file does not have yet.
        self.maybe_dirty: set[int] = set()
        # Address spaces that have mapped some of the frames (the reverse map truncate and
        # a copy-before-write use; an entry may outlive its mappings, never the reverse).
        self.mappers: WeakSet["AddressSpace"] = WeakSet()

    def frame(self, index: int) -> PA:
        """The frame of page `index`, read from the file on a miss. The caller takes its own
        reference with mem.share()."""
        pa = self.frames.get(index)
        if pa is None:
            return self.cache.fill_file_page(self, index)
        self.cache.touch((self, index))
        return pa

    def mark_shared_writable(self, index: int) -> None:
        """A writable MAP_SHARED mapping maps page `index`: it may store into it."""
        if not self.maybe_dirty:
            _dirty_files.add(self)
        self.maybe_dirty.add(index)

    # -- read(2) and write(2)

    def write_back(self, first: int = 0, end: int | None = None) -> int:
        """Write maybe-dirty pages with index in [first, end) to the file; how many changed it."""
        dirty = self.maybe_dirty
        if end is not None and end - first < len(dirty):     # a read(2)'s few pages
            pages = [i for i in range(first, end) if i in dirty]
        else:
            pages = sorted(i for i in dirty if first <= i and (end is None or i < end))
        written = sum(self._write_back_page(i) for i in pages)
        if not self.maybe_dirty:
            _dirty_files.discard(self)
        return written

    def _write_back_page(self, index: int) -> bool:
        mem = self.cache.mem
        pa = self.frames.get(index)
        written = False
        if pa is not None:
            inode = self.inode
            offset = index << PAGE_SHIFT
            n = min(PAGE_SIZE, inode.size - offset)     # a mapping never extends its file
            data = mem.physmem.read(pa, n) if n > 0 else b""
            if data and inode.read(offset, n) != data:
                try:
                    inode.write(offset, data)
                    written = True
                except Errno as e:      # Linux records it for the next fsync; we can only say so
                    log.warning("page cache: writing back page %d of inode %d: %s", index, inode.ino, e)
            if mem.frames.get_ref(pa) > 1:
                return written          # still mapped: it may be stored into again
        self.maybe_dirty.discard(index)
        return written

    def stored(self, offset: int, data) -> None:
        """write(2) put `data` into the file at `offset`: the same bytes into cached frames."""
        view = memoryview(data).cast("B")
        end = offset + len(view)
        frames = self.frames
        first, last = offset >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT
        if last - first >= len(frames):
            touched: Iterable[int] = sorted(i for i in frames if first <= i <= last)
        else:
            touched = (i for i in range(first, last + 1) if i in frames)
        physmem = self.cache.mem.physmem
        for index in touched:
            page = index << PAGE_SHIFT
            lo, hi = max(offset, page), min(end, page + PAGE_SIZE)
            pa = self._frame_to_write(index)
            if pa is not None:
                physmem.write(PA(pa + lo - page), view[lo - offset:hi - offset])

    def truncated(self, old_size: int, new_size: int) -> None:
        """The file's size changed from old_size: no cached byte past the smaller of the two
        may survive (the file reads zeros there now)."""
        lo = min(old_size, new_size)
        keep = -(-lo // PAGE_SIZE)              # pages wholly before lo stay
        gone = {i: pa for i, pa in self.frames.items() if i >= keep}
        if new_size < old_size:
            self.unmap_past(keep)               # private copies too: an access is SIGBUS now
        elif gone:
            self.unmap_everywhere(gone)
        for index in gone:
            self._forget(index)
        partial = lo & (PAGE_SIZE - 1)
        if partial and (lo >> PAGE_SHIFT) in self.frames:
            pa = self._frame_to_write(lo >> PAGE_SHIFT)
            if pa is not None:
                self.cache.mem.physmem.zero(PA(pa + partial), PAGE_SIZE - partial)

    def _frame_to_write(self, index: int) -> PA | None:
        """The frame of page `index` for the host to store into: a fresh copy if the current
        one was ever mapped executable (QEMU would keep running its old translations). None
        if making room for the copy evicted the page (the file has the bytes: nothing to do)."""
        mem = self.cache.mem
        if self.frames[index] not in mem.exec_frames:
            return self.frames[index]
        new = mem.alloc_frame()                 # (under memory pressure this may evict the page)
        pa = self.frames.get(index)
        if pa is None:
            mem.release(new)
            return None
        mem.physmem.copy(new, pa, PAGE_SIZE)
        self.unmap_everywhere({index: pa})      # mappings fault the new frame in
        self.frames[index] = new
        mem.release(pa)                         # the cache's reference: scrubbed when the last goes
        return new

    def drop(self, index: int) -> None:
        """Take page `index` out of the cache and out of every mapping of it."""
        self.unmap_everywhere({index: self.frames[index]})
        self._forget(index)

    def _forget(self, index: int) -> None:
        pa = self.frames.pop(index)
        self.maybe_dirty.discard(index)
        if not self.maybe_dirty:
            _dirty_files.discard(self)
        self.cache.forget((self, index))
        self.cache.mem.release(pa)

    def unmap_past(self, first: int) -> None:
        """Every address space lets go of every page of this file from index `first` on, its
        own copy-on-write copies included (unmap_mapping_range with even_cows)."""
        inode = self.inode
        for mm in list(self.mappers):
            for vma in mm.vmas:
                if vma.backing is not None and vma.backing.inode is inode:
                    start = max(vma.start, vma.start + (first << PAGE_SHIFT) - vma.offset)
                    if start < vma.end:
                        for va in mm.resident_in(start, vma.end):
                            mm.drop_page(va)

    def unmap_everywhere(self, pages: dict[int, PA]) -> None:
        """Every address space mapping one of `pages` (index -> frame) as that page of this
        file lets it go (a private mapping's own copy of a page stays)."""
        inode = self.inode
        only = next(iter(pages)) if len(pages) == 1 else None
        for mm in list(self.mappers):
            resident = mm.resident
            for vma in mm.vmas:
                if vma.backing is None or vma.backing.inode is not inode:
                    continue
                if only is not None:            # one page: where it would be, no walk
                    va = vma.start + (only << PAGE_SHIFT) - vma.offset
                    candidates = [va] if vma.start <= va < vma.end else []
                else:
                    candidates = mm.resident_in(vma.start, vma.end)
                for va in candidates:
                    pa = resident.get(va)
                    if pa is not None and pages.get((vma.offset + va - vma.start) >> PAGE_SHIFT) == pa:
                        mm.drop_page(va)


def before_read(inode: "Inode", offset: int, n: int) -> None:
    """read(2) of [offset, offset + n) is about to read the file: stores through shared
    mappings reach it first."""
    pages = inode.page_cache
    if pages is not None and pages.maybe_dirty and n > 0:
        pages.write_back(offset >> PAGE_SHIFT, ((offset + n - 1) >> PAGE_SHIFT) + 1)


def after_write(inode: "Inode", offset: int, data, n: int) -> None:
    """write(2) put the first n bytes of data at offset in the file: cached pages show them too."""
    pages = inode.page_cache
    if pages is not None and pages.frames and n > 0:
        pages.stored(offset, memoryview(data)[:n])


def truncate_file(inode: "Inode", size: int) -> None:
    """inode.truncate(size) with the cached pages past the new end dropped."""
    old = inode.size
    inode.truncate(size)
    pages = inode.page_cache
    if pages is not None and pages.frames:
        pages.truncated(old, size)


def write_back_superblock(sb: "Superblock") -> None:
    """Stores through shared mappings of the filesystem's files reach them (sync, unmount)."""
    for pages in [p for p in _dirty_files if p.inode.sb is sb]:
        pages.write_back()


class PageCache:
    """Every cached page, in least-recently-used order, under one bound."""

    def __init__(self, mem: "Memory", limit: int = DEFAULT_LIMIT):
        self.mem = mem
        self.limit = limit
        # (FilePages, index) for a file's page, or a backing's own key (exec segments).
        self._pages: OrderedDict[Hashable, PA] = OrderedDict()
        self.hits = self.misses = 0
        register_shrinker(self.drop_unmapped)      # /proc/sys/vm/drop_caches

    def drop_unmapped(self) -> int:
        """drop_caches: every page no mapping maps goes (dirty ones written back first)."""
        return self._evict(len(self._pages), len(self._pages))

    def __len__(self) -> int:
        return len(self._pages)

    def pages_of(self, inode: "Inode") -> FilePages:
        """The file's cached pages (made on first use)."""
        pages = inode.page_cache
        if pages is None or pages.cache is not self:
            pages = inode.page_cache = FilePages(self, inode)
        return pages

    def touch(self, key: Hashable) -> None:
        self._pages.move_to_end(key)
        self.hits += 1

    def forget(self, key: Hashable) -> None:
        self._pages.pop(key, None)

    def fill_file_page(self, pages: FilePages, index: int) -> PA:
        offset = index << PAGE_SHIFT
        pa = self._fill((pages, index), lambda: pages.inode.read(offset, PAGE_SIZE))
        pages.frames[index] = pa
        return pa

    def frame(self, key: Hashable, fill: Callable[[], bytes]) -> PA:
        """The frame cached under `key`, filled by fill() (at most a page; the rest is zero)
        on a miss. The caller takes its own reference with mem.share()."""
        pa = self._pages.get(key)
        if pa is not None:
            self.touch(key)
            return pa
        return self._fill(key, fill)

    def _fill(self, key: Hashable, fill: Callable[[], bytes]) -> PA:
        self.misses += 1
        data = fill()
        excess = len(self._pages) + 1 - max(self.limit, 1)
        if excess > 0:                  # room first: the new page is not mapped yet
            self._evict(excess, EVICT_SCAN)
        mem = self.mem
        pa = mem.alloc_frame()
        mem.physmem.write(pa, data)
        if len(data) < PAGE_SIZE:
            mem.physmem.zero(PA(pa + len(data)), PAGE_SIZE - len(data))
        self._pages[key] = pa
        return pa

    def shrink(self, frames: int) -> int:
        """Give back up to `frames` pages (memory pressure); how many went."""
        return self._evict(frames, len(self._pages))

    def _evict(self, count: int, scan: int) -> int:
        """Drop up to `count` of the least recently used pages no mapping maps, writing dirty
        ones back first; mapped pages met on the way (at most `scan`) become the newest."""
        pages, get_ref = self._pages, self.mem.frames.get_ref
        evicted = 0
        while evicted < count and pages and scan >= 0:
            key, pa = next(iter(pages.items()))
            if get_ref(pa) > 1:                     # mapped somewhere: in use, keep it
                pages.move_to_end(key)
                scan -= 1
                continue
            if isinstance(key, tuple) and isinstance(key[0], FilePages):
                owner, index = key
                owner.write_back(index, index + 1)
                owner.drop(index)
            else:
                del pages[key]
                self.mem.release(pa)
            evicted += 1
        return evicted
