"""The arm64 signal frame, byte for byte as Linux builds it (arch/arm64/kernel/signal.c).

Pure packing and parsing: nothing here touches a task or an address space. The layout
(arch/arm64/include/uapi/asm/{sigcontext,ucontext}.h, include/uapi/asm-generic/siginfo.h):

    struct rt_sigframe {                  sizeof 4688
        siginfo_t info;                   @0      128 bytes
        struct ucontext uc;               @128    4560 bytes
    };
    struct ucontext {
        u64 uc_flags;                     @0
        struct ucontext *uc_link;         @8
        stack_t uc_stack;                 @16     {ss_sp u64, ss_flags i32 + pad, ss_size u64}
        sigset_t uc_sigmask;              @40     8 bytes, then 120 unused (glibc's 1024-bit set)
        struct sigcontext uc_mcontext;    @176    aligned 16
    };
    struct sigcontext {                   sizeof 4384
        u64 fault_address;                @0
        u64 regs[31];                     @8
        u64 sp, pc, pstate;               @256, @264, @272
        u8 __reserved[4096];              @288    aligned 16: records {u32 magic, u32 size, ...}
    };

__reserved holds, in order: the fpsimd_context (magic 0x46508001, 528 bytes: fpsr u32,
fpcr u32, vregs[32] u128 at +16), an esr_context (0x45535201, 16 bytes) when the signal
comes from a fault with a syndrome, and the terminator {0, 0}.

get_sigframe(): below the interrupted sp (or the top of the alternate stack) sits a
16-byte `struct frame_record {fp, lr}` at round_down(sp - 16, 16); the rt_sigframe is
round_up(sizeof(struct rt_sigframe), 16) bytes below that. The handler gets sp = the
frame, x29 = &frame_record, x30 = the restorer, x0 = signo, and with SA_SIGINFO
x1 = &info, x2 = &uc.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .context import UserRegs

if TYPE_CHECKING:
    from moss_host.proc.signals import SigInfo

# -- sizes and offsets (checked against the headers by tests/unit/test_sigframe.py) -------------
SIGINFO_SIZE = 128
SIGSET_SIZE = 8                     # the kernel's sigset_t on arm64: 64 signals
UC_OFFSET = SIGINFO_SIZE            # offsetof(struct rt_sigframe, uc)
UC_FLAGS = 0
UC_LINK = 8
UC_STACK = 16
STACK_T_SIZE = 24
UC_SIGMASK = 40
UC_MCONTEXT = 176
SC_FAULT_ADDRESS = 0
SC_REGS = 8
SC_SP = 256
SC_PC = 264
SC_PSTATE = 272
SC_RESERVED = 288
RESERVED_SIZE = 4096
SIGCONTEXT_SIZE = SC_RESERVED + RESERVED_SIZE            # 4384
UCONTEXT_SIZE = UC_MCONTEXT + SIGCONTEXT_SIZE            # 4560
RT_SIGFRAME_SIZE = SIGINFO_SIZE + UCONTEXT_SIZE          # 4688
FRAME_RECORD_SIZE = 16
# Linux's signal_minsigstksz (minsigstksz_setup(), announced as AT_MINSIGSTKSZ) for a CPU
# with FP/SIMD and neither SVE nor SME: sigframe_size() = round_up(sizeof(struct
# rt_sigframe), 16), plus round_up(sizeof(struct frame_record), 16), plus 16 of alignment.
SIGNAL_MINSIGSTKSZ = ((RT_SIGFRAME_SIZE + 15) & ~15) + FRAME_RECORD_SIZE + 16      # 4720

FPSIMD_MAGIC = 0x46508001
FPSIMD_SIZE = 528
ESR_MAGIC = 0x45535201
ESR_SIZE = 16
EXTRA_MAGIC = 0x45585401
SVE_MAGIC = 0x53564501
CTX_HEAD_SIZE = 8

# Offsets inside the whole frame (from its base, the handler's sp).
FRAME_UC = UC_OFFSET
FRAME_SIGMASK = UC_OFFSET + UC_SIGMASK
FRAME_STACK = UC_OFFSET + UC_STACK
FRAME_MCONTEXT = UC_OFFSET + UC_MCONTEXT
FRAME_RESERVED = FRAME_MCONTEXT + SC_RESERVED

# PSTATE (arch/arm64/include/uapi/asm/ptrace.h)
PSR_MODE_MASK = 0x0000000F
PSR_MODE32_BIT = 0x00000010
PSR_F_BIT = 0x00000040
PSR_I_BIT = 0x00000080
PSR_A_BIT = 0x00000100
PSR_D_BIT = 0x00000200
PSR_BTYPE_MASK = 0x00000C00
PSR_TCO_BIT = 0x02000000
PSR_NZCV = 0xF0000000
# arch/arm64/include/asm/ptrace.h: SPSR_EL1_AARCH64_RES0_BITS (Linux 6.1)
SPSR_RES0 = (0xFFFFFFFF_00000000 | (0b11 << 26) | (0b11 << 22) | (0xFF << 13) | (1 << 5))

_U64 = struct.Struct("<Q")
_HEAD = struct.Struct("<II")
STACK_T = struct.Struct("<QIIQ")           # stack_t: ss_sp, ss_flags (an int, kept unsigned here), pad, ss_size
_SC_REGS = struct.Struct("<Q31QQQQ")       # fault_address, regs[31], sp, pc, pstate


class BadFrame(Exception):
    """rt_sigreturn found a frame Linux would refuse (the task gets SIGSEGV)."""


# -- siginfo_t -----------------------------------------------------------------------------------

# si_code values that decide which union member siginfo_t carries (kernel/signal.c siginfo_layout)
SI_USER, SI_KERNEL, SI_QUEUE, SI_TIMER, SI_MESGQ, SI_ASYNCIO, SI_SIGIO, SI_TKILL = 0, 0x80, -1, -2, -3, -4, -5, -6
_FAULT_LIMITS = {4: 11, 8: 15, 11: 9, 7: 5, 5: 6}    # SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGTRAP: NSIG*
SIGCHLD_NO, SIGPOLL_NO, SIGSYS_NO = 17, 29, 31


def siginfo_layout(signo: int, code: int) -> str:
    """"kill", "fault", "chld", "poll", "sys", "timer" or "rt", as Linux's siginfo_layout()."""
    if SI_USER < code < SI_KERNEL:
        if signo in _FAULT_LIMITS and code <= _FAULT_LIMITS[signo]:
            return "fault"
        if signo == SIGCHLD_NO and code <= 6:
            return "chld"
        if signo == SIGPOLL_NO and code <= 6:
            return "poll"
        if signo == SIGSYS_NO and code <= 1:
            return "sys"
        if code <= 6:
            return "poll"
        return "kill"
    if code == SI_TIMER:
        return "timer"
    if code == SI_SIGIO:
        return "poll"
    if code < 0:
        return "rt"
    return "kill"


def pack_siginfo(info: SigInfo) -> bytes:
    """The 128-byte siginfo_t of a SigInfo (zeroes where its layout has no field)."""
    if info.raw is not None:                     # rt_sigqueueinfo: the caller's bytes, signo ours
        out = bytearray(info.raw[:SIGINFO_SIZE].ljust(SIGINFO_SIZE, b"\0"))
        struct.pack_into("<i", out, 0, info.signo)
        return bytes(out)
    out = bytearray(SIGINFO_SIZE)
    struct.pack_into("<iii", out, 0, info.signo, info.errno, info.code)
    kind = siginfo_layout(info.signo, info.code)
    if kind == "fault":
        struct.pack_into("<Q", out, 16, info.addr)
    elif kind == "chld":
        struct.pack_into("<iIiiqq", out, 16, info.pid, info.uid, info.status, 0, info.utime, info.stime)
    elif kind == "timer":
        struct.pack_into("<iiQ", out, 16, info.pid, info.overrun, info.value)   # si_tid, si_overrun, si_value
    elif kind == "rt":
        struct.pack_into("<iIQ", out, 16, info.pid, info.uid, info.value)
    elif kind == "poll":
        struct.pack_into("<qi", out, 16, info.value, info.status)       # si_band, si_fd
    elif kind == "sys":
        struct.pack_into("<QiI", out, 16, info.addr, info.status, 0xC00000B7)
    else:
        struct.pack_into("<iI", out, 16, info.pid, info.uid)
    return bytes(out)


# -- building a frame ----------------------------------------------------------------------------

@dataclass(frozen=True)
class FramePlace:
    frame: int           # rt_sigframe: the handler's sp
    record: int          # struct frame_record {fp, lr}: the handler's x29
    top: int             # the sp the frame was placed below


def place_frame(sp_top: int) -> FramePlace:
    """get_sigframe(): where the frame record and the rt_sigframe go below sp_top."""
    record = (sp_top - FRAME_RECORD_SIZE) & ~15
    frame = (record & ~15) - ((RT_SIGFRAME_SIZE + 15) & ~15)
    return FramePlace(frame, record, sp_top)


def pack_ucontext(regs: UserRegs, mask: int, stack: tuple[int, int, int], fault_address: int = 0,
                  esr: int | None = None) -> bytes:
    """struct ucontext up to and including the terminator record (the rest is untouched).

    stack is the (ss_sp, ss_flags, ss_size) saved in uc_stack; esr adds an esr_context.
    """
    ss_sp, ss_flags, ss_size = stack
    records = _HEAD.pack(FPSIMD_MAGIC, FPSIMD_SIZE) + struct.pack("<II", regs.fpsr & 0xFFFF_FFFF,
                                                                   regs.fpcr & 0xFFFF_FFFF)
    records += b"".join(v.to_bytes(16, "little") for v in regs.v)
    if esr is not None:
        records += _HEAD.pack(ESR_MAGIC, ESR_SIZE) + _U64.pack(esr)
    records += _HEAD.pack(0, 0)
    out = bytearray(UC_MCONTEXT + SC_RESERVED + len(records))
    struct.pack_into("<QQ", out, UC_FLAGS, 0, 0)
    STACK_T.pack_into(out, UC_STACK, ss_sp, ss_flags & 0xFFFF_FFFF, 0, ss_size)
    _U64.pack_into(out, UC_SIGMASK, mask)
    _SC_REGS.pack_into(out, UC_MCONTEXT, fault_address, *regs.x, regs.sp, regs.pc, regs.pstate)
    out[UC_MCONTEXT + SC_RESERVED:] = records
    return bytes(out)


# -- reading a frame back (rt_sigreturn) ---------------------------------------------------------

def valid_user_pstate(pstate: int) -> tuple[int, bool]:
    """valid_native_regs(): (the pstate to use, whether it was acceptable as given).

    RES0 bits are cleared; a pstate that is not EL0t AArch64 with D, A, I, F clear is
    forced to EL0t keeping only NZCV, and the frame counts as bad.
    """
    pstate &= ~SPSR_RES0 & 0xFFFF_FFFF_FFFF_FFFF
    if (pstate & PSR_MODE_MASK) == 0 and not pstate & (PSR_MODE32_BIT | PSR_D_BIT | PSR_A_BIT
                                                       | PSR_I_BIT | PSR_F_BIT):
        return pstate, True
    return pstate & PSR_NZCV, False


def unpack_ucontext(uc: bytes) -> tuple[UserRegs, int, tuple[int, int, int]]:
    """(registers, uc_sigmask, uc_stack) from a ucontext written by user space; BadFrame
    for what restore_sigframe()/parse_user_sigframe() reject."""
    if len(uc) < UCONTEXT_SIZE:
        raise BadFrame("short ucontext")
    mask = _U64.unpack_from(uc, UC_SIGMASK)[0]
    ss_sp, ss_flags, _, ss_size = STACK_T.unpack_from(uc, UC_STACK)
    fields = _SC_REGS.unpack_from(uc, UC_MCONTEXT)
    regs = UserRegs(list(fields[1:32]), fields[32], fields[33], fields[34])
    regs.pstate, ok = valid_user_pstate(regs.pstate)
    if not ok:
        raise BadFrame(f"pstate {fields[34]:#x} is not EL0t")
    fpsimd = None
    base = UC_MCONTEXT + SC_RESERVED
    offset, limit = 0, RESERVED_SIZE
    while True:
        if limit - offset < CTX_HEAD_SIZE or offset % 16:
            raise BadFrame("record outside __reserved")
        magic, size = _HEAD.unpack_from(uc, base + offset)
        if limit - offset < size:
            raise BadFrame("record overruns __reserved")
        if magic == 0:
            if size:
                raise BadFrame("terminator with a size")
            break
        if magic == FPSIMD_MAGIC:
            if fpsimd is not None or size < FPSIMD_SIZE:
                raise BadFrame("bad fpsimd_context")
            fpsimd = base + offset
        elif magic != ESR_MAGIC:
            raise BadFrame(f"unknown record {magic:#x}")
        if size < CTX_HEAD_SIZE:
            raise BadFrame("record smaller than its head")
        offset += size
    if fpsimd is None:
        raise BadFrame("no fpsimd_context")
    if _HEAD.unpack_from(uc, fpsimd)[1] != FPSIMD_SIZE:
        raise BadFrame("fpsimd_context of the wrong size")
    regs.fpsr, regs.fpcr = struct.unpack_from("<II", uc, fpsimd + 8)
    halves = struct.unpack_from("<64Q", uc, fpsimd + 16)
    regs.v = [halves[2 * i] | halves[2 * i + 1] << 64 for i in range(32)]
    return regs, mask, (ss_sp, ss_flags, ss_size)
