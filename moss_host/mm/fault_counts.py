"""Page-fault accounting (Linux's mm_account_fault): min_flt and maj_flt counters.

A fault the CPU takes is charged to the faulting thread (a Task has the two fields); one
the kernel takes touching user memory (copying to or from it, MAP_POPULATE, mlock) to the
address space's `charge`, the process's counts. A major fault is one that had to read the
page from a device (a page-cache miss of a file on a block device); every other fault that
succeeds is minor, copy-on-write breaks and stale-TLB faults included.

What a fault counts is what Linux's would have: Linux maps private anonymous memory one page
per fault (moss-py maps a window per trap: each page it makes present counts one) and file
pages with fault-around (one fault maps up to 16 cached pages: one count, as here).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class FaultCounter(Protocol):
    min_flt: int
    maj_flt: int


@dataclass(eq=False)
class FaultCounts:
    """Faults charged to a process rather than a live thread: its exited threads' and the
    kernel's own accesses to its memory (Linux's signal->min_flt, maj_flt)."""
    min_flt: int = 0
    maj_flt: int = 0
