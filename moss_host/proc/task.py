"""Tasks: the kernel's view of a thread of user code."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from moss_host.arch.arm64.context import UserContext
from moss_host.cred import Creds
from moss_host.sched.eevdf import Entity
from moss_host.sched.state import State
from moss_host.utsname import INIT_UTS_NS, UtsNamespace
from moss_host.waitq import WaitQueue

from .ptrace_state import PtraceState
from .thread_group import ThreadGroup

if TYPE_CHECKING:
    from moss_host.fs.fdtable import FdTable
    from moss_host.fs.vfs import FsContext
    from moss_host.kernel import Kernel
    from moss_host.mm.address_space import AddressSpace
    from moss_host.sched.parked import SleepJob
    from moss_host.tty.tty import Tty

    from .cpu import Cpu
    from .seccomp import Seccomp
    from .signals import SigHandlers

__all__ = ["State", "Task", "TaskExit", "ThreadGroup"]


@dataclass(eq=False)
class Task:
    """One thread. What its process shares with its other threads is `group`."""
    tid: int
    group: ThreadGroup
    mm: AddressSpace
    fs: FsContext
    files: FdTable
    kernel: Kernel                # pid table, scheduler, memory: what the task runs on
    creds: Creds = field(default_factory=Creds)
    context: bytearray | None = None   # saved user context while not on a CPU
    on_cpu: Optional[Cpu] = None  # the Cpu whose mailbox holds our live context
    state: State = State.RUNNABLE
    comm: bytes = b""
    exe: str = ""
    exit_status: int | None = None     # wait(2) status once a zombie
    clear_child_tid: int = 0      # CLONE_CHILD_CLEARTID / set_tid_address: zeroed and woken at exit
    robust_list: tuple[int, int] = (0, 0)
    rseq: tuple[int, int, int] = (0, 0, 0)
    start_time: float = 0.0
    image_bias: int = 0           # load bias of the main program (for gdb symbols)
    pending: Optional[SleepJob] = None   # the asyncio job (or sched/parked.py's Parked) of a sleeping syscall
    orig_x0: int = 0              # x0 at syscall entry, for restarting an interrupted syscall

    # Process relations (proc/lifecycle.py); the process's own are in `group`
    exit_signal: int = 17         # sent to the parent at exit (SIGCHLD; 0 for none)
    vfork_done: Optional[asyncio.Future] = None   # the vfork parent sleeps on it until exec or exit
    utime_ns: int = 0             # CPU time charged in user mode / in the kernel
    stime_ns: int = 0
    min_flt: int = 0              # page faults it took (mm/fault_counts.py): minor ones
    maj_flt: int = 0              # ... and those that read from a disk
    pdeath_signal: int = 0        # prctl(PR_SET_PDEATHSIG): sent when the parent exits
    dumpable: int = 1             # prctl(PR_SET_DUMPABLE)
    no_new_privs: bool = False    # prctl(PR_SET_NO_NEW_PRIVS)
    timer_slack_ns: int = 50_000  # prctl(PR_SET_TIMERSLACK): how late a timer of this thread may fire
    default_timer_slack_ns: int = 50_000    # what PR_SET_TIMERSLACK 0 restores: the creator's slack at clone
    nice: int = 0                 # setpriority(2): -20..19, per thread, inherited at clone
    sched_policy: int = 0         # sched_setscheduler(2): SCHED_OTHER, SCHED_FIFO, ... (sched/policy.py)
    sched_priority: int = 0       # 1..99 under SCHED_FIFO/SCHED_RR, else 0
    rt_woken_ns: int = 0          # utime + stime at the last wake-up of a real-time thread (RLIMIT_RTTIME)
    rt_look_woken: int = 0        # ... as RLIMIT_RTTIME's last look saw it (proc/cpu_limit.py)
    rt_look_ns: int = 0           # its CPU time then
    rt_counted_ns: int = 0        # and its real-time CPU time counted since the wake-up
    sched_reset_on_fork: bool = False   # SCHED_RESET_ON_FORK: children drop a real-time policy and a negative nice
    sched_dl: tuple[int, int, int, int] = (0, 0, 0, 0)   # SCHED_DEADLINE's runtime, deadline, period (ns), flags
    cpus_allowed: int = -1        # sched_setaffinity(2) mask, bit n for CPU n (-1: every CPU)
    se: Entity = field(default_factory=Entity, repr=False)   # its place in a CPU's fair queue (sched/eevdf.py)
    last_cpu: int = 0             # the CPU it runs or last ran on (getcpu, /proc/pid/stat field 39)
    ioprio: int = 0               # ioprio_set(2): class << 13 | level; 0 (IOPRIO_CLASS_NONE) until set
    mempolicy: tuple[int, int, int] = (0, 0, 0)   # set_mempolicy(2): (mode, mode flags, node mask as given)
    personality: int = 0          # personality(2): PER_LINUX and its flags, inherited at clone and exec
    uts: UtsNamespace = INIT_UTS_NS   # its UTS namespace (host and domain name): shared at clone, CLONE_NEWUTS copies
    ptrace: PtraceState = field(default_factory=PtraceState)   # tracer and tracees, ptrace stops (proc/ptrace.py)
    # Syscalls take the checked path (proc/trap.py): PTRACE_SYSCALL's stops, single step, seccomp
    traced_syscalls: bool = False
    seccomp: Optional[Seccomp] = None   # its syscall filter mode (proc/seccomp.py), shared at clone

    # Signals (proc/signals.py)
    blocked: int = 0              # signal mask: bit (signo - 1)
    real_blocked: int = 0         # the mask rt_sigtimedwait set aside while it sleeps
    sigpending: int = 0           # thread-directed pending signals: bit (signo - 1)
    siginfo: dict = field(default_factory=dict)   # signo -> queued siginfo records
    altstack: tuple = (0, 2, 0)   # (ss_sp, ss_flags, ss_size); 2 = SS_DISABLE
    saved_blocked: int | None = None   # mask to restore after sigsuspend/ppoll/pselect6
    restart: int | None = None    # set when x0 holds -ERESTART*: the syscall's orig x0
    restart_block: Optional[Callable[[], Any]] = None   # how restart_syscall(2) resumes an interrupted sleep
    fault_address: int = 0        # the last fault's address and si_code, for its frame
    fault_code: int = 0

    def __post_init__(self) -> None:
        self.group.add_thread(self)

    @property
    def pid(self) -> int:
        return self.group.tgid

    @property
    def tgid(self) -> int:
        return self.group.tgid

    # The process's fields that the tty layer, procfs and the syscalls read on any task.

    @property
    def parent(self) -> Task | None:
        return self.group.parent

    @parent.setter
    def parent(self, value: Task | None) -> None:
        self.group.parent = value

    @property
    def pgid(self) -> int:
        return self.group.pgid

    @pgid.setter
    def pgid(self, value: int) -> None:
        self.group.pgid = value

    @property
    def sid(self) -> int:
        return self.group.sid

    @sid.setter
    def sid(self, value: int) -> None:
        self.group.sid = value

    @property
    def ctty(self) -> Tty | None:
        return self.group.ctty

    @ctty.setter
    def ctty(self, value: Tty | None) -> None:
        self.group.ctty = value

    @property
    def sighand(self) -> SigHandlers | None:
        return self.group.sighand

    @sighand.setter
    def sighand(self, value: SigHandlers | None) -> None:
        self.group.sighand = value

    @property
    def rlimits(self) -> list[tuple[int, int]]:
        return self.group.rlimits

    @property
    def cutime_ns(self) -> int:
        return self.group.cutime_ns

    @property
    def cstime_ns(self) -> int:
        return self.group.cstime_ns

    def regs(self) -> UserContext:
        """The user registers, wherever they live right now (the CPU's trap frame while on it)."""
        if self.on_cpu is not None:
            return self.on_cpu.mailbox.regs
        assert self.context is not None         # saved when it left its CPU (or set by exec)
        return UserContext(self.context)

    def __repr__(self) -> str:
        return f"<Task {self.tid} {self.comm.decode(errors='replace')} {self.state.value}>"


class TaskExit(BaseException):
    """Raised inside a syscall to end the calling task: with its whole thread group
    (exit_group, a fatal signal), or alone (exit)."""

    def __init__(self, status: int, whole_group: bool = True):
        super().__init__(status)
        self.status = status
        self.whole_group = whole_group
