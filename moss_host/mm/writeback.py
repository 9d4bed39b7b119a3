"""Writing shared file mappings back to their files (msync, munmap, exit).

A MAP_SHARED mapping of a file maps the page cache's frames (page_cache.py), so its
stores are the file's contents at once for every other mapping and for read(2). What
is left here is getting them into the file's own data (and so to disk): msync(2), and
also munmap(2) and the end of an address space (exit, exec), as early points where
the data is known to be final. A page is written only if it differs from the file, so
a mapping that was only read leaves the file (and its mtime) alone, as Linux's dirty
tracking does. fsync, sync(2), unmount and cache eviction write back the rest
(page_cache.write_back_superblock, PageCache eviction).
"""
from __future__ import annotations

from moss_host.addr import PAGE_SIZE, USER_VA_END

from .page_cache import PAGE_SHIFT


def write_back(mm, start: int = 0, end: int = USER_VA_END) -> int:
    """Write the modified pages of shared file mappings in [start, end); how many were written."""
    written = 0
    for vma in mm.vmas.overlapping(start, end):
        inode = vma.backing.inode if vma.backing is not None else None
        pages = inode.page_cache if inode is not None else None
        if not vma.shared or pages is None or not pages.maybe_dirty:
            continue
        lo, hi = max(start, vma.start), min(end, vma.end)
        first = (vma.offset + lo - vma.start) >> PAGE_SHIFT
        written += pages.write_back(first, first + (hi - lo + PAGE_SIZE - 1) // PAGE_SIZE)
    return written


def sync_files(mm, start: int, end: int) -> None:
    """msync(MS_SYNC): also ask each file's filesystem to write its blocks out (ext4)."""
    for vma in mm.vmas.overlapping(start, end):
        inode = vma.backing.inode if vma.backing is not None else None
        if vma.shared and inode is not None:
            inode.sb.sync()
