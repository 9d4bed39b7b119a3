"""The OOM killer's arithmetic (Linux's mm/oom_kill.c): how bad a process is to keep when
guest RAM runs out (oom_badness), and the line the kernel logs for its victim.

The choice and the kill are proc/oom_kill.py's; this module only measures address spaces.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from moss_host.addr import PAGE_SIZE

if TYPE_CHECKING:
    from .address_space import AddressSpace

OOM_SCORE_ADJ_MIN = -1000           # never chosen
OOM_SCORE_ADJ_MAX = 1000
PTE_TABLE_SPAN = 1 << 21            # one last-level table maps 2 MiB
PMD_TABLE_SPAN = 1 << 30            # one level-2 table maps 1 GiB


def page_table_pages(mm: AddressSpace) -> int:
    """The last two levels of tables the resident pages need (mm_pgtables_bytes / PAGE_SIZE)."""
    resident = mm.resident
    return len({va // PTE_TABLE_SPAN for va in resident}) + len({va // PMD_TABLE_SPAN for va in resident})


def badness(mm: AddressSpace, oom_score_adj: int, total_pages: int) -> Optional[int]:
    """oom_badness: resident pages + swap (none) + page tables, with oom_score_adj worth
    total_pages / 1000 each; None for a process the killer may not choose."""
    if oom_score_adj == OOM_SCORE_ADJ_MIN:
        return None
    points = len(mm.resident) + page_table_pages(mm)
    return points + oom_score_adj * (total_pages // 1000)


def killed_line(pid: int, comm: str, mm: AddressSpace, uid: int, oom_score_adj: int) -> str:
    """__oom_kill_process's pr_err, word for word."""
    kb = PAGE_SIZE // 1024
    vm = sum(v.end - v.start for v in mm.vmas) // 1024
    file_pages = 0
    for va in mm.resident:
        vma = mm.vmas.find(va)
        if vma is not None and vma.backing is not None:
            file_pages += 1
    anon = len(mm.resident) - file_pages
    return (f"Out of memory: Killed process {pid} ({comm}) total-vm:{vm}kB, anon-rss:{anon * kb}kB, "
            f"file-rss:{file_pages * kb}kB, shmem-rss:0kB, UID:{uid} pgtables:{page_table_pages(mm) * kb}kB "
            f"oom_score_adj:{oom_score_adj}")
