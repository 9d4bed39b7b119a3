"""Job control as a tty sees it (tty/tty.py's JobControl), over the pid table and signals.

The tty layer sits below proc/ and never imports it: kernel.py hands each terminal (the
console, devpts) one ProcessJobControl at construction.
"""
from __future__ import annotations

from typing import Callable, Optional

from moss_host.tty import console
from moss_host.tty.tty import JobControl, Tty

from . import signals
from .pidtable import PidTable
from .task import Task


class ProcessJobControl(JobControl):
    def __init__(self, pids: PidTable, current: Callable[[], Optional[Task]]):
        self.pids = pids
        self._current = current

    def current_task(self) -> Optional[Task]:
        return self._current()

    def signal_group(self, pgid: int, signo: int) -> None:
        signals.send_to_group(self.pids, pgid, signo)

    def keyboard_signal(self, pgid: int, signo: int) -> None:
        """^C or ^\\ when the foreground group is only pid 1 without a handler: init ignores it
        (SIGNAL_UNKILLABLE), so nothing could ever stop that program from the keyboard. End the
        run instead, as ^C ends a host process (`moss-host run -- sleep 100`)."""
        if signo in (signals.SIGINT, signals.SIGQUIT):
            live = list(self.pids.live())
            members = [t for t in live if t.pgid == pgid]
            if not members and pgid == 1:
                # pid 1 not yet put in group 1 by the process layer (pgid 0): it is still the foreground
                members = [t for t in live if t.tgid == 1 and t.pgid == 0]
            if members and all(t.tgid == 1 and signals.action(t, signo).handler == signals.SIG_DFL
                               for t in members):
                console.interrupt_host()
                return
        self.signal_group(pgid, signo)

    def is_ignored(self, task: Task, signo: int) -> bool:
        if task.blocked & (1 << (signo - 1)):
            return True
        return signals.action(task, signo).handler == signals.SIG_IGN

    def is_orphaned_pgrp(self, pgid: int) -> bool:
        return self.pids.is_orphaned_group(pgid)

    def session_of_pgrp(self, pgid: int) -> Optional[int]:
        return self.pids.session_of_group(pgid)

    def set_ctty(self, task: Task, tty: Optional[Tty]) -> None:
        task.ctty = tty
        for t in self.pids.live():
            if t.tgid == task.tgid:
                t.ctty = tty

    def clear_session_ctty(self, sid: int, tty: Tty) -> None:
        for t in self.pids.live():
            if t.sid == sid and t.ctty is tty:
                t.ctty = None
