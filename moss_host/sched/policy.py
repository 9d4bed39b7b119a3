"""Scheduling policies and real-time priorities (sched_setscheduler(2)), what a new task
inherits of them, and what they make of a task's fair scheduling entity (eevdf.py).

The policy and priority are recorded per thread and reported back as Linux does. Every
runnable task is scheduled by EEVDF (eevdf.py), whatever its policy: SCHED_OTHER by its
nice value's weight, SCHED_BATCH the same without wake-up preemption, SCHED_IDLE with
weight 3, preempted by any other task's wake-up. A SCHED_FIFO or SCHED_RR task is
time-shared with the others here by its nice value rather than running until it blocks.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .eevdf import clamp_slice, reweight_asleep, weight_of

if TYPE_CHECKING:
    from moss_host.proc.task import Task

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


def apply(task: Task) -> None:
    """task's policy or nice value changed (or it is new): its entity takes the weight and
    preemption rules they give; a queued one is reweighted in place, keeping its lag."""
    se = task.se
    policy = task.sched_policy
    idle = policy == SCHED_IDLE
    se.batch = idle or policy == SCHED_BATCH
    se.idle = idle
    weight = weight_of(task.nice, idle)
    if se.rq is not None:
        se.rq.reweight(task, weight, time.monotonic_ns())
    else:
        reweight_asleep(se, weight)


def request_slice(task: Task, runtime_ns: int) -> None:
    """sched_setattr's sched_runtime for a fair policy (Linux 6.12 __setparam_fair): a
    non-zero one is the task's requested slice, clamped to 0.1 .. 100 ms; 0 gives the
    base slice back. It counts from the task's next request."""
    se = task.se
    se.custom_slice = runtime_ns != 0
    if runtime_ns:
        se.slice = clamp_slice(runtime_ns)
