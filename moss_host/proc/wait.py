"""wait4/waitid: find a child whose state changed, report it, and reap it if it exited.

Which children a call may collect (Linux's eligible_child): by pid, by process group or
any; only children whose exit signal is SIGCHLD unless __WCLONE (only the others) or
__WALL (all). What counts as a change: an exit (WEXITED, always for wait4), a stop
(WUNTRACED/WSTOPPED) and a continue (WCONTINUED), each reported once unless WNOWAIT.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from moss_host.errors import ECHILD, Errno

from . import lifecycle, ptrace, signals
from .task import State, Task

WNOHANG = 0x00000001
WUNTRACED = WSTOPPED = 0x00000002
WEXITED = 0x00000004
WCONTINUED = 0x00000008
WNOWAIT = 0x01000000
__WNOTHREAD = 0x20000000
__WALL = 0x40000000
__WCLONE = 0x80000000

P_ALL, P_PID, P_PGID, P_PIDFD = 0, 1, 2, 3


@dataclass
class Selector:
    """Which children: kind is P_ALL, P_PID or P_PGID."""
    kind: int
    id: int = 0

    def matches(self, child: Task) -> bool:
        if self.kind == P_PID:
            return child.tid == self.id          # a tracee may be a thread: its own id
        if self.kind == P_PGID:
            return child.pgid == self.id
        return True


@dataclass
class Report:
    """What wait returns about one child."""
    child: Task
    code: int            # CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_CONTINUED
    status: int          # si_status: exit code or signal number
    wstatus: int         # the int wait4 stores
    traced: bool = False # the waiter is child's tracer (a ptrace stop, or the exit it sees first)


def eligible(child: Task, options: int) -> bool:
    if options & __WALL:
        return True
    is_clone = child.exit_signal != signals.SIGCHLD
    return is_clone == bool(options & __WCLONE)


def find_report(parent: Task, sel: Selector, options: int) -> Report | None:
    """The first child or tracee with something to report; ECHILD if none matches at all."""
    group = parent.group
    candidates = {c: _traced_by(c, parent) for c in group.children if sel.matches(c) and eligible(c, options)}
    for thread in group.threads or [parent]:
        for t in thread.ptrace.tracees:
            if sel.matches(t):
                candidates[t] = True            # every tracee, threads and __WCLONE ones too
    if not candidates:
        raise Errno(ECHILD)
    for child, traced in candidates.items():
        report = _traced_report(child, options) if traced else _report_of(child, options)
        if report is not None:
            if not options & WNOWAIT:
                _consume(report)
            return report
    return None


def _traced_by(child: Task, waiter: Task) -> bool:
    tracer = child.ptrace.tracer
    return tracer is not None and tracer.group is waiter.group


def _traced_report(child: Task, options: int) -> Report | None:
    """What a tracer's wait sees of a tracee: its ptrace stop (WUNTRACED or not), its exit --
    a thread's own too."""
    code = ptrace.stop_report(child)
    if code is not None and child.state is not State.ZOMBIE:
        return Report(child, signals.CLD_TRAPPED, code, code << 8 | 0x7F, traced=True)
    group = child.group
    if child.state is State.ZOMBIE and options & WEXITED and (not group.threads or child is not group.leader):
        wstatus = child.exit_status or 0
        code, status = lifecycle.exit_code_and_status(wstatus)
        return Report(child, code, status, wstatus, traced=True)
    return _report_of(child, options)


def _report_of(child: Task, options: int) -> Report | None:
    if child.ptrace.tracer is not None and child.state is State.ZOMBIE:
        return None                             # its tracer sees the exit first
    if child.state is State.ZOMBIE and not child.group.threads and options & WEXITED:
        wstatus = child.exit_status
        assert wstatus is not None              # set when it became a zombie
        code, status = lifecycle.exit_code_and_status(wstatus)
        return Report(child, code, status, wstatus)
    event = child.group.wait_report
    if event is None:
        return None
    kind, signo = event
    if kind == "stopped" and options & WSTOPPED and (child.group.stopped or child.state is State.STOPPED):
        return Report(child, signals.CLD_STOPPED, signo, signo << 8 | 0x7F)
    if kind == "continued" and options & WCONTINUED:
        return Report(child, signals.CLD_CONTINUED, signals.SIGCONT, 0xFFFF)
    return None


def _consume(report: Report) -> None:
    child = report.child
    if report.code == signals.CLD_TRAPPED:
        child.ptrace.reported = True
        return
    if report.traced and report.code not in (signals.CLD_STOPPED, signals.CLD_CONTINUED):
        tracer = child.ptrace.tracer
        assert tracer is not None
        if child.parent is not None and child.parent.group is tracer.group and child is child.group.leader:
            ptrace.unlink(child)
            lifecycle.reap(child)               # the tracer is its parent too
        else:
            ptrace.exit_collected(child, tracer)
        return
    if report.code in (signals.CLD_STOPPED, signals.CLD_CONTINUED):
        report.child.group.wait_report = None
    else:
        lifecycle.reap(report.child)


async def wait_for_child(parent: Task, sel: Selector, options: int) -> Report | None:
    """Sleep until a matching child has something to report (None at once with WNOHANG)."""
    queue = parent.group.child_events
    while True:
        report = find_report(parent, sel, options)
        if report is not None or options & WNOHANG:
            return report
        try:
            await queue.wait()
        except asyncio.CancelledError:
            # A signal woke us: do_wait looks once more before it gives -ERESTARTSYS (a
            # child's exit wakes the parent with SIGCHLD and the wait-queue wake-up both).
            report = find_report(parent, sel, options)
            if report is None:
                raise
            return report
