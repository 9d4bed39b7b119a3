"""From a trapped `svc #0` to a handler call: decode, run (without a Task when it never
sleeps), trace, and turn the outcome into the value for x0.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

from moss_host.errors import ENOSYS, ERESTARTSYS, Errno
from moss_host.proc.direct import DirectCalls
from moss_host.proc.task import State, Task, TaskExit

from .numbers import SYSCALL_NAMES
from .table import SLOW, SYSCALL_TABLE, TABLE_SIZE, SyscallEntry
from .trace import Tracer

log = logging.getLogger("moss.syscall")

_reported: set[int] = set()      # unimplemented syscalls already named in the log

SUSPENDED = object()       # start() result: the handler awaits something; finish() completes it


def direct_calls() -> DirectCalls:
    """The calls a CPU may make itself, without start(), for an untraced syscall (proc/cpu.py
    Cpu.take_trap): each plain handler, and the synchronous try of an async one, with the
    unpack of its arguments (None: it takes none). What start() adds around them, the CPU
    does: Errno becomes -errno, SLOW sends the call to start(), another exception is a
    kernel bug (failed)."""
    table = [None if e is None else (e.handler, _unpack(e)) if not e.is_async
             else None if e.fast is None else (e.fast, _unpack(e))
             for e in SYSCALL_TABLE]
    return DirectCalls(table, SLOW, failed)


def _unpack(entry: SyscallEntry):
    return entry.args.unpack_from if entry.nargs else None


def failed(task: Task, nr: int, frame, exc: Exception) -> int:
    """A direct call (direct_calls) raised `exc`, not Errno: the kernel bug's answer for x0."""
    entry = SYSCALL_TABLE[nr]
    assert entry is not None
    return _kernel_bug(task, entry, entry.args.unpack_from(frame), exc)


def start(task: Task, nr: int, frame, tracer: Optional[Tracer] = None):
    """Run syscall `nr` with its arguments from the trap frame `frame` (x0 at offset 0)
    until it finishes or first suspends.

    Returns the result for x0, or (SUSPENDED, a coroutine that drives the handler to its
    end and returns the result), or a Parked (sched/parked.py: a fast try put the task to
    sleep without a job). TaskExit propagates to the caller (the task is gone).
    A plain (never sleeping) handler without --trace is the fast path: one unpack of its
    arguments, one call, nothing allocated for the call itself.
    """
    entry = SYSCALL_TABLE[nr] if nr < TABLE_SIZE else None
    if entry is None:
        return _unimplemented(task, nr, tracer)
    args = entry.args.unpack_from(frame)
    if not entry.is_async:
        if tracer is None:
            try:
                result = entry.handler(task, *args)
            except Errno as e:
                return -e.code
            except TaskExit:
                raise
            except Exception as e:
                return _kernel_bug(task, entry, args, e)
            return 0 if result is None else result
        return _call_traced(task, entry, args, tracer)
    fast = entry.fast
    if fast is not None and tracer is None and task.on_cpu is not None:
        # The handler's synchronous try (table.py): no coroutine unless it must sleep.
        # (Off its CPU, under ptrace's syscall stops, the call takes the async path.)
        try:
            result = fast(task, *args)
        except Errno as e:
            return -e.code
        except TaskExit:
            raise
        except Exception as e:
            return _kernel_bug(task, entry, args, e)
        if result is not SLOW:
            return result
    shown = tracer.enter(task, entry, args) if tracer else None
    coro = entry.handler(task, *args)
    finished, value = _step(task, entry, args, shown, tracer, coro)
    if finished:
        return value
    return SUSPENDED, _finish(task, entry, args, shown, tracer, coro, value)


def _unimplemented(task: Task, nr: int, tracer: Optional[Tracer]) -> int:
    name = SYSCALL_NAMES.get(nr, "unknown")
    if nr not in _reported:             # one line per syscall, not one per call
        _reported.add(nr)
        log.warning("pid %d: unimplemented syscall %d (%s) -> ENOSYS", task.tid, nr, name)
    if tracer:
        tracer.unimplemented(task, nr, name)
    return -ENOSYS


def _call_traced(task: Task, entry: SyscallEntry, args, tracer: Tracer) -> int:
    """A plain handler under --trace: the call line, then the result, as for any other."""
    shown = tracer.enter(task, entry, args)
    try:
        result = entry.handler(task, *args)
    except Errno as e:
        result = -e.code
    except TaskExit:
        tracer.vanished(task, shown)
        raise
    except Exception as e:
        result = _kernel_bug(task, entry, args, e)
    return _finished(task, entry, shown, tracer, result)


def _step(task, entry: SyscallEntry, args, shown, tracer, coro, interrupted=False) -> tuple[bool, Any]:
    """Resume the handler once: (True, result for x0) if it finished, (False, what it awaits) if not.

    `interrupted`: a signal cancelled the sleep; the handler sees CancelledError at its await.
    """
    try:
        if interrupted:
            return False, coro.throw(asyncio.CancelledError())
        return False, coro.send(None)
    except StopIteration as done:
        result = done.value
    except Errno as e:
        result = -e.code
    except TaskExit:
        if tracer:
            tracer.vanished(task, shown)
        raise
    except asyncio.CancelledError:
        # A signal interrupted the sleep and the handler did not decide otherwise: restart
        # the call or fail it with EINTR, as signal delivery and SA_RESTART decide.
        result = -ERESTARTSYS
    except Exception as e:
        result = _kernel_bug(task, entry, args, e)
    return True, _finished(task, entry, shown, tracer, result)


async def _finish(task, entry: SyscallEntry, args, shown, tracer, coro, awaited) -> int:
    """Drive a suspended handler to completion the way an asyncio Task would."""
    while True:
        interrupted = False
        try:
            if awaited is None:
                await asyncio.sleep(0)
            else:
                await asyncio.wait([awaited])
        except asyncio.CancelledError:
            interrupted = True
            if awaited is not None:
                awaited.cancel()
            if task.state is State.ZOMBIE or task.kernel.stopping:
                coro.close()            # the task (or the kernel) is gone: end the call, resume nothing
                raise
        finished, value = _step(task, entry, args, shown, tracer, coro, interrupted)
        if finished:
            return value
        awaited = value


def _finished(task, entry, shown, tracer, result) -> int:
    if result is None:
        result = 0
    if tracer:
        tracer.finish(task, shown, result)
    return result


def _kernel_bug(task, entry: SyscallEntry, args, exc: Exception) -> int:
    """A handler raised something other than Errno: a kernel bug (proc/bugs.py: a panic
    under --strict; without it the caller sees EFAULT and the kernel keeps going), or guest
    RAM ran out (the OOM killer runs; ENOMEM)."""
    try:
        call = _DECODER.format_call(task, entry, args)
    except Exception:                   # decoding reads guest memory: never a second bug
        call = f"{entry.name}({', '.join(hex(a) for a in args)})"
    return task.kernel.bugs.in_syscall(task, call, exc)


_DECODER = Tracer()                     # decodes a failed call's arguments for the report
