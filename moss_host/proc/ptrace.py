"""ptrace: a tracer stops, inspects and resumes its tracees (Linux's kernel/ptrace.c and
the ptrace parts of kernel/signal.c).

Links: tracee.ptrace.tracer and tracer.ptrace.tracees (proc/ptrace_state.py). A tracee
has one real parent (its group's) and at most one tracer; the tracer's wait sees the
tracee's ptrace stops and its exit first (proc/wait.py), the real parent hears of the
exit only once the tracer has collected it or let go.

Stops. A ptrace stop records its kind and code (the wait status's bits 8..23) and wakes
the tracer's wait with SIGCHLD/CLD_TRAPPED; the tracer resumes it (CONT, SYSCALL,
DETACH, ...) with a signal or none. There are two ways to be stopped:

    on the way to user space   signal-delivery stops (signals.deliver_pending), group
                               stops, PTRACE_INTERRUPT, a new auto-attached child: the task
                               is STOPPED off its CPU; resuming makes it runnable again.
    inside a syscall           syscall-entry/exit stops (a TracedCall parked as the
                               task's sleep) and event stops (fork, exec: the syscall's
                               job awaits a future); the tracer's resume calls
                               `st.resumed`; only SIGKILL breaks such a stop.

Syscall stops: a task resumed with PTRACE_SYSCALL has Task.traced_syscalls set, and
proc/trap.py sends its syscalls through `traced_syscall` (entry stop, the call with the
number the tracer may have changed -- -1 skips it --, exit stop with x0 changeable)
instead of the fast path. At those stops x7 reads 0 (entry) or 1 (exit) as arm64 Linux
shows the tracer, and gets its own value back when the tracee resumes. A traced syscall
costs no asyncio job, future or loop turn unless the call itself sleeps: the stop wakes
the tracer's parked wait4 inline (proc/wait.py park), and the tracer's PTRACE_SYSCALL
runs the call and reports its exit stop inline, inside its own ptrace call.
"""
from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING, Any, Callable

from moss_host.arch.arm64.context import OFF_X0
from moss_host.arch.arm64.sigframe import SIGINFO_SIZE, SI_USER
from moss_host.cred import capable
from moss_host.errors import ENOSYS, EPERM, ERESTARTSYS, ESRCH, Errno

from . import hwdebug, lifecycle, seccomp, signals
from .ptrace_state import (EVENT_STOP, GROUP_STOP, NOT_STOPPED, SIGNAL_STOP, SYSCALL_ENTRY, SYSCALL_EXIT,
                           PtraceState)
from .task import State, Task, TaskExit

if TYPE_CHECKING:
    from .signals import SigInfo

PTRACE_EVENT_FORK, PTRACE_EVENT_VFORK, PTRACE_EVENT_CLONE, PTRACE_EVENT_EXEC = 1, 2, 3, 4
PTRACE_EVENT_VFORK_DONE, PTRACE_EVENT_EXIT, PTRACE_EVENT_SECCOMP = 5, 6, 7
PTRACE_EVENT_STOP = 128

O_TRACESYSGOOD = 0x01
O_TRACEFORK = 0x02
O_TRACEVFORK = 0x04
O_TRACECLONE = 0x08
O_TRACEEXEC = 0x10
O_TRACEVFORKDONE = 0x20
O_TRACEEXIT = 0x40
O_TRACESECCOMP = 0x80
O_EXITKILL = 0x100000
O_SUSPEND_SECCOMP = 0x200000
O_MASK = 0xFF | O_EXITKILL | O_SUSPEND_SECCOMP

NO_SYSCALL = -1
# A saved context's general registers, x0 first (arch/arm64/context.py): one unpack, no view.
_X = struct.Struct("<Q")
_ARGS = struct.Struct("<6Q")
_OFF_X7 = 7 * 8
assert OFF_X0 == 0
SUID_DUMP_USER = 1
_MASK = (1 << 64) - 1


# -- links ---------------------------------------------------------------------------------------

def is_traced(task: Task) -> bool:
    return task.ptrace.tracer is not None


def may_access(tracer: Task, tracee: Task) -> bool:
    """__ptrace_may_access (PTRACE_MODE_REALCREDS): the caller's real ids are all of the
    tracee's, or it is privileged; and the tracee is dumpable unless the caller is privileged."""
    if tracer.group is tracee.group:
        return True
    mine, theirs = tracer.creds, tracee.creds
    same = (mine.uid == theirs.uid == theirs.euid == theirs.suid
            and mine.gid == theirs.gid == theirs.egid == theirs.sgid)
    if not same and not capable(mine):
        return False
    return tracee.dumpable == SUID_DUMP_USER or capable(mine)


def traceme(task: Task) -> None:
    """PTRACE_TRACEME: the real parent becomes the tracer."""
    parent = task.parent
    if is_traced(task) or parent is None:
        raise Errno(EPERM)
    link(parent, task, seized=False, options=0)


def attach(tracer: Task, tracee: Task, seize: bool, options: int) -> None:
    """ptrace_attach, its checks in Linux's order. PTRACE_ATTACH sends SIGSTOP; PTRACE_SEIZE
    does not stop the tracee."""
    if tracee.group is tracer.group or not may_access(tracer, tracee):
        raise Errno(EPERM)
    if tracee.state is State.ZOMBIE or tracee.group.exiting or is_traced(tracee):
        raise Errno(EPERM)
    link(tracer, tracee, seized=seize, options=options)
    if not seize:
        signals.send_signal(tracee, signals.SIGSTOP, signals.SigInfo(signals.SIGSTOP, SI_USER, pid=tracer.tgid,
                                                                     uid=tracer.creds.uid), thread=True)
    elif tracee.group.stopped and tracee.state is State.STOPPED:
        # Attached to a stopped task: it re-traps into the group stop (JOBCTL_TRAP_STOP).
        _stop_off_cpu(tracee, GROUP_STOP, _group_stop_code(tracee))


def link(tracer: Task, tracee: Task, seized: bool, options: int) -> None:
    st = tracee.ptrace
    st.tracer, st.seized, st.options = tracer, seized, options
    tracer.ptrace.tracees.append(tracee)


def unlink(tracee: Task) -> None:
    """__ptrace_unlink: the tracee is nobody's; a stop it is in ends (a group stop stays a stop)."""
    st = tracee.ptrace
    tracer = st.tracer
    if tracer is not None and tracee in tracer.ptrace.tracees:
        tracer.ptrace.tracees.remove(tracee)
    tracee.traced_syscalls = tracee.seccomp is not None     # (a filter still checks its calls)
    was = st.stop_kind
    tracees = st.tracees
    tracee.ptrace = PtraceState(tracees=tracees)
    if was == GROUP_STOP and tracee.group.stopped and st.resumed is None:
        return                                  # an ordinary group stop again: SIGCONT ends it
    if was != NOT_STOPPED:
        _wake(tracee, st, was)


def detach(tracee: Task, signo: int) -> None:
    """PTRACE_DETACH: resume with signo (a signal-delivery stop only) and let go."""
    st = tracee.ptrace
    hwdebug.disable_step(tracee)
    if st.stop_kind == SIGNAL_STOP and signo:
        st.resume_signal = signo
        _reinject(tracee, st, signo)
    unlink(tracee)


def task_exiting(task: Task) -> None:
    """do_exit: a stop the task was in is over; the tasks it traces go free."""
    st = task.ptrace
    st.stop_kind, st.resumed, st.listening, st.interrupt = NOT_STOPPED, None, False, False
    task.traced_syscalls = task.seccomp is not None
    exit_ptrace(task)


def exit_ptrace(tracer: Task) -> None:
    """The tracer exits: its tracees go free (exit_ptrace); with PTRACE_O_EXITKILL they die."""
    for tracee in list(tracer.ptrace.tracees):
        kill = tracee.ptrace.options & O_EXITKILL
        zombie_waiting = tracee.state is State.ZOMBIE
        unlink(tracee)
        if kill:
            signals.send_signal(tracee, signals.SIGKILL)
        if zombie_waiting:
            exit_collected(tracee, tracer)


def exit_collected(tracee: Task, tracer: Task) -> None:
    """The tracer is done with a traced zombie: the real parent hears of the exit now
    (a thread that is not its group's leader was only ever the tracer's to see)."""
    unlink(tracee)
    group = tracee.group
    if tracee is group.leader and not group.threads and tracee.parent is not tracer:
        lifecycle.notify_parent(tracee)


# -- stopping ------------------------------------------------------------------------------------

def _enter_stop(task: Task, kind: int, code: int, info: SigInfo | None = None) -> None:
    """ptrace_stop: the stop's code and last_siginfo (the signal's, or for a notification
    ptrace_do_notify's: its signal, the code as si_code, the tracee's pid and uid -- none
    for an old-style group stop)."""
    st = task.ptrace
    st.stop_kind, st.stop_code, st.reported, st.resume_signal = kind, code, False, 0
    if info is None and (kind != GROUP_STOP or st.seized):
        raw = struct.pack("<iii4xiI", code & 0xFF, 0, code, task.tid, task.creds.uid).ljust(SIGINFO_SIZE, b"\0")
        info = signals.SigInfo(code & 0xFF, code, raw=raw)
    st.siginfo = info
    notify_tracer(task, signals.CLD_TRAPPED, code & 0x7F)


def notify_tracer(task: Task, why: int, status: int) -> None:
    """do_notify_parent_cldstop/do_notify_parent for the tracer: SIGCHLD and a wake-up of its wait."""
    tracer = task.ptrace.tracer
    if tracer is None or tracer.state is State.ZOMBIE:
        return
    a = signals.action(tracer, signals.SIGCHLD)
    if a.handler != signals.SIG_IGN and not (why != signals.CLD_EXITED and a.flags & signals.SA_NOCLDSTOP):
        signals.send_signal(tracer, signals.SIGCHLD, signals.SigInfo(
            signals.SIGCHLD, why, pid=task.tid, uid=task.creds.uid, status=status,
            utime=task.utime_ns // 10_000_000, stime=task.stime_ns // 10_000_000))
    tracer.group.child_events.wake_all()


def _stop_off_cpu(task: Task, kind: int, code: int, info: SigInfo | None = None) -> None:
    """A stop on the way to user space: the task leaves its CPU (or its run queue) STOPPED."""
    if task.on_cpu is None and task.state is State.RUNNABLE:
        task.kernel.sched.detach(task)
    if task.state is not State.BLOCKED:
        task.state = State.STOPPED
    _enter_stop(task, kind, code, info)


def signal_stop(task: Task, signo: int, info: SigInfo) -> None:
    """ptrace_signal: the tracer sees the signal before the tracee acts on it."""
    _stop_off_cpu(task, SIGNAL_STOP, signo, info)


def interrupt_stop(task: Task) -> None:
    """JOBCTL_TRAP_STOP taken (do_jobctl_trap): PTRACE_EVENT_STOP with the stop signal
    during a group stop, SIGTRAP otherwise."""
    task.ptrace.interrupt = False
    _stop_off_cpu(task, GROUP_STOP, _group_stop_code(task))


def _group_stop_code(task: Task) -> int:
    report = task.group.wait_report
    signo = report[1] if task.group.stopped and report is not None and report[0] == "stopped" \
        else signals.SIGTRAP
    return signo | PTRACE_EVENT_STOP << 8 if task.ptrace.seized else signo


def group_stop(task: Task, signo: int) -> None:
    """A traced task joins a group stop: its tracer sees it (PTRACE_EVENT_STOP when seized)."""
    _enter_stop(task, GROUP_STOP, signo | PTRACE_EVENT_STOP << 8 if task.ptrace.seized else signo)


def request_interrupt(task: Task) -> None:
    """PTRACE_INTERRUPT: a running or sleeping seized tracee traps as soon as it can."""
    st = task.ptrace
    if st.stopped and not st.listening:
        return
    if st.listening:
        st.listening = False
        _enter_stop(task, GROUP_STOP, _group_stop_code(task))
        return
    if task.state is State.BLOCKED:
        st.interrupt = True
        task.kernel.sched.interrupt(task)       # the syscall restarts after the stop
    elif task.state is State.RUNNABLE and task.on_cpu is None:
        interrupt_stop(task)
    elif task.state is State.RUNNABLE:
        st.interrupt = True
        task.on_cpu.kick()                      # type: ignore[union-attr]


async def stop_in_syscall(task: Task, kind: int, code: int) -> int:
    """A stop inside an async syscall (an event stop: fork, exec): sleep until the tracer
    resumes us; its signal, or 0. Ordinary signals wait (TASK_TRACED); SIGKILL ends the stop."""
    st = task.ptrace
    resumed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    st.resumed = lambda: _resolve(resumed)
    _enter_stop(task, kind, code)
    while not resumed.done():
        try:
            await asyncio.shield(resumed)
        except asyncio.CancelledError:
            if signals.fatal_signal_pending(task) or task.state is State.ZOMBIE or task.kernel.stopping:
                if task.ptrace is st:
                    st.stop_kind, st.resumed = NOT_STOPPED, None
                raise
    return st.resume_signal


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def event(task: Task, ev: int, message: int = 0) -> None:
    """ptrace_event: a PTRACE_EVENT_* stop if the tracer asked for that event."""
    st = task.ptrace
    if not ev or not event_enabled(task, ev):
        return
    st.eventmsg = message
    await stop_in_syscall(task, EVENT_STOP, signals.SIGTRAP | ev << 8)


async def report_exec(task: Task, old_tid: int) -> None:
    """After a successful exec: PTRACE_EVENT_EXEC with TRACEEXEC, else a SIGTRAP for a
    tracee attached the old way (ptrace_event(PTRACE_EVENT_EXEC) in exec_binprm)."""
    st = task.ptrace
    if st.tracer is None:
        return
    hwdebug.on_exec(task)
    if st.options & O_TRACEEXEC:
        await event(task, PTRACE_EVENT_EXEC, old_tid)
    elif not st.seized:
        signals.send_thread_signal(task, signals.SIGTRAP)


async def report_clone(task: Task, child: Task, flags: int) -> None:
    """PTRACE_EVENT_FORK/VFORK/CLONE with the new tid, if the tracer asked for it."""
    if task.ptrace.tracer is not None:
        await event(task, clone_event(flags, child.exit_signal), child.tid)


def clone_event(flags: int, exit_signal: int) -> int:
    """Which event a clone reports (kernel_clone): vfork, clone (not SIGCHLD) or fork."""
    if flags & lifecycle.CLONE_UNTRACED:
        return 0
    if flags & lifecycle.CLONE_VFORK:
        return PTRACE_EVENT_VFORK
    return PTRACE_EVENT_FORK if exit_signal == signals.SIGCHLD else PTRACE_EVENT_CLONE


def event_enabled(task: Task, ev: int) -> bool:
    return task.ptrace.tracer is not None and bool(task.ptrace.options & (1 << ev))   # O_TRACEFORK: 1 << EVENT_FORK


def attach_child(parent: Task, child: Task, flags: int) -> int:
    """ptrace_init_task: a child of a tracee is traced too when the tracer asked for its kind
    of clone (or CLONE_PTRACE); it starts stopped -- SIGSTOP queued, or PTRACE_EVENT_STOP
    when seized. The event to report, or 0."""
    ev = clone_event(flags, child.exit_signal)
    if not (ev and event_enabled(parent, ev)) and not (flags & lifecycle.CLONE_PTRACE and is_traced(parent)):
        return 0
    st = parent.ptrace
    assert st.tracer is not None
    link(st.tracer, child, seized=st.seized, options=st.options)
    if st.seized:
        interrupt_stop(child)
    else:
        signals.send_signal(child, signals.SIGSTOP, thread=True)
    return ev if ev and event_enabled(parent, ev) else 0


# -- resuming ------------------------------------------------------------------------------------

def resume(task: Task, signo: int, syscalls: bool, sysemu: bool = False, step: bool = False) -> None:
    """PTRACE_CONT / SYSCALL / SYSEMU / SINGLESTEP / SYSEMU_SINGLESTEP (ptrace_resume): go
    on, with signo for a signal stop; stepping one instruction at a time, or not."""
    st = task.ptrace
    if step:
        hwdebug.enable_step(task)
    else:
        hwdebug.disable_step(task)
    st.syscall_stops = syscalls or sysemu
    # _TIF_SINGLESTEP is syscall work too, as _TIF_SECCOMP is
    task.traced_syscalls = syscalls or sysemu or step or task.seccomp is not None
    st.sysemu = sysemu
    st.resume_signal = signo
    kind = st.stop_kind
    if kind == SIGNAL_STOP and signo:
        _reinject(task, st, signo)
    st.stop_kind = NOT_STOPPED
    st.listening = False
    _wake(task, st, kind)


def listen(task: Task) -> None:
    """PTRACE_LISTEN: out of the ptrace stop, still stopped; SIGCONT makes it trap again."""
    st = task.ptrace
    st.stop_kind = NOT_STOPPED
    st.listening = True


def _wake(task: Task, st: PtraceState, kind: int) -> None:
    resumed = st.resumed
    st.resumed = None
    if resumed is not None:
        resumed()                               # a stop inside a syscall goes on from there
        return
    if task.state is State.STOPPED:
        if kind == GROUP_STOP and len(task.group.threads) <= 1:
            task.group.stopped = False          # resumed out of the group stop by its tracer
        task.kernel.sched.make_runnable(task)


def _reinject(task: Task, st: PtraceState, signo: int) -> None:
    """ptrace_signal's end: the tracer's signal is delivered now (with the original siginfo
    if it is the same signal, else one from the tracer) -- queued again if blocked."""
    info = st.siginfo
    if info is None or info.signo != signo:
        tracer = st.tracer
        info = signals.SigInfo(signo, SI_USER, pid=tracer.tgid if tracer else 0,
                               uid=tracer.creds.uid if tracer else 0)
    task.sigpending |= signals.bit(signo)
    task.siginfo.setdefault(signo, []).insert(0, info)
    if not task.blocked & signals.bit(signo):
        st.injected = signo


def continued(task: Task) -> bool:
    """SIGCONT for a stopped tracee: a listening one traps again (PTRACE_EVENT_STOP with
    SIGTRAP); one in a ptrace stop stays there. True if SIGCONT may run it."""
    st = task.ptrace
    if st.listening:
        st.listening = False
        _enter_stop(task, GROUP_STOP, signals.SIGTRAP | PTRACE_EVENT_STOP << 8)
        return False
    return not st.stopped


def delivery_stop(task: Task, signo: int, info: SigInfo) -> bool:
    """Called by deliver_pending for each dequeued signal of a tracee: True if the tracee
    now stops for its tracer (the signal is the tracer's to hand back)."""
    st = task.ptrace
    if st.injected == signo:
        st.injected = 0
        return False
    if signo == signals.SIGKILL:
        return False
    signal_stop(task, signo, info)
    return True


# -- syscall stops ---------------------------------------------------------------------------------

# The trap layer's end of a sleeping syscall (proc/trap.py syscall_resumed): x0, restarts, wake.
Resumed = Callable[[Task, int], None]


def traced_syscall(task: Task, nr: int, start: Callable[..., Any], log: Any, resumed: Resumed) -> None:
    """A syscall of a tracee under PTRACE_SYSCALL (arm64's el0_svc_common with
    syscall_trace_enter/exit); the task is off its CPU. `start` is the syscall entry
    (dispatch.start); resumed(task, result) ends the call (trap.syscall_resumed).

    No asyncio job: each stop is a TracedCall parked as the task's sleep, and the tracer's
    resume (PTRACE_SYSCALL, CONT, DETACH) goes on inline, inside the tracer's ptrace call --
    the call itself runs there too, and its exit stop is reported before the tracer's
    ptrace returns, so its next wait4 finds it at once. Only a call that sleeps takes a
    job (Scheduler.sleep), as it would untraced."""
    st = task.ptrace
    frame = task.context
    assert frame is not None                 # off its CPU: x0.. at the start of its saved context
    scno = _s32(nr & 0xFFFF_FFFF)
    if scno == NO_SYSCALL:
        _X.pack_into(frame, 0, -ENOSYS & _MASK)     # what a skipped syscall(-1) returns unless the tracer says
    st.syscallno = scno
    st.syscall_args = _ARGS.unpack_from(frame)
    call = TracedCall(task, st, start, log, resumed)
    if st.syscall_stops:
        call.stop(SYSCALL_ENTRY)
    else:
        call.run()


class TracedCall:
    """One traced syscall between its stops. While stopped it is the task's sleep (its
    `pending`, what Scheduler.interrupt and the exit path cancel) and st.resumed is its
    `resume`, which the tracer's resume calls."""
    __slots__ = ("task", "st", "start", "log", "resumed", "kind", "saved_x7", "finished")

    def __init__(self, task: Task, st: PtraceState, start: Callable[..., Any], log: Any, resumed: Resumed):
        self.task = task
        self.st = st
        self.start = start
        self.log = log
        self.resumed = resumed
        self.kind = NOT_STOPPED
        self.saved_x7 = 0
        self.finished = False

    # -- the sleep (sched/parked.py's SleepJob) --

    def done(self) -> bool:
        return self.finished

    def cancel(self) -> bool:
        """A signal for the stopped task: only SIGKILL (or the task's or kernel's end) breaks
        the stop (TASK_TRACED); the syscall then ends with -ERESTARTSYS."""
        task = self.task
        if self.finished or not (signals.fatal_signal_pending(task) or task.state is State.ZOMBIE
                                 or task.kernel.stopping):
            return False
        st = self.st
        if task.ptrace is st and st.resumed == self.resume:
            st.stop_kind, st.resumed = NOT_STOPPED, None
        self._leave_stop()
        self.resumed(task, -ERESTARTSYS)
        return True

    # -- the stops --

    def stop(self, kind: int) -> None:
        """ptrace_report_syscall: x7 tells the tracer entry (0) or exit (1) until it resumes us."""
        task, st = self.task, self.st
        frame = _context(task)
        self.kind = kind
        self.saved_x7 = _X.unpack_from(frame, _OFF_X7)[0]
        _X.pack_into(frame, _OFF_X7, 0 if kind == SYSCALL_ENTRY else 1)
        st.eventmsg = 1 if kind == SYSCALL_ENTRY else 2      # PTRACE_EVENTMSG_SYSCALL_ENTRY / _EXIT
        self.finished = False
        task.state = State.BLOCKED
        task.pending = self
        st.resumed = self.resume
        _enter_stop(task, kind, signals.SIGTRAP | (0x80 if st.options & O_TRACESYSGOOD else 0))

    def seccomp_stop(self, data: int) -> None:
        """ptrace_event(PTRACE_EVENT_SECCOMP, data): the filter asked the tracer first."""
        task, st = self.task, self.st
        self.kind = EVENT_STOP
        self.saved_x7 = _X.unpack_from(_context(task), _OFF_X7)[0]      # (_leave_stop puts it back)
        st.eventmsg = data
        self.finished = False
        task.state = State.BLOCKED
        task.pending = self
        st.resumed = self.resume
        _enter_stop(task, EVENT_STOP, signals.SIGTRAP | PTRACE_EVENT_SECCOMP << 8)

    def _leave_stop(self) -> None:
        self.finished = True
        task = self.task
        if task.pending is self:
            task.pending = None
        if task.context is not None:
            _X.pack_into(task.context, _OFF_X7, self.saved_x7)

    def resume(self) -> None:
        """The tracer resumed us (st.resumed): a signal it gave is sent (send_sig); the call
        runs (entry stop) or returns (exit stop)."""
        if self.finished:
            return
        self._leave_stop()
        task = self.task
        signo = self.st.resume_signal
        if signo:
            signals.send_thread_signal(task, signo)
        if self.kind == SYSCALL_ENTRY:
            self.run()
        elif self.kind == EVENT_STOP:           # PTRACE_EVENT_SECCOMP
            self.run(after_trace=True)
        else:
            self.resumed(task, _x0(task))

    # -- the call --

    def run(self, after_trace: bool = False) -> None:
        """After the entry stop: the call with the number the tracer may have changed
        (-1 skips it; PTRACE_SYSEMU: the tracer did it, no exit stop), if the task's seccomp
        filter lets it run -- checked after the entry stop and, when it asked for a
        PTRACE_EVENT_SECCOMP stop, again after that one (`after_trace`), as Linux."""
        task, st = self.task, self.st
        scno = st.syscallno
        if st.sysemu:
            self.resumed(task, _x0(task))
            return
        if scno == NO_SYSCALL or (after_trace and scno < 0):
            result = _x0(task)
        elif scno < 0:
            result = -ENOSYS
        else:
            frame = task.context
            assert frame is not None             # off its CPU
            try:
                verdict = None if task.seccomp is None else seccomp.check(
                    task, scno, frame, event_enabled(task, PTRACE_EVENT_SECCOMP), after_trace)
                if isinstance(verdict, seccomp.Trace):
                    self.seccomp_stop(verdict.data)
                    return
                result = self.start(task, scno, frame, self.log) if verdict is None else verdict
            except TaskExit as e:
                lifecycle.exit_task(task, e.status, e.whole_group)
                return
            if type(result) is tuple:            # it sleeps: a job finishes it, as untraced
                task.kernel.sched.sleep(task, result[1], self.job_done)
                return
        self.returned(result)

    def job_done(self, task: Task, job: asyncio.Future) -> None:
        """The job of a call that slept ended (trap.syscall_finished's part before the exit stop)."""
        try:
            result = job.result()
        except TaskExit as e:
            lifecycle.exit_task(task, e.status, e.whole_group)
            task.kernel.sched.reschedule(task)
            return
        except asyncio.CancelledError:
            result = -ERESTARTSYS
        self.returned(result)

    def returned(self, result: int) -> None:
        """x0 holds the result; the exit stop if the tracer still wants it."""
        task, st = self.task, self.st
        if task.state is State.ZOMBIE:
            return
        _X.pack_into(_context(task), 0, result & _MASK)    # (execve gives it a new context)
        if task.traced_syscalls and task.ptrace is st:
            st.syscall_result = result
            if st.syscall_stops:
                self.stop(SYSCALL_EXIT)
                return
            if st.hwdebug is not None and st.hwdebug.step:
                # report_syscall's exit while stepping: a pseudo-step SIGTRAP (SI_USER,
                # user_single_step_report). The svc left SPSR.SS clear, so the step after it
                # traps again at once, before the next instruction, as on Linux.
                signals.send_signal(task, signals.SIGTRAP, signals.SigInfo(signals.SIGTRAP, SI_USER), forced=True,
                                    thread=True)
        self.resumed(task, result)


def step_into_handler(task: Task) -> None:
    """A signal handler's frame is set up while the task is single-stepped (handle_signal's
    signal_setup_done with stepping): ptrace_notify(SIGTRAP) -- the tracer sees the task at
    the handler's first instruction, which the next step runs."""
    hw = task.ptrace.hwdebug
    if hw is None or not hw.step or task.ptrace.tracer is None:
        return
    task.regs().pstate |= hwdebug.SPSR_SS
    _stop_off_cpu(task, EVENT_STOP, signals.SIGTRAP)


def _context(task: Task) -> bytearray:
    """The saved context of a task in a traced syscall (off its CPU throughout)."""
    frame = task.context
    assert frame is not None and task.on_cpu is None
    return frame


def _x0(task: Task) -> int:
    return _s64(_X.unpack_from(_context(task), 0)[0])


def _s32(v: int) -> int:
    return v - (1 << 32) if v & (1 << 31) else v


def _s64(v: int) -> int:
    return v - (1 << 64) if v & (1 << 63) else v


# -- wait ----------------------------------------------------------------------------------------

def stop_report(tracee: Task) -> int | None:
    """The code (bits 8..23 of the wait status) of a ptrace stop the tracer has not collected."""
    st = tracee.ptrace
    if st.stop_kind == NOT_STOPPED or st.reported:
        return None
    return st.stop_code


def check_attached(tracer: Task, pid: int, need_stopped: bool) -> Task:
    """ptrace_check_attach: the tracee must be ours (and stopped unless KILL/INTERRUPT)."""
    tracee = tracer.kernel.pids.get(pid)
    if tracee is None or tracee.ptrace.tracer is not tracer:
        raise Errno(ESRCH)
    if need_stopped and (not tracee.ptrace.stopped or tracee.state is State.ZOMBIE):
        raise Errno(ESRCH)
    return tracee
