"""A task's ptrace links and stop state (Linux's task->ptrace, ->parent, ->ptraced,
->last_siginfo, ->exit_code and the ptrace bits of ->jobctl). What ptrace does with them
is proc/ptrace.py; this record sits on every Task (Task.ptrace)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from .hwdebug import HwDebug
    from .signals import SigInfo
    from .task import Task

# What kind of ptrace stop a tracee is in (stop_kind).
NOT_STOPPED, SIGNAL_STOP, GROUP_STOP, SYSCALL_ENTRY, SYSCALL_EXIT, EVENT_STOP = range(6)


@dataclass(eq=False)
class PtraceState:
    tracer: Optional[Task] = None        # who traces this task (Linux's task->parent while ptraced)
    tracees: list[Task] = field(default_factory=list)    # the tasks this task traces (->ptraced)
    seized: bool = False                 # attached by PTRACE_SEIZE (PT_SEIZED)
    options: int = 0                     # PTRACE_O_* (PT_TRACESYSGOOD ...)
    stop_kind: int = NOT_STOPPED         # which ptrace stop, if any
    stop_code: int = 0                   # exit_code: the wait status's bits 8..23 (signo | event << 8)
    reported: bool = True                # the tracer's wait has collected the current stop
    resumed: Optional[Callable[[], None]] = None    # a stop inside a syscall: the tracer's resume calls it
    resume_signal: int = 0               # the signal the tracer resumed with (CONT's data)
    siginfo: Optional[SigInfo] = None    # last_siginfo: the signal of a signal-delivery stop
    injected: int = 0                    # a signal handed back by the tracer: delivered without a second stop
    interrupt: bool = False              # PTRACE_INTERRUPT / a new seized child: stop at the next chance
    sysemu: bool = False                 # PTRACE_SYSEMU: stop at syscall entry, then skip the call
    syscall_stops: bool = False          # PTRACE_SYSCALL/SYSEMU (a step alone has none)
    listening: bool = False              # PTRACE_LISTEN: stopped, but reports the next group-stop change
    eventmsg: int = 0                    # PTRACE_GETEVENTMSG
    syscallno: int = 0                   # regs->syscallno at a syscall stop (NT_ARM_SYSTEM_CALL)
    syscall_args: tuple = ()             # the arguments at the entry stop (PTRACE_GET_SYSCALL_INFO)
    syscall_result: int = 0              # x0 at the exit stop
    hwdebug: Optional[HwDebug] = None    # single step, hardware break/watchpoints (proc/hwdebug.py)

    @property
    def stopped(self) -> bool:
        return self.stop_kind != NOT_STOPPED
