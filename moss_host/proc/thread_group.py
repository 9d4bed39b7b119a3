"""Thread groups: what the threads of one process share (Linux's signal_struct).

A Task (proc/task.py) is one thread: its registers, signal mask and per-thread pending
signals. Its ThreadGroup is the process: the pid (tgid), the leader and every live
thread, the shared pending signals that kill(2) queues, job control (pgid, sid, ctty),
the parent and children, the resource limits, interval timers and the group's exit.
Every thread of a group points to the same ThreadGroup; a fork makes a new one.

The address space, descriptor table, filesystem context and credentials stay pointers
on each Task, as in Linux's task_struct: CLONE_VM, CLONE_FILES and CLONE_FS share them
between tasks of different groups too (vfork, posix_spawn), and credentials are per
thread (glibc's setxid broadcast makes them agree).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from moss_host.mm.fault_counts import FaultCounts
from moss_host.waitq import WaitQueue

from .rlimits import DEFAULT_RLIMITS

if TYPE_CHECKING:
    from moss_host.proc.itimers import ProcessTimers
    from moss_host.tty.tty import Tty

    from .signals import SigHandlers
    from .task import Task


@dataclass(eq=False)
class ThreadGroup:
    tgid: int
    threads: list[Task] = field(default_factory=list)   # live threads, the leader first while it lives
    leader: Optional[Task] = None     # the task whose tid is tgid (a zombie until the group is gone)
    parent: Optional[Task] = None     # the leader of the parent process
    children: list[Task] = field(default_factory=list)   # child group leaders, live and zombie, until reaped
    pgid: int = 0                     # process group
    sid: int = 0                      # session
    ctty: Optional[Tty] = None        # controlling terminal (the session's), set by the tty layer
    sighand: Optional[SigHandlers] = None   # the handler table, shared by CLONE_SIGHAND, copied at fork
    shared_pending: int = 0           # process-directed pending signals: bit (signo - 1)
    shared_siginfo: dict = field(default_factory=dict)   # signo -> queued siginfo records
    rlimits: list[tuple[int, int]] = field(default_factory=lambda: list(DEFAULT_RLIMITS))   # (soft, hard)
    itimer_real: ProcessTimers | None = None   # interval timers (proc/itimers.py)
    wait_report: Optional[tuple[str, int]] = None   # ("stopped"|"continued", signo) not yet collected by wait
    child_events: WaitQueue = field(default_factory=WaitQueue)   # its threads sleep here in wait4/waitid
    pidfd_waiters: WaitQueue = field(default_factory=WaitQueue)   # pidfd pollers: woken when the last thread exits
    cutime_ns: int = 0                # reaped children's totals (getrusage RUSAGE_CHILDREN, times)
    cstime_ns: int = 0
    dead_utime_ns: int = 0            # CPU time of the threads that have exited (signal->utime)
    dead_stime_ns: int = 0
    # Page faults of the threads that have exited and of the kernel's accesses to the
    # process's memory (its address space's charge); the reaped children's totals
    faults: FaultCounts = field(default_factory=FaultCounts)
    cmin_flt: int = 0
    cmaj_flt: int = 0
    did_exec: bool = False            # exec'd since fork (setpgid on it from the parent: EACCES)
    child_subreaper: bool = False     # prctl(PR_SET_CHILD_SUBREAPER): orphans below come here, not to init
    posix_timers: int = 0             # live POSIX timers, each holding a signal queue entry (RLIMIT_SIGPENDING)
    oom_score_adj: int = 0            # /proc/<pid>/oom_score_adj, inherited at fork (proc/oom_kill.py)
    signal_unkillable: bool = True    # (pid 1 only) signals without a handler are not fatal, until a forced fault
    stopped: bool = False             # a group stop is in effect (SIGSTOP...) until SIGCONT
    exiting: bool = False             # SIGNAL_GROUP_EXIT: exit_group or a fatal signal ends every thread
    exit_code: int = 0                # the wait(2) status the group reports once its last thread is gone

    def add_thread(self, task: Task) -> None:
        self.threads.append(task)
        if task.tid == self.tgid:
            self.leader = task

    def remove_thread(self, task: Task) -> None:
        """task exits: its CPU time stays the process's."""
        if task in self.threads:
            self.threads.remove(task)
            self.dead_utime_ns += task.utime_ns
            self.dead_stime_ns += task.stime_ns
            self.faults.min_flt += task.min_flt
            self.faults.maj_flt += task.maj_flt
            if not self.threads:
                self.pidfd_waiters.wake_all()    # do_notify_pidfd: the process has exited

    def fault_counts(self) -> tuple[int, int]:
        """(minor, major) page faults of every thread the process has had (RUSAGE_SELF)."""
        return (self.faults.min_flt + sum(t.min_flt for t in self.threads),
                self.faults.maj_flt + sum(t.maj_flt for t in self.threads))

    def cpu_times(self) -> tuple[int, int]:
        """(user, system) ns of every thread the process has had (getrusage RUSAGE_SELF, wait)."""
        return (self.dead_utime_ns + sum(t.utime_ns for t in self.threads),
                self.dead_stime_ns + sum(t.stime_ns for t in self.threads))
