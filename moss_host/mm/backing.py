"""What a mapping's pages are filled from (Linux's vm_file and vm_operations_struct).

A VMA without a backing is anonymous memory: zero-filled private frames. Otherwise its
`backing` is a Backing: read() gives the bytes of a page, and what else it offers decides
how the fault path maps it (the defaults: none of these):

  inode                 a file: its pages are the page cache's frames (page_cache.py),
                        mapped writable by MAP_SHARED mappings, copy-on-write by private ones
  shared_frame(offset)  the one frame every mapping of the object maps (MAP_SHARED|MAP_ANONYMOUS)
  page_key(offset)      a page-cache key for a backing that is not a file (an exec'd program's
                        segments): private mappings share the cached frame until written

has_page(offset) answers mincore for pages not mapped in the asking address space;
futex_object() what a shared futex in the mapping is keyed by (Linux's inode or shmem object).

`name` is how /proc/pid/maps shows the mapping, maps_ids() its device and inode numbers if
it has no file `inode`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Hashable, Optional

from moss_host.addr import PA

if TYPE_CHECKING:
    from moss_host.fs.vfs import Inode


class Backing:
    name = ""
    inode: Optional[Inode] = None

    def read(self, offset: int, n: int) -> bytes:
        """Up to n bytes at offset (fewer at the end: the rest of the page reads as zeros)."""
        raise NotImplementedError

    def shared_frame(self, offset: int) -> Optional[PA]:
        """The frame all mappings share for the page at offset; None: each mapping gets its own."""
        return None

    def page_key(self, offset: int) -> Optional[Hashable]:
        """The page-cache key of the page at offset; None: not cached."""
        return None

    def maps_ids(self) -> tuple[int, int, int]:
        """(major, minor, inode) /proc/pid/maps shows when the backing has no file `inode`."""
        return 0, 0, 0

    def has_page(self, offset: int) -> bool:
        """mincore's question for a page not mapped here: does the object hold it in memory?"""
        return False

    def futex_object(self) -> Hashable:
        """What shared futexes in a MAP_SHARED mapping of this backing are keyed by, with the
        offset: the file if there is one, else the object itself (shared anonymous memory)."""
        return self.inode if self.inode is not None else self


class FileBacking(Backing):
    """A regular file mapped by mmap(2): its pages are the page cache's frames of the inode.

    The mapping keeps the file open (Linux's vm_file) as long as some VMA refers to it (VMAs
    are its only owners, so CPython drops it as the last one goes): a file unlinked and
    closed while mapped keeps its data until then."""

    def __init__(self, inode: Inode, name: str):
        self.inode = self.file = inode
        self.name = name
        inode.opened()

    def __del__(self):
        try:
            self.file.closed()
        except Exception:       # at interpreter exit the filesystem may be long gone
            pass

    def read(self, offset: int, n: int) -> bytes:
        return self.file.read(offset, n)

    def has_page(self, offset: int) -> bool:
        """Every page of the file counts as cached (the filesystems here keep file data in
        memory, as tmpfs and a warm page cache do); none past its end."""
        return offset < self.file.size

