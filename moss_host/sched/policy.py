"""Scheduling policies and real-time priorities (sched_setscheduler(2)), and what a new task
inherits of them.

The policy and priority are recorded per thread and reported back as Linux does; the
scheduler itself runs every runnable task round robin (runqueue.py), whatever its policy:
a SCHED_FIFO or SCHED_RR task is time-shared with the others here rather than running until
it blocks. Affinity masks are recorded too; with one CPU there is nothing to choose.
"""
from __future__ import annotations

SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE = 0, 1, 2, 3, 5, 6
SCHED_RESET_ON_FORK = 0x4000_0000
NORMAL_POLICIES = (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE)
RT_POLICIES = (SCHED_FIFO, SCHED_RR)
MAX_RT_PRIO = 100                     # real-time priorities are 1..MAX_RT_PRIO - 1
RR_TIMESLICE_NS = 100_000_000         # SCHED_RR's quantum (Linux's RR_TIMESLICE)


def priority_range(policy: int) -> tuple[int, int] | None:
    """(min, max) priority of a policy (sched_get_priority_min/max); None for an unknown one."""
    if policy in RT_POLICIES:
        return 1, MAX_RT_PRIO - 1
    if policy in NORMAL_POLICIES or policy == SCHED_DEADLINE:
        return 0, 0
    return None


def inherited(policy: int, priority: int, nice: int, reset_on_fork: bool) -> tuple[int, int, int]:
    """(policy, priority, nice) of a new task (sched_fork): the parent's, unless it asked for
    SCHED_RESET_ON_FORK: then a real-time policy becomes SCHED_OTHER and a negative nice 0."""
    if not reset_on_fork:
        return policy, priority, nice
    if policy in RT_POLICIES or policy == SCHED_DEADLINE:
        return SCHED_OTHER, 0, 0
    return policy, priority, max(nice, 0)
