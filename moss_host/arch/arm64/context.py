"""The user-register context of an arm64 task: x0..x30, sp, pc, pstate, tpidr_el0 and the
FP/SIMD registers, as the guest stub saves them on every exception from EL0.

The offsets below are the stub's frame (guest_stub/layout.h, MB_X0..MB_Q_END); they are
defined here once, machine/layout.py re-exports them under their MB_ names and
tests/unit/test_layout.py checks them against the header. Two containers hold a context:

    a trap frame (TrapContext)   a CPU's mailbox while the guest waits: the layout as the
                                 stub wrote it, q0..q31 at OFF_Q0, plus esr/far of the trap
    a saved context (UserContext) a task that is off the CPU: x0..fpsr, then q0..q31
                                 packed right after (SAVED_SIZE bytes, see new_saved)

A context object is a view: reads and writes go straight to the bytes, nothing is cached.
x[n] and the named registers are stored modulo 2**64, so `ctx.x[0] = -EINTR` is fine.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

# -- the stub's frame (guest_stub/layout.h) ---------------------------------------------------
OFF_X0 = 0x000          # x0..x30, 8 bytes each
OFF_SP = 0x0f8          # sp_el0
OFF_PC = 0x100          # elr_el1
OFF_PSTATE = 0x108      # spsr_el1
OFF_TPIDR = 0x110       # tpidr_el0
OFF_FPCR = 0x118
OFF_FPSR = 0x120
OFF_INT_END = 0x128     # x0..fpsr: the integer context
OFF_ESR = 0x140         # esr_el1: why we trapped (not restored)
OFF_FAR = 0x148         # far_el1
OFF_Q0 = 0x200          # q0..q31, 16 bytes each
OFF_Q_END = 0x400

# A saved context keeps what is restored: x0..fpsr, then q0..q31.
SAVED_Q0 = OFF_INT_END
SAVED_SIZE = OFF_INT_END + (OFF_Q_END - OFF_Q0)

NR_REGS = 31            # x0..x30
SVC_SIZE = 4            # elr_el1 of an svc points past it
NR_RESTART_SYSCALL = 128   # asm-generic/unistd.h __NR_restart_syscall

_MASK = (1 << 64) - 1
_U64 = struct.Struct("<Q")
_X_REGS = struct.Struct("<31Q")
_SP_PC_PSTATE = struct.Struct("<3Q")
_Q_HALVES = struct.Struct("<64Q")


@dataclass
class UserRegs:
    """A snapshot of the user registers, detached from any context (what a signal frame
    carries: arch/arm64 struct user_pt_regs plus user_fpsimd_state)."""
    x: list = field(default_factory=lambda: [0] * NR_REGS)
    sp: int = 0
    pc: int = 0
    pstate: int = 0
    fpsr: int = 0
    fpcr: int = 0
    v: list = field(default_factory=lambda: [0] * 32)   # q0..q31 as 128-bit ints


class XRegs:
    """x0..x30 of a context: `ctx.x[n]` reads, `ctx.x[n] = value` writes (n in 0..30)."""
    __slots__ = ("_blob",)

    def __init__(self, blob: bytearray | memoryview):
        self._blob = blob

    def __getitem__(self, n: int) -> int:
        return _U64.unpack_from(self._blob, OFF_X0 + 8 * n)[0]

    def __setitem__(self, n: int, value: int) -> None:
        _U64.pack_into(self._blob, OFF_X0 + 8 * n, value & _MASK)

    def __len__(self) -> int:
        return NR_REGS

    def all(self) -> tuple[int, ...]:
        """x0..x30 in one read."""
        return _X_REGS.unpack_from(self._blob, OFF_X0)


def _register(off: int, doc: str) -> property:
    def get(self: "UserContext") -> int:
        return _U64.unpack_from(self.blob, off)[0]

    def put(self: "UserContext", value: int) -> None:
        _U64.pack_into(self.blob, off, value & _MASK)
    return property(get, put, doc=doc)


class UserContext:
    """A task's user registers over a saved context (or, as TrapContext, a trap frame)."""
    __slots__ = ("blob", "x")
    Q0 = SAVED_Q0              # where q0..q31 sit in this container

    def __init__(self, blob: bytearray | memoryview):
        self.blob = blob
        self.x = XRegs(blob)

    sp = _register(OFF_SP, "sp_el0")
    pc = _register(OFF_PC, "the user pc (elr_el1)")
    pstate = _register(OFF_PSTATE, "PSTATE as spsr_el1 holds it")
    tpidr = _register(OFF_TPIDR, "tpidr_el0: the thread pointer")
    fpcr = _register(OFF_FPCR, "FPCR")
    fpsr = _register(OFF_FPSR, "FPSR")

    # -- all registers at once (signal frames) ---------------------------------------------

    def read_regs(self) -> UserRegs:
        blob = self.blob
        x = list(_X_REGS.unpack_from(blob, OFF_X0))
        sp, pc, pstate = _SP_PC_PSTATE.unpack_from(blob, OFF_SP)
        halves = _Q_HALVES.unpack_from(blob, self.Q0)
        v = [halves[2 * i] | halves[2 * i + 1] << 64 for i in range(32)]
        return UserRegs(x, sp, pc, pstate, self.fpsr, self.fpcr, v)

    def write_regs(self, regs: UserRegs, fpsimd: bool = True) -> None:
        """Load regs into the context; with fpsimd=False only x0..x30, sp, pc and pstate."""
        blob = self.blob
        _X_REGS.pack_into(blob, OFF_X0, *(r & _MASK for r in regs.x))
        _SP_PC_PSTATE.pack_into(blob, OFF_SP, regs.sp & _MASK, regs.pc & _MASK, regs.pstate & _MASK)
        if not fpsimd:
            return
        self.fpcr, self.fpsr = regs.fpcr, regs.fpsr
        halves: list[int] = []
        for value in regs.v:
            halves += (value & _MASK, value >> 64 & _MASK)
        _Q_HALVES.pack_into(blob, self.Q0, *halves)

    # -- syscalls ----------------------------------------------------------------------------

    def syscall_result(self) -> int:
        """x0 read as the signed return value of a syscall."""
        x0 = self.x[0]
        return x0 - (1 << 64) if x0 >> 63 else x0

    def restart_syscall(self, orig_x0: int, restart_block: bool = False) -> None:
        """Make the interrupted syscall run again on return to user space (arm64 do_signal):
        pc back over the svc, x0 as it was on entry. After -ERESTART_RESTARTBLOCK the call
        that runs is restart_syscall(2), which resumes the interrupted sleep
        (setup_restart_syscall)."""
        self.x[0] = orig_x0
        self.pc = self.pc - SVC_SIZE
        if restart_block:
            self.x[8] = NR_RESTART_SYSCALL


class TrapContext(UserContext):
    """The live context in a CPU's trap frame, with the syndrome of the trap that saved it."""
    __slots__ = ()
    Q0 = OFF_Q0

    esr = _register(OFF_ESR, "esr_el1 of the trap (not restored)")
    far = _register(OFF_FAR, "far_el1 of the trap (not restored)")


def new_saved(pc: int, sp: int) -> bytearray:
    """A fresh saved context for EL0: all registers zero, PSTATE EL0t with interrupts
    unmasked, execution to start at pc with stack pointer sp."""
    blob = bytearray(SAVED_SIZE)
    _U64.pack_into(blob, OFF_SP, sp)
    _U64.pack_into(blob, OFF_PC, pc)
    return blob
