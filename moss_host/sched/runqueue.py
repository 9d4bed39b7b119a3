"""One CPU's run queue: its fair queue (eevdf.py) of the runnable tasks, and its tick.

The CPU (proc/cpu.py) asks three things of it: `tasks` (truthy while anyone waits besides
the task it runs: the only question on its fast path), `pop` (who runs next, when the
running task left the CPU or was preempted) and `arm_slice` (others wait: tick while this
task runs). The queue charges a task for the time between the pop that let it run and the
moment it leaves the CPU (the host's clock, as the CPU's own utime/stime accounting):
nothing is done per trap while the task keeps its CPU.
"""
from __future__ import annotations

import asyncio
from time import monotonic_ns
from typing import TYPE_CHECKING, Optional, Protocol

from .eevdf import BASE_SLICE_NS, TICK_NS, EevdfQueue

if TYPE_CHECKING:
    from moss_host.proc.task import Task

TICK = TICK_NS / 1e9              # seconds between two looks at whether the running task's slice is over


class CpuPort(Protocol):
    """What the scheduler needs of a CPU (proc/cpu.py's Cpu)."""
    index: int
    current: Optional[Task]       # the task whose context is live in the CPU's trap frame
    trapped: bool                 # the guest waits for the host's reply
    handling: bool                # inside a trap's handler: it chooses what runs when done
    resumed_at: int               # monotonic ns of the last reply (the guest's return to user code)
    traps: int                    # traps taken so far (membarrier waits for it to move)

    def schedule(self) -> None:
        """If the guest waits and someone can run, resume it."""

    def kick(self) -> None:
        """Make the guest trap: wake it from WFI, or interrupt the user code it runs."""


class RunQueue:
    """The runnable tasks of one CPU, picked by EEVDF; the running one is `fair.curr`
    (between its pop and the moment it is pushed back, or the next pop finds it gone)."""
    __slots__ = ("cpu", "fair", "tasks", "slice_timer", "mark_task", "mark_at", "mark_user")

    def __init__(self, cpu: CpuPort, base_slice: int = BASE_SLICE_NS):
        self.cpu = cpu
        self.fair: EevdfQueue[Task] = EevdfQueue(base_slice)
        # The tasks waiting for the CPU (not the running one), in deadline order: truthy iff
        # anyone waits. The fair queue's own list: read it, never change it from outside.
        self.tasks = self.fair.queued
        self.slice_timer: Optional[asyncio.TimerHandle] = None
        # Where the scheduler's look at how much of its time the running task spends in user
        # code began (Scheduler._user_bound): that task, the time, its user time then.
        self.mark_task: Optional[Task] = None
        self.mark_at = 0
        self.mark_user = 0

    def push(self, task: Task) -> None:
        """task is runnable here: the running task preempted or yielding stays queued with
        its vruntime; any other joins with the lag it left with (or as a new task), out of
        another CPU's queue if it was on one."""
        fair = self.fair
        other = task.se.rq
        if other is None:                       # (a wake-up: mostly)
            fair.enqueue(task, monotonic_ns())
        elif task is fair.curr:
            fair.put_prev(monotonic_ns())
        elif other is not fair:
            now = monotonic_ns()
            other.dequeue(task, now, sleep=False)
            fair.enqueue(task, now)

    def pop(self) -> Optional[Task]:
        """The next task to run, or None: the CPU idles. A running task not pushed back
        before this left the CPU (it sleeps or stopped): it leaves the queue with its lag."""
        return self.fair.take_next(monotonic_ns())

    def discard(self, task: Task, sleep: bool = True) -> None:
        """task leaves this queue (it exits or stops; sleep=False: it moves to another CPU's
        queue, its deadline kept relative to its vruntime), lag kept."""
        if task.se.rq is self.fair:
            self.fair.dequeue(task, monotonic_ns(), sleep)

    # -- preemption ---------------------------------------------------------------------------

    def preempts(self, task: Task) -> bool:
        """task, just queued, should take the CPU from the task running there now."""
        return self.fair.wakeup_preempts(task, monotonic_ns())

    def should_yield(self, task: Task) -> bool:
        """The CPU was interrupted while task ran: True if another task is the pick now."""
        fair = self.fair
        if task is not fair.curr:
            return bool(self.tasks)             # (not run through pop: round robin)
        fair.update_curr(monotonic_ns())
        return fair.pick() is not task

    def yield_current(self, task: Task) -> None:
        """sched_yield: the running task's request is over (yield_task_fair: its deadline
        moves a slice on), so an eligible waiting task goes first."""
        if task is self.fair.curr:
            self.fair.yield_current(monotonic_ns())

    def arm_slice(self) -> None:
        """Others wait while the CPU resumes a task: tick until the task's slice is over."""
        if self.slice_timer is None:
            self.slice_timer = asyncio.get_running_loop().call_later(TICK, self._tick)

    def _tick(self) -> None:
        self.slice_timer = None
        cpu = self.cpu
        if cpu.trapped or cpu.current is None or not self.tasks:
            return                              # the next reply arms it again if others wait
        if self.fair.tick(monotonic_ns()):
            cpu.kick()                          # the interrupt lets the pick run (should_yield)
        else:
            self.arm_slice()
