"""One virtual CPU as the kernel drives it: take a trap from its mailbox, handle it, choose
what runs next, and reply.

The guest waits for us after every trap; while it waits, its mailbox holds the context
of `current`. A syscall that never sleeps is answered at once (the fast path); one that
sleeps is finished by an asyncio task while the CPU runs someone else or idles.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from moss_host.arch.arm64 import esr as ESR
from moss_host.errors import ERESTART_RESTARTBLOCK, ERESTARTSYS
from moss_host.machine import layout as L
from moss_host.machine.mailbox import CONTEXT_SIZE, Mailbox
from moss_host.mm.address_space import UserFault
from moss_host.syscalls import dispatch

from . import signals
from .task import State, Task, TaskExit

log = logging.getLogger("moss.cpu")

X8 = L.MB_X0 + 8 * 8
TIMESLICE = 0.01                  # seconds a task runs before others who wait get the CPU
RESTART_LO, RESTART_HI = -ERESTART_RESTARTBLOCK, -ERESTARTSYS     # x0 of an interrupted syscall


class StubFault(Exception):
    """The guest stub itself took an exception: the message is the register dump."""


class Cpu:
    def __init__(self, kernel, index: int, mailbox: Mailbox, doorbell):
        self.kernel = kernel
        self.index = index
        self.mailbox = mailbox
        self.doorbell = doorbell
        self.current: Task | None = None
        self.runqueue: deque[Task] = deque()
        self.trapped = False         # the guest waits for our reply
        self.handled_seq = 0
        self.loaded_ttbr0 = -1
        self.traps = 0
        self.resumed_at = time.monotonic_ns()   # when the guest last went back to user code
        self._slice_timer = None
        self.timer = None                       # a TrapTimer with `moss-host run --timing`
        self.handling = False                   # inside on_doorbell: it schedules when done

    # -- entry from the doorbell -------------------------------------------------------------

    def on_doorbell(self) -> None:
        try:
            data = self.doorbell.recv(4096)
        except BlockingIOError:
            return
        if not data:
            self.kernel.machine_gone("the doorbell closed: QEMU exited")
            return
        seq = self.mailbox.seq_req
        if seq == self.handled_seq:
            return
        self.handled_seq = seq
        self.trapped = True
        if self.timer is not None:
            self.timer.on_doorbell()
        self.traps += 1
        self.kernel.mem.guest_work_done()
        reason = self.mailbox.reason
        if reason >= L.REASON_EL1:
            self.kernel.panic(self.stub_fault_report(reason))
            return
        self.handling = True
        try:
            self._handle_doorbell(reason)
        finally:
            self.handling = False

    def _handle_doorbell(self, reason: int) -> None:
        task = self.current
        if task is not None:
            entered = time.monotonic_ns()
            task.utime_ns += entered - self.resumed_at
            try:
                self.handle_trap(task, reason)
            except TaskExit as e:
                self.kernel.exit_task(task, e.status)
            self.schedule()
            task.stime_ns += time.monotonic_ns() - entered
        else:
            self.schedule()

    def handle_trap(self, task: Task, reason: int) -> None:
        if reason == L.REASON_SYNC:
            self.handle_sync(task)
        elif reason == L.REASON_IRQ:
            if self.runqueue:                       # preempted: give the others a turn
                self.runqueue.append(task)
                self.switch_out(task)
        else:
            signals.force_fatal(task, signals.SIGBUS if reason == L.REASON_SERROR else signals.SIGILL,
                                f"exception reason {reason}")

    def handle_sync(self, task: Task) -> None:
        mb = self.mailbox
        esr = mb.u64(L.MB_ESR)
        ec = ESR.ec(esr)
        if ec == ESR.EC_SVC64:
            args = mb.syscall_args()
            result = dispatch.start(task, mb.u64(X8), args, self.kernel.tracer)
            if type(result) is tuple:
                task.orig_x0 = args[0]
                self.suspend(task, result[1])
            elif task.on_cpu is self:               # (execve may have replaced the context)
                mb.set_u64(L.MB_X0, result)
                if RESTART_LO <= result <= RESTART_HI:
                    task.restart = args[0]
        elif ec in (ESR.EC_DABT_LOW, ESR.EC_IABT_LOW):
            self.handle_abort(task, esr, mb.u64(L.MB_FAR))
        else:
            # As arm64 Linux's el0 handlers: si_addr is the pc (the sp for SP alignment).
            pc = mb.u64(L.MB_PC)
            why = f"{ESR.describe(esr)} at pc {pc:#x}"
            if ec == ESR.EC_BRK64:
                signals.force_signal(task, signals.SIGTRAP, signals.TRAP_BRKPT, pc, why)
            elif ec in (ESR.EC_PC_ALIGN, ESR.EC_SP_ALIGN):
                addr = mb.u64(L.MB_SP) if ec == ESR.EC_SP_ALIGN else mb.u64(L.MB_FAR)
                signals.force_signal(task, signals.SIGBUS, signals.BUS_ADRALN, addr, why, esr=esr)
            elif ec == ESR.EC_FP_EXC64:
                signals.force_signal(task, signals.SIGFPE, signals.FPE_FLTUNK, pc, why)
            else:
                signals.force_signal(task, signals.SIGILL, signals.ILL_ILLOPC, pc, why, esr=0)

    def handle_abort(self, task: Task, esr: int, far: int) -> None:
        abort = ESR.decode_abort(esr)
        if abort.kind == "alignment":
            signals.force_signal(task, signals.SIGBUS, signals.BUS_ADRALN, far, f"alignment fault at {far:#x}",
                                 esr=esr, fault_address=far)
            return
        try:
            task.mm.fault(far, abort.is_write, abort.is_exec)
        except UserFault as f:
            pc = self.mailbox.u64(L.MB_PC)
            code = signals.SEGV_ACCERR if f.mapped else signals.SEGV_MAPERR
            signals.force_signal(task, signals.SIGSEGV, code, far,
                                 f"segfault at {f.addr:#x} pc {pc:#x} ({'SEGV_ACCERR' if f.mapped else 'SEGV_MAPERR'})",
                                 esr=esr, fault_address=far)

    # -- sleeping syscalls ---------------------------------------------------------------------

    def suspend(self, task: Task, finishing) -> None:
        task.state = State.BLOCKED
        self.switch_out(task)
        job = asyncio.ensure_future(finishing)
        task.pending = job
        job.add_done_callback(lambda j: self.kernel.syscall_finished(task, j))

    def wake(self, task: Task, result: int) -> None:
        """A blocked syscall finished with `result`: make its task runnable again."""
        task.regs().set_x(0, result)
        if RESTART_LO <= result <= RESTART_HI:
            task.restart = task.orig_x0
        task.state = State.RUNNABLE
        self.runqueue.append(task)
        self.schedule()

    # -- choosing and switching -------------------------------------------------------------

    def switch_out(self, task: Task) -> None:
        """Move the live context of `task` from the mailbox into the task."""
        if task.context is None:
            task.context = bytearray(CONTEXT_SIZE)
        self.mailbox.save_context(task.context)
        task.on_cpu = None
        self.current = None

    def switch_in(self, task: Task) -> None:
        self.mailbox.load_context(task.context)
        task.on_cpu = self
        self.current = task

    def schedule(self) -> None:
        """If the guest waits for us and someone can run, reply; otherwise stay idle."""
        if not self.trapped:
            if self.runqueue and self.current is not None:
                self.kick()
            return
        while True:
            task = self.current
            if task is None or task.state is not State.RUNNABLE:
                if task is not None:
                    self.switch_out(task)
                if not self.runqueue:
                    return                          # idle: the guest sleeps in WFI
                task = self.runqueue.popleft()
                self.switch_in(task)
            if (task.sigpending & ~task.blocked or task.restart is not None) and not self._deliver(task):
                continue                            # it stopped or died: choose again
            self.reply(task)
            return

    def _deliver(self, task: Task) -> bool:
        """Signals on the way back to user space; False if task may not run now."""
        try:
            signals.deliver_pending(task)
        except TaskExit as e:
            self.kernel.exit_task(task, e.status)
            return False
        return task.state is State.RUNNABLE

    def reply(self, task: Task) -> None:
        mem = self.kernel.mem
        ops, asid_operand, vas, scrub = mem.take_guest_work()
        ttbr0 = task.mm.ttbr0
        if ttbr0 != self.loaded_ttbr0:
            ops |= L.OP_SET_TTBR0
            self.loaded_ttbr0 = ttbr0
        self.trapped = False
        if self.runqueue and self._slice_timer is None:
            self._slice_timer = self.kernel.loop.call_later(TIMESLICE, self._end_slice)
        self.resumed_at = time.monotonic_ns()
        if self.timer is not None:
            self.timer.on_reply()
        if self.mailbox.post_reply(ops, ttbr0, asid_operand, vas, scrub):
            self.kick()

    def _end_slice(self) -> None:
        """Others wait and the current task has run a full slice: interrupt it (round robin)."""
        self._slice_timer = None
        if not self.trapped and self.runqueue and self.current is not None:
            self.kick()

    def kick(self) -> None:
        """A byte on the UART: wakes the guest from WFI, or interrupts user code."""
        try:
            self.doorbell.send(b"!")
        except OSError:
            pass            # a full socket already wakes it; a closed one means QEMU is gone

    # -- diagnostics -----------------------------------------------------------------------------

    def stub_fault_report(self, reason: int) -> str:
        mb = self.mailbox
        regs = mb.x_regs()
        lines = [f"guest stub fault (vector {reason - L.REASON_EL1}): {ESR.describe(mb.u64(L.MB_ESR))}",
                 f"  elr={mb.u64(L.MB_PC):#018x} far={mb.u64(L.MB_FAR):#018x} spsr={mb.u64(L.MB_PSTATE):#x}"]
        for i in range(0, 31, 4):
            lines.append("  " + "  ".join(f"x{j:<2}={regs[j]:#018x}" for j in range(i, min(i + 4, 31))))
        return "\n".join(lines)
