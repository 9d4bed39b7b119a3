"""wait4/waitid: find a child whose state changed, report it, and reap it if it exited.

Which children a call may collect (Linux's eligible_child): by pid, by process group or
any; only children whose exit signal is SIGCHLD unless __WCLONE (only the others) or
__WALL (all). What counts as a change: an exit (WEXITED, always for wait4), a stop
(WUNTRACED/WSTOPPED) and a continue (WCONTINUED), each reported once unless WNOWAIT.

Two ways to sleep: `wait_for_child` (a coroutine, waitid and a traced caller's wait4) and
`park` (wait4's synchronous try: a Parked, no job), which a tracee's ptrace stop ends
inline -- the tracer's wait4 is the other half of every stop under strace.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Callable, Optional

from moss_host.errors import ECHILD, ERESTARTSYS, Errno
from moss_host.sched.parked import Parked

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


def park(parent: Task, sel: Selector, options: int, answer: Callable[[Report], int]) -> Parked:
    """wait's sleep without a job, for a caller that found nothing to report (find_report
    None, no WNOHANG): answer(report) makes the syscall's result once there is one. The
    caller hands the Parked to the scheduler (Scheduler.park)."""
    return _ParkedWait(parent, sel, options, answer).parked


class _ParkedWait:
    """A parked wait watching its group's child_events. A wake-up that brings a ptrace stop
    is answered inline (collecting it only marks it reported); any other change -- an
    exit, which reaps, or a stop or continue -- is looked at with a call_soon, once the
    waker (an exit half done) has finished."""
    __slots__ = ("parent", "sel", "options", "answer", "parked", "unwatch", "later")

    def __init__(self, parent: Task, sel: Selector, options: int, answer: Callable[[Report], int]):
        self.parent = parent
        self.sel = sel
        self.options = options
        self.answer = answer
        self.parked = Parked(parent, self.interrupted)
        self.unwatch = parent.group.child_events.watch(self.woken)
        self.later: Optional[asyncio.Handle] = None

    def woken(self, key: int) -> bool:
        if self.parked.finished:
            return False
        try:
            report = find_report(self.parent, self.sel, self.options | WNOWAIT)
        except Errno:
            report = None
            self._look_later()                  # no child left: the later look says ECHILD
        if report is None:
            return False
        if report.code == signals.CLD_TRAPPED and not self.options & WNOWAIT:
            _consume(report)
            self._finish(report)
        else:
            self._look_later()
        return True

    def _look_later(self) -> None:
        if self.later is None:
            self.later = asyncio.get_running_loop().call_soon(self._look)

    def _look(self) -> None:
        self.later = None
        if self.parked.finished:
            return
        try:
            report = find_report(self.parent, self.sel, self.options)
        except Errno as e:
            self.unwatch()
            self.parked.finish(-e.code)
            return
        if report is not None:
            self._finish(report)

    def _finish(self, report: Report) -> None:
        self.unwatch()
        try:
            result = self.answer(report)
        except Errno as e:
            result = -e.code
        self.parked.finish(result)

    def interrupted(self) -> int:
        """A signal or the caller's exit: as do_wait, one more look before -ERESTARTSYS
        (an exit wakes the parent with SIGCHLD and the wait-queue wake-up both)."""
        self.unwatch()
        if self.later is not None:
            self.later.cancel()
            self.later = None
        if self.parent.state is State.ZOMBIE:
            return -ERESTARTSYS
        try:
            report = find_report(self.parent, self.sel, self.options)
            return -ERESTARTSYS if report is None else self.answer(report)
        except Errno as e:
            return -e.code
