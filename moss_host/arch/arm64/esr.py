"""Decoding ESR_EL1: why an exception from EL0 happened (Arm ARM D17.2.37)."""
from __future__ import annotations

from dataclasses import dataclass

EC_UNKNOWN = 0x00        # undefined instruction
EC_WFX = 0x01
EC_FP_ACCESS = 0x07
EC_ILLEGAL_STATE = 0x0E
EC_SVC64 = 0x15
EC_SYSREG = 0x18         # trapped MSR/MRS
EC_IABT_LOW = 0x20       # instruction abort from EL0
EC_PC_ALIGN = 0x22
EC_DABT_LOW = 0x24       # data abort from EL0
EC_SP_ALIGN = 0x26
EC_FP_EXC64 = 0x2C
EC_SERROR = 0x2F
EC_BREAKPOINT_LOW = 0x30
EC_SOFTSTEP_LOW = 0x32
EC_WATCHPOINT_LOW = 0x34
EC_BRK64 = 0x3C

EC_NAMES = {
    EC_UNKNOWN: "undefined instruction", EC_WFX: "WFI/WFE", EC_FP_ACCESS: "FP access",
    EC_ILLEGAL_STATE: "illegal execution state", EC_SVC64: "svc", EC_SYSREG: "system register access",
    EC_IABT_LOW: "instruction abort", EC_PC_ALIGN: "PC alignment", EC_DABT_LOW: "data abort",
    EC_SP_ALIGN: "SP alignment", EC_FP_EXC64: "FP exception", EC_SERROR: "SError",
    EC_BREAKPOINT_LOW: "breakpoint", EC_SOFTSTEP_LOW: "software step", EC_WATCHPOINT_LOW: "watchpoint",
    EC_BRK64: "brk",
}


def ec(esr: int) -> int:
    return (esr >> 26) & 0x3F


# What a synchronous exception from EL0 asks of the kernel (the trap router's cases).
SYSCALL = 0          # svc #0
ABORT = 1            # an instruction or data abort: a page fault, or an alignment fault
BREAKPOINT = 2       # brk
PC_ALIGNMENT = 3     # a branch to a misaligned pc
SP_ALIGNMENT = 4     # a load or store through a misaligned sp
FP_EXCEPTION = 5     # a trapped floating-point exception
UNDEFINED = 6        # anything else: an undefined or trapped instruction

_KINDS = {EC_SVC64: SYSCALL, EC_DABT_LOW: ABORT, EC_IABT_LOW: ABORT, EC_BRK64: BREAKPOINT,
          EC_PC_ALIGN: PC_ALIGNMENT, EC_SP_ALIGN: SP_ALIGNMENT, EC_FP_EXC64: FP_EXCEPTION}


def is_syscall(esr: int) -> bool:
    """An svc from AArch64 EL0 (the trap path tests this first: it is most traps)."""
    return (esr >> 26) & 0x3F == EC_SVC64


def kind(esr: int) -> int:
    """SYSCALL, ABORT, BREAKPOINT, PC_ALIGNMENT, SP_ALIGNMENT, FP_EXCEPTION or UNDEFINED."""
    return _KINDS.get((esr >> 26) & 0x3F, UNDEFINED)


@dataclass(frozen=True)
class Abort:
    """A data or instruction abort's syndrome, reduced to what the fault handler needs."""
    is_write: bool
    is_exec: bool
    kind: str            # "translation", "access_flag", "permission", "alignment", "other"
    level: int


def decode_abort(esr: int) -> Abort:
    fsc = esr & 0x3F
    group = fsc >> 2
    kind = {0b0001: "translation", 0b0010: "access_flag", 0b0011: "permission"}.get(group, "other")
    if fsc == 0b100001:
        kind = "alignment"
    is_exec = ec(esr) == EC_IABT_LOW
    # WnR (bit 6) is only meaningful for data aborts; cache maintenance (CM, bit 8) reports as write.
    is_write = not is_exec and bool(esr & (1 << 6)) and not esr & (1 << 8)
    return Abort(is_write, is_exec, kind, fsc & 3)


def describe(esr: int) -> str:
    code = ec(esr)
    return f"EC={code:#04x} ({EC_NAMES.get(code, 'unknown')}) ISS={esr & 0x1FFFFFF:#x}"
