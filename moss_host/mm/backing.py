"""What a mapping's pages are filled from (Linux's vm_file and vm_operations_struct).

A VMA without a backing is anonymous memory: zero-filled private frames. Otherwise its
`backing` is a Backing: read() gives the bytes of a page, and two optional features
change how the fault path maps it (the defaults: neither):

  shared_frame(offset)  the one frame every mapping of the object maps (MAP_SHARED|MAP_ANONYMOUS)
  page_key(offset)      a page-cache key: private mappings share the cached frame until written

has_page(offset) answers mincore for pages not mapped in the asking address space.

`inode` names the file behind a file mapping (MAP_SHARED write-back, msync, /proc/pid/maps),
`name` how /proc/pid/maps shows the mapping, maps_ids() its device and inode numbers if it
has no such file.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Hashable, Optional

from moss_host.addr import PA

from .page_cache import file_version

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


class FileBacking(Backing):
    """A regular file mapped by mmap(2): its pages come from the inode, through the page cache."""

    def __init__(self, inode: Inode, name: str):
        self.inode = self.file = inode
        self.name = name

    def read(self, offset: int, n: int) -> bytes:
        return self.file.read(offset, n)

    def page_key(self, offset: int) -> Optional[Hashable]:
        """Private mappings of a file share its page-cache frames until written."""
        return file_version(self.file), offset

    def has_page(self, offset: int) -> bool:
        """Every page of the file counts as cached (the filesystems here keep file data in
        memory, as tmpfs and a warm page cache do); none past its end."""
        return offset < self.file.size

