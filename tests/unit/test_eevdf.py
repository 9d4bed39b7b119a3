"""EEVDF (moss_host/sched/eevdf.py) against a small reference model, and its fairness.

The model keeps every entity's v, deadline and lag in plain dicts and recomputes V,
eligibility and the pick from scratch at every step, straight from the definitions in
Linux's kernel/sched/fair.c (6.6 and the reweight of 6.7), with the same integer rounding:
the queue under test keeps running sums, a deadline-ordered list and the running entity
apart, so the two agree only if that bookkeeping is right. Random sequences of wake, sleep,
run, tick, yield and nice changes drive both (hypothesis).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pytest
from hypothesis import given, settings, strategies as st

from moss_host.sched.eevdf import (BASE_SLICE_NS, NICE_0_LOAD, PRIO_TO_WEIGHT, SLICE_MAX_NS, SLICE_MIN_NS,
                                   TICK_NS, WEIGHT_IDLEPRIO, EevdfQueue, Entity, base_slice_ns,
                                   calc_delta_fair, clamp_slice, reweight_asleep, weight_of)


class Item:
    """A stand-in for a task: what a queue holds."""
    __slots__ = ("se", "name")

    def __init__(self, name: int, weight: int = NICE_0_LOAD):
        self.name = name
        self.se = Entity(weight)

    def __repr__(self) -> str:
        return f"<Item {self.name} {self.se!r}>"


# -- the reference model -----------------------------------------------------------------------

def trunc_div(a: int, b: int) -> int:
    return int(abs(a) // b) * (1 if a >= 0 else -1)


@dataclass
class M:
    weight: int
    v: int = 0
    d: int = 0
    lag: int = 0
    slice: int = BASE_SLICE_NS
    new: bool = True
    queued: bool = False
    rel: bool = False
    seq: int = 0                  # when it last joined the waiting ones (FIFO among equal deadlines)


@dataclass
class Model:
    base_slice: int = BASE_SLICE_NS
    ents: dict[int, M] = field(default_factory=dict)
    running: Optional[int] = None
    idle_v: int = 0
    seq: int = 0
    clock_at: int = 0             # when the running one was last charged

    def members(self) -> list[M]:
        return [e for e in self.ents.values() if e.queued]

    def V(self) -> int:
        ms = self.members()
        if not ms:
            return self.idle_v
        return sum(e.weight * e.v for e in ms) // sum(e.weight for e in ms)

    def is_eligible(self, e: M) -> bool:
        ms = self.members()
        return sum(m.weight * m.v for m in ms) >= e.v * sum(m.weight for m in ms)

    def charge(self, now: int) -> bool:
        if self.running is None:
            return False
        e = self.ents[self.running]
        delta = now - self.clock_at
        if delta <= 0:
            return False
        self.clock_at = now
        e.v += delta * NICE_0_LOAD // e.weight
        if e.v < e.d:
            return False
        e.slice = self.base_slice
        e.d = e.v + e.slice * NICE_0_LOAD // e.weight
        return True

    def _join_waiting(self, e: M) -> None:
        self.seq += 1
        e.seq = self.seq

    def enqueue(self, name: int, now: int) -> None:
        self.charge(now)
        e = self.ents[name]
        V = self.V()
        e.slice = self.base_slice
        vslice = e.slice * NICE_0_LOAD // e.weight
        ms = self.members()
        lag = 0
        if ms:
            load = sum(m.weight for m in ms)
            lag = trunc_div(e.lag * (load + e.weight), load)
        e.v = V - lag
        if e.rel:
            e.rel = False
            e.d += e.v
        else:
            e.d = e.v + (vslice // 2 if e.new else vslice)
        e.new = False
        e.queued = True
        self._join_waiting(e)

    def dequeue(self, name: int, now: int) -> None:
        self.charge(now)
        e = self.ents[name]
        limit = max(2 * e.slice, TICK_NS) * NICE_0_LOAD // e.weight
        e.lag = max(-limit, min(limit, self.V() - e.v))
        if e.rel:
            e.d -= e.v
        e.queued = False
        if self.running == name:
            self.running = None
        if not self.members():
            self.idle_v = e.v

    def pick(self) -> Optional[int]:
        waiting = [(e.d, e.seq, n) for n, e in self.ents.items()
                   if e.queued and n != self.running and self.is_eligible(e)]
        best = min(waiting)[2] if waiting else None
        if self.running is not None:
            c = self.ents[self.running]
            if self.is_eligible(c) and (best is None or c.d < self.ents[best].d):
                return self.running
        return best

    def schedule(self, now: int) -> None:
        """Put the running one back (if any), then run the pick."""
        if self.running is not None:
            self.charge(now)
            self._join_waiting(self.ents[self.running])
            self.running = None
        n = self.pick()
        if n is not None:
            self.running = n
            self.clock_at = now

    def reweight(self, name: int, weight: int, now: int) -> None:
        e = self.ents[name]
        if weight == e.weight:
            return
        if not e.queued:
            e.lag = trunc_div(e.lag * e.weight, weight)
            e.weight = weight
            return
        self.charge(now)
        V = self.V()
        e.v = V - trunc_div((V - e.v) * e.weight, weight)
        e.d = V + trunc_div((e.d - V) * e.weight, weight)
        e.weight = weight
        if name != self.running:
            self._join_waiting(e)

    def yield_(self, now: int) -> None:
        if self.running is None:
            return
        self.charge(now)
        e = self.ents[self.running]
        e.d += e.slice * NICE_0_LOAD // e.weight
        e.rel = True


# -- driving both ---------------------------------------------------------------------------------

N = 5
ops = st.lists(st.one_of(
    st.tuples(st.just("advance"), st.integers(1, 20_000_000)),
    st.tuples(st.just("wake"), st.integers(0, N - 1)),
    st.tuples(st.just("sleep"), st.integers(0, N - 1)),
    st.tuples(st.just("schedule"), st.just(0)),
    st.tuples(st.just("switch"), st.just(0)),
    st.tuples(st.just("tick"), st.just(0)),
    st.tuples(st.just("yield"), st.just(0)),
    st.tuples(st.just("nice"), st.tuples(st.integers(0, N - 1), st.integers(-20, 19))),
), max_size=80)


class Pair:
    def __init__(self, nices: list[int]):
        self.q: EevdfQueue[Item] = EevdfQueue()
        self.items = [Item(i, weight_of(n)) for i, n in enumerate(nices)]
        self.model = Model(ents={i: M(weight_of(n)) for i, n in enumerate(nices)})
        self.now = 1_000_000

    def do(self, op: str, arg) -> None:
        q, m, now = self.q, self.model, self.now
        if op == "advance":
            self.now += arg
        elif op == "wake":
            if self.items[arg].se.rq is None:
                q.enqueue(self.items[arg], now)
                m.enqueue(arg, now)
        elif op == "sleep":
            if self.items[arg].se.rq is q:
                q.dequeue(self.items[arg], now)
                m.dequeue(arg, now)
        elif op == "schedule":
            if q.curr is not None:
                q.put_prev(now)
            nxt = q.pick()
            if nxt is not None:
                q.set_next(nxt, now)
            m.schedule(now)
        elif op == "switch":                   # the running one sleeps, the pick runs
            picked = q.take_next(now)
            if m.running is not None:
                m.dequeue(m.running, now)
            m.schedule(now)
            assert (picked.name if picked is not None else None) == m.running
        elif op == "tick":
            assert q.update_curr(now) == m.charge(now)
        elif op == "yield":
            q.yield_current(now)
            m.yield_(now)
        elif op == "nice":
            i, nice = arg
            item = self.items[i]
            if item.se.rq is q:
                q.reweight(item, weight_of(nice), now)
            else:
                reweight_asleep(item.se, weight_of(nice))
            m.reweight(i, weight_of(nice), now)

    def check(self) -> None:
        q, m = self.q, self.model
        assert (q.curr.name if q.curr is not None else None) == m.running
        for item in self.items:
            e, se = m.ents[item.name], item.se
            assert (se.rq is q) == e.queued
            assert se.weight == e.weight
            assert se.vlag == e.lag
            if e.queued:
                assert (se.vruntime, se.deadline) == (e.v, e.d), item
                assert q.eligible(item) == m.is_eligible(e)
        # the running sums and the order of the list
        assert q.load == sum(i.se.weight for i in q.queued)
        assert q.weighted == sum(i.se.weight * i.se.vruntime for i in q.queued)
        assert [i.se.deadline for i in q.queued] == sorted(i.se.deadline for i in q.queued)
        assert q.avg_vruntime() == m.V()
        picked = q.pick()
        assert (picked.name if picked is not None else None) == m.pick()
        assert len(q) == len(m.members())


@settings(max_examples=300, deadline=None)
@given(nices=st.lists(st.integers(-20, 19), min_size=N, max_size=N), steps=ops)
def test_queue_matches_the_model(nices, steps):
    """V, eligibility, deadlines, placement with lag, reweights and the pick agree with
    the from-scratch model after every step."""
    pair = Pair(nices)
    for op, arg in steps:
        pair.do(op, arg)
        pair.check()


@settings(max_examples=200, deadline=None)
@given(nices=st.lists(st.integers(-20, 19), min_size=N, max_size=N), steps=ops)
def test_pick_is_the_eligible_one_with_the_earliest_deadline(nices, steps):
    pair = Pair(nices)
    for op, arg in steps:
        pair.do(op, arg)
    q = pair.q
    everyone = list(q.queued) + ([q.curr] if q.curr is not None else [])
    picked = q.pick()
    if not everyone:
        assert picked is None
        return
    assert picked is not None and q.eligible(picked)
    V = q.avg_vruntime()
    assert picked.se.vruntime <= V + 1          # lag >= 0 (V floored)
    assert picked.se.deadline == min(i.se.deadline for i in everyone if q.eligible(i))


# -- placement and lag -----------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(nices=st.lists(st.integers(-20, 19), min_size=2, max_size=6), sleeper=st.integers(-20, 19),
       runs=st.lists(st.integers(0, 6_000_000), min_size=1, max_size=12))
def test_lag_survives_sleep_and_wake(nices, sleeper, runs):
    """A task that sleeps with lag L is placed back with lag L (within rounding), however
    the others' weights are, as place_entity's inflation promises."""
    q: EevdfQueue[Item] = EevdfQueue()
    others = [Item(i, weight_of(n)) for i, n in enumerate(nices)]
    s = Item(99, weight_of(sleeper))
    now = 0
    for item in others + [s]:
        q.enqueue(item, now)
    for r in runs:                             # run whoever is picked for a while
        if q.curr is not None:
            q.put_prev(now)
        q.set_next(q.pick(), now)
        now += r
    q.dequeue(s, now)
    lag = s.se.vlag
    limit = calc_delta_fair(max(2 * s.se.slice, TICK_NS), s.se.weight)
    assert -limit <= lag <= limit
    q.enqueue(s, now)
    assert abs(q.lag(s) - lag) <= 3
    assert s.se.deadline == s.se.vruntime + calc_delta_fair(BASE_SLICE_NS, s.se.weight)


def test_new_task_gets_half_a_request_and_no_lag():
    q: EevdfQueue[Item] = EevdfQueue()
    a, b = Item(0), Item(1, weight_of(5))
    q.enqueue(a, 0)
    q.set_next(a, 0)
    q.enqueue(b, 3_000_000)
    assert b.se.vruntime == q.avg_vruntime() or abs(q.lag(b)) <= 1
    assert b.se.deadline - b.se.vruntime == calc_delta_fair(BASE_SLICE_NS, weight_of(5)) // 2


def test_lag_is_clamped_to_two_requests_or_a_tick():
    q: EevdfQueue[Item] = EevdfQueue()
    hog, other = Item(0), Item(1)
    q.enqueue(hog, 0)
    q.enqueue(other, 0)
    q.set_next(hog, 0)
    q.dequeue(hog, 1_000_000_000)               # ran a second while the other waited
    assert hog.se.vlag == -calc_delta_fair(max(2 * BASE_SLICE_NS, TICK_NS), NICE_0_LOAD)


@settings(max_examples=200, deadline=None)
@given(nices=st.lists(st.integers(-20, 19), min_size=2, max_size=6), new=st.integers(-20, 19),
       run=st.integers(0, 10_000_000))
def test_reweight_keeps_lag_and_V(nices, new, run):
    q: EevdfQueue[Item] = EevdfQueue()
    items = [Item(i, weight_of(n)) for i, n in enumerate(nices)]
    for item in items:
        q.enqueue(item, 0)
    q.set_next(q.pick(), 0)
    q.update_curr(run)
    target = items[-1]
    V, w, W = q.avg_vruntime(), target.se.weight, sum(i.se.weight for i in items)
    real_lag = w * q.lag(target)
    q.reweight(target, weight_of(new), run)
    # Exactly, V stays and so does w * (V - v); the floored V the new v is computed from
    # (as Linux's) shifts it by up to W / W' (a heavy task made light).
    w2 = target.se.weight
    shift = W / (W - w + w2) + 2
    assert abs(q.avg_vruntime() - V) <= shift
    assert abs(w2 * q.lag(target) - real_lag) <= w2 * shift + w + w2


# -- weights and slices ------------------------------------------------------------------------------

def test_weights_are_linux_table():
    assert weight_of(0) == NICE_0_LOAD == 1024
    assert weight_of(5) == 335 and weight_of(-20) == 88761 and weight_of(19) == 15
    assert weight_of(0, idle=True) == WEIGHT_IDLEPRIO == 3
    assert len(PRIO_TO_WEIGHT) == 40
    # each nice step is ~10% of CPU: neighbours differ by ~1.25x
    for a, b in zip(PRIO_TO_WEIGHT, PRIO_TO_WEIGHT[1:]):
        assert 1.15 < a / b < 1.3


def test_base_slice_and_requested_slice():
    assert base_slice_ns(1) == 750_000
    assert base_slice_ns(2) == 1_500_000
    assert base_slice_ns(4) == 2_250_000
    assert base_slice_ns(8) == base_slice_ns(64) == 3_000_000
    assert clamp_slice(1) == SLICE_MIN_NS and clamp_slice(10**12) == SLICE_MAX_NS
    assert clamp_slice(5_000_000) == 5_000_000


def test_custom_slice_sets_deadlines():
    q: EevdfQueue[Item] = EevdfQueue()
    a, b = Item(0), Item(1)
    b.se.custom_slice, b.se.slice = True, 10_000_000
    q.enqueue(a, 0)
    q.enqueue(b, 0)
    assert b.se.deadline - b.se.vruntime == 5_000_000           # half a request: new
    q.set_next(b, 0)
    assert q.update_curr(6_000_000)                            # past its deadline: a new request
    assert b.se.deadline - b.se.vruntime == 10_000_000


# -- preemption -------------------------------------------------------------------------------------

def _fresh(*nices: int) -> tuple[EevdfQueue[Item], list[Item]]:
    q: EevdfQueue[Item] = EevdfQueue()
    items = [Item(i, weight_of(n)) for i, n in enumerate(nices)]
    for item in items:
        q.enqueue(item, 0)
    return q, items


def test_tick_preempts_only_when_the_request_is_used_up():
    q, (a, b) = _fresh(0, 0)
    q.set_next(a, 0)
    assert not q.tick(100_000)                  # within its 0.75 ms request
    assert q.tick(4_000_000)                    # past it, and b is eligible with an earlier deadline


def test_wakeup_preemption_and_batch_and_idle():
    q, (hog,) = _fresh(19)
    q.set_next(hog, 0)
    q.update_curr(50_000_000)
    sleeper = Item(1)
    q.enqueue(sleeper, 50_000_000)
    assert q.wakeup_preempts(sleeper, 50_000_000)               # lag 0 vs a nice-19 hog far ahead
    q.dequeue(sleeper, 50_000_000)
    sleeper.se.batch = True
    q.enqueue(sleeper, 50_000_000)
    assert not q.wakeup_preempts(sleeper, 50_000_000)           # SCHED_BATCH: the tick decides
    q2, (idle,) = _fresh(0)
    idle.se.idle, idle.se.weight = True, WEIGHT_IDLEPRIO
    q2.set_next(idle, 0)
    other = Item(1, weight_of(19))
    other.se.vlag = -10**9                                      # however far behind it is
    q2.enqueue(other, 1)
    assert q2.wakeup_preempts(other, 1)                         # anyone preempts SCHED_IDLE


def test_yield_lets_an_eligible_waiting_task_go_first():
    q, (a,) = _fresh(0)
    q.set_next(a, 0)
    b = Item(1)
    q.enqueue(b, 200_000)
    assert q.pick() is a                        # both eligible, a's deadline the earlier
    q.yield_current(200_000)
    assert q.pick() is b


# -- fairness ------------------------------------------------------------------------------------------

def simulate(nices: list[int], seconds: float, tick: int = TICK_NS) -> list[int]:
    """CPU-bound tasks on one CPU with a periodic tick; ns each one ran."""
    q: EevdfQueue[Item] = EevdfQueue()
    items = [Item(i, weight_of(n)) for i, n in enumerate(nices)]
    for item in items:
        q.enqueue(item, 0)
    q.set_next(q.pick(), 0)
    now = 0
    while now < seconds * 1e9:
        now += tick
        if q.tick(now):
            q.put_prev(now)
            q.set_next(q.pick(), now)
    q.update_curr(now)
    return [i.se.sum_exec for i in items]


def test_nice_0_and_nice_5_share_1024_to_335():
    a, b = simulate([0, 5], 20)
    assert a / b == pytest.approx(1024 / 335, rel=0.02)


@settings(max_examples=40, deadline=None)
@given(nices=st.lists(st.integers(-20, 19), min_size=1, max_size=5))
def test_cpu_bound_tasks_get_their_weighted_share(nices):
    """Each one's CPU time stays within a few ticks of its weight's share of the CPU."""
    seconds = 5
    ran = simulate(nices, seconds)
    total = sum(ran)
    weights = [weight_of(n) for n in nices]
    for got, w in zip(ran, weights):
        ideal = total * w / sum(weights)
        assert abs(got - ideal) <= (len(nices) + 2) * TICK_NS + 2 * BASE_SLICE_NS * NICE_0_LOAD / w * w / sum(weights) * len(nices) + TICK_NS
