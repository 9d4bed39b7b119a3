"""Signals: numbers, dispositions, sending, and delivery on the way back to user space.

This module is the one place that decides what a signal does to a task. The API the
rest of the kernel uses:

    send_signal(task, signo, info=None)   queue a signal for a task (kill, SIGCHLD, SIGPIPE, timers)
    send_to_group(kernel, pgid, signo)    every process of a process group (tty, kill -pgid)
    force_signal(task, signo, code, addr) a synchronous fault (SIGSEGV, SIGBUS, ...)
    deliver_pending(task)                 called by the CPU just before `task` returns to user
                                          space when task.sigpending or task.restart is set;
                                          may raise TaskExit or leave the task STOPPED

A task asleep in a syscall is interrupted by cancelling that sleep (kernel.interrupt);
the syscall ends with -ERESTART*, and deliver_pending turns that into EINTR or a restart.

Today only default actions exist (handlers, masks and frames arrive with rt_sigaction).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from moss_host.errors import ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS

from moss_host.machine import layout as L

from .task import State, TaskExit

log = logging.getLogger("moss.signal")

SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL = range(1, 10)
SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT = range(10, 17)
SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG = range(17, 24)
SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS = range(24, 32)
NSIG = 64

NAMES = {v: k for k, v in globals().items() if k.startswith("SIG") and isinstance(v, int) and k != "SIGIO"}
NAMES[SIGIO] = "SIGIO"
CORE_DUMPING = {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGSYS, SIGXCPU, SIGXFSZ}
IGNORED_BY_DEFAULT = {SIGCHLD, SIGURG, SIGWINCH, SIGCONT}
STOPPING = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU}
UNCATCHABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))
WCOREFLAG = 0x80

SIG_DFL, SIG_IGN = 0, 1

# si_code values
SI_USER, SI_KERNEL, SI_TKILL = 0, 0x80, -6
SEGV_MAPERR, SEGV_ACCERR = 1, 2
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED = range(1, 7)


def bit(signo: int) -> int:
    return 1 << (signo - 1)


@dataclass
class SigInfo:
    """What siginfo_t carries; the fields that apply depend on signo and code."""
    signo: int
    code: int = SI_KERNEL
    errno: int = 0
    pid: int = 0
    uid: int = 0
    status: int = 0          # SIGCHLD: exit code or signal
    utime: int = 0
    stime: int = 0
    addr: int = 0            # fault signals: si_addr
    value: int = 0           # sigqueue / timers


@dataclass
class SigAction:
    handler: int = SIG_DFL
    flags: int = 0
    mask: int = 0
    restorer: int = 0


@dataclass
class SigHandlers:
    """The process's table of dispositions (struct sighand_struct)."""
    actions: list = field(default_factory=lambda: [SigAction() for _ in range(NSIG + 1)])

    def copy(self) -> "SigHandlers":
        return SigHandlers([SigAction(a.handler, a.flags, a.mask, a.restorer) for a in self.actions])

    def reset_for_exec(self) -> None:
        """execve: caught signals go back to SIG_DFL; ignored ones stay ignored."""
        for a in self.actions:
            if a.handler not in (SIG_DFL, SIG_IGN):
                a.handler, a.flags, a.mask, a.restorer = SIG_DFL, 0, 0, 0


def action(task, signo: int) -> SigAction:
    if task.sighand is None:
        task.sighand = SigHandlers()
    return task.sighand.actions[signo]


def killed_status(signo: int) -> int:
    """The wait(2) status of a task killed by signo (with the core flag where Linux sets it)."""
    return signo | (WCOREFLAG if signo in CORE_DUMPING else 0)


def is_ignored(task, signo: int) -> bool:
    a = action(task, signo)
    return a.handler == SIG_IGN or (a.handler == SIG_DFL and signo in IGNORED_BY_DEFAULT)


# -- sending ------------------------------------------------------------------------------------

def send_signal(task, signo: int, info: SigInfo | None = None) -> None:
    """Make signo pending for task and make sure it is noticed soon."""
    if task.state is State.ZOMBIE or signo == 0:
        return
    if signo == SIGKILL or signo == SIGCONT:
        _continue(task)
    if is_ignored(task, signo) and signo != SIGKILL:
        return
    task.sigpending |= bit(signo)
    task.siginfo.setdefault(signo, info or SigInfo(signo, SI_KERNEL))
    if not task.sigpending & ~task.blocked & bit(signo) and signo != SIGKILL:
        return
    _notice(task)


def _notice(task) -> None:
    """A deliverable signal is pending: interrupt a sleep, or make a running task trap."""
    if task.state is State.BLOCKED:
        task.kernel.interrupt(task)
    elif task.on_cpu is not None and not task.on_cpu.trapped:
        task.on_cpu.kick()


def _continue(task) -> None:
    if task.state is State.STOPPED:
        task.state = State.RUNNABLE
        task.kernel.make_runnable(task)


def send_to_group(kernel, pgid: int, signo: int, info: SigInfo | None = None) -> int:
    """Send to every process in process group pgid; how many there were."""
    members = [t for t in list(kernel.tasks.values()) if t.pgid == pgid and t.state is not State.ZOMBIE]
    for t in members:
        send_signal(t, signo, info)
    return len(members)


def force_signal(task, signo: int, code: int, addr: int = 0, why: str = "") -> None:
    """A synchronous fault: with no handler, the default action kills the task now."""
    log.warning("pid %d (%s): %s: killed by %s", task.tid, task.comm.decode(errors="replace"),
                why, NAMES.get(signo, signo))
    raise TaskExit(killed_status(signo))


def force_fatal(task, signo: int, why: str) -> None:
    force_signal(task, signo, SI_KERNEL, 0, why)


# -- delivery -----------------------------------------------------------------------------------

def deliver_pending(task) -> None:
    """Act on the task's deliverable signals before it returns to user space."""
    restart, task.restart = task.restart, None
    while True:
        deliverable = task.sigpending & ~task.blocked
        if not deliverable:
            break
        signo = (deliverable & -deliverable).bit_length()
        task.sigpending &= ~bit(signo)
        task.siginfo.pop(signo, None)
        if is_ignored(task, signo):
            continue
        if signo in STOPPING:
            task.state = State.STOPPED          # job control reports arrive with wait4 work
            task.sigpending &= ~bit(SIGCONT)
            if restart is not None:
                _restart(task, restart)
            return
        raise TaskExit(killed_status(signo))
    if restart is not None:
        _restart(task, restart)


def syscall_result(regs) -> int:
    """x0 read as the signed result of a syscall."""
    x0 = regs.x(0)
    return x0 - (1 << 64) if x0 >> 63 else x0


def _restart(task, orig_x0: int) -> None:
    """No handler ran: the interrupted syscall runs again (pc back over the `svc`)."""
    regs = task.regs()
    if -syscall_result(regs) in (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK):
        regs.set_x(0, orig_x0)
        regs.set(L.MB_PC, regs.get(L.MB_PC) - 4)
