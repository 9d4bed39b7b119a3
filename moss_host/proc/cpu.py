"""One virtual CPU as the kernel drives it: take a trap from its mailbox, have it handled
(proc/trap.py), ask the scheduler what runs next, switch contexts, and reply.

The guest waits for us after every trap; while it waits, its mailbox holds the context
of `current`. A syscall that never sleeps is answered at once (the fast path); one that
sleeps is finished by an asyncio job while the CPU runs someone else or idles.

A trap reaches us by the doorbell (on_doorbell, an event-loop reader) or, when the loop
would otherwise block, by watching the mailbox (poll, run by machine/polling.py's
selector) for as long as that pays: docs/trap-path.md has the handshake and the policy.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import socket
import struct
import sys
import time
from typing import Any, Callable, Optional, Protocol

from moss_host.arch.arm64 import esr as ESR
from moss_host.machine import layout as L
from moss_host.machine.mailbox import CONTEXT_SIZE, Mailbox
from moss_host.machine.polling import LoopHasWork, fence
from moss_host.machine.wake_lead import host_wake_lead
from moss_host.machine.affinity import Affinity, NoAffinity
from moss_host.machine.governor import Governor
from moss_host.mm.address_space import AddressSpace
from moss_host.errors import Errno
from moss_host.mm.memory import NO_GUEST_WORK, Memory
from moss_host.sched.scheduler import Scheduler

from . import lifecycle, signals
from .direct import NO_DIRECT_CALLS, DirectCall, DirectCalls
from .haltpoll import HaltPoll
from .hwdebug import HwDebug
from .task import State, Task, TaskExit
from .timing import PathStats, TrapTimer
from .trap import RESTART_HI, RESTART_LO, handle_trap, syscall_result
from .vvar import existing as existing_vvar

log = logging.getLogger("moss.cpu")

_U64 = struct.Struct("<Q")
# The trap path's reads and writes, bound once (module constants: no attribute lookups).
_TRAP = struct.Struct("<Q56xQ248xQ8xQ")         # x0, x8, ESR, REASON: a trap's first look
assert _TRAP.size == L.MB_REASON + 8 and L.MB_ESR == 0x140
_SEQ_REQ = L.MB_SEQ_REQ
# ... and the words the fast path reads and writes, as indexes into Mailbox.words
_W_X0, _W_SEQ_REQ, _W_SEQ_REPLY, _W_SLEEPING = 0, L.MB_SEQ_REQ // 8, L.MB_SEQ_REPLY // 8, L.MB_SLEEPING // 8
_W_RESTORE_ALL = L.MB_RESTORE_ALL // 8
assert L.MB_X0 == 0 and sys.byteorder == "little"         # (the guest's order too)
_SYNC = L.REASON_SYNC
_EC_MASK, _EC_SVC = 0x3F << 26, ESR.EC_SVC64 << 26
_MASK = (1 << 64) - 1
_RESTART_LO, _RESTART_HI = RESTART_LO, RESTART_HI
_RUNNABLE = State.RUNNABLE
# take_trap's answer for the fast path: replied, and the task runs on with nothing for the
# loop (it asked loop_has_work itself: the poll need not ask again)
_ANSWERED = 2
_now = time.monotonic_ns

# Adaptive polling (machine/polling.py runs Cpu.poll when the event loop would block).
POLL_MIN_NS = 4_000           # the budget never shrinks below this while polling pays
POLL_MAX_NS = 100_000         # nor grows past this: longer gaps between traps are user work
POLL_START_NS = 30_000
PREEMPTED_NS = 50_000         # a gap this long between two clock reads: we lost the core
CONTENDED_NS = 5_000_000      # then no polling for this long: someone else needs the core
# The guest's spin for a reply (MB_SPIN_TICKS, ticks of the 62.5 MHz counter): L.SPIN_TICKS
# (100 us) normally, doubled up to SPIN_MAX_TICKS whenever a reply finds the guest already
# asleep (waking it costs an interrupt), back down by half every SPIN_DECAY traps (looked at
# when a poll starts: nothing of it on the trap path).
# On a contended host (machine/governor.py) the host does not poll and the guest's spin
# stays at L.SPIN_TICKS: the doorbell round trip there is ~17-19 us at the median, so a
# 30 us spin often ran out (getppid 50-77 us per round trip, 18-19 us with 100 us), while
# a long one takes the core the host needs (a pipe round trip 0.96-2.2 ms with a 480 us
# spin against 0.37-0.99 ms with none, at 90% CPU pressure). The spin is 0 once the host
# waits longer than L.SPIN_TICKS for a core (16 guests on 2 cores): it would always run out.
SPIN_MAX_TICKS = 16 * L.SPIN_TICKS
SPIN_DECAY = 1024
FENCE_AFTER_NS = 10_000       # a reply this late may cross the guest going to sleep
REPLY_DEFER_TURNS = 4         # loop turns a reply waits for the wake-ups its trap caused

# The syscall entry (syscalls/dispatch.start, handed in by kernel.py): (task, nr, trap
# frame, tracer) -> the result for x0, or (SUSPENDED, the coroutine that finishes the
# call). The frame is the mailbox (x0 at offset 0): the entry unpacks what the handler
# takes. The tracer (--trace) is the syscall layer's; the CPU only hands it back.
SyscallEntry = Callable[[Task, int, memoryview, Any], Any]


class Host(Protocol):
    """What a CPU tells the kernel above it: the run cannot go on."""

    def panic(self, message: str) -> None: ...

    def machine_gone(self, why: str) -> None: ...


class Cpu:
    def __init__(self, index: int, mailbox: Mailbox, doorbell: socket.socket, mem: Memory,
                 sched: Scheduler, start_syscall: SyscallEntry, tracer: Any, host: Host,
                 direct: DirectCalls = NO_DIRECT_CALLS):
        self.index = index
        self.bit = 1 << index                   # this CPU in affinity masks
        self.mailbox = mailbox
        self.regs = mailbox.regs                # the trapped context, in place
        self.frame = mailbox.mem                # the same, as bytes: the trap path's unpacks
        self.words = mailbox.words              # ... and as 64-bit words: its single loads and stores
        self.doorbell = doorbell
        self.mem = mem
        self.sched = sched
        self.rq = sched.add_cpu(self)           # the tasks waiting for this CPU
        self.start_syscall = start_syscall
        self.direct = direct                    # the calls take_trap makes itself (proc/direct.py)
        # ... while nothing traces them (set_tracer)
        self.direct_table: list[Optional[DirectCall]] = direct.table if tracer is None else []
        self.tracer = tracer
        self.host = host
        self.current: Optional[Task] = None
        self.last_task: Optional[Task] = None   # the task switched out last (sleeper_returns)
        self.trapped = False                    # the guest waits for our reply
        self.handling = False                   # a handler runs: wakes only queue (Scheduler.wake)
        self.handled_seq = 0
        self.loaded_ttbr0 = -1
        self.loaded_mm: Optional[AddressSpace] = None     # whose TTBR0 that is
        self.loaded_debug: Optional[HwDebug] = None     # the debug state the stub has loaded
        self.traps = 0
        self.resumed_at = time.monotonic_ns()   # when the guest last went back to user code
        self.timer: Optional[TrapTimer] = None  # with `moss-host run --timing`
        self.stats = PathStats()                # what the trap path decided (--timing prints it)
        self.trap_at = 0                        # when the host saw the trap it answers now
        self.polling = False                    # inside poll(): MB_HOST_POLLING is 1
        self.poll_budget_ns = POLL_START_NS     # how long poll() waits for the next trap
        self.contended_until = 0                # no polling before this (monotonic ns)
        self.governor = Governor()              # whether spinning pays (machine/governor.py)
        self.affinity: Affinity = NoAffinity()  # host and vCPU threads apart while spinning (use_affinity)
        self.contended = False                  # tasks queue for the host's CPUs: do not spin
        self.vdso_contended = False             # what the vDSO's page was told last (Vvar.contended)
        self.spin_ticks = 0                     # the guest's spin budget as last published
        self.guest_spin = L.SPIN_TICKS          # ... and as it should be while we answer
        self.reply_spin = L.SPIN_TICKS          # what a reply publishes: guest_spin, or the governor's
        self.decay_at = SPIN_DECAY              # guest_spin halves when traps reaches this
        self.wake_lead = host_wake_lead()       # how early wake_ahead wakes the guest (machine/wake_lead.py)
        self.woken_ahead_until = 0              # (monotonic ns) wake_ahead's last spin lasts
        self.idle_wake = False                  # MB_WAKE_TICKS holds an idle CPU's backup wake-up
        self.halt_poll = HaltPoll()             # an idle guest's spin (proc/haltpoll.py)
        # The last reply had the guest scrub frames, or (several CPUs: watch_next_trap) frames
        # wait for this CPU's next trap: it tells Memory this CPU left the user code it ran.
        self.scrubbing = False
        # Whether the event loop has callbacks ready (the loop's, handed over by poll()).
        self.loop_has_work: LoopHasWork = lambda: 0
        # Several CPUs: told when a reply ends an idle (this CPU runs user code from then
        # on), to end another CPU's poll (Kernel._cpu_busy). (During a poll every other CPU
        # idles: _poll_smp polls only then.)
        self.now_busy: Optional[Callable[[Cpu], None]] = None
        # ... and the mask of those that run user code now (Kernel._running_cpus)
        self.running_cpus: Optional[Callable[[], int]] = None
        self.publish_spin(L.SPIN_TICKS)

    # -- entry from the doorbell -------------------------------------------------------------

    def on_doorbell(self) -> None:
        try:
            data = self.doorbell.recv(4096)
        except BlockingIOError:
            return
        if not data:
            self.host.machine_gone("the doorbell closed: QEMU exited")
            return
        now = time.monotonic_ns()
        user_ns = now - self.resumed_at         # how long the guest ran since our last reply
        if self.take_trap(now):
            self.stats.doorbell_traps += 1
            if user_ns < POLL_MAX_NS:
                # A trap this soon after the last reply: polling a little longer catches the next one.
                self.poll_budget_ns = min(POLL_MAX_NS, max(2 * self.poll_budget_ns, user_ns + user_ns // 2))

    def take_rung_trap(self, now: int) -> None:
        """on_doorbell's work for one of several CPUs (Kernel._on_doorbell_smp reads the
        bytes): its trap if it has one, and the same growth of the poll budget."""
        user_ns = now - self.resumed_at
        self.decay_spin()                       # (only the busy CPU polls)
        if self.take_trap(now) and user_ns < POLL_MAX_NS:
            self.poll_budget_ns = min(POLL_MAX_NS, max(2 * self.poll_budget_ns, user_ns + user_ns // 2))

    def take_trap(self, now: int) -> int:
        """Handle the trap waiting in the mailbox, if there is a new one: False if there is not,
        _ANSWERED if the fast path answered it, else True.
        `now` is the caller's clock reading: the trap path reads the clock once more, at the reply.

        A syscall answered at once, with nothing else to do before the task runs on (no
        signal, no other task waiting, no wake-up queued for the loop, no guest work), is
        the fast path, inline here: one unpack of the trap, the syscall entry, one reply.
        Everything else leaves it for the general path at the first difference."""
        frame = self.frame
        words = self.words
        seq = words[_W_SEQ_REQ]
        if seq == self.handled_seq:
            return False
        self.handled_seq = seq
        self.trapped = True
        if self.timer is not None:
            self.timer.on_doorbell()
        self.traps += 1
        if self.scrubbing:
            self.scrubbing = False
            self.mem.guest_work_done(self.bit)
        x0, nr, esr, reason = _TRAP.unpack_from(frame)
        task = self.current
        if reason != _SYNC or task is None or esr & _EC_MASK != _EC_SVC or task.traced_syscalls:
            self._take_other(task, reason, now)
            return True
        self.trap_at = now
        task.utime_ns += now - self.resumed_at
        table = self.direct_table
        direct = table[nr] if nr < len(table) else None
        self.handling = True
        try:
            if direct is None:
                words[_W_RESTORE_ALL] = 1                   # (any handler: rt_sigreturn, exec ...)
                result = self.start_syscall(task, nr, frame, self.tracer)
            else:
                args = direct[1]
                try:
                    result = direct[0](task) if args is None else direct[0](task, *args(frame))
                except Errno as e:
                    result = -e.code
                except Exception as e:          # (TaskExit is no Exception: it goes on up)
                    result = self.direct.failed(task, nr, frame, e)
                if type(result) is not int:
                    result = self._indirect(task, nr, result)
        except TaskExit as e:
            self.handling = False
            lifecycle.exit_task(task, e.status, e.whole_group)
            self._trap_handled(task, now)
            return True
        self.handling = False
        if type(result) is not int or task.on_cpu is not self:
            syscall_result(self, task, x0, result)          # it sleeps, or exec'd, or ...
        else:
            words[_W_X0] = result & _MASK
            mem = self.mem
            if _RESTART_LO <= result <= _RESTART_HI:
                task.restart = x0
            elif (task.state is _RUNNABLE and task.restart is None and not self.rq.tasks
                  and not (task.sigpending | task.group.shared_pending) & ~task.blocked
                  and not self.loop_has_work() and not mem.guest_work_pending and not mem.tlbi_all
                  and task.mm is self.loaded_mm):
                # What schedule() would do: choose task and reply, with nothing to apply.
                task.stime_ns += self.release() - now
                return _ANSWERED
        self._trap_handled(task, now)
        return True

    def _indirect(self, task: Task, nr: int, result: Any) -> Any:
        """A direct call's answer that is not a number: None (a plain handler's 0), SLOW (the
        async handler must answer: the syscall entry runs it from the start), or a Parked."""
        if result is None:
            return 0
        if result is self.direct.slow:
            self.words[_W_RESTORE_ALL] = 1
            return self.start_syscall(task, nr, self.frame, self.tracer)
        return result

    def _take_other(self, task: Optional[Task], reason: int, now: int) -> None:
        """A trap that is not a syscall (or a traced one), or one on an idle CPU."""
        if reason >= L.REASON_EL1:
            self.host.panic(self.stub_fault_report(reason))
            return
        self.trap_at = now
        if task is None:
            if reason == L.REASON_BOOT:
                # Booted: what the kernel built so far lives for the whole run. Out of the
                # collector's sight, a full collection no longer walks it (no GC pauses
                # of milliseconds on the trap path).
                gc.freeze()
            self.schedule()
            if self.trapped:
                self.idle()
            return
        task.utime_ns += now - self.resumed_at
        self.handling = True
        try:
            handle_trap(self, task, reason)
        except TaskExit as e:
            lifecycle.exit_task(task, e.status, e.whole_group)
        self.handling = False
        self._trap_handled(task, now)

    def _trap_handled(self, task: Task, now: int) -> None:
        """The trap of `task` (which it was when the trap came) is handled: reply, now or
        after the wake-ups it caused, or idle; charge the host's time to it as system time."""
        if self.current is task and task.state is State.RUNNABLE and self.loop_has_work():
            # The handler woke someone (a futex, a pipe): the wake-up lands a few loop turns
            # from now. Answer after it, so the woken task waits in the run queue for this
            # one's next trap instead of interrupting the guest with a kick.
            asyncio.get_running_loop().call_soon(self._reply_later, REPLY_DEFER_TURNS)
            task.stime_ns += time.monotonic_ns() - now
            return
        self.schedule()
        if self.trapped:
            self.idle()                         # no reply: the CPU idles until a task wakes
            task.stime_ns += time.monotonic_ns() - now
        else:
            task.stime_ns += self.resumed_at - now     # the reply stamped resumed_at

    def _reply_later(self, turns: int) -> None:
        if not self.trapped:
            return                              # a wake-up already had the CPU schedule
        if turns and self.loop_has_work():
            asyncio.get_running_loop().call_soon(self._reply_later, turns - 1)
            return
        self.schedule()
        if self.trapped:
            self.idle()

    # -- polling instead of the doorbell --------------------------------------------------------

    def poll(self, timeout: Optional[float], loop_has_work: LoopHasWork) -> bool:
        """The event loop would block (for `timeout` s, None: no timer): watch the mailbox for
        traps and answer them here, for up to poll_budget_ns after the last one. Returns True
        if it handled any (the loop then looks at what they queued before it blocks).

        The budget adapts: it halves when a poll runs out, grows when a trap comes by the
        doorbell soon after a reply (on_doorbell), and polling stops for a while when this
        process loses its core in the middle of a poll (the machine is contended: spinning
        would take the core the guest or another process needs).
        """
        self.loop_has_work = loop_has_work
        if self.trapped or self.current is None:
            if timeout is not None and timeout < self.wake_lead.lead_s and self.current is None and self.trapped:
                self.wake_ahead()
            return False                        # the guest waits for us, or idles: no trap will come
        now = time.monotonic_ns()
        self.decay_spin()
        contended = now < self.contended_until or self.governor.contended(now)
        stats = self.stats
        if contended != self.contended:
            self.contended = contended
            stats.mode_switches += 1
        # The vDSO calibrates (three traps a clock call) only on a verdict of no contention,
        # not in a probe's window (machine/pressure.py): under a lasting contention every
        # probe made clock_gettime 1.2x the cost of the tree before issue 18.
        unsteady = contended or self.governor.probing
        if unsteady != self.vdso_contended:
            vvar = existing_vvar(self.mem)
            if vvar is not None:
                self.vdso_contended = unsteady
                vvar.contended(unsteady)
        affinity = self.affinity
        if contended:
            stats.declined += 1
            self.reply_spin = 0                 # nor the guest (machine/governor.py)
            if affinity.pinned:
                affinity.block()                # others need the cores: no pins
            return False
        stats.polls += 1
        if affinity.available and not affinity.pinned:
            affinity.spin()                     # a core each while both spin
        self.reply_spin = self.guest_spin
        timer_at = None if timeout is None else now + int(timeout * 1e9)
        self.polling = True
        _U64.pack_into(self.frame, L.MB_HOST_POLLING, 1)
        handled = False
        try:
            handled = self._poll_traps(now, timer_at, loop_has_work)
            handled = self.stop_polling() or handled
        except Exception as e:
            # A kernel bug, inside the selector: end the run as the loop's exception handler
            # does for one in a callback (Kernel._loop_exception), not with a traceback.
            self.polling = False
            _U64.pack_into(self.frame, L.MB_HOST_POLLING, 0)
            log.error("kernel bug while polling: %s: %s", type(e).__name__, e,
                      exc_info=log.isEnabledFor(logging.DEBUG))
            self.host.panic(f"kernel bug: {type(e).__name__}: {e}")
            return True
        return handled

    def _poll_traps(self, now: int, timer_at: Optional[int], loop_has_work: LoopHasWork) -> bool:
        frame = self.frame
        budget = self.poll_budget_ns
        handled = False
        clock = _now
        while True:
            end = now + budget
            if timer_at is not None and timer_at < end:
                end = timer_at
            # A look is one byte: SEQ_REQ's lowest moves at every trap, as the guest waits
            # for the reply to each before it traps again (take_trap reads the whole word).
            seen = self.handled_seq & 0xFF
            while frame[_SEQ_REQ] == seen:
                last = now
                now = clock()
                if now >= end:
                    if end != timer_at:         # ran out: the next trap is further away
                        self.poll_budget_ns = max(POLL_MIN_NS, budget // 2)
                        self.stats.runouts += 1
                    return handled
                if now - last > PREEMPTED_NS:   # we lost the core meanwhile: stop spinning
                    if not self.governor.lost_core(now - last):
                        self.stats.gaps_kept += 1       # (an interrupt, the hypervisor: spin on)
                        continue
                    self.stats.preempted += 1
                    self.contended_until = now + CONTENDED_NS
                    self.poll_budget_ns = max(POLL_MIN_NS, budget // 2)
                    return handled
            handled = True
            if self.take_trap(now) != _ANSWERED and (self.trapped or loop_has_work()):
                return True                     # idle, or a handler queued work for the loop
            now = self.resumed_at               # the reply's clock reading

    def use_affinity(self, affinity: Affinity) -> None:
        """Pin the host thread and this CPU's vCPU thread apart in poll mode (machine/affinity.py)."""
        self.affinity = affinity

    def stop_polling(self) -> bool:
        """Clear MB_HOST_POLLING, then look once more: a trap that saw the flag still set
        rang no doorbell (the Dekker handshake of guest_stub/start.S). True if one was there."""
        self.polling = False
        _U64.pack_into(self.frame, L.MB_HOST_POLLING, 0)
        fence()
        if self.words[_W_SEQ_REQ] == self.handled_seq:
            return False
        self.take_trap(_now())
        return True

    def wake_ahead(self) -> None:
        """The CPU idles, its guest asleep in WFI, and the loop's next timer is due within
        the wake lead: likely a sleeper's (a nanosleep ending) whose reply would find the
        guest asleep and pay an interrupt's way through QEMU. Wake it now with a spin
        budget: it spins (guest_stub/start.S, sleep) and the reply finds it spinning. Once
        per spin; a wake for a timer that was no one's costs the guest that spin. The reply
        tells the lead whether the guest was awake in time (reply, WakeLead.replied)."""
        now = _now()
        if now < self.woken_ahead_until or self.contended:
            return              # (contended at the last poll: the spin takes a core others need)
        lead = self.wake_lead
        self.woken_ahead_until = now + lead.spin_ns
        self.publish_spin(lead.spin_ticks)
        self.wake_guest()

    def sleeper_returns(self) -> bool:
        """Idle, and the task that left this CPU last sleeps: a wake-up due soon is likely
        its, and it comes back here if this is where the scheduler would place it now
        (Scheduler.placement: the lowest idle CPU)."""
        task = self.last_task
        return (self.trapped and self.current is None and task is not None
                and task.state is State.BLOCKED and self.sched.placement(task) is self.rq)

    def decay_spin(self) -> None:
        """The guest's spin, doubled when replies found it asleep, halves every SPIN_DECAY traps."""
        if self.traps >= self.decay_at:
            self.decay_at = self.traps + SPIN_DECAY
            if self.guest_spin > L.SPIN_TICKS:
                self.guest_spin //= 2
                if not self.contended:
                    self.reply_spin = self.guest_spin

    def idle(self) -> None:
        """No task to run: the guest spins haltpoll's limit for the next wake-up, then sleeps
        in WFI (proc/haltpoll.py); not at all while the host is contended or another CPU
        runs user code (its vCPU thread and the host's already want the two cores). Its
        backup wake-up from WFI is IDLE_WAKE_TICKS, not every 10 ms (guest_stub/start.S,
        report): the reply that ends an idle never comes from this CPU's own poll (a poll
        ends when its CPU idles), so release() fences it."""
        if self.contended or (self.running_cpus is not None and self.running_cpus()):
            self.publish_spin(0)
        else:
            self.publish_spin(self.halt_poll.idle(_now()))
        if not self.idle_wake:
            self.idle_wake = True
            _U64.pack_into(self.frame, L.MB_WAKE_TICKS, L.IDLE_WAKE_TICKS)

    def publish_spin(self, ticks: int) -> None:
        """How long the guest spins for our reply before it sleeps (MB_SPIN_TICKS)."""
        if ticks != self.spin_ticks:
            self.spin_ticks = ticks
            _U64.pack_into(self.frame, L.MB_SPIN_TICKS, ticks)

    # -- choosing and switching -------------------------------------------------------------

    def switch_out(self, task: Task) -> None:
        """Move the live context of `task` from the mailbox into the task."""
        if task.context is None:
            task.context = bytearray(CONTEXT_SIZE)
        self.mailbox.save_context(task.context)
        task.on_cpu = None
        self.current = None
        self.last_task = task

    def switch_in(self, task: Task) -> None:
        assert task.context is not None         # a task off its CPU has its context saved
        self.mailbox.load_context(task.context)
        self.mailbox.set_fast_pid(self.fast_pid(task))
        task.on_cpu = self
        task.last_cpu = self.index
        self.current = task
        self.sched.context_switches += 1
        if task.ptrace.hwdebug is not self.loaded_debug:      # (None: no debug state, as mostly)
            self.load_debug(task.ptrace.hwdebug)

    def fast_pid(self, task: Task) -> int:
        """getpid's answer for the stub to give without a trap, or 0 when the call must reach
        the host: --trace shows it, ptrace's syscall stops and single step see it. Each of these
        changes only while the task is off its CPU (resumed from a ptrace stop), or for all
        CPUs at once (set_tracer)."""
        if self.tracer is not None or task.traced_syscalls or task.ptrace.hwdebug is not None:
            return 0
        return task.tgid

    def set_tracer(self, tracer: Any) -> None:
        """--trace switched on or off while the kernel runs: the task on this CPU too, and every
        call through the syscall entry while it traces (take_trap makes no direct calls)."""
        self.tracer = tracer
        self.direct_table = self.direct.table if tracer is None else []
        if self.current is not None:
            self.mailbox.set_fast_pid(self.fast_pid(self.current))

    def load_debug(self, hw: Optional[HwDebug]) -> None:
        """Have the stub load a traced task's single step and break/watchpoints (or none)."""
        self.loaded_debug = hw
        if hw is None:
            self.mailbox.write_debug(0, (), ())
        else:
            bps, wps = hw.registers() if hw.uses_registers else ((), ())
            self.mailbox.write_debug(hw.mdscr(), bps, wps)

    def schedule(self) -> None:
        """If the guest waits for us and someone can run, reply; otherwise stay idle."""
        if not self.trapped:
            if self.rq.tasks and self.current is not None:
                self.kick()
            return
        while True:
            task = self.current
            if task is None or task.state is not State.RUNNABLE:
                if task is not None:
                    self.switch_out(task)
                if self.index and self.sched.hand_down(self):
                    return                          # CPU 0 idled: it runs them (Scheduler.hand_down)
                task = self.rq.pop()
                if task is None:
                    if not self.sched.steal(self):  # several CPUs: pull from a busy one
                        return                      # idle: the guest sleeps in WFI
                    task = self.rq.pop()
                    if task is None:
                        return
                if self.halt_poll.idle_at:
                    self.halt_poll.woke(_now())     # (it idled: how long, for the next idle's spin)
                self.switch_in(task)
            if ((task.sigpending | task.group.shared_pending) & ~task.blocked or task.restart is not None) and not self._deliver(task):
                continue                            # it stopped or died: choose again
            self.reply(task)
            return

    def _deliver(self, task: Task) -> bool:
        """Signals on the way back to user space; False if task may not run now.
        Wakes meanwhile (a fatal signal's exit wakes a joiner parked on its futex) only
        queue: schedule() chooses next, never a second schedule() inside it."""
        handling = self.handling
        self.handling = True
        try:
            signals.deliver_pending(task)
        except TaskExit as e:
            lifecycle.exit_task(task, e.status, e.whole_group)
            return False
        finally:
            self.handling = handling
        return task.state is State.RUNNABLE

    def reply(self, task: Task) -> None:
        """The guest may run `task` (switched in): its operations if any, SEQ_REPLY, and a
        wake-up byte if the guest went to sleep meanwhile. Stamps resumed_at."""
        mem = self.mem
        if mem.guest_work_pending or mem.tlbi_all or task.mm is not self.loaded_mm:
            self._reply_ops(task)
        if self.rq.tasks:
            self.rq.arm_slice()                     # others wait: this task runs one slice
        if self.idle_wake:                      # the CPU idled: it gets busy now
            self.idle_wake = False
            _U64.pack_into(self.frame, L.MB_WAKE_TICKS, 0)      # (the stub's WAKE_TICKS)
            if self.now_busy is not None:
                self.now_busy(self)
        if self.woken_ahead_until:              # (within its spin: the reply it was for)
            if _now() < self.woken_ahead_until:
                self.wake_lead.replied(asleep=bool(self.words[_W_SLEEPING]))
            self.woken_ahead_until = 0
        # Another task, a signal frame, a restart, ptrace's or exec's registers: the stub
        # restores the whole context. (take_trap's inline answer changes x0 alone and
        # releases without this: the stub restores its scratch registers only.)
        self.words[_W_RESTORE_ALL] = 1
        self.release()

    def release(self) -> int:
        """Let the guest go on with the context in the mailbox, the operations written:
        SEQ_REPLY, and a wake-up byte if it went to sleep meanwhile. Returns the clock
        reading it stamps as resumed_at."""
        self.trapped = False
        told = self.spin_ticks                  # 0: we told the guest not to wait for us
        if self.reply_spin != told:
            self.publish_spin(self.reply_spin)
        # SEQ_REPLY = SEQ_REQ (handled_seq: the guest waits, so it cannot have moved), then
        # SLEEPING. The guest stores SLEEPING before it reads SEQ_REPLY (guest_stub/start.S,
        # sleep): a full barrier between our two makes one side see the other. Without it
        # (a reply well inside the guest's spin, while polling) a crossing costs the guest's
        # 10 ms backup wake-up, never a hang. The guest runs from the store on: what can
        # wait (the clock, --timing's stamp) comes after it.
        words = self.words
        words[_W_SEQ_REPLY] = self.handled_seq
        self.resumed_at = now = _now()
        if self.timer is not None:
            self.timer.on_reply()
        if not self.polling or now - self.trap_at > FENCE_AFTER_NS:
            fence()
        if words[_W_SLEEPING]:
            self.stats.asleep_replies += 1
            if told and not self.contended and self.guest_spin < SPIN_MAX_TICKS:
                self.guest_spin *= 2            # it gave up on a reply that was on its way
                self.reply_spin = self.guest_spin
            self.wake_guest()
        return now

    def _reply_ops(self, task: Task) -> None:
        """The reply's operations: the TLB and scrub work Memory has queued, and a new TTBR0
        when `task` runs another address space than the last reply's."""
        mem = self.mem
        ops, asid_operand, vas, scrub = NO_GUEST_WORK
        if mem.guest_work_pending or mem.tlbi_all:
            ops, asid_operand, vas, scrub = mem.take_guest_work(self.bit)
            if scrub:
                self.scrubbing = True           # the frames are free once the guest runs again
        mm = task.mm
        if mm is not self.loaded_mm:            # (an address space's TTBR0 never changes)
            self.loaded_mm = mm
            ttbr0 = mm.ttbr0
            if ttbr0 != self.loaded_ttbr0:
                ops |= L.OP_SET_TTBR0
                self.loaded_ttbr0 = ttbr0
            if mem.tlbs is not None:            # several CPUs: which hold this ASID (mm/tlb.py)
                ops |= mem.tlbs.switch(self.index, mm.asid)
        if ops:
            self.mailbox.write_ops(ops, self.loaded_ttbr0, asid_operand, vas, scrub)

    def watch_next_trap(self) -> None:
        """Memory waits for this CPU's next trap (a grace period, a broadcast TLBI in flight)."""
        self.scrubbing = True

    def forget_loaded_mm(self) -> None:
        """The next reply takes the slow way, as for another address space (mm/tlb.py: this
        CPU's TLB may hold entries of its loaded one that another CPU's reply flushed)."""
        self.loaded_mm = None

    def kick(self) -> None:
        """Make the guest trap: interrupt the user code it runs, or, while it waits for our
        reply, have it trap again right after that reply (MB_KICK, read by the stub at eret)."""
        _U64.pack_into(self.frame, L.MB_KICK, 1)
        self.wake_guest()

    def wake_guest(self) -> None:
        """An interrupt for this CPU: a byte on the UART, whose interrupt CPU 0 takes; for
        another CPU, MB_RING first, which CPU 0's stub forwards as an SGI. Wakes it from WFI."""
        if self.index:
            _U64.pack_into(self.frame, L.MB_RING, 1)
        try:
            self.doorbell.send(b"!")
        except OSError:
            pass            # a full socket already wakes it; a closed one means QEMU is gone

    # -- diagnostics -----------------------------------------------------------------------------

    def stub_fault_report(self, reason: int) -> str:
        """The guest stub itself took an exception: its registers, for the panic message."""
        regs = self.regs
        x = regs.x.all()
        lines = [f"guest stub fault (vector {reason - L.REASON_EL1}): {ESR.describe(regs.esr)}",
                 f"  elr={regs.pc:#018x} far={regs.far:#018x} spsr={regs.pstate:#x}"]
        for i in range(0, 31, 4):
            lines.append("  " + "  ".join(f"x{j:<2}={x[j]:#018x}" for j in range(i, min(i + 4, 31))))
        return "\n".join(lines)
