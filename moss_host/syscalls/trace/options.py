"""What --trace and its companions ask for: which calls, which processes, where, how."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ..numbers import SYSCALL_NUMBERS
from .classes import CLASSES


class TraceSpecError(ValueError):
    """A --trace=EXPR that names no syscall or class strace knows."""


@dataclass
class TraceOptions:
    lines: bool = True                      # strace's lines (off for a bare --trace-summary, as strace -c)
    names: Optional[frozenset[str]] = None  # the syscalls to show; None: every one
    pids: frozenset[int] = frozenset()      # only these processes (or threads); empty: all
    out_path: Optional[str] = None          # --trace-out FILE
    json: bool = False                      # one JSON object per call instead of strace lines
    summary: bool = False                   # strace -c's table at exit


def parse_spec(spec: Optional[str]) -> Optional[frozenset[str]]:
    """`openat,read`, `%file,%desc`, `/^read` (a regex), `!write` (all but), `none`,
    `all`/None -> the set of names (None for every syscall), as strace's -e trace=."""
    if spec is None or spec in ("", "all", "%all"):
        return None
    if spec == "none":
        return frozenset()
    negate = spec.startswith("!")
    chosen: set[str] = set()
    for item in spec.lstrip("!").split(","):
        item = item.strip()
        if item.startswith("/"):
            try:
                pattern = re.compile(item[1:])
            except re.error as e:
                raise TraceSpecError(f"invalid regular expression '{item[1:]}': {e}") from None
            chosen |= {name for name in SYSCALL_NUMBERS if pattern.search(name)}
        elif item.startswith("%"):
            cls = CLASSES.get(item[1:])
            if cls is None:
                raise TraceSpecError(f"invalid system call class '{item}'")
            chosen |= cls
        elif item in SYSCALL_NUMBERS:
            chosen.add(item)
        elif item:
            raise TraceSpecError(f"invalid system call '{item}'")
    if negate:
        return frozenset(SYSCALL_NUMBERS) - chosen
    return frozenset(chosen)


def options_from(trace: Optional[str], pids: list[int] | None = None, out: Optional[str] = None,
                 json: bool = False, summary: bool = False) -> Optional[TraceOptions]:
    """The options of one command line, or None when nothing asks for tracing.
    `trace` is --trace's value: None when not given, "all" for a bare --trace."""
    if trace is None and not (pids or out or json or summary):
        return None
    return TraceOptions(lines=trace is not None or not summary, names=parse_spec(trace),
                        pids=frozenset(pids or ()), out_path=out, json=json, summary=summary)
