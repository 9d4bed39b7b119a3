"""The syscalls a CPU calls itself on the trap path (proc/cpu.py Cpu.take_trap), handed to it
by the syscall layer (syscalls/dispatch.py direct_calls): no call of the syscall entry, no
entry record to look into, for the plain handlers and the synchronous tries that answer
most traps. A direct call changes nothing of the trapped context but x0 (its answer): the
stub then restores only its own scratch registers (guest_stub/start.S, restore)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

# table[nr]: (the function, the unpack of its arguments from the trap frame or None when it
# takes none), or None when only the syscall entry can run the call (an async handler
# without a synchronous try, an unimplemented number).
DirectCall = tuple[Callable[..., Any], Optional[Callable[..., tuple]]]


@dataclass
class DirectCalls:
    table: list[Optional[DirectCall]]
    slow: object                        # a synchronous try's "the async handler must answer"
    failed: Callable[[Any, int, Any, Exception], int]     # a kernel bug: the answer for x0


def _never(task: Any, nr: int, frame: Any, exc: Exception) -> int:
    raise exc


NO_DIRECT_CALLS = DirectCalls([], object(), _never)     # every call through the syscall entry
