"""Tasks: the kernel's view of a thread of user code."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from moss_host.arch.arm64.context import UserContext
from moss_host.cred import Creds
from moss_host.sched.state import State
from moss_host.waitq import WaitQueue

from .rlimits import DEFAULT_RLIMITS

if TYPE_CHECKING:
    from moss_host.fs.fdtable import FdTable
    from moss_host.fs.vfs import FsContext
    from moss_host.kernel import Kernel
    from moss_host.mm.address_space import AddressSpace
    from moss_host.proc.itimers import ProcessTimers
    from moss_host.tty.tty import Tty

    from .cpu import Cpu
    from .signals import SigHandlers

__all__ = ["State", "Task", "TaskExit"]


@dataclass(eq=False)
class Task:
    tid: int
    tgid: int
    mm: AddressSpace
    fs: FsContext
    files: FdTable
    kernel: Kernel                # pid table, scheduler, memory: what the task runs on
    creds: Creds = field(default_factory=Creds)
    parent: "Task | None" = None
    context: bytearray | None = None   # saved user context while not on a CPU
    on_cpu: Optional[Cpu] = None  # the Cpu whose mailbox holds our live context
    state: State = State.RUNNABLE
    comm: bytes = b""
    exe: str = ""
    exit_status: int | None = None     # wait(2) status once a zombie
    clear_child_tid: int = 0
    robust_list: tuple[int, int] = (0, 0)
    rseq: tuple[int, int, int] = (0, 0, 0)
    start_time: float = 0.0
    image_bias: int = 0           # load bias of the main program (for gdb symbols)
    pending: Optional[asyncio.Future] = None   # the asyncio job finishing a sleeping syscall
    orig_x0: int = 0              # x0 at syscall entry, for restarting an interrupted syscall

    # Process relations (proc/lifecycle.py)
    pgid: int = 0                 # process group
    sid: int = 0                  # session
    children: list[Task] = field(default_factory=list)   # live and zombie, until reaped
    did_exec: bool = False        # exec'd since fork (setpgid on it from the parent: EACCES)
    exit_signal: int = 17         # sent to the parent at exit (SIGCHLD; 0 for none)
    wait_report: Optional[tuple[str, int]] = None   # ("stopped"|"continued", signo) not yet collected by wait
    child_events: WaitQueue = field(default_factory=WaitQueue)   # sleeps here in wait4/waitid
    vfork_done: Optional[asyncio.Future] = None   # the vfork parent sleeps on it until exec or exit
    utime_ns: int = 0             # CPU time charged in user mode / in the kernel
    stime_ns: int = 0
    cutime_ns: int = 0            # reaped children's totals (getrusage RUSAGE_CHILDREN, times)
    cstime_ns: int = 0
    min_flt: int = 0              # page faults (not counted yet)
    ctty: Optional[Tty] = None    # controlling terminal (the session's), set by the tty layer
    rlimits: list[tuple[int, int]] = field(default_factory=lambda: list(DEFAULT_RLIMITS))   # (soft, hard)
    pdeath_signal: int = 0        # prctl(PR_SET_PDEATHSIG): sent when the parent exits
    dumpable: int = 1             # prctl(PR_SET_DUMPABLE)
    no_new_privs: bool = False    # prctl(PR_SET_NO_NEW_PRIVS)
    child_subreaper: bool = False     # prctl(PR_SET_CHILD_SUBREAPER): recorded, orphans still go to init
    tracer: Optional[Task] = None     # ptrace (not yet, issue 14): /proc's TracerPid

    # Signals (proc/signals.py)
    sighand: Optional[SigHandlers] = None   # the handler table, shared by CLONE_SIGHAND, copied at fork
    blocked: int = 0              # signal mask: bit (signo - 1)
    real_blocked: int = 0         # the mask rt_sigtimedwait set aside while it sleeps
    sigpending: int = 0           # pending signals: bit (signo - 1)
    siginfo: dict = field(default_factory=dict)   # signo -> queued siginfo records
    altstack: tuple = (0, 2, 0)   # (ss_sp, ss_flags, ss_size); 2 = SS_DISABLE
    saved_blocked: int | None = None   # mask to restore after sigsuspend/ppoll/pselect6
    restart: int | None = None    # set when x0 holds -ERESTART*: the syscall's orig x0
    restart_block: Optional[Callable[[], Any]] = None   # how restart_syscall(2) resumes an interrupted sleep
    fault_address: int = 0        # the last fault's address and si_code, for its frame
    fault_code: int = 0
    signal_unkillable: bool = True    # (pid 1 only) signals without a handler are not fatal, until a forced fault
    itimer_real: ProcessTimers | None = None   # interval timers (proc/itimers.py), on the group leader

    @property
    def pid(self) -> int:
        return self.tgid

    def regs(self) -> UserContext:
        """The user registers, wherever they live right now (the CPU's trap frame while on it)."""
        if self.on_cpu is not None:
            return self.on_cpu.mailbox.regs
        assert self.context is not None         # saved when it left its CPU (or set by exec)
        return UserContext(self.context)

    def __repr__(self) -> str:
        return f"<Task {self.tid} {self.comm.decode(errors='replace')} {self.state.value}>"


class TaskExit(BaseException):
    """Raised inside a syscall to end the calling task (exit, exit_group, fatal signal)."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status
