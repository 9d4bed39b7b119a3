"""The OOM killer: when a page fault finds no free frame in guest RAM, the process that
frees most by dying (mm/oom.py's badness, weighted by its oom_score_adj) is killed with
SIGKILL at once, as Linux's out_of_memory -> oom_kill_process, and the access that faulted
is tried again. The kernel itself never goes down for a guest's appetite.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Optional

from moss_host.errors import KernelPanic
from moss_host.mm import oom

from . import lifecycle, signals
from .task import State, TaskExit

if TYPE_CHECKING:
    from .task import Task

log = logging.getLogger("moss.oom")


def out_of_memory(task: Task) -> None:
    """`task` needed a frame and none was free: kill the worst process. TaskExit if that is
    `task`'s own process (the caller, on the trap path, ends it)."""
    total = task.kernel.mem.frames.total_frames if task.kernel.mem is not None else 0
    victim = select_victim(task.kernel.pids.processes(), total)
    if victim is None:
        raise KernelPanic("Out of memory and no killable processes...")
    log.warning("%s invoked oom-killer: order=0, oom_score_adj=%d", task.comm.decode(errors="replace"),
                task.group.oom_score_adj)
    log.warning("%s", oom.killed_line(victim.tgid, victim.comm.decode(errors="replace"), victim.mm,
                                      victim.creds.uid, victim.group.oom_score_adj))
    status = signals.killed_status(signals.SIGKILL)
    if victim.group is task.group:
        raise TaskExit(status)
    lifecycle.exit_task(victim.group.threads[0], status)


def select_victim(leaders: list[Task], total_pages: int) -> Optional[Task]:
    """select_bad_process: the live process with the highest badness; never init, never a
    process already on its way out (its memory is about to come back)."""
    best: Optional[Task] = None
    best_points = 0
    for leader in leaders:
        group = leader.group
        if group.tgid == 1 or group.exiting or not group.threads:
            continue
        thread = group.threads[0]
        if thread.state is State.ZOMBIE:
            continue
        points = oom.badness(thread.mm, group.oom_score_adj, total_pages)
        if points is not None and (best is None or points > best_points):
            best, best_points = thread, points
    return best
