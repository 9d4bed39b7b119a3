"""The syscall table: arm64 number -> handler, filled by the @syscall decorator beside each handler.

A handler is `async def name(task, arg0, arg1, ...) -> int`; it takes as many raw
register arguments (x0..x5) as it declares and returns a non-negative result or raises
Errno. Parameter annotations drive --trace decoding (see syscalls/args.py).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Coroutine

from .numbers import SYSCALL_NUMBERS

Handler = Callable[..., Coroutine[Any, Any, int]]


@dataclass(frozen=True)
class SyscallEntry:
    nr: int
    name: str
    handler: Handler
    nargs: int
    arg_kinds: tuple      # annotation per argument, for the tracer
    arg_names: tuple


SYSCALLS: dict[int, SyscallEntry] = {}


def _kind(annotation) -> str:
    """The argument kind of an annotation: "Fd" stays "Fd" with or without postponed evaluation."""
    return annotation.strip("'\"") if isinstance(annotation, str) else getattr(annotation, "__name__", "")


def syscall(name: str) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine function as the handler of syscall `name`."""
    nr = SYSCALL_NUMBERS[name]

    def register(fn: Handler) -> Handler:
        if nr in SYSCALLS:
            raise RuntimeError(f"syscall {name} registered twice")
        params = list(inspect.signature(fn, eval_str=False).parameters.values())[1:]  # drop `task`
        SYSCALLS[nr] = SyscallEntry(nr, name, fn, len(params),
                                    tuple(_kind(p.annotation) for p in params), tuple(p.name for p in params))
        return fn

    return register
