"""Writing shared file mappings back to their files (MAP_SHARED, msync).

A MAP_SHARED mapping of a file gets frames of its own, filled from the file; stores
through the mapping land there, and reach the file when the mapping is synced:
msync(2), munmap(2), and when the address space goes (exit, exec). A page is written
only if it differs from the file, so a mapping that was only read leaves the file (and
its mtime) alone, as Linux's dirty tracking does.

Known difference from Linux, where the page cache *is* the file: read(2) of the file
sees a mapping's stores only after one of those syncs, and two processes that map the
same file separately (not through fork) do not see each other's stores until then.
"""
from __future__ import annotations

from moss_host.addr import PAGE_SIZE, USER_VA_END


def write_back(mm, start: int = 0, end: int = USER_VA_END) -> int:
    """Write the modified pages of shared file mappings in [start, end); how many were written."""
    written = 0
    physmem = mm.mem.physmem
    for vma in mm.vmas.overlapping(start, end):
        inode = vma.backing.inode if vma.backing is not None else None
        if not vma.shared or inode is None:
            continue
        for va in mm.resident_in(max(start, vma.start), min(end, vma.end)):
            offset = vma.offset + (va - vma.start)
            n = min(PAGE_SIZE, inode.size - offset)     # a mapping never extends its file
            if n <= 0:
                continue
            data = physmem.read(mm.resident[va], n)
            if inode.read(offset, n) != data:
                inode.write(offset, data)
                written += 1
    return written


def sync_files(mm, start: int, end: int) -> None:
    """msync(MS_SYNC): also ask each file's filesystem to write its blocks out (ext4)."""
    for vma in mm.vmas.overlapping(start, end):
        inode = vma.backing.inode if vma.backing is not None else None
        if vma.shared and inode is not None:
            inode.sb.sync()
