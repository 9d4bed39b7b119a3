"""/proc/<pid>/pagemap: one 64-bit entry per virtual page, at file offset (va >> 12) * 8
(fs/proc/task_mmu.c pagemap_read, Documentation/admin-guide/mm/pagemap.rst):

    bits 0-54  the page frame number of a present page (0 unless the opener has
               CAP_SYS_ADMIN, as Linux hides PFNs since 4.2)
    bit 55     soft-dirty (arm64 has no soft-dirty tracking: never set)
    bit 56     the page is mapped only here (page_mapcount == 1)
    bit 61     a file page (or shared anonymous memory)
    bit 62     swapped (there is no swap)
    bit 63     present

Reads must start and end on an entry (EINVAL otherwise); a read past the last user page
gives 0 bytes. Pages are classified as smaps.py does.
"""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Callable, Optional

from ....addr import USER_VA_END
from ....cred import CAP_SYS_ADMIN, capable
from ....errors import EINVAL, Errno
from .nodes import ProcFile, Reader
from .smaps import PAGE, pages_of

if TYPE_CHECKING:
    from moss_host.mm.address_space import AddressSpace

PM_ENTRY_BYTES = 8
PM_PFRAME_MASK = (1 << 55) - 1
PM_MMAP_EXCLUSIVE = 1 << 56
PM_FILE = 1 << 61
PM_PRESENT = 1 << 63
MAX_READ = 1 << 20              # entries rendered per read: the rest comes with the next read


def entries(mm: AddressSpace, first_page: int, count: int, show_pfn: bool) -> bytes:
    """`count` entries from virtual page number first_page."""
    start, end = first_page * PAGE, min((first_page + count) * PAGE, USER_VA_END)
    values = [0] * ((end - start) // PAGE)
    for vma in mm.vmas.overlapping(start, end):
        for page in pages_of(mm, vma, start, end):
            value = PM_PRESENT | (page.pa >> 12 & PM_PFRAME_MASK if show_pfn else 0)
            if not page.anon:
                value |= PM_FILE
            if page.mapcount == 1:
                value |= PM_MMAP_EXCLUSIVE
            values[(page.va - start) // PAGE] = value
    return struct.pack(f"<{len(values)}Q", *values)


class PagemapFile(ProcFile):
    """The pagemap of the task mm_of() gives (None: a zombie, which reads as empty)."""

    def __init__(self, sb, path: bytes, mm_of: Callable[[Reader], Optional[AddressSpace]], uid: int, gid: int,
                 caller: Reader):
        super().__init__(sb, path, lambda _: b"", 0o400, uid, gid, caller=caller, splice_read=False)
        self.mm_of = mm_of
        # pagemap_open: the PFNs are shown to an opener with CAP_SYS_ADMIN
        self.show_pfn = caller is None or capable(caller.creds, CAP_SYS_ADMIN)

    def read(self, offset: int, n: int) -> bytes:
        if offset % PM_ENTRY_BYTES or n % PM_ENTRY_BYTES:
            raise Errno(EINVAL)
        mm = self.mm_of(self.caller)
        first = offset // PM_ENTRY_BYTES
        if mm is None or n == 0 or first >= USER_VA_END // PAGE:
            return b""
        return entries(mm, first, min(n // PM_ENTRY_BYTES, MAX_READ), self.show_pfn)
