"""One virtual CPU as the kernel drives it: take a trap from its mailbox, have it handled
(proc/trap.py), ask the scheduler what runs next, switch contexts, and reply.

The guest waits for us after every trap; while it waits, its mailbox holds the context
of `current`. A syscall that never sleeps is answered at once (the fast path); one that
sleeps is finished by an asyncio job while the CPU runs someone else or idles.
"""
from __future__ import annotations

import gc
import logging
import socket
import struct
import time
from typing import Any, Callable, Optional, Protocol

from moss_host.arch.arm64 import esr as ESR
from moss_host.machine import layout as L
from moss_host.machine.mailbox import CONTEXT_SIZE, Mailbox
from moss_host.mm.memory import Memory
from moss_host.sched.scheduler import Scheduler

from . import lifecycle, signals
from .task import State, Task, TaskExit
from .timing import TrapTimer
from .trap import handle_trap

log = logging.getLogger("moss.cpu")

_U64 = struct.Struct("<Q")

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
                 sched: Scheduler, start_syscall: SyscallEntry, tracer: Any, host: Host):
        self.index = index
        self.mailbox = mailbox
        self.regs = mailbox.regs                # the trapped context, in place
        self.frame = mailbox.mem                # the same, as bytes: the trap path's unpacks
        self.doorbell = doorbell
        self.mem = mem
        self.sched = sched
        self.rq = sched.add_cpu(self)           # the tasks waiting for this CPU
        self.start_syscall = start_syscall
        self.tracer = tracer
        self.host = host
        self.current: Optional[Task] = None
        self.trapped = False                    # the guest waits for our reply
        self.handled_seq = 0
        self.loaded_ttbr0 = -1
        self.traps = 0
        self.resumed_at = time.monotonic_ns()   # when the guest last went back to user code
        self.timer: Optional[TrapTimer] = None  # with `moss-host run --timing`

    # -- entry from the doorbell -------------------------------------------------------------

    def on_doorbell(self) -> None:
        try:
            data = self.doorbell.recv(4096)
        except BlockingIOError:
            return
        if not data:
            self.host.machine_gone("the doorbell closed: QEMU exited")
            return
        self.take_trap(time.monotonic_ns())

    def take_trap(self, now: int) -> bool:
        """Handle the trap waiting in the mailbox, if there is a new one (False if not).
        `now` is the caller's clock reading: the trap path reads the clock once more, at the reply."""
        seq = _U64.unpack_from(self.frame, L.MB_SEQ_REQ)[0]
        if seq == self.handled_seq:
            return False
        self.handled_seq = seq
        self.trapped = True
        if self.timer is not None:
            self.timer.on_doorbell()
        self.traps += 1
        self.mem.guest_work_done()
        reason = _U64.unpack_from(self.frame, L.MB_REASON)[0]
        if reason >= L.REASON_EL1:
            self.host.panic(self.stub_fault_report(reason))
            return True
        task = self.current
        if task is None:
            if reason == L.REASON_BOOT:
                # Booted: what the kernel built so far lives for the whole run. Out of the
                # collector's sight, a full collection no longer walks it (no GC pauses
                # of milliseconds on the trap path).
                gc.freeze()
            self.schedule()
            return True
        task.utime_ns += now - self.resumed_at
        try:
            handle_trap(self, task, reason)
        except TaskExit as e:
            lifecycle.exit_task(task, e.status, e.whole_group)
        self.schedule()
        # The reply stamped resumed_at; without one (the CPU idles) read the clock here.
        task.stime_ns += (time.monotonic_ns() if self.trapped else self.resumed_at) - now
        return True

    # -- choosing and switching -------------------------------------------------------------

    def switch_out(self, task: Task) -> None:
        """Move the live context of `task` from the mailbox into the task."""
        if task.context is None:
            task.context = bytearray(CONTEXT_SIZE)
        self.mailbox.save_context(task.context)
        task.on_cpu = None
        self.current = None

    def switch_in(self, task: Task) -> None:
        assert task.context is not None         # a task off its CPU has its context saved
        self.mailbox.load_context(task.context)
        task.on_cpu = self
        self.current = task
        self.sched.context_switches += 1

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
                task = self.rq.pop()
                if task is None:
                    return                          # idle: the guest sleeps in WFI
                self.switch_in(task)
            if ((task.sigpending | task.group.shared_pending) & ~task.blocked or task.restart is not None) and not self._deliver(task):
                continue                            # it stopped or died: choose again
            self.reply(task)
            return

    def _deliver(self, task: Task) -> bool:
        """Signals on the way back to user space; False if task may not run now."""
        try:
            signals.deliver_pending(task)
        except TaskExit as e:
            lifecycle.exit_task(task, e.status, e.whole_group)
            return False
        return task.state is State.RUNNABLE

    def reply(self, task: Task) -> None:
        ops, asid_operand, vas, scrub = self.mem.take_guest_work()      # no allocation when none
        ttbr0 = task.mm.ttbr0
        if ttbr0 != self.loaded_ttbr0:
            ops |= L.OP_SET_TTBR0
            self.loaded_ttbr0 = ttbr0
        self.trapped = False
        if self.rq.tasks:
            self.rq.arm_slice()                     # others wait: this task runs one slice
        self.resumed_at = time.monotonic_ns()
        if self.timer is not None:
            self.timer.on_reply()
        if self.mailbox.post_reply(ops, ttbr0, asid_operand, vas, scrub):
            self.kick()

    def kick(self) -> None:
        """A byte on the UART: wakes the guest from WFI, or interrupts user code."""
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
