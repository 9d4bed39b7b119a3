"""EEVDF, Linux's fair scheduling (kernel/sched/fair.c since 6.6): one CPU's queue of
scheduling entities, pure arithmetic on integers with no clock, CPU or task of its own.

Each entity has a weight (from its nice value: sched_prio_to_weight), a virtual runtime v
that grows by delta * NICE_0_LOAD / weight as it runs, and a request (its slice r,
0.75 ms per CPU doubling as Linux's base slice, or what sched_setattr asked for) whose
virtual deadline is vd = v + r * NICE_0_LOAD / weight. V is the weighted average of the
virtual runtimes of the queued entities (the running one included); an entity is eligible
when its lag V - v is >= 0, and the entity picked to run is the eligible one with the
earliest virtual deadline. An entity that sleeps keeps its lag (clamped to about two
slices) and is placed back with it on wake (place_entity, with the inflation that makes
the lag come out right after its own weight joins the average); a reweight (nice change)
keeps its lag and relative deadline in proportion to the weights.

Rounding is Linux's: avg_vruntime floors, div_s64 truncates toward zero; calc_delta_fair
divides exactly (Linux multiplies by a 32-bit inverse: the two differ by at most a
nanosecond of virtual time per update).

The queue holds the things scheduled (tasks: anything with an `se` Entity), so that the
CPU's "does anyone wait" is the truthiness of a plain list. As Linux, the running one
(`curr`) stays on the queue but out of the sorted list: V and eligibility add its term on
the fly. The list is kept in deadline order, so the pick is the first eligible entry in it
(usually the first): a scan, where Linux walks a tree augmented by minimum deadlines; the
queues here hold a handful of tasks.
"""
from __future__ import annotations

from bisect import insort
from operator import attrgetter
from typing import Generic, Optional, Protocol, TypeVar

NICE_0_LOAD = 1024
# kernel/sched/core.c sched_prio_to_weight: nice -20 .. 19, each step ~1.25x.
PRIO_TO_WEIGHT = (
    88761, 71755, 56483, 46273, 36291,
    29154, 23254, 18705, 14949, 11916,
    9548, 7620, 6100, 4904, 3906,
    3121, 2501, 1991, 1586, 1277,
    1024, 820, 655, 526, 423,
    335, 272, 215, 172, 137,
    110, 87, 70, 56, 45,
    36, 29, 23, 18, 15,
)
WEIGHT_IDLEPRIO = 3                   # SCHED_IDLE, whatever the nice value
TICK_NS = 4_000_000                   # HZ=250 (Debian's arm64 kernels): the lag limit's floor
BASE_SLICE_NS = 750_000               # sysctl_sched_base_slice before scaling by CPUs
SLICE_MIN_NS = 100_000                # sched_setattr's sched_runtime clamp for a fair task (6.12)
SLICE_MAX_NS = 100_000_000


def weight_of(nice: int, idle: bool = False) -> int:
    """set_load_weight: the nice value's weight, or SCHED_IDLE's 3."""
    return WEIGHT_IDLEPRIO if idle else PRIO_TO_WEIGHT[nice + 20]


def base_slice_ns(cpus: int) -> int:
    """sysctl_sched_base_slice with SCHED_TUNABLESCALING_LOG: 0.75 ms * (1 + ilog2(cpus)),
    counting at most 8 CPUs (0.75 ms on one CPU, 1.5 on two, 3 from eight)."""
    return BASE_SLICE_NS * min(cpus, 8).bit_length()


def clamp_slice(runtime_ns: int) -> int:
    """A requested slice (sched_attr.sched_runtime) as Linux 6.12 takes it: 0.1 .. 100 ms."""
    return min(max(runtime_ns, SLICE_MIN_NS), SLICE_MAX_NS)


def calc_delta_fair(delta: int, weight: int) -> int:
    """delta ns of real time as virtual time at this weight."""
    return delta if weight == NICE_0_LOAD else delta * NICE_0_LOAD // weight


def div_s64(a: int, b: int) -> int:
    """C's signed division: truncates toward zero."""
    q = abs(a) // b
    return -q if a < 0 else q


class Entity:
    """What the fair queue keeps of a task (struct sched_entity)."""
    __slots__ = ("weight", "slice", "custom_slice", "vruntime", "deadline", "vlag", "rq",
                 "exec_start", "sum_exec", "new", "batch", "idle", "rel_deadline", "affine_at")

    def __init__(self, weight: int = NICE_0_LOAD, slice_ns: int = BASE_SLICE_NS):
        self.weight = weight
        self.slice = slice_ns             # the request r, ns of real time
        self.custom_slice = False         # sched_setattr asked for it: kept at renewals
        self.vruntime = 0
        self.deadline = 0
        self.vlag = 0                     # V - v when it left its queue (kept while asleep)
        self.rq: Optional[EevdfQueue] = None   # the queue it is on (running or waiting), if any
        self.exec_start = 0               # the clock when it began running (while curr)
        self.sum_exec = 0                 # ns it has run in all
        self.new = True                   # never queued yet: placed with half a request
        self.batch = False                # SCHED_BATCH or SCHED_IDLE: no wake-up preemption
        self.idle = False                 # SCHED_IDLE: any other task's wake-up preempts it
        self.rel_deadline = False         # the deadline is kept relative to v across a dequeue
        self.affine_at = 0                # monotonic ns of its last wake queued on the waker's CPU

    def inherit(self, parent: Entity, reset: bool) -> None:
        """A new task's entity (sched_fork): the parent's requested slice, unless the
        parent asked for SCHED_RESET_ON_FORK."""
        if parent.custom_slice and not reset:
            self.custom_slice, self.slice = True, parent.slice

    def __repr__(self) -> str:
        return f"<Entity w={self.weight} v={self.vruntime} vd={self.deadline} lag={self.vlag}>"


class Schedulable(Protocol):
    """What a queue holds: a task, or in the unit tests a stand-in for one."""
    se: Entity


T = TypeVar("T", bound=Schedulable)
_deadline = attrgetter("se.deadline")


class EevdfQueue(Generic[T]):
    """One CPU's fair run queue (struct cfs_rq, the EEVDF parts)."""
    __slots__ = ("queued", "curr", "load", "weighted", "base_slice", "idle_v")

    def __init__(self, base_slice: int = BASE_SLICE_NS):
        # Waiting ones in deadline order (FIFO among equal deadlines). The RunQueue hands
        # this very list to the CPU as `tasks`: never rebind it.
        self.queued: list[T] = []
        self.curr: Optional[T] = None         # the running one: on the queue, not in the list
        self.load = 0                         # sum of the weights in `queued`
        self.weighted = 0                     # sum of weight * vruntime in `queued`
        self.base_slice = base_slice          # sysctl_sched_base_slice for this machine
        self.idle_v = 0                       # V when the queue last emptied: the next one's start

    def __len__(self) -> int:
        """nr_running: queued ones, the running one included."""
        return len(self.queued) + (self.curr is not None)

    # -- the weighted average and eligibility ------------------------------------------------

    def _sums(self) -> tuple[int, int]:
        curr = self.curr
        if curr is None:
            return self.weighted, self.load
        se = curr.se
        return self.weighted + se.weight * se.vruntime, self.load + se.weight

    def avg_vruntime(self) -> int:
        """V, the weighted average virtual runtime (floored, as Linux's)."""
        weighted, load = self._sums()
        return weighted // load if load else self.idle_v

    def eligible(self, item: T) -> bool:
        """entity_eligible: lag >= 0, i.e. v <= V, compared without dividing."""
        weighted, load = self._sums()
        return weighted >= item.se.vruntime * load

    def lag(self, item: T) -> int:
        """V - v of a queued one."""
        return self.avg_vruntime() - item.se.vruntime

    # -- the list ---------------------------------------------------------------------------

    def _insert(self, item: T) -> None:
        insort(self.queued, item, key=_deadline)
        se = item.se
        self.load += se.weight
        self.weighted += se.weight * se.vruntime

    def _remove(self, item: T) -> None:
        queued = self.queued
        if queued[0] is item:                 # (the pick: mostly the first)
            del queued[0]
        else:
            queued.remove(item)
        se = item.se
        self.load -= se.weight
        self.weighted -= se.weight * se.vruntime

    # -- running --------------------------------------------------------------------------------

    def update_curr(self, now: int) -> bool:
        """Charge the running one for the time since its last update; True if that used up
        its request and it got the next one (update_deadline: the tick's reschedule point)."""
        curr = self.curr
        if curr is None:
            return False
        se = curr.se
        delta = now - se.exec_start
        if delta <= 0:
            return False
        se.exec_start = now
        se.sum_exec += delta
        weight = se.weight
        vruntime = se.vruntime + (delta if weight == NICE_0_LOAD else delta * NICE_0_LOAD // weight)
        se.vruntime = vruntime
        if vruntime < se.deadline:
            return False
        if not se.custom_slice:
            se.slice = self.base_slice
        se.deadline = vruntime + calc_delta_fair(se.slice, weight)
        return True

    def pick(self) -> Optional[T]:
        """pick_eevdf: the eligible one with the earliest virtual deadline, the running one
        included (a waiting one wins a tie, as Linux's strict entity_before); None if
        nothing is queued."""
        curr = self.curr
        queued = self.queued
        if curr is None and len(queued) == 1:
            return queued[0]                    # (alone: eligible, V is its own v)
        weighted, load = self._sums()
        best = None
        for item in queued:
            if weighted >= item.se.vruntime * load:
                best = item
                break
        if curr is not None:
            se = curr.se
            if weighted >= se.vruntime * load and (best is None or se.deadline < best.se.deadline):
                return curr
        if best is None and self.queued:
            best = self.queued[0]               # (cannot happen: someone is at or below V)
        return best

    def set_next(self, item: T, now: int) -> None:
        """item, waiting, starts running (set_next_entity); nothing else runs."""
        queued = self.queued
        if queued[0] is item:                 # (_remove, inline: every context switch)
            del queued[0]
        else:
            queued.remove(item)
        se = item.se
        self.load -= se.weight
        self.weighted -= se.weight * se.vruntime
        self.curr = item
        se.exec_start = now

    def take_next(self, now: int) -> Optional[T]:
        """A context switch: the running one, unless put back first (put_prev), stops
        running and leaves the queue with its lag, as dequeue(curr) (it sleeps or stopped);
        then the pick runs (set_next). None: nothing to run.

        dequeue, pick and set_next in one, inline: this is every context switch's path
        (a futex or pipe hand-over: one of these and one enqueue)."""
        queued = self.queued
        curr = self.curr
        if curr is not None:
            se = curr.se
            weight, vruntime = se.weight, se.vruntime
            delta = now - se.exec_start
            if delta > 0:                       # update_curr
                se.exec_start = now
                se.sum_exec += delta
                vruntime += delta if weight == NICE_0_LOAD else delta * NICE_0_LOAD // weight
                se.vruntime = vruntime
                if vruntime >= se.deadline:
                    if not se.custom_slice:
                        se.slice = self.base_slice
                    se.deadline = vruntime + calc_delta_fair(se.slice, weight)
            lag = (self.weighted + weight * vruntime) // (self.load + weight) - vruntime
            if lag:                             # update_entity_lag
                slice2 = 2 * se.slice
                limit = calc_delta_fair(slice2 if slice2 > TICK_NS else TICK_NS, weight)
                lag = limit if lag > limit else -limit if lag < -limit else lag
            se.vlag = lag
            if se.rel_deadline:
                se.deadline -= vruntime
            se.rq = None
            self.curr = None
            if not queued:
                self.idle_v = vruntime
                return None
        elif not queued:
            return None
        item = queued[0]
        if len(queued) > 1:                     # pick: the first eligible in deadline order
            weighted, load = self.weighted, self.load
            for candidate in queued:
                if weighted >= candidate.se.vruntime * load:
                    item = candidate
                    break
        if queued[0] is item:                   # set_next
            del queued[0]
        else:
            queued.remove(item)
        se = item.se
        self.load -= se.weight
        self.weighted -= se.weight * se.vruntime
        self.curr = item
        se.exec_start = now
        return item

    def put_prev(self, now: int) -> None:
        """The running one stops running but stays queued (preempted, yielding)."""
        curr = self.curr
        assert curr is not None
        self.update_curr(now)
        self.curr = None
        self._insert(curr)

    # -- joining and leaving ---------------------------------------------------------------

    def enqueue(self, item: T, now: int) -> None:
        """item becomes runnable here (a new task, or one waking with the lag it slept with).

        place_entity: v = V - lag, the lag inflated so that it is still the lag once the
        entity's own weight is in the average; vd = v + r/w (half of it for a new task)."""
        se = item.se
        curr = self.curr
        weighted, load = self.weighted, self.load
        if curr is not None:
            cse = curr.se
            cweight, cvruntime = cse.weight, cse.vruntime
            delta = now - cse.exec_start
            if delta > 0:                       # update_curr, inline (every wake-up)
                cse.exec_start = now
                cse.sum_exec += delta
                cvruntime += delta if cweight == NICE_0_LOAD else delta * NICE_0_LOAD // cweight
                cse.vruntime = cvruntime
                if cvruntime >= cse.deadline:
                    if not cse.custom_slice:
                        cse.slice = self.base_slice
                    cse.deadline = cvruntime + calc_delta_fair(cse.slice, cweight)
            weighted += cweight * cvruntime
            load += cweight
        weight = se.weight
        if load:
            vlag = se.vlag
            vruntime = weighted // load
            if vlag:
                inflated = vlag * (load + weight)
                vruntime -= inflated // load if inflated >= 0 else -(-inflated // load)
        else:
            vruntime = self.idle_v
        se.vruntime = vruntime
        if se.rel_deadline:                   # PLACE_REL_DEADLINE: not a sleep (a yield, a move)
            se.rel_deadline = False
            se.deadline += vruntime
        else:
            if not se.custom_slice:
                se.slice = self.base_slice
            vslice = calc_delta_fair(se.slice, weight)
            if se.new:
                vslice //= 2
            se.deadline = vruntime + vslice
        se.new = False
        queued = self.queued
        if queued:
            insort(queued, item, key=_deadline)
        else:
            queued.append(item)
        self.load += weight
        self.weighted += weight * vruntime
        se.rq = self

    def dequeue(self, item: T, now: int, sleep: bool = True) -> None:
        """item leaves the queue (it sleeps, stops or exits; sleep=False: it moves to another
        CPU's queue); its lag is kept for the next enqueue (update_entity_lag, clamped to
        about two requests), and its deadline relative to v unless it went to sleep (and
        had not yielded: yield_current)."""
        se = item.se
        assert se.rq is self
        curr = self.curr
        weighted, load = self.weighted, self.load
        if curr is not None:
            self.update_curr(now)
            cse = curr.se
            weighted += cse.weight * cse.vruntime
            load += cse.weight
        vruntime, weight = se.vruntime, se.weight
        lag = weighted // load - vruntime
        if lag:
            slice2 = 2 * se.slice
            limit = calc_delta_fair(slice2 if slice2 > TICK_NS else TICK_NS, weight)
            lag = limit if lag > limit else -limit if lag < -limit else lag
        se.vlag = lag
        if se.rel_deadline or not sleep:
            se.deadline -= vruntime
            se.rel_deadline = True
        if item is curr:
            self.curr = None
        else:
            self._remove(item)
        se.rq = None
        if not self.queued and self.curr is None:
            self.idle_v = vruntime

    def reweight(self, item: T, weight: int, now: int) -> None:
        """item's weight changes (nice, policy) while it is queued: its lag V - v and its
        deadline's distance from V scale by old/new weight, so the lag w * (V - v) itself is
        kept and V does not move (reweight_entity, reweight_eevdf)."""
        se = item.se
        if weight == se.weight:
            return
        old = se.weight
        self.update_curr(now)
        avg = self.avg_vruntime()             # with the old term
        if item is not self.curr:
            self._remove(item)
        se.vruntime = avg - div_s64((avg - se.vruntime) * old, weight)
        se.deadline = avg + div_s64((se.deadline - avg) * old, weight)
        se.weight = weight
        if item is not self.curr:
            self._insert(item)

    def yield_current(self, now: int) -> None:
        """sched_yield (yield_task_fair): the running one's deadline moves one request on,
        and stays that far ahead if it leaves the queue to let the others run."""
        curr = self.curr
        if curr is None:
            return
        self.update_curr(now)
        se = curr.se
        se.deadline += calc_delta_fair(se.slice, se.weight)
        se.rel_deadline = True

    # -- preemption -----------------------------------------------------------------------------

    def tick(self, now: int) -> bool:
        """The periodic tick: True if the running one used up its request and another
        eligible one has an earlier deadline now (the CPU should switch)."""
        if not self.update_curr(now) or not self.queued:
            return False
        return self.pick() is not self.curr

    def wakeup_preempts(self, item: T, now: int) -> bool:
        """check_preempt_wakeup: does item, just enqueued, take the CPU from the running one?
        An idle-policy task yields to any other; batch and idle ones never preempt;
        otherwise item preempts when it is now the pick."""
        curr = self.curr
        if curr is None:
            return True
        se = item.se
        if curr.se.idle and not se.idle:
            return True
        if se.batch:
            return False
        self.update_curr(now)
        return self.pick() is item


def reweight_asleep(se: Entity, weight: int) -> None:
    """A weight change for an entity on no queue: its lag w * vlag is kept."""
    if weight != se.weight:
        se.vlag = div_s64(se.vlag * se.weight, weight)
        se.weight = weight
