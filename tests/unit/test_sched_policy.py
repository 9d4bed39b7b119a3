"""Scheduling policies (sched/policy.py) and sched_yield's turn in the run queue."""
import asyncio

from moss_host.sched import policy as P
from moss_host.sched.eevdf import Entity
from moss_host.sched.scheduler import Scheduler


def test_priority_ranges_per_policy():
    assert P.priority_range(P.SCHED_FIFO) == P.priority_range(P.SCHED_RR) == (1, 99)
    for policy in (P.SCHED_OTHER, P.SCHED_BATCH, P.SCHED_IDLE, P.SCHED_DEADLINE):
        assert P.priority_range(policy) == (0, 0)
    assert P.priority_range(4) is None and P.priority_range(P.SCHED_FIFO | P.SCHED_RESET_ON_FORK) is None


def test_reset_on_fork_drops_real_time_policy_and_negative_nice_only():
    assert P.inherited(P.SCHED_RR, 50, -5, False) == (P.SCHED_RR, 50, -5)
    assert P.inherited(P.SCHED_RR, 50, -5, True) == (P.SCHED_OTHER, 0, 0)
    assert P.inherited(P.SCHED_BATCH, 0, -5, True) == (P.SCHED_BATCH, 0, 0)
    assert P.inherited(P.SCHED_IDLE, 0, 3, True) == (P.SCHED_IDLE, 0, 3)


class _Task:
    """What a run queue needs of a task: its scheduling entity."""
    def __init__(self) -> None:
        self.se = Entity()


class _Cpu:
    index, current, trapped = 0, None, True

    def schedule(self) -> None:
        pass

    def kick(self) -> None:
        pass


def test_yield_turn_sleeps_only_when_others_wait():
    sched = Scheduler()
    rq = sched.add_cpu(_Cpu())
    me = _Task()

    async def yield_steps() -> int:
        coro = sched.yield_turn(me)
        steps = 0
        try:
            while True:
                coro.send(None)
                steps += 1
        except StopIteration:
            return steps

    assert asyncio.run(yield_steps()) == 0          # alone: it goes on at once
    rq.push(_Task())
    assert asyncio.run(yield_steps()) == 1          # others wait: it sleeps one turn
