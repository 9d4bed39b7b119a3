"""Process lifetime: clone (fork, vfork, threads), exit and zombies, reparenting, and wait.

A process is a ThreadGroup of Tasks (threads). The rules are Linux's kernel/fork.c and
kernel/exit.c:

- fork copies the address space copy-on-write, the descriptor table, the filesystem
  context and the signal dispositions; the child returns 0 from the same syscall.
- vfork shares the address space and the parent sleeps until the child execs or exits.
- CLONE_THREAD adds a thread to the caller's group: it shares everything the group holds
  and is never a child of anyone; exit ends it alone, exit_group (and a fatal signal)
  every thread of the group. The group leader stays a zombie until the last thread is
  gone; then the process reports once to its parent, with the group's exit status.
- An exiting task frees its memory and descriptors at once and stays a zombie, holding
  only its exit status, until its parent reaps it with wait; its children go to init.
- The parent learns of the exit by its exit signal (SIGCHLD) and by waking in wait,
  unless it ignores SIGCHLD (or set SA_NOCLDWAIT): then the child is reaped at once.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from moss_host.arch.arm64.context import SAVED_SIZE, UserContext
from moss_host.cred import CAP_SYS_ADMIN, CAP_SYS_RESOURCE, capable
from moss_host.errors import EAGAIN, EINVAL, EPERM, Errno
from moss_host.fs.namespace import enter_copy
from moss_host.fs.ns_inum import alloc_inum
from moss_host.mm.writeback import write_back
from moss_host.sched import policy
from moss_host.tty.tty import disassociate_ctty

from . import futex, futex_pi, ptrace, signals
from .rlimits import RLIMIT_NPROC, core_dump_allowed
from .task import State, Task, ThreadGroup

log = logging.getLogger("moss.proc")

CSIGNAL = 0x000000FF
CLONE_VM = 0x00000100
CLONE_FS = 0x00000200
CLONE_FILES = 0x00000400
CLONE_SIGHAND = 0x00000800
CLONE_PIDFD = 0x00001000
CLONE_PTRACE = 0x00002000
CLONE_VFORK = 0x00004000
CLONE_PARENT = 0x00008000
CLONE_THREAD = 0x00010000
CLONE_NEWNS = 0x00020000
CLONE_SYSVSEM = 0x00040000
CLONE_SETTLS = 0x00080000
CLONE_PARENT_SETTID = 0x00100000
CLONE_CHILD_CLEARTID = 0x00200000
CLONE_DETACHED = 0x00400000
CLONE_UNTRACED = 0x00800000
CLONE_CHILD_SETTID = 0x01000000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_IO = 0x80000000
CLONE_CLEAR_SIGHAND = 0x100000000  # clone3 only

SA_NOCLDWAIT = 0x00000002          # a SIGCHLD action flag: children are reaped at once

NAMESPACE_FLAGS = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER \
    | CLONE_NEWPID | CLONE_NEWNET
# The namespaces this kernel has (CONFIG_UTS_NS and the mount namespace); asking for another
# is EINVAL, as from a Linux built without it.
CONFIGURED_NAMESPACES = CLONE_NEWNS | CLONE_NEWUTS
# What this kernel does with each flag it accepts: everything fork, vfork, posix_spawn
# and pthread_create ask for, and the namespace flags (check_namespaces answers those).
SUPPORTED = NAMESPACE_FLAGS | CSIGNAL | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_VFORK | CLONE_PARENT | CLONE_SETTLS \
    | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_SYSVSEM | CLONE_DETACHED \
    | CLONE_UNTRACED | CLONE_IO | CLONE_SIGHAND | CLONE_PTRACE | CLONE_THREAD | CLONE_CLEAR_SIGHAND


# -- creating ------------------------------------------------------------------------------------

def check_clone_flags(flags: int) -> None:
    """The flag combinations Linux's copy_process rejects, then what we do not support."""
    if flags & (CLONE_NEWNS | CLONE_FS) == CLONE_NEWNS | CLONE_FS:
        raise Errno(EINVAL)
    if flags & (CLONE_NEWUSER | CLONE_FS) == CLONE_NEWUSER | CLONE_FS:
        raise Errno(EINVAL)
    if flags & CLONE_THREAD and not flags & CLONE_SIGHAND:
        raise Errno(EINVAL)
    if flags & CLONE_SIGHAND and not flags & CLONE_VM:
        raise Errno(EINVAL)
    if flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND) == CLONE_SIGHAND | CLONE_CLEAR_SIGHAND:
        raise Errno(EINVAL)
    if flags & CLONE_THREAD and flags & (CLONE_NEWUSER | CLONE_NEWPID):
        raise Errno(EINVAL)
    if flags & ~SUPPORTED:
        raise Errno(EINVAL, f"clone flags {flags & ~SUPPORTED:#x} not supported")
    if flags & CLONE_NEWUSER:
        raise Errno(EINVAL)             # copy_creds: create_user_ns without CONFIG_USER_NS


def check_namespaces(parent: Task, flags: int) -> None:
    """copy_namespaces: new namespaces need CAP_SYS_ADMIN (EPERM); a new IPC namespace cannot
    keep sharing the semaphore adjustments; the namespaces not configured are EINVAL."""
    if not flags & NAMESPACE_FLAGS:
        return
    if not capable(parent.creds, CAP_SYS_ADMIN):
        raise Errno(EPERM)
    if flags & (CLONE_NEWIPC | CLONE_SYSVSEM) == CLONE_NEWIPC | CLONE_SYSVSEM:
        raise Errno(EINVAL)
    if flags & NAMESPACE_FLAGS & ~CONFIGURED_NAMESPACES:
        raise Errno(EINVAL)


def clone_task(parent: Task, flags: int, newsp: int = 0, parent_tid: int = 0, tls: int = 0,
               child_tid: int = 0) -> Task:
    """copy_process: a new runnable task that resumes where parent trapped, with x0 = 0."""
    check_clone_flags(flags)
    kernel = parent.kernel
    _check_nproc(parent)
    check_namespaces(parent, flags)
    mm = parent.mm if flags & CLONE_VM else parent.mm.fork()
    if flags & CLONE_VM:
        mm.users += 1
    try:
        files = _share_files(parent.files) if flags & CLONE_FILES else parent.files.clone()
    except BaseException:
        mm.release()
        raise
    pid = kernel.pids.alloc()
    real_parent = parent.parent if flags & CLONE_PARENT and parent.parent is not None else parent
    group = parent.group if flags & CLONE_THREAD else _group_for_child(parent, pid, real_parent, flags)
    if not flags & CLONE_VM:
        mm.charge = group.faults        # the kernel's faults in the copy are the child's
    fs = parent.fs if flags & CLONE_FS else parent.fs.copy()
    if flags & CLONE_NEWNS:             # copy_mnt_ns: the child's root and cwd move onto the copies
        enter_copy(fs, fs.ns.copy()[1])
    child = Task(
        tid=pid, group=group, mm=mm, fs=fs, files=files,
        uts=parent.uts.copy(alloc_inum()) if flags & CLONE_NEWUTS else parent.uts,
        creds=replace(parent.creds), comm=parent.comm, exe=parent.exe,
        kernel=kernel, image_bias=parent.image_bias, start_time=kernel.sched.uptime(),
        exit_signal=-1 if flags & CLONE_THREAD else flags & CSIGNAL, blocked=parent.blocked,
        # A child with its own stack keeps no alternate signal stack (Linux: CLONE_VM without VFORK).
        altstack=parent.altstack if flags & (CLONE_VM | CLONE_VFORK) != CLONE_VM else (0, 2, 0),
        rseq=parent.rseq if not flags & CLONE_VM else (0, 0, 0),
        clear_child_tid=child_tid if flags & CLONE_CHILD_CLEARTID else 0,
        personality=parent.personality, cpus_allowed=parent.cpus_allowed, no_new_privs=parent.no_new_privs,
        seccomp=parent.seccomp, traced_syscalls=parent.seccomp is not None,     # copy_seccomp
        timer_slack_ns=parent.timer_slack_ns, default_timer_slack_ns=parent.timer_slack_ns,
        # copy_io: a set class (RT, BE, IDLE) goes to the child; mpol_dup: the memory policy does
        ioprio=parent.ioprio if 1 <= parent.ioprio >> 13 <= 3 else 0, mempolicy=parent.mempolicy,
    )
    child.sched_policy, child.sched_priority, child.nice = policy.inherited(
        parent.sched_policy, parent.sched_priority, parent.nice, parent.sched_reset_on_fork)
    child.se.inherit(parent.se, parent.sched_reset_on_fork)
    child.context = _child_context(parent, flags, newsp, tls)
    if flags & CLONE_VFORK:
        child.vfork_done = asyncio.get_running_loop().create_future()
    if flags & CLONE_PARENT_SETTID:
        parent.mm.write(parent_tid, pid.to_bytes(4, "little"))
    if flags & CLONE_CHILD_SETTID:
        child.mm.write(child_tid, pid.to_bytes(4, "little"))
    if not flags & CLONE_THREAD:
        real_parent.group.children.append(child)
    kernel.pids.add(child)
    kernel.sched.enqueue(child)
    ptrace.attach_child(parent, child, flags)
    return child


def _check_nproc(parent: Task) -> None:
    """copy_process(): RLIMIT_NPROC caps the tasks -- threads too, zombies until reaped --
    of the caller's real uid; root and CAP_SYS_RESOURCE/CAP_SYS_ADMIN holders are exempt."""
    uid = parent.creds.uid
    if uid == 0 or capable(parent.creds, CAP_SYS_RESOURCE) or capable(parent.creds, CAP_SYS_ADMIN):
        return
    if sum(1 for t in parent.kernel.pids.all() if t.creds.uid == uid) >= parent.rlimits[RLIMIT_NPROC][0]:
        raise Errno(EAGAIN)


def _group_for_child(parent: Task, pid: int, real_parent: Task, flags: int) -> ThreadGroup:
    """A new process: its own thread group, with what fork copies from the caller's."""
    sighand = _sighand_for_child(parent, flags)
    if sighand is not None and flags & CLONE_CLEAR_SIGHAND:
        sighand.reset_for_exec()
    return ThreadGroup(pid, parent=real_parent, pgid=parent.pgid, sid=parent.sid, ctty=parent.ctty,
                       sighand=sighand, rlimits=list(parent.rlimits), oom_score_adj=parent.group.oom_score_adj)


def _share_files(files):
    files.users += 1
    return files


def _sighand_for_child(parent: Task, flags: int):
    if parent.sighand is None:
        return None
    return parent.sighand if flags & CLONE_SIGHAND else parent.sighand.copy()


def _child_context(parent: Task, flags: int, newsp: int, tls: int) -> bytearray:
    """The parent's registers as they are at the trap, with the child's differences."""
    ctx = bytearray(SAVED_SIZE)
    if parent.on_cpu is not None:
        parent.on_cpu.mailbox.save_context(ctx)
    elif parent.context is not None:
        ctx[:] = parent.context
    regs = UserContext(ctx)
    regs.x[0] = 0
    if newsp:
        regs.sp = newsp
    if flags & CLONE_SETTLS:
        regs.tpidr = tls
    return ctx


async def wait_for_vfork(child: Task) -> None:
    """The vfork parent sleeps until the child has exec'd or exited.

    Like Linux's killable wait: ordinary signals stay pending until the child lets go
    (the shared address space must not run two programs at once).
    """
    done = child.vfork_done
    assert done is not None             # clone_task made it (CLONE_VFORK)
    while not done.done():
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            parent = child.parent
            if parent is None or parent.state is State.ZOMBIE or signals.fatal_signal_pending(parent) \
                    or child.kernel.stopping:
                raise


def release_vfork_parent(task: Task) -> None:
    if task.vfork_done is not None and not task.vfork_done.done():
        task.vfork_done.set_result(None)
    task.vfork_done = None


# -- ending --------------------------------------------------------------------------------------

def exit_task(task: Task, status: int, whole_group: bool = True) -> None:
    """do_exit, for the group (exit_group, a fatal signal) or one thread (exit).

    The group's other threads end at once with the group's status (zap_other_threads).
    """
    group = task.group
    if whole_group and not group.exiting:
        group.exiting = True
        group.exit_code = status
        for other in list(group.threads):
            if other is not task:
                _exit_thread(other, status)
    _exit_thread(task, status)


def de_thread(task: Task) -> None:
    """execve in a threaded process: every other thread ends, and a thread that is not
    the leader takes the leader's place and pid (Linux's de_thread)."""
    group = task.group
    for other in list(group.threads):
        if other is not task:
            _exit_thread(other, signals.killed_status(signals.SIGKILL), heir=task)
    leader = group.leader
    if leader is None or leader is task:
        return
    pids = task.kernel.pids
    pids.remove(task)
    pids.remove(leader)
    task.tid = group.tgid
    task.exit_signal = leader.exit_signal
    task.start_time = leader.start_time
    group.leader = task
    pids.add(task)
    parent = group.parent
    if parent is not None and leader in parent.group.children:
        children = parent.group.children
        children[children.index(leader)] = task


def _exit_thread(task: Task, status: int, heir: Task | None = None) -> None:
    """One thread ends: free what it holds; the last one ends the process."""
    if task.state is State.ZOMBIE:
        return
    kernel = task.kernel
    kernel.sched.detach(task)
    task.state = State.ZOMBIE
    task.exit_status = _without_phantom_core(task, status)
    if kernel.tracer is not None:                   # --trace: +++ exited with 0 +++
        kernel.tracer.exited(task, task.exit_status)
    if task.pending is not None and not task.pending.done():
        task.pending.cancel()
    task.pending = None
    release_futexes(task)
    release_vfork_parent(task)
    ptrace.task_exiting(task)
    if task.mm.users == 1:
        write_back(task.mm)                     # shared file mappings reach their files
    # acct_collect: the process's size while it still has its memory (its last thread only)
    vsize = sum(v.end - v.start for v in task.mm.vmas) if task.group.threads == [task] else 0
    _release_files(task.files)
    task.mm.release()
    group = task.group
    group.remove_thread(task)
    if task is not group.leader:
        kernel.pids.remove(task)                # a thread is never waited for (release_task)
        if task.ptrace.tracer is not None:      # ... except by its tracer
            ptrace.notify_tracer(task, *exit_code_and_status(task.exit_status or 0))
    if group.threads:
        _reparent_to_thread(task, heir or group.threads[0], signal=not group.exiting)
        return                                  # the process lives on in its other threads
    _exit_process(task, status, vsize)


def _exit_process(task: Task, status: int, vsize: int) -> None:
    """The last thread is gone: the group leader, a zombie, reports the process's end."""
    group = task.group
    leader = group.leader
    assert leader is not None                   # every group is made with its leader
    if group.exiting:
        status = group.exit_code
        leader.exit_status = _without_phantom_core(task, status)
    task.kernel.acct.process_exited(task, leader.exit_status if leader.exit_status is not None else status, vsize)
    _disarm_timers(task)
    task.kernel.ipc.exit_process(task.tgid)     # SEM_UNDO adjustments; removed shm segments go
    if task.sid == task.tgid and task.ctty is not None:
        disassociate_ctty(task)                 # SIGHUP to the foreground group, tty detached
    _reparent_children(task)
    if group.tgid == 1:
        task.kernel.init_exited(status)
        return
    notify_parent(leader)


def _disarm_timers(task: Task) -> None:
    """Interval timers die with their process (setitimer's handles on the event loop)."""
    if task.group.itimer_real is not None:
        task.group.itimer_real.disarm()


def _without_phantom_core(task: Task, status: int) -> int:
    """Linux sets the "core dumped" bit only when a core was written (at RLIMIT_CORE's
    default soft limit of 0 none is); rlimits.core_dump_allowed says when it would be."""
    if status & signals.WCOREFLAG and not core_dump_allowed(task):
        return status & ~signals.WCOREFLAG
    return status


def release_futexes(task: Task) -> None:
    """At exit and exec (futex_exit_release, mm_release): the robust mutexes the thread
    holds are marked FUTEX_OWNER_DIED, the PI locks it holds go to their first waiters,
    then its CLONE_CHILD_CLEARTID word is cleared."""
    if task.robust_list[0]:
        futex.exit_robust_list(task.kernel.futexes, task.mm, task.tid, task.robust_list[0])
    futex_pi.exit_pi_state_list(task.kernel.futexes, task.tid)
    _clear_child_tid(task)


def _clear_child_tid(task: Task) -> None:
    """CLONE_CHILD_CLEARTID / set_tid_address: zero the word if others share the memory."""
    if task.clear_child_tid and task.mm.users > 1:
        try:
            task.mm.write(task.clear_child_tid, bytes(4))
            task.kernel.futexes.wake(task.mm, task.clear_child_tid, 1)     # pthread_join sleeps there
        except Errno:
            pass


def _release_files(files) -> None:
    if files.users > 1:
        files.users -= 1
    else:
        files.close_all()


def _reparent_to_thread(task: Task, heir: Task, signal: bool) -> None:
    """forget_original_parent() for a thread that is not the last: a child's parent is the
    thread that forked it, so the children it forked become a live sibling's (the first,
    as find_alive_thread, or the one that execs) and their PR_SET_PDEATHSIG fires now, as
    in Linux. Not while the whole group is ending: then the last thread's exit gives them
    to init and fires it once, as Linux, whose dying threads do not take children."""
    for child in task.group.children:
        if child.parent is task:
            child.parent = heir
            if signal:
                _parent_died(child)


def _parent_died(child: Task) -> None:
    """prctl(PR_SET_PDEATHSIG): each of the child's threads that asked gets its signal
    (process-directed, as group_send_sig_info); a process that is gone has none."""
    for t in list(child.group.threads):
        if t.pdeath_signal:
            signals.send_signal(t, t.pdeath_signal)


def _reparent_children(task: Task) -> None:
    """Orphans go to the nearest child subreaper above, else init (find_new_reaper); a zombie
    among them is its new parent's to reap now. Their exit signal becomes SIGCHLD, as
    reparent_leader sets it: a clone child with none would stay a zombie that no wait(2)
    without __WALL finds (stress-ng's clone stressor left hundreds, address spaces and all)."""
    reaper = _new_reaper(task)
    for child in task.group.children:
        _parent_died(child)
        child.parent = reaper
        if reaper is not None and reaper.group is not task.group:
            child.exit_signal = signals.SIGCHLD
            reaper.group.children.append(child)
            if child.state is State.ZOMBIE:
                notify_parent(child)
    task.group.children = []


def _new_reaper(task: Task) -> Task | None:
    """find_new_reaper: a live thread of the nearest ancestor that set PR_SET_CHILD_SUBREAPER
    and is not exiting, else init."""
    init = task.kernel.pids.get(1)
    ancestor = task.parent
    while ancestor is not None and ancestor is not init:
        if ancestor.group.child_subreaper and not ancestor.group.exiting and ancestor.group.threads:
            return ancestor.group.threads[0]        # live threads only
        ancestor = ancestor.parent
    return init


def notify_parent(task: Task) -> None:
    """do_notify_parent: the exit signal, a wake-up in wait, or reaping at once. A tracee
    traced by another than its parent tells its tracer first; the parent hears of it when
    the tracer has collected the exit (ptrace.exit_collected)."""
    parent = task.parent
    tracer = task.ptrace.tracer
    if tracer is not None and tracer is not parent:
        assert task.exit_status is not None
        ptrace.notify_tracer(task, *exit_code_and_status(task.exit_status or 0))
        return
    if parent is None or parent.state is State.ZOMBIE:
        reap(task)
        return
    action = signals.action(parent, signals.SIGCHLD)
    if task.exit_signal == signals.SIGCHLD and (action.handler == signals.SIG_IGN
                                                or action.flags & SA_NOCLDWAIT):
        reap(task)                              # nobody will wait: no zombie is left
        child_changed(task, parent)
        return
    if 0 < task.exit_signal <= signals.NSIG:    # valid_signal: clone(2) takes any CSIGNAL byte
        signals.send_signal(parent, task.exit_signal, sigchld_info(task))
    child_changed(task, parent)



def sigchld_info(task: Task) -> "signals.SigInfo":
    assert task.exit_status is not None         # a zombie's
    code, status = exit_code_and_status(task.exit_status)
    utime, stime = task.group.cpu_times()
    return signals.SigInfo(signals.SIGCHLD, code, pid=task.tgid, uid=task.creds.uid, status=status,
                           utime=utime // 10_000_000, stime=stime // 10_000_000)


def exit_code_and_status(wstatus: int) -> tuple[int, int]:
    """(si_code, si_status) for a wait(2) exit status: CLD_EXITED with the code, or the signal."""
    signo = wstatus & 0x7F
    if signo == 0:
        return signals.CLD_EXITED, wstatus >> 8 & 0xFF
    return (signals.CLD_DUMPED if wstatus & signals.WCOREFLAG else signals.CLD_KILLED), signo


def child_changed(child: Task, parent: Task) -> None:
    """Wake whoever waits in wait4/waitid for `child` (exit, stop, continue)."""
    parent.group.child_events.wake_all()


def reap(child: Task) -> None:
    """release_task: the zombie disappears; its times go to the parent's children totals."""
    parent = child.parent
    if parent is not None:
        if child in parent.group.children:
            parent.group.children.remove(child)
        utime, stime = child.group.cpu_times()
        parent.group.cutime_ns += utime + child.cutime_ns
        parent.group.cstime_ns += stime + child.cstime_ns
        min_flt, maj_flt = child.group.fault_counts()
        parent.group.cmin_flt += min_flt + child.group.cmin_flt
        parent.group.cmaj_flt += maj_flt + child.group.cmaj_flt
    child.kernel.pids.remove(child)
