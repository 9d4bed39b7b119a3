"""Placement with several CPUs (sched/scheduler.py): wake-affine hand-overs stay on the
waker's CPU, so do further tasks woken there, other wakes go to the lowest idle CPU or queue
behind host-bound work, and an idle CPU pulls a queued task only once it has waited
PULL_DELAY behind user code that ran that long without a trap."""
import asyncio
from time import monotonic_ns

from moss_host.sched import scheduler as S
from moss_host.sched.eevdf import Entity
from moss_host.sched.state import State


class FakeCpu:
    def __init__(self, index: int):
        self.index = index
        self.current = None
        self.trapped = True
        self.handling = False
        self.resumed_at = 0
        self.traps = 0
        self.scheduled = 0
        self.kicks = 0

    def schedule(self) -> None:
        self.scheduled += 1

    def kick(self) -> None:
        self.kicks += 1


class FakeTask:
    def __init__(self, name: str):
        self.name = name
        self.se = Entity()
        self.on_cpu = None
        self.state = State.BLOCKED
        self.cpus_allowed = -1
        self.last_cpu = 1
        self.mm = object()
        self.sched_policy = 0                   # SCHED_OTHER: no RLIMIT_RTTIME bookkeeping at wake
        self.utime_ns = 0                       # user time charged at its traps


def machine(n: int):
    sched = S.Scheduler(n)
    cpus = [FakeCpu(i) for i in range(n)]
    for cpu in cpus:
        sched.add_cpu(cpu)
    return sched, cpus


def run_on(sched, cpu, task, trapped=True):
    """task runs on cpu (picked from its queue), the CPU in a trap of it or in user code."""
    rq = sched.runqueues[cpu.index]
    task.state = State.RUNNABLE
    rq.push(task)
    assert rq.pop() is task
    cpu.current, task.on_cpu = task, cpu
    cpu.trapped = trapped


def queued_on(sched, task):
    return [rq.cpu.index for rq in sched.runqueues if task in rq.tasks]


def test_a_task_woken_by_a_task_in_its_trap_waits_on_the_wakers_cpu():
    async def go():
        sched, (c0, c1) = machine(2)
        waker, woken = FakeTask("writer"), FakeTask("reader")
        run_on(sched, c0, waker)
        c0.handling = True                  # the pipe write's handler wakes the reader
        sched.wake(woken)
        assert queued_on(sched, woken) == [0] and sched.affine_wakes == 1
        assert c1.scheduled == 0            # the idle CPU is not woken up
    asyncio.run(go())


def test_a_second_woken_task_waits_on_the_wakers_cpu_too():
    async def go():
        sched, (c0, c1) = machine(2)
        waker, first, second = FakeTask("w"), FakeTask("a"), FakeTask("b")
        run_on(sched, c0, waker)
        c0.handling = True
        sched.wake(first)
        sched.wake(second)
        assert queued_on(sched, first) == [0] and queued_on(sched, second) == [0]
        assert c1.scheduled == 0 and second.se.affine_at and sched.pull_timer is not None
    asyncio.run(go())


def test_a_task_woken_off_every_cpu_goes_to_the_lowest_idle_cpu():
    async def go():
        sched, (c0, c1) = machine(2)
        woken = FakeTask("sleeper")             # it last ran on CPU 1
        sched.wake(woken)
        assert queued_on(sched, woken) == [0] and not woken.se.affine_at
        # CPU 0 is about to run it: another task queues there too rather than wake CPU 1
        assert sched.placement(FakeTask("next")) is sched.runqueues[0]
    asyncio.run(go())


def test_a_woken_task_queues_behind_host_bound_work_but_not_behind_long_user_code():
    async def go():
        sched, (c0, c1) = machine(2)
        busy = FakeTask("busy")
        run_on(sched, c0, busy, trapped=False)
        c0.resumed_at = monotonic_ns()          # it trapped just now: host-bound
        woken = FakeTask("a")
        sched.wake(woken)
        assert queued_on(sched, woken) == [0] and woken.se.affine_at
        c0.resumed_at -= 2 * S.PULL_NS          # user code this long without a trap
        other = FakeTask("b")
        sched.wake(other)
        assert queued_on(sched, other) == [1] and not other.se.affine_at
    asyncio.run(go())


def test_an_idle_cpu_steals_only_tasks_not_queued_by_their_waker_just_now():
    async def go():
        sched, (c0, c1) = machine(2)
        waker, woken = FakeTask("w"), FakeTask("r")
        run_on(sched, c0, waker)
        c0.handling = True
        sched.wake(woken)
        assert not sched.steal(c1) and queued_on(sched, woken) == [0]
        woken.se.affine_at -= S.PULL_NS
        assert sched.steal(c1) and queued_on(sched, woken) == [1]
    asyncio.run(go())


def woken_behind(sched, c0, ago_ns: int, user_ns: int):
    """A task woken wake-affine ago_ns ago on c0, whose waker has run user code for user_ns
    since its last trap."""
    waker, woken = FakeTask("waker"), FakeTask("woken")
    run_on(sched, c0, waker)
    c0.handling = True
    sched.wake(woken)
    c0.handling = False
    now = monotonic_ns()
    woken.se.affine_at = now - ago_ns
    c0.trapped = False
    c0.resumed_at = now - user_ns
    return woken


def test_an_idle_cpu_pulls_a_woken_task_waiting_behind_long_user_code():
    async def go():
        sched, (c0, c1) = machine(2)
        woken = woken_behind(sched, c0, 2 * S.PULL_NS, 2 * S.PULL_NS)
        sched._pull_to_idle()
        assert queued_on(sched, woken) == [1] and sched.pulls == 1 and c1.scheduled == 1
    asyncio.run(go())


def test_no_pull_while_the_waker_keeps_trapping_or_too_soon():
    async def go():
        sched, (c0, c1) = machine(2)
        woken = woken_behind(sched, c0, 2 * S.PULL_NS, S.PULL_NS // 10)    # it trapped just now
        sched._pull_to_idle()
        assert queued_on(sched, woken) == [0] and sched.pulls == 0
        assert sched.pull_timer is not None             # it looks again later
        woken.se.affine_at = monotonic_ns()             # woken just now, the waker in user code long
        c0.resumed_at -= 10 * S.PULL_NS
        sched._pull_to_idle()
        assert queued_on(sched, woken) == [0] and sched.pulls == 0
    asyncio.run(go())


def test_one_cpu_has_no_affine_bookkeeping():
    async def go():
        sched, (c0,) = machine(1)
        waker, woken = FakeTask("w"), FakeTask("r")
        run_on(sched, c0, waker)
        c0.handling = True
        sched.wake(woken)
        assert queued_on(sched, woken) == [0] and sched.affine_wakes == 0 and sched.pull_timer is None
    asyncio.run(go())


def test_membarrier_kicks_cpus_running_the_mm_and_waits_for_their_traps():
    async def go():
        sched, (c0, c1, c2) = machine(3)
        caller, sibling, stranger = FakeTask("caller"), FakeTask("thread"), FakeTask("other")
        sibling.mm = caller.mm
        run_on(sched, c0, caller)
        run_on(sched, c1, sibling, trapped=False)
        run_on(sched, c2, stranger, trapped=False)
        barrier = asyncio.ensure_future(sched.membarrier(caller, caller.mm))
        await asyncio.sleep(S.MEMBARRIER_POLL * 3)
        assert (c1.kicks, c2.kicks) == (1, 0) and not barrier.done()
        c1.traps += 1                       # the kicked CPU trapped: the barrier is done
        await asyncio.wait_for(barrier, 1)
    asyncio.run(go())


def test_a_cpu_above_0_hands_its_queue_to_an_idle_cpu_0():
    async def go():
        sched, (c0, c1) = machine(2)
        waker, woken, pinned = FakeTask("w"), FakeTask("r"), FakeTask("p")
        pinned.cpus_allowed = 0b10
        run_on(sched, c1, waker)
        c1.handling = True
        sched.wake(woken)                   # wake-affine: next to its waker on CPU 1
        sched.wake(pinned)
        assert queued_on(sched, woken) == [1] and queued_on(sched, pinned) == [1]
        c0.current = FakeTask("busy")       # CPU 0 busy: nothing moves
        assert not sched.hand_down(c1) and queued_on(sched, woken) == [1]
        c0.current = None                   # CPU 0 idles: it takes what may run there
        assert not sched.hand_down(c1)      # (the pinned one stays: CPU 1 runs it)
        assert queued_on(sched, woken) == [0] and queued_on(sched, pinned) == [1]
        await asyncio.sleep(0)
        assert c0.scheduled == 1
        assert not sched.steal(c1)          # not stolen back at once
    asyncio.run(go())


def test_an_idle_cpu_pulls_a_task_waiting_behind_user_code_that_traps_now_and_then():
    async def go():
        sched, (c0, c1) = machine(2)
        woken = woken_behind(sched, c0, 2 * S.PULL_NS, S.PULL_NS // 10)    # it trapped just now
        sched._pull_to_idle()                   # the first look: the running task's user time so far
        assert queued_on(sched, woken) == [0] and sched.pulls == 0
        busy = c0.current
        rq0 = sched.runqueues[0]
        rq0.mark_at -= 2 * S.PULL_NS            # two delays later: half of them in user code
        busy.utime_ns += S.PULL_NS
        sched._pull_to_idle()
        assert queued_on(sched, woken) == [0] and sched.pulls == 0
        rq0.mark_at -= 2 * S.PULL_NS            # two more, nine tenths in user code
        busy.utime_ns += 2 * S.PULL_NS * 9 // 10
        sched._pull_to_idle()
        assert queued_on(sched, woken) == [1] and sched.pulls == 1
    asyncio.run(go())
