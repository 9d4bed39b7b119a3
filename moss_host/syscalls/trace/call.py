"""One traced syscall in flight: its arguments decoded at entry, the rest at exit."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional


@dataclass(eq=False)
class Call:
    task: Any                      # the calling Task
    name: str
    args: tuple                    # raw register values
    shown: list                    # per argument: its text, None until an output one is decoded
    start_ns: int                  # host clock at entry (perf_counter_ns)
    row: Any = None                # its rows.Row
    result: Optional[int] = None   # set at exit, before the output arguments are decoded
    split_at: Optional[int] = None  # printed as `<unfinished ...>` up to this argument (strace -f)
