"""Signal numbers and default actions (arm64 uses the generic numbering).

Handlers, masks and signal frames arrive with the processes issue; today every signal
the kernel raises takes its default action.
"""
from __future__ import annotations

import logging

from .task import TaskExit

log = logging.getLogger("moss.signal")

SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL = range(1, 10)
SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM = range(10, 16)
SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP = 17, 18, 19, 20
SIGSYS = 31

NAMES = {v: k for k, v in globals().items() if k.startswith("SIG") and isinstance(v, int)}
CORE_DUMPING = {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGSYS}
WCOREFLAG = 0x80


def killed_status(signo: int) -> int:
    """The wait(2) status of a task killed by signo (with the core flag where Linux sets it)."""
    return signo | (WCOREFLAG if signo in CORE_DUMPING else 0)


def force_fatal(task, signo: int, why: str) -> None:
    """Deliver a synchronous fault signal. With no handlers yet, its default action kills."""
    log.warning("pid %d (%s): %s: killed by %s", task.tid, task.comm.decode(errors="replace"),
                why, NAMES.get(signo, signo))
    raise TaskExit(killed_status(signo))
