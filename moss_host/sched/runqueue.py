"""One CPU's run queue: the runnable tasks waiting for it, in turn, and its time slice."""
from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Optional, Protocol

if TYPE_CHECKING:
    from moss_host.proc.task import Task

TIMESLICE = 0.01                  # seconds a task runs before others who wait get the CPU


class CpuPort(Protocol):
    """What the scheduler needs of a CPU (proc/cpu.py's Cpu)."""
    index: int
    current: Optional[Task]       # the task whose context is live in the CPU's trap frame
    trapped: bool                 # the guest waits for the host's reply
    handling: bool                # inside a trap's handler: it chooses what runs when done

    def schedule(self) -> None:
        """If the guest waits and someone can run, resume it."""

    def kick(self) -> None:
        """Make the guest trap: wake it from WFI, or interrupt the user code it runs."""


class RunQueue:
    """Round robin: tasks run in the order they became runnable; a task that ran a whole
    slice while others waited goes to the back (the CPU's interrupt at the slice's end)."""
    __slots__ = ("cpu", "tasks", "slice_timer")

    def __init__(self, cpu: CpuPort):
        self.cpu = cpu
        self.tasks: deque[Task] = deque()
        self.slice_timer: Optional[asyncio.TimerHandle] = None

    def push(self, task: Task) -> None:
        self.tasks.append(task)

    def pop(self) -> Optional[Task]:
        """The next task to run, or None: the CPU idles."""
        return self.tasks.popleft() if self.tasks else None

    def discard(self, task: Task) -> None:
        if task in self.tasks:
            self.tasks.remove(task)

    def arm_slice(self) -> None:
        """Others wait while the CPU resumes a task: interrupt it when its slice is over."""
        if self.slice_timer is None:
            self.slice_timer = asyncio.get_running_loop().call_later(TIMESLICE, self._end_slice)

    def _end_slice(self) -> None:
        self.slice_timer = None
        cpu = self.cpu
        if not cpu.trapped and self.tasks and cpu.current is not None:
            cpu.kick()
