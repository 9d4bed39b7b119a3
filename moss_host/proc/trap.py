"""Routing a trap from user space to the part of the kernel that answers it.

    a syscall        decoded and run by the syscall entry the kernel handed the CPU
                     (syscalls/dispatch.start; proc/ does not import syscalls/)
    an abort         a page fault for the address space, or SIGSEGV/SIGBUS
    another sync     breakpoint, misalignment, FP exception, undefined instruction: a signal
    an IRQ           the time slice is over: the task waits behind the others
    an SError        SIGBUS

A syscall that sleeps leaves its CPU; the rest of its handler runs as an asyncio job,
and `syscall_finished` puts the result in x0 when it ends.
"""
from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING

from moss_host.arch.arm64 import cpuid
from moss_host.arch.arm64.context import OFF_ESR, OFF_X0
from moss_host.arch.arm64 import esr as ESR
from moss_host.errors import ERESTART_RESTARTBLOCK, ERESTARTSYS, Errno
from moss_host.machine import layout as L
from moss_host.mm.address_space import UserFault
from moss_host.mm.frames import OutOfMemory
from moss_host.sched.parked import Parked

from . import hwdebug, lifecycle, oom_kill, ptrace, seccomp, signals
from .task import State, Task, TaskExit

if TYPE_CHECKING:
    from moss_host.arch.arm64.context import UserContext

    from .cpu import Cpu

RESTART_LO, RESTART_HI = -ERESTART_RESTARTBLOCK, -ERESTARTSYS     # x0 of an interrupted syscall

# The trap frame as the syscall path reads it: precompiled, one unpack each.
_U64 = struct.Struct("<Q")
_X0_X8 = struct.Struct("<Q56xQ")        # x0 (the first argument, kept for restarts) and x8 (the number)
_MASK = (1 << 64) - 1
assert OFF_X0 == 0


def handle_trap(cpu: Cpu, task: Task, reason: int) -> None:
    """The trap of `task`, the task on `cpu`; TaskExit propagates (the task is gone)."""
    if reason == L.REASON_SYNC:
        handle_sync(cpu, task)
    elif reason == L.REASON_IRQ:
        if cpu.sched.yield_cpu(task):               # preempted: give the others a turn
            cpu.switch_out(task)
    else:
        signals.force_fatal(task, signals.SIGBUS if reason == L.REASON_SERROR else signals.SIGILL,
                            f"exception reason {reason}")


def handle_sync(cpu: Cpu, task: Task) -> None:
    """A synchronous exception. Most are syscalls: svc #0, x8 the number, x0..x5 the
    arguments, x0 the result (inline here: this is every trap's fast path)."""
    regs = cpu.regs
    frame = cpu.frame
    esr = _U64.unpack_from(frame, OFF_ESR)[0]
    if (esr >> 26) & 0x3F == ESR.EC_SVC64:        # ESR.is_syscall, inline: most traps
        x0, nr = _X0_X8.unpack_from(frame)
        if task.traced_syscalls:                    # syscall work: ptrace's stops, a seccomp filter
            if task.ptrace.tracer is None:          # the filter alone: no stops, the task stays on its CPU
                syscall_result(cpu, task, x0, seccomp.start_filtered(cpu.start_syscall, task, nr, frame, cpu.tracer))
                return
            task.orig_x0 = x0
            cpu.switch_out(task)
            ptrace.traced_syscall(task, nr, cpu.start_syscall, cpu.tracer, syscall_resumed)
            return
        syscall_result(cpu, task, x0, cpu.start_syscall(task, nr, frame, cpu.tracer))
        return
    kind = ESR.kind(esr)
    if kind == ESR.ABORT:
        handle_abort(cpu, task, esr, regs.far)
        return
    # As arm64 Linux's el0 handlers: si_addr is the pc (the sp for SP alignment).
    pc = regs.pc
    why = f"{ESR.describe(esr)} at pc {pc:#x}"
    if kind == ESR.BREAKPOINT:
        signals.force_signal(task, signals.SIGTRAP, signals.TRAP_BRKPT, pc, why)
    elif kind in (ESR.PC_ALIGNMENT, ESR.SP_ALIGNMENT):
        addr = regs.sp if kind == ESR.SP_ALIGNMENT else regs.far
        signals.force_signal(task, signals.SIGBUS, signals.BUS_ADRALN, addr, why, esr=esr)
    elif kind == ESR.FP_EXCEPTION:
        signals.force_signal(task, signals.SIGFPE, signals.FPE_FLTUNK, pc, why)
    elif ESR.ec(esr) in hwdebug.DEBUG_ECS:         # single step, hardware break/watchpoint
        hwdebug.debug_exception(task, ESR.ec(esr), regs)
    elif not emulate_id_read(task, regs):
        signals.force_signal(task, signals.SIGILL, signals.ILL_ILLOPC, pc, why, esr=0)


def syscall_result(cpu: Cpu, task: Task, x0: int, result) -> None:
    """What the syscall entry answered for `task`'s call (x0 its first argument): the value
    for x0, or a sleep (a job, or Parked) that frees the CPU."""
    if type(result) is tuple:                   # it sleeps: the CPU is free for others
        task.orig_x0 = x0
        cpu.switch_out(task)
        cpu.sched.sleep(task, result[1], syscall_finished)
    elif type(result) is Parked:                # it sleeps without a job (sched/parked.py)
        task.orig_x0 = x0
        cpu.switch_out(task)
        cpu.sched.park(task, result, syscall_resumed)
    elif task.on_cpu is cpu:                    # (execve may have replaced the context)
        _U64.pack_into(cpu.frame, 0, result & _MASK)
        if RESTART_LO <= result <= RESTART_HI:
            task.restart = x0


def emulate_id_read(task: Task, regs: UserContext) -> bool:
    """An undefined instruction that is an `mrs` of an ID register: HWCAP_CPUID promises
    Linux's answer (arch/arm64/cpuid.py), in Xt, and the pc past it. False: not one."""
    try:
        insn = int.from_bytes(task.mm.read(regs.pc, 4), "little")
    except Errno:
        return False
    answer = cpuid.emulated_read(insn)
    if answer is None:
        return False
    rt, value = answer
    if rt != cpuid.XZR:
        regs.x[rt] = value
    regs.pc = regs.pc + 4
    return True


def syscall_finished(task: Task, job: asyncio.Future) -> None:
    """The job of a sleeping syscall ended: x0 gets its result and the task runs again."""
    sched = task.kernel.sched
    try:
        result = job.result()
    except TaskExit as e:
        lifecycle.exit_task(task, e.status, e.whole_group)
        sched.reschedule(task)
        return
    except asyncio.CancelledError:
        result = -ERESTARTSYS               # cancelled before it could answer: restart it
    syscall_resumed(task, result)


def syscall_resumed(task: Task, result: int) -> None:
    """A sleeping syscall ended with `result`: x0 gets it and the task runs again."""
    if task.state is State.ZOMBIE:
        return                              # killed while it slept
    context = task.context
    if task.on_cpu is None and context is not None:
        _U64.pack_into(context, OFF_X0, result & _MASK)     # (task.regs() without the view)
    else:
        task.regs().x[0] = result
    if RESTART_LO <= result <= RESTART_HI:
        task.restart = task.orig_x0
    if task.group.stopped:
        task.state = State.STOPPED              # its process stopped while it slept
        return
    task.kernel.sched.wake(task)


def handle_abort(cpu: Cpu, task: Task, esr: int, far: int) -> None:
    """An instruction or data abort: fault the page in, or signal the task."""
    abort = ESR.decode_abort(esr)
    if abort.kind == "alignment":
        signals.force_signal(task, signals.SIGBUS, signals.BUS_ADRALN, far, f"alignment fault at {far:#x}",
                             esr=esr, fault_address=far)
        return
    try:
        task.mm.fault(far, abort.is_write, abort.is_exec, True, task)
    except UserFault as f:
        pc = cpu.regs.pc
        if f.past_eof:                  # a file mapping's page past the end of the file
            signals.force_signal(task, signals.SIGBUS, signals.BUS_ADRERR, far,
                                 f"bus error at {f.addr:#x} pc {pc:#x} (past the end of the mapped file)",
                                 esr=esr, fault_address=far)
            return
        code = signals.SEGV_ACCERR if f.mapped else signals.SEGV_MAPERR
        signals.force_signal(task, signals.SIGSEGV, code, far,
                             f"segfault at {f.addr:#x} pc {pc:#x} ({'SEGV_ACCERR' if f.mapped else 'SEGV_MAPERR'})",
                             esr=esr, fault_address=far)
    except OutOfMemory:
        oom_kill.out_of_memory(task)          # a victim dies for the frames; the access retries
    except Exception as e:                    # a kernel bug: a panic under --strict (proc/bugs.py)
        task.kernel.bugs.in_fault(task, far, e)
        signals.force_signal(task, signals.SIGSEGV, signals.SEGV_MAPERR, far,
                             f"kernel bug handling a fault at {far:#x}", esr=esr, fault_address=far)
