"""The arm64 user-register context over the stub's frame (arch/arm64/context.py)."""
from moss_host.arch.arm64.context import (NR_RESTART_SYSCALL, OFF_ESR, OFF_FAR, OFF_PC, OFF_Q0, OFF_SP,
                                          OFF_TPIDR, SAVED_SIZE, TrapContext, UserContext, new_saved)
from moss_host.errors import EINTR
from moss_host.machine import layout as L


def test_new_saved_context_starts_at_pc_with_sp_and_everything_else_zero():
    ctx = UserContext(new_saved(0x40_0000, 0x7FFF_F000))
    assert (ctx.pc, ctx.sp, ctx.pstate, ctx.tpidr) == (0x40_0000, 0x7FFF_F000, 0, 0)
    assert ctx.x.all() == (0,) * 31 and len(ctx.blob) == SAVED_SIZE


def test_registers_are_stored_modulo_2_64_at_the_stub_offsets():
    blob = bytearray(SAVED_SIZE)
    ctx = UserContext(blob)
    ctx.x[0] = -EINTR
    ctx.x[30] = 0x1234
    ctx.sp, ctx.pc, ctx.tpidr = 0x7000, 0x40_0010, 0xABC
    assert ctx.x[0] == (-EINTR) & (1 << 64) - 1 and ctx.syscall_result() == -EINTR
    assert int.from_bytes(blob[8 * 30:8 * 31], "little") == 0x1234
    assert int.from_bytes(blob[OFF_SP:OFF_SP + 8], "little") == 0x7000
    assert int.from_bytes(blob[OFF_PC:OFF_PC + 8], "little") == 0x40_0010
    assert int.from_bytes(blob[OFF_TPIDR:OFF_TPIDR + 8], "little") == 0xABC


def test_trap_context_reads_the_syndrome_and_q_registers_where_the_mailbox_has_them():
    mem = bytearray(L.MAILBOX_SIZE)
    mem[OFF_ESR:OFF_ESR + 8] = (0x5600_0000).to_bytes(8, "little")
    mem[OFF_FAR:OFF_FAR + 8] = (0xDEAD).to_bytes(8, "little")
    mem[OFF_Q0 + 16:OFF_Q0 + 32] = (7 << 64 | 5).to_bytes(16, "little")
    ctx = TrapContext(mem)
    assert (ctx.esr, ctx.far, ctx.read_regs().v[1]) == (0x5600_0000, 0xDEAD, 7 << 64 | 5)
    assert (L.MB_ESR, L.MB_FAR, L.MB_Q0) == (OFF_ESR, OFF_FAR, OFF_Q0)


def test_restart_rewinds_over_the_svc_and_restart_block_runs_restart_syscall():
    ctx = UserContext(new_saved(0x40_0104, 0))
    ctx.x[0], ctx.x[8] = -512, 101
    ctx.restart_syscall(0x33)
    assert (ctx.x[0], ctx.x[8], ctx.pc) == (0x33, 101, 0x40_0100)
    ctx = UserContext(new_saved(0x40_0104, 0))
    ctx.restart_syscall(0x33, restart_block=True)
    assert (ctx.x[0], ctx.x[8], ctx.pc) == (0x33, NR_RESTART_SYSCALL, 0x40_0100)


def test_writing_only_the_integer_registers_keeps_the_fpsimd_state():
    ctx = UserContext(bytearray(SAVED_SIZE))
    regs = ctx.read_regs()
    regs.v[3], regs.fpsr = 99, 0x10
    ctx.write_regs(regs)
    regs.v[3], regs.fpsr, regs.x[5] = 0, 0, 42
    ctx.write_regs(regs, fpsimd=False)
    back = ctx.read_regs()
    assert (back.v[3], back.fpsr, back.x[5]) == (99, 0x10, 42)
