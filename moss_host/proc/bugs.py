"""Kernel bugs: a host exception where the kernel expected none (anything but Errno in a
syscall handler, anything but UserFault in the page-fault path).

Without --strict the run goes on, as Linux's WARN does: the syscall fails with EFAULT or
the faulting task gets SIGSEGV, one "kernel bug" line is logged, and the count is printed
at exit. With --strict (KernelConfig.strict; the test suite, the fuzz and the stress runs
turn it on through MOSS_STRICT=1, see cli.py) the first one is a kernel panic: one block
naming the call, its decoded arguments, the task and the traceback, then moss-host stops
QEMU and exits 125 -- a bug cannot hide behind a test that happened to tolerate EFAULT.
"""
from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Callable

from moss_host.errors import EFAULT, ENOMEM
from moss_host.mm.frames import OutOfMemory

from . import oom_kill

if TYPE_CHECKING:
    from .task import Task

log = logging.getLogger("moss.bug")


class KernelBugs:
    """The kernel's record of its own bugs during one run."""

    def __init__(self, strict: bool, panic: Callable[[str], None]):
        self.strict: bool = strict
        self.count: int = 0
        self._panic: Callable[[str], None] = panic       # Kernel.panic: ends the run

    def in_syscall(self, task: Task, call: str, exc: BaseException) -> int:
        """`call` (the syscall with its decoded arguments) raised `exc`: the value for x0.
        Guest RAM running out is no bug: the OOM killer runs and the call fails with ENOMEM."""
        if isinstance(exc, OutOfMemory):
            oom_kill.out_of_memory(task)
            return -ENOMEM
        self._report(task, f"in {call}", exc)
        return -EFAULT

    def in_fault(self, task: Task, far: int, exc: BaseException) -> None:
        """Faulting in `far` raised `exc`; the caller sends SIGSEGV unless this panics the run."""
        self._report(task, f"handling a page fault at {far:#x}", exc)

    def _report(self, task: Task, where: str, exc: BaseException) -> None:
        self.count += 1
        who = f"pid {task.tid} ({task.comm.decode(errors='replace')})"
        if self.strict:
            trace = "".join(traceback.format_exception(exc)).rstrip()
            self._panic(f"kernel panic: kernel bug {where} from {who}: {type(exc).__name__}: {exc}\n{trace}")
            return
        log.error("kernel bug %s from %s: %s: %s", where, who, type(exc).__name__, exc,
                  exc_info=exc if log.isEnabledFor(logging.DEBUG) else None)

    def summary(self) -> str:
        """The line printed at exit when bugs were seen ("" when none)."""
        if not self.count:
            return ""
        return f"moss: {self.count} kernel bug{'s' if self.count != 1 else ''} during the run (see the log; --strict stops at the first)"
