"""A syscall asleep without an asyncio job: the synchronous sleep of the trap path.

A sleeping syscall normally leaves the rest of its handler to an asyncio Task
(Scheduler.sleep). For the hottest sleeps (FUTEX_WAIT) that costs a coroutine, a Task,
a future, loop callbacks and the loop turns between them, on every hand-over. A Parked
is the plain record instead: the subsystem that queued the sleeper (the futex table)
calls finish(result) when the wait ends, inline, inside whatever trap or callback
ended it, and the task's CPU takes it from its run queue at once.

A signal or the task's exit calls cancel() (the same entry an asyncio job has:
Scheduler.interrupt and the exit path treat both alike); `interrupted`, the sleeper's
owner's, takes it off its queue and says what the syscall returns then.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Callable, Optional, Protocol

if TYPE_CHECKING:
    from moss_host.proc.task import Task


class SleepJob(Protocol):
    """What the scheduler and the exit path need of a sleeping syscall: an asyncio job
    (Task) or a Parked."""

    def done(self) -> bool: ...

    def cancel(self) -> bool: ...


# finished(task, result): the trap layer's (proc/trap.py syscall_resumed): x0, restarts, wake.
Resume = Callable[["Task", int], None]


class Parked:
    __slots__ = ("task", "interrupted", "resume", "timer", "finished")

    def __init__(self, task: Task, interrupted: Callable[[], int]):
        self.task = task
        self.interrupted = interrupted          # a signal or exit: dequeue; the result for x0
        self.resume: Optional[Resume] = None    # set by Scheduler.park
        self.timer: Optional[asyncio.TimerHandle] = None   # a timeout's, cancelled at the end
        self.finished = False

    def done(self) -> bool:
        return self.finished

    def finish(self, result: int) -> None:
        """The wait is over: the syscall returns `result` and the task runs again."""
        if self.finished:
            return
        self.finished = True
        if self.timer is not None:
            self.timer.cancel()
        resume = self.resume
        assert resume is not None               # parked (Scheduler.park) before anyone can wake it
        resume(self.task, result)

    def wakeable(self, again: Callable[[], object]) -> bool:
        """Whether a watch's call-back (poll, epoll, a socket read: they park under a watch of
        wait queues) may end the wait now: not once it has ended, and not before
        Scheduler.park has made the task sleep (then `again` runs a loop turn later)."""
        if self.finished:
            return False
        if self.resume is None:
            asyncio.get_running_loop().call_soon(again)
            return False
        return True

    def cancel(self) -> bool:
        """A signal (Scheduler.interrupt) or the task's exit ends the sleep."""
        if self.finished:
            return False
        self.finish(self.interrupted())
        return True
