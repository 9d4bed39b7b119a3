"""Signals: numbers, dispositions, sending, and delivery on the way back to user space.

This module is the one place that decides what a signal does to a task. The API the
rest of the kernel uses:

    send_signal(task, signo, info=None)   queue a signal for task's process (kill, SIGCHLD, timers);
                                          with thread=True (send_thread_signal) for task alone
    send_to_group(pids, pgid, signo)      every process of a process group (tty, kill -pgid)
    force_signal(task, signo, code, addr) a synchronous fault (SIGSEGV, SIGBUS, ...): a handler
                                          runs if there is one, otherwise the task dies
    deliver_pending(task)                 called by the CPU just before `task` returns to user
                                          space when task.sigpending or task.restart is set;
                                          may raise TaskExit or leave the task STOPPED

A task asleep in a syscall is interrupted by cancelling that sleep (Scheduler.interrupt);
the syscall ends with -ERESTART*, and deliver_pending turns that into EINTR or a restart
exactly as arm64 Linux's do_signal() does, then builds the handler's rt_sigframe
(arch/arm64/sigframe.py) on the user stack. rt_sigreturn (restore_frame) undoes it.

Also here: notify_parent_cldstop (SIGCHLD with CLD_STOPPED/CLD_CONTINUED and a wake-up
of the parent's wait), exec_reset (what execve does to signal state), restore_frame
(rt_sigreturn), set_altstack (sigaltstack) and fatal_signal_pending (killable waits).

Single-threaded processes only: a "group stop" stops the one task, the shared pending
set is the task's own. pid 1 is SIGNAL_UNKILLABLE as on Linux: signals it does not
handle do nothing to it, unless a fault forces them.
"""
from __future__ import annotations

import asyncio
import logging
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

from moss_host.arch.arm64 import sigframe as F
from moss_host.arch.arm64.sigframe import SI_KERNEL, SI_QUEUE, SI_TIMER, SI_TKILL, SI_USER
from moss_host.errors import (EAGAIN, EINTR, ERESTART_RESTARTBLOCK, ERESTARTNOHAND,
                              ERESTARTNOINTR, ERESTARTSYS, Errno)
from moss_host.waitq import WaitQueue

from . import coredump, ptrace, vdso
from .rlimits import sigqueue_full
from .task import State, Task, TaskExit

if TYPE_CHECKING:
    from .pidtable import PidTable

log = logging.getLogger("moss.signal")

SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL = range(1, 10)
SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT = range(10, 17)
SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG = range(17, 24)
SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS = range(24, 32)
SIGRTMIN = 32
NSIG = 64

NAMES = {v: k for k, v in globals().items() if k.startswith("SIG") and isinstance(v, int)
         and k not in ("SIGIO", "SIGRTMIN")}
NAMES[SIGIO] = "SIGIO"
CORE_DUMPING = {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGSYS, SIGXCPU, SIGXFSZ}
IGNORED_BY_DEFAULT = {SIGCHLD, SIGURG, SIGWINCH, SIGCONT}
STOPPING = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU}
UNCATCHABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))
WCOREFLAG = 0x80

SIG_DFL, SIG_IGN = 0, 1

# sa_flags (include/uapi/asm-generic/signal-defs.h, arm64 SA_RESTORER)
SA_NOCLDSTOP = 0x00000001
SA_NOCLDWAIT = 0x00000002
SA_SIGINFO = 0x00000004
SA_UNSUPPORTED = 0x00000400
SA_EXPOSE_TAGBITS = 0x00000800
SA_RESTORER = 0x04000000
SA_ONSTACK = 0x08000000
SA_RESTART = 0x10000000
SA_NODEFER = 0x40000000
SA_RESETHAND = 0x80000000
UAPI_SA_FLAGS = (SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER
                 | SA_RESETHAND | SA_EXPOSE_TAGBITS | SA_RESTORER)

# sigaltstack
SS_ONSTACK, SS_DISABLE = 1, 2
SS_AUTODISARM = 1 << 31
SS_FLAG_BITS = SS_AUTODISARM
MINSIGSTKSZ = 5120               # arm64 uapi

# si_code values (SI_* come with siginfo_t's layout, arch/arm64/sigframe.py)
ILL_ILLOPC = 1
FPE_INTDIV, FPE_FLTUNK = 1, 14
SEGV_MAPERR, SEGV_ACCERR = 1, 2
BUS_ADRALN, BUS_ADRERR = 1, 2
TRAP_BRKPT, TRAP_TRACE = 1, 2
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED = range(1, 7)

# Faults are dequeued before anything else (kernel/signal.c SYNCHRONOUS_MASK).
SYNCHRONOUS = sum(1 << (s - 1) for s in (SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS))


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
    raw: bytes | None = None  # rt_sigqueueinfo: the caller's 128 bytes, delivered as they are
    overrun: int = 0         # POSIX timers: si_overrun
    # POSIX timers: called as the signal is taken off the queue (posixtimer_rearm)
    on_dequeue: Optional[Callable[["SigInfo"], None]] = None


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
    # signalfd readers and pollers of the process sleep here (sighand->signalfd_wqh):
    # woken whenever a signal is queued for it.
    signalfd_wq: WaitQueue = field(default_factory=WaitQueue)

    def copy(self) -> "SigHandlers":
        return SigHandlers([SigAction(a.handler, a.flags, a.mask, a.restorer) for a in self.actions])

    def reset_for_exec(self) -> None:
        """execve and CLONE_CLEAR_SIGHAND (flush_signal_handlers): caught signals go back to SIG_DFL, ignored ones
        stay ignored; every action loses its flags, mask and restorer."""
        for a in self.actions:
            if a.handler != SIG_IGN:
                a.handler = SIG_DFL
            a.flags, a.mask, a.restorer = 0, 0, 0


def action(task: Task, signo: int) -> SigAction:
    if task.sighand is None:
        task.sighand = SigHandlers()
    return task.sighand.actions[signo]


def killed_status(signo: int) -> int:
    """The wait(2) status of a task killed by signo (with the core flag where Linux sets it)."""
    return signo | (WCOREFLAG if signo in CORE_DUMPING else 0)


def is_ignored(task: Task, signo: int) -> bool:
    a = action(task, signo)
    return a.handler == SIG_IGN or (a.handler == SIG_DFL and signo in IGNORED_BY_DEFAULT)


def _unkillable(task: Task) -> bool:
    """SIGNAL_UNKILLABLE: pid 1, until a fault with no handler has been forced on it."""
    return task.tgid == 1 and task.group.signal_unkillable


def _task_ignores(task: Task, signo: int, forced: bool = False) -> bool:
    """sig_task_ignored(): the signal would have no effect, so it is not even queued.

    init (pid 1) is SIGNAL_UNKILLABLE: signals whose action is SIG_DFL do nothing to it,
    SIGKILL and SIGSTOP included, unless the kernel forces them (a fault).
    """
    handler = action(task, signo).handler
    if _unkillable(task) and handler == SIG_DFL and not (forced and signo in (SIGKILL, SIGSTOP)):
        return True
    if signo in (SIGKILL, SIGSTOP):
        return False
    return handler == SIG_IGN or (handler == SIG_DFL and signo in IGNORED_BY_DEFAULT)


# -- sending ------------------------------------------------------------------------------------

def send_signal(task: Task, signo: int, info: SigInfo | None = None, forced: bool = False,
                thread: bool = False) -> int:
    """Make signo pending for task's process (kill), or for task alone with `thread`
    (tgkill, faults), and make sure it is noticed soon (__send_signal_locked). 0, or
    -EAGAIN for a real-time signal with a user's siginfo (sigqueue) that finds the
    RLIMIT_SIGPENDING queue full."""
    group = task.group
    if signo == 0 or (task.state is State.ZOMBIE and (thread or not group.threads)):
        return 0
    if not _prepare(task, signo, forced):
        return 0
    b = bit(signo)
    if signo < SIGRTMIN and (task.sigpending if thread else group.shared_pending) & b:
        return 0                                 # a standard signal is pending at most once
    special = info is None
    if info is None:
        info = _default_info(task, signo)
    queued = not _queue_limited(task, signo, info, special)
    if not queued and signo >= SIGRTMIN and not special and info.code != SI_USER:
        return -EAGAIN                           # sigqueue, tgkill: the caller hears of it
    # Past the limit otherwise the signal still comes, without its siginfo (dequeue then
    # makes up an SI_USER one from nobody, as collect_signal does).
    if thread:
        task.sigpending |= b
        if queued:
            task.siginfo.setdefault(signo, []).append(info)
    else:
        group.shared_pending |= b
        if queued:
            group.shared_siginfo.setdefault(signo, []).append(info)
    sighand = group.sighand
    if sighand is not None:
        sighand.signalfd_wq.wake_all()          # signalfd_notify
    if signo == SIGKILL:
        _continue(task, kill=True)
    target = task if thread or _wants(task, b) else _thread_wanting(task, b)
    if target is not None and not target.blocked & b:
        _notice(target)
    return 0


def _queue_limited(task: Task, signo: int, info: SigInfo, special: bool) -> bool:
    """__sigqueue_alloc refusing a queue entry: RLIMIT_SIGPENDING binds real-time signals
    and standard ones whose siginfo a user made (si_code < 0: sigqueue, tkill); the
    kernel's own and kill()'s standard signals override it. SIGKILL never takes an entry;
    a POSIX timer's was allocated at timer_create."""
    if signo == SIGKILL or info.code == SI_TIMER:
        return False
    if signo < SIGRTMIN and (special or info.code >= 0):
        return False
    return sigqueue_full(task)


def send_thread_signal(task: Task, signo: int, info: SigInfo | None = None) -> None:
    """A signal for this thread only (send_sig: SIGPIPE, tgkill)."""
    send_signal(task, signo, info, thread=True)


def pending(task: Task) -> int:
    """The signals pending for task: its own and its process's."""
    return task.sigpending | task.group.shared_pending


def _wants(task: Task, b: int) -> bool:
    return task.state is not State.ZOMBIE and not task.blocked & b


def _thread_wanting(task: Task, b: int) -> Task | None:
    """complete_signal(): a thread of the process that does not block the signal, if any."""
    for t in task.group.threads:
        if _wants(t, b):
            return t
    return None


def _default_info(task: Task, signo: int) -> SigInfo:
    """SEND_SIG_NOINFO for what a task does to itself (SIGPIPE), SEND_SIG_PRIV otherwise."""
    if signo == SIGPIPE:
        return SigInfo(signo, SI_USER, pid=task.tgid, uid=task.creds.uid)
    return SigInfo(signo, SI_KERNEL)


def _prepare(task: Task, signo: int, forced: bool) -> bool:
    """prepare_signal(): stop/continue side effects at send time; False to drop the signal."""
    if signo in STOPPING:
        _flush(task, bit(SIGCONT))
    elif signo == SIGCONT:
        _flush(task, sum(bit(s) for s in STOPPING))
        if _is_stopped(task):
            task.group.wait_report = ("continued", SIGCONT)
            notify_parent_cldstop(task, CLD_CONTINUED)
            _continue(task)
    # Blocked signals are never ignored: the handler may change before they are unblocked.
    if (task.blocked | task.real_blocked) & bit(signo):
        return True
    if task.ptrace.tracer is not None and signo != SIGKILL:
        return True                              # the tracer sees even ignored signals
    return not _task_ignores(task, signo, forced)


def _flush(task: Task, mask: int) -> None:
    """Discard the signals in mask pending for task's process and every thread of it."""
    group = task.group
    group.shared_pending = _flush_queue(group.shared_pending, group.shared_siginfo, mask)
    for t in group.threads or [task]:
        t.sigpending = _flush_queue(t.sigpending, t.siginfo, mask)


def _flush_queue(pending: int, siginfo: dict, mask: int) -> int:
    flushed = pending & mask
    while flushed:
        low = flushed & -flushed
        siginfo.pop(low.bit_length(), None)
        flushed &= ~low
    return pending & ~mask


def _notice(task: Task) -> None:
    """A deliverable signal is pending: interrupt a sleep, or make a running task trap."""
    if task.state is State.BLOCKED:
        # Deferred one loop turn: a sleep that began during this same trap has an asyncio
        # job that has not taken its first step yet, and cancelling it now would kill the
        # job before the syscall layer can turn the cancellation into -ERESTARTSYS.
        asyncio.get_running_loop().call_soon(task.kernel.sched.interrupt, task)
    elif task.on_cpu is not None and not task.on_cpu.trapped:
        task.on_cpu.kick()


def _continue(task: Task, kill: bool = False) -> None:
    """A stopped process's threads go back to the run queue (or to sleeping in their syscall).
    A tracee in a ptrace stop stays there unless this is SIGKILL."""
    task.group.stopped = False
    for t in task.group.threads or [task]:
        if t.state is State.STOPPED and (kill or t.ptrace.tracer is None or ptrace.continued(t)):
            t.kernel.sched.make_runnable(t)


def _is_stopped(task: Task) -> bool:
    return task.group.stopped or task.state is State.STOPPED


def send_to_group(pids: PidTable, pgid: int, signo: int, info: SigInfo | None = None) -> int:
    """Send to every process in process group pgid; how many there were."""
    members = pids.group(pgid)
    for t in members:
        send_signal(t, signo, info)
    return len(members)


def notify_parent_cldstop(task: Task, why: int) -> None:
    """do_notify_parent_cldstop(): SIGCHLD with CLD_STOPPED/CLD_CONTINUED to the parent
    (unless it set SA_NOCLDSTOP or ignores SIGCHLD), and wake its wait4/waitid."""
    parent = task.parent
    if parent is None or parent.state is State.ZOMBIE:
        return
    status = SIGCONT if why == CLD_CONTINUED else (task.group.wait_report or (None, 0))[1]
    a = action(parent, SIGCHLD)
    if a.handler != SIG_IGN and not a.flags & SA_NOCLDSTOP:
        send_signal(parent, SIGCHLD, SigInfo(SIGCHLD, why, pid=task.tgid, uid=task.creds.uid, status=status,
                                             utime=task.utime_ns // 10_000_000,
                                             stime=task.stime_ns // 10_000_000))
    parent.group.child_events.wake_all()                  # its wait4/waitid looks again


def force_signal(task: Task, signo: int, code: int, addr: int = 0, why: str = "", *,
                 esr: int | None = None, fault_address: int = 0) -> None:
    """A synchronous fault (force_sig_fault): delivered before anything else when the task
    next returns to user space. A blocked or ignored fault signal is unblocked and reset to
    SIG_DFL first, so the task cannot simply carry on.

    esr/fault_address, when given, are what the frame reports in sigcontext.fault_address
    and an esr_context (Linux's thread.fault_address / fault_code).
    """
    a = _unblock_forced(task, signo, reset_caught=False)
    if esr is not None:
        task.fault_address, task.fault_code = fault_address, esr
    if a.handler == SIG_DFL and task.ptrace.tracer is None:     # (a tracer sees it first)
        log.warning("pid %d (%s): %s: killed by %s", task.tid, task.comm.decode(errors="replace"),
                    why, NAMES.get(signo, signo))
    send_signal(task, signo, SigInfo(signo, code, addr=addr), forced=True, thread=True)


def force_sig_info(task: Task, info: SigInfo, reset_caught: bool = False) -> None:
    """force_sig_info_to_task: `info` delivered before anything else, its signal unblocked and
    reset to SIG_DFL if blocked or ignored -- or whatever its handler (HANDLER_EXIT,
    `reset_caught`: only the exit status shows it)."""
    _unblock_forced(task, info.signo, reset_caught)
    send_signal(task, info.signo, info, forced=True, thread=True)


def _unblock_forced(task: Task, signo: int, reset_caught: bool) -> SigAction:
    """What forcing signo does to the task's disposition first; the action then in force."""
    a = action(task, signo)
    if reset_caught or task.blocked & bit(signo) or a.handler == SIG_IGN:
        a.handler = SIG_DFL
        task.blocked &= ~bit(signo)
    if a.handler == SIG_DFL:
        task.group.signal_unkillable = False
    return a


def fatal_signal_pending(task: Task) -> bool:
    """A SIGKILL is on its way: a sleep that ignores other signals (a killable wait)
    should end now."""
    return bool(pending(task) & bit(SIGKILL))


def force_fatal(task: Task, signo: int, why: str) -> None:
    """A fault with no address to report (si_code SI_KERNEL)."""
    force_signal(task, signo, SI_KERNEL, 0, why)


def force_sigsegv(task: Task, signo: int) -> None:
    """force_sigsegv(): the frame for signo could not be written. If that was SIGSEGV
    itself, its handler is dropped so the next attempt kills."""
    if signo == SIGSEGV:
        action(task, SIGSEGV).handler = SIG_DFL
    force_signal(task, SIGSEGV, SI_KERNEL, 0, f"cannot deliver {NAMES.get(signo, signo)}")


# -- delivery -----------------------------------------------------------------------------------

RESTARTS = (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK)


def dequeue(task: Task, allowed: int) -> tuple[int, SigInfo | None]:
    """dequeue_signal(): the next pending signal in `allowed`, the thread's own before its
    process's (faults first, then the lowest)."""
    signo, info, task.sigpending = _take(task.sigpending, task.siginfo, allowed)
    if not signo:
        group = task.group
        signo, info, group.shared_pending = _take(group.shared_pending, group.shared_siginfo, allowed)
    return signo, info


def _take(pending: int, siginfo: dict, allowed: int) -> tuple[int, SigInfo | None, int]:
    """One signal off a pending set and its queue: (signo, info, what stays pending)."""
    ready = pending & allowed
    if not ready:
        return 0, None, pending
    if ready & SYNCHRONOUS:
        ready &= SYNCHRONOUS
    signo = (ready & -ready).bit_length()
    queue = siginfo.get(signo) or []
    info = queue.pop(0) if queue else SigInfo(signo, SI_USER)    # queue was full at send
    if not queue:
        siginfo.pop(signo, None)
        pending &= ~bit(signo)
    if info.on_dequeue is not None:
        info.on_dequeue(info)
    return signo, info, pending


def deliver_pending(task: Task) -> None:
    """Act on the task's deliverable signals before it returns to user space (do_signal).

    With task.restart set, x0 holds -ERESTART* from an interrupted syscall: with no
    handler the syscall is restarted (x0 = orig_x0, pc back over the svc); a handler
    makes it fail with EINTR unless it is ERESTARTSYS and the handler has SA_RESTART, or
    ERESTARTNOINTR.
    """
    orig_x0, task.restart = task.restart, None
    regs = task.regs()
    retval = regs.syscall_result() if orig_x0 is not None else 0
    if -retval not in RESTARTS:
        orig_x0 = None
    while True:
        if task.ptrace.interrupt:                   # PTRACE_INTERRUPT: trap before any signal
            task.restart = orig_x0
            ptrace.interrupt_stop(task)
            return
        signo, info = dequeue(task, ~task.blocked)
        if not signo:
            break
        if task.kernel.tracer is not None and signo != SIGKILL:     # --trace: --- SIGCHLD {...} ---
            task.kernel.tracer.signal(task, signo, info)
        if task.ptrace.tracer is not None:
            assert info is not None
            if ptrace.delivery_stop(task, signo, info):
                task.restart = orig_x0              # decided when it runs again
                return
        a = action(task, signo)
        if a.handler == SIG_IGN:
            continue
        if a.handler != SIG_DFL:
            handler = SigAction(a.handler, a.flags, a.mask, a.restorer)
            if a.flags & SA_RESETHAND:
                a.handler = SIG_DFL                 # SA_ONESHOT: the flags stay as they are
            if orig_x0 is not None:
                if -retval in (ERESTARTNOHAND, ERESTART_RESTARTBLOCK) or (
                        -retval == ERESTARTSYS and not a.flags & SA_RESTART):
                    regs.x[0] = -EINTR
                else:
                    regs.restart_syscall(orig_x0)
                orig_x0 = None
            assert info is not None                 # dequeue gives one with every signo
            if setup_frame(task, signo, info, handler):
                if task.ptrace.hwdebug is not None:     # stepped into the handler: the tracer sees it
                    ptrace.step_into_handler(task)
                return
            continue                                # SIGSEGV was forced: go round again
        if signo in IGNORED_BY_DEFAULT:
            continue
        if _unkillable(task) and signo not in (SIGKILL, SIGSTOP):
            continue                                # init gets no signal it does not handle
        if signo in STOPPING:
            if signo != SIGSTOP and task.kernel.pids.is_orphaned_group(task.pgid):
                continue                            # nobody could continue it: ignored
            task.restart = orig_x0                  # decided when it runs again
            _stop_group(task, signo)
            return
        raise TaskExit(_fatal_status(task, signo, info))
    if orig_x0 is not None:                         # ERESTART_RESTARTBLOCK resumes, not redoes
        regs.restart_syscall(orig_x0, restart_block=-retval == ERESTART_RESTARTBLOCK)
    if task.saved_blocked is not None:              # restore_saved_sigmask()
        task.blocked, task.saved_blocked = task.saved_blocked, None
        if pending(task) & ~task.blocked:
            deliver_pending(task)


def _fatal_status(task: Task, signo: int, info: SigInfo | None) -> int:
    """The status of a process that signo kills: "core dumped" if its action is to dump core
    and the core was written (proc/coredump.py)."""
    if signo in CORE_DUMPING and coredump.dump(task, signo, info):
        return signo | WCOREFLAG
    return signo


def _stop_group(task: Task, signo: int) -> None:
    """A group stop: every thread of the process stops; the parent hears of it once.

    A thread asleep in a syscall stops when the syscall ends (proc/trap.py asks
    group.stopped) -- it runs no user code meanwhile either.
    """
    task.state = State.STOPPED
    group = task.group
    group.stopped = True
    sched = task.kernel.sched
    for t in group.threads:
        if t is not task and t.state is State.RUNNABLE and t.on_cpu is None:
            sched.detach(t)
            t.state = State.STOPPED
        elif t is not task and t.state is State.RUNNABLE:
            t.state = State.STOPPED             # on another CPU: it leaves that CPU at its
            cpu = t.on_cpu                      # next trap (Cpu.schedule switches it out)
            if cpu is not None and not cpu.trapped:
                cpu.kick()
    group.wait_report = ("stopped", signo)
    notify_parent_cldstop(task, CLD_STOPPED)
    if task.ptrace.tracer is not None:
        ptrace.group_stop(task, signo)


# -- the frame ----------------------------------------------------------------------------------

def on_sig_stack(task: Task, sp: int) -> bool:
    ss_sp, ss_flags, ss_size = task.altstack
    if ss_flags & SS_AUTODISARM:
        return False
    return sp > ss_sp and sp - ss_sp <= ss_size


def sas_ss_flags(task: Task, sp: int) -> int:
    if not task.altstack[2]:
        return SS_DISABLE
    return SS_ONSTACK if on_sig_stack(task, sp) else 0


def setup_frame(task: Task, signo: int, info: SigInfo, a: SigAction) -> bool:
    """setup_rt_frame() + signal_delivered(); False (and SIGSEGV forced) if the frame
    cannot be written."""
    ctx = task.regs()
    regs = ctx.read_regs()
    oldmask = task.saved_blocked if task.saved_blocked is not None else task.blocked
    sp_top = regs.sp
    if a.flags & SA_ONSTACK and sas_ss_flags(task, regs.sp) == 0:
        sp_top = task.altstack[0] + task.altstack[2]
    place = F.place_frame(sp_top)
    uc = F.pack_ucontext(regs, oldmask, task.altstack, task.fault_address,
                         task.fault_code if task.fault_code else None)
    mm = task.mm
    try:
        mm.write(place.record, struct.pack("<QQ", regs.x[29], regs.x[30]))
        mm.write(place.frame + F.FRAME_UC, uc)
        if a.flags & SA_SIGINFO:
            mm.write(place.frame, F.pack_siginfo(info))
    except Errno:
        log.info("pid %d: cannot write the %s frame at %#x", task.tid, NAMES.get(signo, signo), place.frame)
        force_sigsegv(task, signo)
        return False
    regs.x[0] = signo
    if a.flags & SA_SIGINFO:
        regs.x[1] = place.frame
        regs.x[2] = place.frame + F.FRAME_UC
    regs.x[29] = place.record
    # Without SA_RESTORER the handler returns to the vDSO's __kernel_rt_sigreturn.
    regs.x[30] = a.restorer if a.flags & SA_RESTORER else vdso.sigreturn_address(mm)
    regs.sp = place.frame
    regs.pc = a.handler
    regs.pstate &= ~F.PSR_TCO_BIT
    ctx.write_regs(regs, fpsimd=False)
    # signal_delivered()
    task.saved_blocked = None
    task.blocked = (task.blocked | a.mask | (0 if a.flags & SA_NODEFER else bit(signo))) & ~UNCATCHABLE
    if task.altstack[1] & SS_AUTODISARM:
        task.altstack = (0, SS_DISABLE, 0)
    return True


def restore_frame(task: Task) -> int:
    """rt_sigreturn: restore the context saved at sp; the restored x0 is the result.

    A misaligned sp or a frame Linux would reject gets SIGSEGV (arm64_notify_segfault).
    """
    ctx = task.regs()
    sp = ctx.sp
    try:
        if sp & 15:
            raise F.BadFrame("misaligned sp")
        try:
            uc = task.mm.read(sp + F.FRAME_UC, F.UCONTEXT_SIZE)
        except Errno:
            raise F.BadFrame("unreadable frame") from None
        regs, mask, stack = F.unpack_ucontext(uc)
    except F.BadFrame as e:
        log.info("pid %d: rt_sigreturn: bad frame at %#x: %s", task.tid, sp, e)
        force_signal(task, SIGSEGV, SI_KERNEL, 0, f"rt_sigreturn with a bad frame at {sp:#x}")
        return 0
    task.restart_block = None                 # a pending restart_syscall now gives EINTR
    task.blocked = mask & ~UNCATCHABLE
    ctx.write_regs(regs)
    set_altstack(task, stack, regs.sp)        # restore_altstack(): errors other than EFAULT are ignored
    return regs.x[0]


# -- sigaltstack --------------------------------------------------------------------------------

def set_altstack(task: Task, new: tuple[int, int, int], sp: int) -> int:
    """do_sigaltstack() for a new stack_t (ss_sp, ss_flags, ss_size); 0 or -errno."""
    from moss_host.errors import EINVAL, ENOMEM, EPERM
    ss_sp, ss_flags, ss_size = new
    ss_flags &= 0xFFFF_FFFF
    if on_sig_stack(task, sp):
        return -EPERM
    mode = ss_flags & ~SS_FLAG_BITS
    if mode not in (SS_DISABLE, SS_ONSTACK, 0):
        return -EINVAL
    if task.altstack == (ss_sp, ss_flags, ss_size):
        return 0
    if mode == SS_DISABLE:
        ss_size, ss_sp = 0, 0
    elif ss_size < MINSIGSTKSZ:
        return -ENOMEM
    task.altstack = (ss_sp, ss_flags, ss_size)
    return 0


def exec_reset(task: Task) -> None:
    """What execve does to signal state: handlers to SIG_DFL, no alternate stack; the mask
    and pending signals stay."""
    if task.sighand is not None:
        task.sighand.reset_for_exec()
    task.altstack = (0, SS_DISABLE, 0)
    task.saved_blocked = None
