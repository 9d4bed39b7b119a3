"""A traced task's hardware debug state: single step and the breakpoint and watchpoint
registers, as arm64 Linux gives them to ptrace (arch/arm64/kernel/debug-monitors.c,
hw_breakpoint.c and the NT_ARM_HW_BREAK/NT_ARM_HW_WATCH regsets of ptrace.c).

The state is one immutable HwDebug per task (PtraceState.hwdebug; None: nothing), replaced
whenever the tracer changes it. A CPU remembers which one it loaded and, when it switches
to a task whose state is another object, has the stub load it (proc/cpu.py switch_in,
machine/mailbox.py write_debug: MDSCR_EL1 and DBGB*/DBGW* before the eret). A task
without debug state costs the return path one load and branch in the stub.

Single step is the architecture's software step: MDSCR_EL1.SS while the task runs and
SPSR.SS=1 in its saved PSTATE (the step is "active-not-pending": one instruction runs,
then the step exception, ESR EC 0x32, traps like any other). A return with SPSR.SS=0 --
after an svc, or into a signal handler (Linux's user_fastforward_single_step) -- traps
before the first instruction, so the tracer sees the task there.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Optional

from moss_host.arch.arm64 import esr as ESR
from moss_host.errors import EINVAL, ENOSPC, Errno
from moss_host.machine import layout as L

from . import signals

if TYPE_CHECKING:
    from moss_host.arch.arm64.context import TrapContext

    from .task import Task

SPSR_SS = 1 << 21                   # PSTATE.SS: the step is active-not-pending
MDSCR_SS = 1 << 0
MDSCR_MDE = 1 << 15                 # breakpoints and watchpoints enabled
TRAP_BRKPT, TRAP_TRACE, TRAP_HWBKPT = 1, 2, 4

NT_ARM_HW_BREAK, NT_ARM_HW_WATCH = 0x402, 0x403
ARM_MAX_BRP = 16                    # the regset's slots (struct user_hwdebug_state)
DEBUG_ARCH = 6                      # ID_AA64DFR0_EL1.DebugVer of cortex-a72: ARMv8 debug
SLOTS = {NT_ARM_HW_BREAK: L.MB_DBG_NBP, NT_ARM_HW_WATCH: L.MB_DBG_NWP}   # the stub loads these
REGSET_SIZE = 8 + ARM_MAX_BRP * 16  # dbg_info, pad, 16 x (addr, ctrl, pad)

# The user-controlled bits of a control register (struct arch_hw_breakpoint_ctrl):
# enabled, privilege, type (watchpoints: load 1, store 2), byte-address-select length.
CTRL_ENABLED = 1
CTRL_EL0 = 2 << 1                   # AARCH64_BREAKPOINT_EL0: the only privilege ptrace takes
CTRL_MASK = 0x1FFF

Slots = tuple[tuple[int, int], ...]     # (address, control) as the tracer set them


@dataclass(frozen=True)
class HwDebug:
    step: bool = False
    bps: Slots = ((0, 0),) * L.MB_DBG_NBP
    wps: Slots = ((0, 0),) * L.MB_DBG_NWP

    @property
    def uses_registers(self) -> bool:
        return any(ctrl & CTRL_ENABLED for _, ctrl in self.bps + self.wps)

    def mdscr(self) -> int:
        return (MDSCR_SS if self.step else 0) | (MDSCR_MDE if self.uses_registers else 0)

    def registers(self) -> tuple[list[int], list[int]]:
        """(DBGBVR, DBGBCR) x 6 and (DBGWVR, DBGWCR) x 4 as the hardware wants them: an
        unaligned address aligned down (a word for breakpoints, a doubleword for
        watchpoints) with the byte mask moved to match, as hw_breakpoint_arch_parse does."""
        return _aligned(self.bps, 3), _aligned(self.wps, 7)


def _aligned(slots: Slots, mask: int) -> list[int]:
    out = []
    for addr, ctrl in slots:
        offset = addr & mask
        bas = ((ctrl >> 5) & 0xFF) << offset
        out += [addr - offset, (ctrl & ~(0xFF << 5)) | (bas & 0xFF) << 5]
    return out


def state_of(task: Task) -> HwDebug:
    return task.ptrace.hwdebug or HwDebug()


def _set(task: Task, new: HwDebug) -> None:
    task.ptrace.hwdebug = None if new == HwDebug() else new


# -- single step ---------------------------------------------------------------------------------

def enable_step(task: Task) -> None:
    """user_enable_single_step: a task not yet stepping gets SPSR.SS, so it runs one
    instruction before it traps (one already stepping keeps its step state machine)."""
    hw = state_of(task)
    if not hw.step:
        task.regs().pstate |= SPSR_SS
        _set(task, replace(hw, step=True))


def disable_step(task: Task) -> None:
    hw = state_of(task)
    if hw.step:
        task.regs().pstate &= ~SPSR_SS
        _set(task, replace(hw, step=False))


def debug_exception(task: Task, ec: int, regs: TrapContext) -> None:
    """A debug exception from user space: SIGTRAP with Linux's si_code and address. After a
    step the step is rewound to active-not-pending (user_rewind_single_step): resumed with
    PTRACE_SINGLESTEP again, the task runs exactly one more instruction."""
    pc = regs.pc
    if ec == ESR.EC_SOFTSTEP_LOW:
        if task.ptrace.hwdebug is not None and task.ptrace.hwdebug.step:
            regs.pstate |= SPSR_SS
        signals.force_signal(task, signals.SIGTRAP, TRAP_TRACE, pc, f"single step at pc {pc:#x}")
    elif ec == ESR.EC_BREAKPOINT_LOW:
        signals.force_signal(task, signals.SIGTRAP, TRAP_HWBKPT, pc, f"hardware breakpoint at pc {pc:#x}")
    else:                               # a watchpoint: si_addr is the data address
        signals.force_signal(task, signals.SIGTRAP, TRAP_HWBKPT, regs.far,
                             f"watchpoint at {regs.far:#x} pc {pc:#x}")


DEBUG_ECS = frozenset((ESR.EC_SOFTSTEP_LOW, ESR.EC_BREAKPOINT_LOW, ESR.EC_WATCHPOINT_LOW))


# -- the NT_ARM_HW_BREAK / NT_ARM_HW_WATCH regsets -----------------------------------------------

def read_regset(task: Task, note: int) -> bytes:
    """hw_break_get: dbg_info (debug architecture << 8 | slots), then every slot's address
    and control (unused slots read zero)."""
    hw = state_of(task)
    slots = hw.bps if note == NT_ARM_HW_BREAK else hw.wps
    out = bytearray(struct.pack("<II", DEBUG_ARCH << 8 | SLOTS[note], 0))
    for idx in range(ARM_MAX_BRP):
        addr, ctrl = slots[idx] if idx < len(slots) else (0, 0)
        out += struct.pack("<QII", addr, ctrl, 0)
    return bytes(out)


def write_regset(task: Task, note: int, raw: bytes, length: int) -> None:
    """hw_break_set: the slots the tracer's `length` bytes cover, past dbg_info (read-only),
    each checked as Linux's ptrace_hbp_set_addr/ctrl would: a slot the CPU lacks is EINVAL
    once it is written, an enabled one with a bad address or control EINVAL."""
    hw = state_of(task)
    slots = list(hw.bps if note == NT_ARM_HW_BREAK else hw.wps)
    offset = 8
    idx = 0
    while offset < length:
        addr, ctrl = struct.unpack_from("<QI", raw, offset)
        if idx >= len(slots):
            raise Errno(EINVAL if idx >= ARM_MAX_BRP else ENOSPC)
        if ctrl & CTRL_ENABLED:
            _check(note, addr, ctrl)
        # The privilege is not the tracer's to choose (ptrace's events exclude the kernel).
        slots[idx] = (addr, (ctrl & CTRL_MASK & ~(3 << 1)) | CTRL_EL0 if ctrl else 0)
        offset += 16
        idx += 1
    new = replace(hw, bps=tuple(slots)) if note == NT_ARM_HW_BREAK else replace(hw, wps=tuple(slots))
    _set(task, new)


def _check(note: int, addr: int, ctrl: int) -> None:
    """arch_bp_generic_fields/hw_breakpoint_arch_parse: a user-space address, an execute
    breakpoint of 4 bytes, a load/store watchpoint of up to 8 bytes."""
    kind, length = (ctrl >> 3) & 3, (ctrl >> 5) & 0xFF
    if addr >= 1 << 48:
        raise Errno(EINVAL)
    if note == NT_ARM_HW_BREAK:
        if kind != 0 or length != 0x0F:
            raise Errno(EINVAL)
    elif kind == 0 or not length or (length << (addr & 7)) > 0xFF:
        raise Errno(EINVAL)


def on_exec(task: Task) -> None:
    """flush_ptrace_hw_breakpoint: a new program starts without the old one's breakpoints
    and watchpoints (a single step goes on)."""
    hw: Optional[HwDebug] = task.ptrace.hwdebug
    if hw is not None:
        _set(task, HwDebug(step=hw.step))
