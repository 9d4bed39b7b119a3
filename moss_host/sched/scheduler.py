"""The scheduler: which runnable task each CPU runs, sleeping in a syscall and waking from it.

A task is in one of four states (state.py). RUNNABLE tasks are on a CPU or in its run
queue. A syscall that must wait leaves its CPU BLOCKED: the rest of its handler runs as an
asyncio job (`sleep`), and when that job ends the trap layer (proc/trap.py) puts the result
in x0 and calls `wake`. A signal for a sleeping task cancels the job (`interrupt`), which
ends the syscall with -ERESTARTSYS. A STOPPED task goes back to a run queue on SIGCONT or
SIGKILL (`make_runnable`).
"""
from __future__ import annotations

import asyncio
import time
from time import monotonic_ns
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Optional

from . import policy
from .eevdf import base_slice_ns
from .parked import Parked, Resume
from .runqueue import CpuPort, RunQueue
from .state import State

if TYPE_CHECKING:
    from moss_host.proc.task import Task


# A task woken next to its waker (wake-affine) that still waits this long while a CPU it may
# use idles is pulled there: the waker did not go to sleep soon after all. Linux's idle CPU
# pulls at the busy CPU's next tick (nohz balance kick; 4 ms at HZ=250) and leaves a task
# alone that ran within sysctl_sched_migration_cost (0.5 ms); here half a tick, since a
# guest's few user instructions between a write and its read can take a millisecond of
# wall time on a loaded host (its vCPU thread preempted), and a needless pull costs a
# cross-CPU hand-over every time.
PULL_DELAY = 0.002
PULL_NS = int(PULL_DELAY * 1e9)
MEMBARRIER_POLL = 0.0001            # how often membarrier looks whether the kicked CPUs trapped
_RUNNABLE = State.RUNNABLE          # (bound once: wake-affine asks at every hand-over)


class Scheduler:
    def __init__(self, cpus: int = 1) -> None:
        self.runqueues: list[RunQueue] = []       # one per CPU, in CPU index order
        self.pull_timer: Optional[asyncio.TimerHandle] = None     # _pull_to_idle, armed by wake-affine
        self.affine_wakes = 0                     # wakes queued on the waker's CPU (wake-affine)
        self.pulls = 0                            # tasks an idle CPU took from a busy one's queue
        self.planned_cpus = cpus                  # what the machine will have (before it starts)
        self.boot_time = time.monotonic()
        self.context_switches = 0                 # /proc/stat ctxt
        self.loadavg = (0.0, 0.0, 0.0)            # 1, 5, 15 minutes: not computed yet

    def add_cpu(self, cpu: CpuPort) -> RunQueue:
        """A CPU comes up: the run queue it takes its tasks from."""
        rq = RunQueue(cpu)
        self.runqueues.append(rq)
        for q in self.runqueues:                # the base slice grows with the CPUs (log2)
            q.fair.base_slice = base_slice_ns(len(self.runqueues))
        return rq

    @property
    def cpu_count(self) -> int:
        """CPUs online (before the machine has started, as many as it will have)."""
        return len(self.runqueues) or self.planned_cpus

    def uptime(self) -> float:
        """Seconds since boot."""
        return time.monotonic() - self.boot_time

    def _runqueue_for(self, task: Task) -> RunQueue:
        """The run queue of task's CPU, or, off any CPU, of the CPU it should go to."""
        rqs = self.runqueues
        if len(rqs) == 1:
            return rqs[0]
        cpu = task.on_cpu
        if cpu is not None:
            return rqs[cpu.index]
        return self._place(task)

    def _place(self, task: Task) -> RunQueue:
        """Where a task that becomes runnable off any CPU waits, looking at the CPUs it may
        use from CPU 0 up: an idle one, or a busy one whose user code has not run PULL_DELAY
        without a trap (host-bound: it traps again soon and chooses then), where the task
        queues as a wake-affine one does, an idle CPU pulling it if that CPU turns to long
        user code (_pull_to_idle). Otherwise the least loaded one. CPU 0 first, not the one
        the task ran on last: CPU 0's wake-up from WFI is the doorbell's own interrupt,
        another CPU's is forwarded by CPU 0's stub (two vCPU threads woken in turn,
        Cpu.wake_guest); the host serves every CPU's traps in one thread, so host-bound
        work gains nothing from a second CPU; and TCG keeps no cache warm for a CPU."""
        now = monotonic_ns()
        rq, busy = self._choose(task, now)
        if busy:
            self._queued_behind(task, now)
        return rq

    def _choose(self, task: Task, now: int) -> tuple[RunQueue, bool]:
        """_place's choice, and whether the CPU chosen is busy with a host-bound task."""
        allowed = task.cpus_allowed
        best: Optional[RunQueue] = None
        best_load = 0
        for rq in self.runqueues:
            cpu = rq.cpu
            if not allowed >> cpu.index & 1:
                continue
            if cpu.current is None and not rq.tasks:
                return rq, False
            if cpu.trapped or now - cpu.resumed_at < PULL_NS:
                return rq, True
            load = len(rq.tasks) + 1
            if best is None or load < best_load:
                best, best_load = rq, load
        return (best if best is not None else self.runqueues[0]), False

    def _queued_behind(self, task: Task, now: int) -> None:
        """task waits on a busy CPU while another may idle: stamp it for _pull_to_idle and
        steal (not before PULL_DELAY), and have the pull timer look then."""
        task.se.affine_at = now
        if self.pull_timer is None:
            self.pull_timer = asyncio.get_running_loop().call_later(PULL_DELAY, self._pull_to_idle)

    def placement(self, task: Task) -> RunQueue:
        """Where task would wait if it woke now off every CPU (Cpu.sleeper_returns)."""
        return self._choose(task, monotonic_ns())[0]

    def _wake_target(self, task: Task) -> RunQueue:
        """Where a woken or new task (off any CPU) waits. Wake-affine, as Linux's WF_SYNC wakes
        (wake_affine_idle: a sync waker about to sleep): a task woken from inside another
        task's trap -- a pipe write, a futex wake, a unix send, a fork, whose waker mostly
        sleeps next (the read, the wait) -- queues on the waker's CPU, behind others already
        there too (a pipeline's children, forked one after another before the shell waits),
        so a hand-over is a switch on one CPU instead of a kick and another vCPU's wake-up
        from WFI, and every trap of the woken task is answered there. The host serves every
        CPU's traps in one thread, so spreading host-bound work gains nothing while each
        trap on a CPU but 0 that finds its guest asleep costs a forwarded interrupt. If the
        waker runs on in user code instead, an idle CPU pulls the task PULL_DELAY later
        (_pull_to_idle): user code is what a second CPU runs in parallel. Otherwise: _place."""
        allowed = task.cpus_allowed
        for rq in self.runqueues:
            cpu = rq.cpu
            waker = cpu.current
            # A CPU in a trap of a task that stays on it: the waker (handling the syscall, or
            # its reply deferred for the wake-ups it caused).
            if (cpu.trapped and waker is not None and waker is not task and waker.state is _RUNNABLE
                    and allowed >> cpu.index & 1):
                self.affine_wakes += 1
                self._queued_behind(task, monotonic_ns())
                return rq
        task.se.affine_at = 0                   # (a stamp from an earlier wake-affine is stale)
        return self._place(task)

    def _pull_to_idle(self) -> None:
        """Idle CPUs take the tasks woken next to their waker PULL_DELAY or more ago that
        still wait behind a CPU running user code (the waker did not sleep after all);
        the timer looks again for those woken more recently."""
        self.pull_timer = None
        now = monotonic_ns()
        soonest = 0
        for idle in self.runqueues:
            cpu = idle.cpu
            if cpu.trapped and cpu.current is None and not idle.tasks:
                task, soonest = self._pullable(cpu, now)
                if task is not None:
                    idle.push(task)             # (out of its queue)
                    self.pulls += 1
                    cpu.schedule()
        if soonest:                             # (not before a quarter of the delay: the waker may trap on)
            wait_ns = max(soonest - now, PULL_NS // 4)
            self.pull_timer = asyncio.get_running_loop().call_later(wait_ns / 1e9, self._pull_to_idle)

    def _pullable(self, cpu: CpuPort, now: int) -> tuple[Optional[Task], int]:
        """A task queued next to its waker (or behind host-bound work) PULL_DELAY ago that waits
        behind a task mostly in user code (_user_bound: not a waker on its way to sleep, not
        host-bound work), and may run on cpu; and (none found) when to look again (0: none
        waits)."""
        soonest = 0
        for rq in self.runqueues:
            look = 0                            # (0: not looked at the running task yet)
            for task in rq.tasks:
                at = task.se.affine_at
                if not at or not task.cpus_allowed >> cpu.index & 1:
                    continue
                due = at + PULL_NS
                if due <= now:
                    if not look:
                        look = self._user_bound(rq, now)
                    if look < 0:
                        return task, 0
                    due = look
                if not soonest or due < soonest:
                    soonest = due
        return None, soonest

    def _user_bound(self, rq: RunQueue, now: int) -> int:
        """-1 if the task rq's CPU runs is mostly in user code: it has run PULL_DELAY without a
        trap, or spent three quarters of the PULL_DELAY or more since the last look in user
        code (a CPU-bound loop that traps now and then: a clock read, a tick); else when to
        look again. Work that traps often and waits for the host the rest of the time gains
        nothing from another CPU: the host serves every CPU's traps in one thread."""
        busy = rq.cpu
        running = busy.current
        if running is None:
            return now + PULL_NS                # (it chooses at its reply)
        user = running.utime_ns
        if not busy.trapped:
            if now - busy.resumed_at >= PULL_NS:
                return -1
            user += now - busy.resumed_at
        span = now - rq.mark_at
        if rq.mark_task is running and span >= PULL_NS and 8 * (user - rq.mark_user) >= 7 * span:
            return -1
        if rq.mark_task is not running or span >= PULL_NS:
            rq.mark_task, rq.mark_at, rq.mark_user = running, now, user
        return rq.mark_at + PULL_NS

    def steal(self, cpu: CpuPort) -> bool:
        """cpu is idle: move a task waiting in another CPU's queue (the longest) that may run
        on it into its own queue. False if there is none. A task queued next to its waker
        less than PULL_DELAY ago stays (its waker is likely on its way to sleep: _wake_target),
        as Linux's newidle balance leaves a task that ran within the migration cost."""
        if len(self.runqueues) == 1:
            return False
        fresh = monotonic_ns() - PULL_NS
        for rq in sorted(self.runqueues, key=lambda q: -len(q.tasks)):
            if rq.cpu is cpu:
                continue
            for task in rq.tasks:
                if task.cpus_allowed >> cpu.index & 1 and task.se.affine_at <= fresh:
                    self.runqueues[cpu.index].push(task)     # (out of rq's queue)
                    return True
        return False

    def hand_down(self, cpu: CpuPort) -> bool:
        """cpu (not CPU 0) is about to choose from its queue while CPU 0 idles: CPU 0 takes
        the tasks that may run there, and cpu idles if none is left (True). CPU 0's wake-up
        is the doorbell's own interrupt, cpu's is forwarded by CPU 0's stub at every reply
        that finds it asleep; so a ping-pong pair that a pull took to cpu comes back to CPU 0
        at its next hand-over instead of staying there (wake-affine keeps it where it is)."""
        rq0 = self.runqueues[0]
        cpu0 = rq0.cpu
        if not (cpu0.trapped and cpu0.current is None and not rq0.tasks):
            return False
        rq = self.runqueues[cpu.index]
        moved = [task for task in rq.tasks if task.cpus_allowed & 1]
        if not moved:
            return False
        now = monotonic_ns()
        for task in moved:
            rq0.push(task)                      # (out of cpu's queue)
            self._queued_behind(task, now)      # (not stolen back at once)
        asyncio.get_running_loop().call_soon(cpu0.schedule)
        return not rq.tasks

    def affinity_changed(self, task: Task) -> None:
        """sched_setaffinity: a task on a CPU it may no longer use leaves it at its next trap
        (kicked: at once, or right after the reply of the trap it is in); a queued one moves."""
        if len(self.runqueues) == 1:
            return
        cpu = task.on_cpu
        if cpu is not None:
            if not task.cpus_allowed >> cpu.index & 1:
                cpu.kick()
            return
        for rq in self.runqueues:
            if task.se.rq is rq.fair and not task.cpus_allowed >> rq.cpu.index & 1:
                self._place(task).push(task)        # (out of rq's queue)
                return

    async def membarrier(self, caller: Task, mm: Optional[object]) -> None:
        """membarrier's expedited commands: every other CPU running user code of mm (None: of
        any process) passes through the kernel before this returns -- a trap is a full
        barrier on the way in and out, as Linux's IPI to each such CPU, waited for. A kick
        makes each trap; the caller sleeps until each CPU's trap count has moved."""
        waiting = []
        for rq in self.runqueues:
            cpu = rq.cpu
            running = cpu.current
            if cpu.trapped or running is None or running is caller or (mm is not None and running.mm is not mm):
                continue
            waiting.append((cpu, cpu.traps))
            cpu.kick()
        while waiting:
            await asyncio.sleep(MEMBARRIER_POLL)
            waiting = [(cpu, traps) for cpu, traps in waiting if cpu.traps == traps]

    # -- becoming runnable -----------------------------------------------------------------

    def enqueue(self, task: Task) -> None:
        """A new or preempted runnable task waits for a CPU."""
        if task.se.new:
            policy.apply(task)                    # the weight of the nice value it inherited
        if len(self.runqueues) > 1 and task.on_cpu is None:
            # A new task starts next to its parent, as a woken one next to its waker: the
            # parent mostly waits for it next (fork+exec+wait, vfork, pthread_join), and
            # a second child finds the parent's queue taken and goes to an idle CPU.
            rq = self._wake_target(task)
        else:
            rq = self._runqueue_for(task)
        rq.push(task)
        cpu = rq.cpu
        if cpu.trapped and cpu.current is None and not cpu.handling:
            asyncio.get_running_loop().call_soon(cpu.schedule)   # an idle CPU: once the caller is done
        elif not cpu.trapped:
            rq.arm_slice()                        # a busy one: tick its task from now on

    def yield_cpu(self, task: Task) -> bool:
        """A timer interrupt hit task: True if another task is the pick now (EEVDF: an
        eligible one with an earlier deadline), and task now waits with the others."""
        rq = self._runqueue_for(task)
        if task.state is not State.RUNNABLE:
            return False                          # stopped meanwhile: its CPU switches it out
        if not task.cpus_allowed >> rq.cpu.index & 1:
            return self._migrate(task)
        if not rq.tasks or not rq.should_yield(task):
            return False
        rq.push(task)
        return True

    def _migrate(self, task: Task) -> bool:
        """task (trapped on a CPU its affinity no longer allows) goes to an allowed one, which
        chooses once task's context is saved (after this trap)."""
        rq = self._place(task)
        rq.push(task)                             # (out of its CPU's queue)
        asyncio.get_running_loop().call_soon(rq.cpu.schedule)
        return True

    async def yield_turn(self, task: Task) -> None:
        """sched_yield: if others wait, task's request ends (its deadline moves a slice on)
        and it sleeps for one turn of the event loop; its wake puts it back with that
        deadline, behind the eligible ones."""
        rq = self._runqueue_for(task)
        if rq.tasks:
            rq.yield_current(task)
            await asyncio.sleep(0)

    def wake(self, task: Task) -> None:
        """task's sleeping syscall finished (its result is in place): it runs again."""
        task.state = State.RUNNABLE
        if task.sched_policy:                   # RLIMIT_RTTIME counts from a wake-up (enqueue_task_rt)
            task.rt_woken_ns = task.utime_ns + task.stime_ns
        rqs = self.runqueues
        if len(rqs) == 1:
            rq = rqs[0]
        elif task.on_cpu is not None:
            rq = rqs[task.on_cpu.index]
        else:
            rq = self._wake_target(task)
        rq.push(task)
        cpu = rq.cpu
        # (handling: the CPU chooses when the trap ends; running user code: it is interrupted
        # only if task preempts the task there, by EEVDF's wake-up rule)
        if not cpu.handling and (cpu.trapped or rq.preempts(task)):
            cpu.schedule()
        elif not cpu.trapped:
            rq.arm_slice()                      # it waits: the running task is ticked from now on

    def make_runnable(self, task: Task) -> None:
        """A stopped task continues (SIGCONT, SIGKILL).

        A task stopped inside a syscall goes back to sleeping in it. The CPU is told to
        schedule only when it is not in the middle of handling a trap (it schedules at the
        end of that anyway, and replying early would resume the trapping task before its
        syscall result is in place).
        """
        if task.pending is not None and not task.pending.done():
            task.state = State.BLOCKED
            return
        task.state = State.RUNNABLE
        if task.sched_policy:                   # a stopped task's wake-up starts RLIMIT_RTTIME again
            task.rt_woken_ns = task.utime_ns + task.stime_ns
        rq = self._runqueue_for(task)
        if task.on_cpu is None and task not in rq.tasks:
            rq.push(task)
        cpu = rq.cpu
        if (cpu.trapped and cpu.current is None) or (not cpu.trapped and rq.preempts(task)):
            cpu.schedule()                      # idle, or running a task it preempts

    def reschedule(self, task: Task) -> None:
        """Something changed for task's CPU (a task there exited): let it choose again."""
        self._runqueue_for(task).cpu.schedule()

    def detach(self, task: Task) -> None:
        """Take task off its CPU and out of every run queue (it exits)."""
        cpu = task.on_cpu
        if cpu is not None:
            cpu.current = None
            task.on_cpu = None
            if not cpu.trapped:
                cpu.kick()                      # it runs task's user code on another CPU: stop it
        for rq in self.runqueues:
            rq.discard(task)

    # -- sleeping in a syscall ---------------------------------------------------------------

    def sleep(self, task: Task, finishing: Coroutine[Any, Any, int],
              finished: Callable[[Task, asyncio.Future], None]) -> None:
        """task (already off its CPU) sleeps until `finishing`, the rest of its syscall,
        ends; then finished(task, job) takes the outcome."""
        task.state = State.BLOCKED
        job = asyncio.ensure_future(finishing)
        task.pending = job
        job.add_done_callback(lambda j: finished(task, j))

    def park(self, task: Task, parked: Parked, resume: Resume) -> None:
        """task (already off its CPU) sleeps without a job until parked.finish(result);
        then resume(task, result) puts the result in place and wakes it."""
        task.state = State.BLOCKED
        parked.resume = resume
        task.pending = parked

    def interrupt(self, task: Task) -> None:
        """A signal arrived for a task asleep in a syscall: cancel the sleep.

        The syscall then ends with -ERESTARTSYS (or what its handler chose), the task
        becomes runnable, and signal delivery decides between EINTR and a restart.
        The cancel happens one turn of the event loop later: by then a sleep that began
        in this same turn has reached its await (an asyncio task cancelled before its
        first step would never run the handler's cleanup), and a syscall that signalled
        its own task (SIGPIPE) has finished its work.
        """
        if task.state is State.BLOCKED and task.pending is not None and not task.pending.done():
            asyncio.get_running_loop().call_soon(_cancel_sleep, task)


def _cancel_sleep(task: Task) -> None:
    job = task.pending
    if task.state is State.BLOCKED and job is not None and not job.done():
        job.cancel()
