"""The task table: pid allocation, lookup by pid, and the process groups and sessions
that kill(2), setpgid(2), the tty layer and /proc ask about.

Every task, live or zombie, is here from clone until it is reaped. A process is its
thread-group leader (tid == tgid); without CLONE_THREAD every task leads its own.
"""
from __future__ import annotations

from typing import Iterator, Optional

from moss_host.sched.state import State

from .task import Task


class PidTable:
    def __init__(self) -> None:
        self._tasks: dict[int, Task] = {}
        self.next_pid = 1                   # pids are never reused within a run

    # -- the table ----------------------------------------------------------------------------

    def alloc(self) -> int:
        pid = self.next_pid
        self.next_pid += 1
        return pid

    def add(self, task: Task) -> None:
        self._tasks[task.tid] = task

    def remove(self, task: Task) -> None:
        """The task is reaped: its pid names nothing any more."""
        self._tasks.pop(task.tid, None)

    def clear(self) -> None:
        self._tasks.clear()

    def get(self, tid: int) -> Optional[Task]:
        return self._tasks.get(tid)

    def alive(self, task: Task) -> bool:
        """This very task (not a later one with its pid) is still in the table, zombie or not."""
        return self._tasks.get(task.tid) is task

    def __len__(self) -> int:
        return len(self._tasks)

    def all(self) -> list[Task]:
        """Every task, live and zombie, by tid (a copy: callers may signal or reap as they go)."""
        return [self._tasks[tid] for tid in sorted(self._tasks)]

    def live(self) -> Iterator[Task]:
        """The tasks that are not zombies."""
        return (t for t in list(self._tasks.values()) if t.state is not State.ZOMBIE)

    def processes(self) -> list[Task]:
        """The thread-group leaders, by pid (kill -1, /proc)."""
        return [t for t in self.all() if t.tid == t.tgid]

    def threads_of(self, task: Task) -> list[Task]:
        """The tasks of task's thread group, leader first."""
        group = [t for t in self._tasks.values() if t.tgid == task.tgid]
        return sorted(group, key=lambda t: (t.tid != t.tgid, t.tid)) or [task]

    @property
    def last_pid(self) -> int:
        """The most recently allocated pid (/proc/loadavg)."""
        return max(self.next_pid - 1, max(self._tasks, default=0))

    # -- process groups and sessions ----------------------------------------------------------

    def group(self, pgid: int) -> list[Task]:
        """The live processes of process group pgid: one live thread of each (a signal to
        the group reaches each process once)."""
        members: dict[int, Task] = {}
        for t in self.live():
            if t.pgid == pgid:
                members.setdefault(t.tgid, t)
        return list(members.values())

    def group_exists(self, pgid: int, sid: Optional[int] = None) -> bool:
        """Some process, a zombie not yet reaped included (see session_of_group), is in
        group pgid (and, if given, in session sid): setpgid may join that group, setsid may
        not take its id."""
        return any(t.pgid == pgid and (sid is None or t.sid == sid) for t in list(self._tasks.values()))

    def session_of_group(self, pgid: int) -> Optional[int]:
        """The session of process group pgid, or of process pgid if no group has that id;
        None if neither exists. A zombie not yet reaped is still a member (Linux detaches
        its pids at release_task): tcsetpgrp to a pipeline whose only process has exited
        but not been waited for succeeds, as busybox sh's job control needs."""
        tasks = list(self._tasks.values())
        for t in tasks:
            if t.pgid == pgid:
                return t.sid
        for t in tasks:
            if t.tgid == pgid:
                return t.sid
        return None

    def is_orphaned_group(self, pgid: int) -> bool:
        """will_become_orphaned_pgrp: no member has a parent in another group of the same
        session; a parent that is init does not count."""
        for t in self.live():
            if t.pgid != pgid:
                continue
            parent = t.parent
            if parent is None or parent.tgid == 1:
                continue
            if parent.pgid != pgid and parent.sid == t.sid:
                return False
        return True
