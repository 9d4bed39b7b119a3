"""The syscall table: arm64 number -> handler, filled by the @syscall decorator beside each handler.

A handler is `async def name(task, arg0, arg1, ...) -> int`, or a plain `def` when it can
never sleep (getpid, clock_gettime, ...): dispatch then calls it directly, with no
coroutine at all. It takes as many raw register arguments (x0..x5) as it declares and
returns a non-negative result or raises Errno. Parameter annotations drive --trace
decoding (see syscalls/args.py).

A sleeping handler may have a synchronous first try beside it (`@syscall(name, fast=f)`):
f takes the same arguments and answers at once when the call need not sleep (events
already ready, a zero timeout, FUTEX_WAKE), raises Errno, returns SLOW when only the
async handler can answer (it then runs from the start: f must leave no trace), or
parks the caller without a job (sched/parked.py, FUTEX_WAIT). dispatch tries it
first, without a coroutine, whenever the call is not traced.

SYSCALL_TABLE is a list indexed by number (one index per trap, no hashing); SYSCALLS is
the same entries by number for everything else (the syscall doc, tests).
"""
from __future__ import annotations

import inspect
import struct
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .numbers import SYSCALL_NUMBERS

Handler = Callable[..., Any]        # async def -> int, or def -> int for one that never sleeps

SLOW = object()     # a fast try's answer: this call needs the async handler (it may sleep)


@dataclass(frozen=True)
class SyscallEntry:
    nr: int
    name: str
    handler: Handler
    nargs: int
    arg_kinds: tuple      # annotation per argument, for the tracer
    arg_names: tuple
    is_async: bool        # the handler is a coroutine function (it may sleep)
    args: struct.Struct   # x0..x(nargs-1) of a trap frame in one unpack_from
    fast: Optional[Handler] = None     # the synchronous first try of an async handler, if any


SYSCALLS: dict[int, SyscallEntry] = {}
TABLE_SIZE = max(SYSCALL_NUMBERS.values()) + 1
SYSCALL_TABLE: list[Optional[SyscallEntry]] = [None] * TABLE_SIZE


def _kind(annotation) -> str:
    """The argument kind of an annotation: "Fd" stays "Fd" with or without postponed evaluation."""
    return annotation.strip("'\"") if isinstance(annotation, str) else getattr(annotation, "__name__", "")


def syscall(name: str, fast: Optional[Handler] = None) -> Callable[[Handler], Handler]:
    """Register the decorated function (async, or plain if it never sleeps) as the handler of
    syscall `name`; `fast`, the synchronous try of an async handler (see above)."""
    nr = SYSCALL_NUMBERS[name]

    def register(fn: Handler) -> Handler:
        if nr in SYSCALLS:
            raise RuntimeError(f"syscall {name} registered twice")
        params = list(inspect.signature(fn, eval_str=False).parameters.values())[1:]  # drop `task`
        entry = SyscallEntry(nr, name, fn, len(params), tuple(_kind(p.annotation) for p in params),
                             tuple(p.name for p in params), inspect.iscoroutinefunction(fn),
                             struct.Struct(f"<{len(params)}Q"), fast)
        if fast is not None and not entry.is_async:
            raise RuntimeError(f"syscall {name}: a fast try is for an async handler")
        SYSCALLS[nr] = SYSCALL_TABLE[nr] = entry
        return fn

    return register


# Syscalls deliberately left out: each answers -ENOSYS exactly as a Linux kernel built
# without the feature does (its cond_syscall falls back to sys_ni_syscall). The reason,
# naming the CONFIG_ option, is what docs/syscalls.md shows for them.
NOT_CONFIGURED: dict[str, str] = {}

# Syscalls every Linux has that moss-py does not implement yet: -ENOSYS (and one log line),
# which a kernel older than the call would answer. The reason is shown in docs/syscalls.md.
NOT_YET: dict[str, str] = {}


def not_yet(reason: str, *names: str) -> None:
    """Record why the syscalls `names` are not implemented yet."""
    for name in names:
        if name not in SYSCALL_NUMBERS or name in NOT_YET or name in NOT_CONFIGURED:
            raise RuntimeError(f"not_yet: {name} unknown or declared twice")
        NOT_YET[name] = reason


def not_configured(reason: str, *names: str) -> None:
    """Record that the syscalls `names` are absent as in a kernel configured without `reason`'s feature."""
    for name in names:
        if name not in SYSCALL_NUMBERS or name in NOT_CONFIGURED:
            raise RuntimeError(f"not_configured: {name} unknown or declared twice")
        NOT_CONFIGURED[name] = reason
