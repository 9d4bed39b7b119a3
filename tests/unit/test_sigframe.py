"""Signal-frame packing against the Linux uapi headers, without QEMU.

The offsets and sizes come from the cross toolchain's copies of Linux's uapi headers
(asm/sigcontext.h, asm/ucontext.h, asm/siginfo.h, asm/signal.h): a small C file is
compiled (not run) and the values are read back from its object file.
"""
import shutil
import struct
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from moss_host.machine import layout as L
from moss_host.machine.mailbox import CONTEXT_SIZE
from moss_host.proc import sigframe as F
from moss_host.proc import signals as S
from moss_host.proc.signals import SigInfo

CC = "aarch64-linux-gnu-gcc"

OFFSETS_C = r"""
#include <stddef.h>
#include <asm/signal.h>
#include <asm/siginfo.h>
#include <asm/sigcontext.h>
#include <asm/ucontext.h>
struct rt_sigframe { struct siginfo info; struct ucontext uc; };
#define E(name, v) __attribute__((used, section(".offsets"))) const unsigned long off_##name = (v);
E(rt_sigframe_size, sizeof(struct rt_sigframe))
E(uc, offsetof(struct rt_sigframe, uc))
E(uc_stack, offsetof(struct ucontext, uc_stack))
E(uc_sigmask, offsetof(struct ucontext, uc_sigmask))
E(uc_mcontext, offsetof(struct ucontext, uc_mcontext))
E(ucontext_size, sizeof(struct ucontext))
E(sigcontext_size, sizeof(struct sigcontext))
E(sc_regs, offsetof(struct sigcontext, regs))
E(sc_sp, offsetof(struct sigcontext, sp))
E(sc_pc, offsetof(struct sigcontext, pc))
E(sc_pstate, offsetof(struct sigcontext, pstate))
E(sc_reserved, offsetof(struct sigcontext, __reserved))
E(fpsimd_size, sizeof(struct fpsimd_context))
E(fpsimd_vregs, offsetof(struct fpsimd_context, vregs))
E(esr_size, sizeof(struct esr_context))
E(stack_t_size, sizeof(stack_t))
E(ss_flags, offsetof(stack_t, ss_flags))
E(ss_size, offsetof(stack_t, ss_size))
E(si_addr, offsetof(struct siginfo, si_addr))
E(si_pid, offsetof(struct siginfo, si_pid))
E(si_status, offsetof(struct siginfo, si_status))
E(si_value, offsetof(struct siginfo, si_value))
E(siginfo_size, sizeof(struct siginfo))
E(sigaction_size, sizeof(struct sigaction))
E(sa_flags, offsetof(struct sigaction, sa_flags))
E(sa_restorer, offsetof(struct sigaction, sa_restorer))
E(sa_mask, offsetof(struct sigaction, sa_mask))
E(minsigstksz, MINSIGSTKSZ)
E(sa_restorer_flag, SA_RESTORER)
E(sa_onstack, SA_ONSTACK)
E(sa_restart, SA_RESTART)
E(sa_nodefer, SA_NODEFER)
E(sa_resethand, SA_RESETHAND)
E(sa_siginfo, SA_SIGINFO)
E(fpsimd_magic, FPSIMD_MAGIC)
E(esr_magic, ESR_MAGIC)
"""


@pytest.fixture(scope="module")
def header():
    """name -> value, as the compiler computes them from the Linux headers."""
    if shutil.which(CC) is None:
        pytest.skip(f"{CC} is not installed (scripts/setup.sh installs it)")
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        src, obj = Path(d) / "off.c", Path(d) / "off.o"
        src.write_text(OFFSETS_C)
        subprocess.run([CC, "-c", "-o", str(obj), str(src)], check=True)
        with obj.open("rb") as f:
            elf = ELFFile(f)
            data = elf.get_section_by_name(".offsets").data()
            index = elf.get_section_index(".offsets")
            return {sym.name[4:]: struct.unpack_from("<Q", data, sym["st_value"])[0]
                    for sym in elf.get_section_by_name(".symtab").iter_symbols()
                    if sym.name.startswith("off_") and sym["st_shndx"] == index}


def test_frame_layout_matches_the_linux_headers(header):
    assert header["rt_sigframe_size"] == F.RT_SIGFRAME_SIZE == 4688
    assert header["uc"] == F.UC_OFFSET
    assert header["uc_stack"] == F.UC_STACK
    assert header["uc_sigmask"] == F.UC_SIGMASK
    assert header["uc_mcontext"] == F.UC_MCONTEXT
    assert header["ucontext_size"] == F.UCONTEXT_SIZE
    assert header["sigcontext_size"] == F.SIGCONTEXT_SIZE
    assert header["sc_regs"] == F.SC_REGS
    assert header["sc_sp"] == F.SC_SP
    assert header["sc_pc"] == F.SC_PC
    assert header["sc_pstate"] == F.SC_PSTATE
    assert header["sc_reserved"] == F.SC_RESERVED
    assert header["fpsimd_size"] == F.FPSIMD_SIZE
    assert header["fpsimd_vregs"] == 16
    assert header["esr_size"] == F.ESR_SIZE
    assert header["stack_t_size"] == F.STACK_T_SIZE
    assert (header["ss_flags"], header["ss_size"]) == (8, 16)
    assert header["fpsimd_magic"] == F.FPSIMD_MAGIC and header["esr_magic"] == F.ESR_MAGIC


def test_siginfo_and_sigaction_layouts_match_the_linux_headers(header):
    assert header["siginfo_size"] == F.SIGINFO_SIZE
    assert (header["si_addr"], header["si_pid"], header["si_status"], header["si_value"]) == (16, 16, 24, 24)
    assert header["sigaction_size"] == 32
    assert (header["sa_flags"], header["sa_restorer"], header["sa_mask"]) == (8, 16, 24)


def test_flag_values_match_the_linux_headers(header):
    assert header["minsigstksz"] == S.MINSIGSTKSZ
    assert header["sa_restorer_flag"] == S.SA_RESTORER
    assert header["sa_onstack"] == S.SA_ONSTACK
    assert header["sa_restart"] == S.SA_RESTART
    assert header["sa_nodefer"] == S.SA_NODEFER
    assert header["sa_resethand"] == S.SA_RESETHAND
    assert header["sa_siginfo"] == S.SA_SIGINFO


def sample_regs() -> F.UserRegs:
    return F.UserRegs(x=[0x1000 + i for i in range(31)], sp=0xFFFF_FFFF_E000, pc=0x400123, pstate=0x6000_0000,
                      fpsr=0x11, fpcr=0x0300_0000, v=[(i + 1) * 0x0101_0101_0101_0101_0202_0202_0202_0202 for i in range(32)])


def test_frame_is_placed_below_a_frame_record_like_get_sigframe():
    place = F.place_frame(0x7000_0008)
    assert place.record == 0x6FFF_FFF0                  # round_down(sp - 16, 16)
    assert place.frame == place.record - 4688           # 4688 is already a multiple of 16
    assert place.frame % 16 == 0


def test_ucontext_holds_registers_mask_stack_and_records_where_linux_puts_them():
    regs = sample_regs()
    uc = F.pack_ucontext(regs, mask=0x8000_0001, stack=(0x1234000, 0, 65536), fault_address=0xdead, esr=0x9200_0046)
    assert struct.unpack_from("<QQ", uc, 0) == (0, 0)
    assert struct.unpack_from("<QIIQ", uc, F.UC_STACK) == (0x1234000, 0, 0, 65536)
    assert struct.unpack_from("<Q", uc, F.UC_SIGMASK)[0] == 0x8000_0001
    mc = F.UC_MCONTEXT
    assert struct.unpack_from("<Q", uc, mc)[0] == 0xdead
    assert list(struct.unpack_from("<31Q", uc, mc + F.SC_REGS)) == regs.x
    assert struct.unpack_from("<3Q", uc, mc + F.SC_SP) == (regs.sp, regs.pc, regs.pstate)
    rec = mc + F.SC_RESERVED
    assert struct.unpack_from("<IIII", uc, rec) == (F.FPSIMD_MAGIC, 528, 0x11, 0x0300_0000)
    assert int.from_bytes(uc[rec + 16 + 16 * 5:rec + 16 + 16 * 6], "little") == regs.v[5]
    assert struct.unpack_from("<IIQ", uc, rec + 528) == (F.ESR_MAGIC, 16, 0x9200_0046)
    assert struct.unpack_from("<II", uc, rec + 544) == (0, 0)
    assert len(uc) == rec + 552


def test_sigreturn_reads_back_what_delivery_wrote():
    regs = sample_regs()
    uc = F.pack_ucontext(regs, 0x5, (0, S.SS_DISABLE, 0)).ljust(F.UCONTEXT_SIZE, b"\0")
    back, mask, stack = F.unpack_ucontext(uc)
    assert back == regs and mask == 0x5 and stack == (0, S.SS_DISABLE, 0)


def _uc_with(pstate=0x6000_0000, records=None):
    regs = sample_regs()
    regs.pstate = pstate
    uc = bytearray(F.pack_ucontext(regs, 0, (0, 2, 0)).ljust(F.UCONTEXT_SIZE, b"\0"))
    if records is not None:
        base = F.UC_MCONTEXT + F.SC_RESERVED
        uc[base:base + len(records)] = records
    return bytes(uc)


@pytest.mark.parametrize("pstate", [0x5, 0x4, 0x10, 0x3C0, 0x80])   # EL1h, EL1t, AArch32, DAIF, I
def test_sigreturn_refuses_a_pstate_that_is_not_el0(pstate):
    with pytest.raises(F.BadFrame):
        F.unpack_ucontext(_uc_with(pstate=pstate))


def test_sigreturn_clears_res0_pstate_bits_and_keeps_the_flags():
    pstate, ok = F.valid_user_pstate(0xF000_0000 | 1 << 20 | 1 << 40)
    assert ok and pstate == 0xF000_0000


@pytest.mark.parametrize("records", [
    struct.pack("<II", 0, 0),                                    # no fpsimd_context
    struct.pack("<II", 0x12345678, 16) + bytes(8),               # unknown record
    struct.pack("<II", F.FPSIMD_MAGIC, 512) + bytes(504),        # fpsimd_context too small
    struct.pack("<II", 0, 8),                                    # terminator with a size
    struct.pack("<II", F.ESR_MAGIC, 4),                          # record smaller than its head
])
def test_sigreturn_refuses_bad_records(records):
    with pytest.raises(F.BadFrame):
        F.unpack_ucontext(_uc_with(records=records))


def test_registers_round_trip_through_saved_contexts_and_the_mailbox():
    regs = sample_regs()
    saved = bytearray(CONTEXT_SIZE)
    F.write_regs(saved, regs)
    assert F.read_regs(saved) == regs
    assert int.from_bytes(saved[L.MB_CONTEXT_END:L.MB_CONTEXT_END + 16], "little") == regs.v[0]
    live = bytearray(L.MAILBOX_SIZE)
    F.write_regs(live, regs)
    assert F.read_regs(live) == regs
    assert int.from_bytes(live[L.MB_Q0 + 16 * 31:L.MB_Q0 + 16 * 32], "little") == regs.v[31]


def test_siginfo_packs_each_layout():
    fault = F.pack_siginfo(SigInfo(S.SIGSEGV, S.SEGV_ACCERR, addr=0xABCDEF))
    assert struct.unpack_from("<iii", fault) == (S.SIGSEGV, 0, S.SEGV_ACCERR)
    assert struct.unpack_from("<Q", fault, 16)[0] == 0xABCDEF
    chld = F.pack_siginfo(SigInfo(S.SIGCHLD, S.CLD_EXITED, pid=42, uid=7, status=3, utime=5, stime=6))
    assert struct.unpack_from("<iIi", chld, 16) == (42, 7, 3)
    assert struct.unpack_from("<qq", chld, 32) == (5, 6)
    queued = F.pack_siginfo(SigInfo(S.SIGUSR1, S.SI_QUEUE, pid=9, uid=1, value=0x1122))
    assert struct.unpack_from("<iIQ", queued, 16) == (9, 1, 0x1122)
    user = F.pack_siginfo(SigInfo(S.SIGTERM, S.SI_USER, pid=5, uid=0, addr=0x999))
    assert struct.unpack_from("<iIQ", user, 16) == (5, 0, 0)       # kill layout: no si_addr
    raw = F.pack_siginfo(SigInfo(S.SIGUSR2, -1, raw=bytes(range(128))))
    assert raw[:4] == struct.pack("<i", S.SIGUSR2) and raw[4:] == bytes(range(4, 128))


def test_siginfo_layout_follows_signal_and_code():
    assert F.siginfo_layout(S.SIGSEGV, S.SEGV_MAPERR) == "fault"
    assert F.siginfo_layout(S.SIGSEGV, S.SI_USER) == "kill"
    assert F.siginfo_layout(S.SIGCHLD, S.CLD_STOPPED) == "chld"
    assert F.siginfo_layout(S.SIGUSR1, S.SI_TKILL) == "rt"
    assert F.siginfo_layout(S.SIGALRM, S.SI_TIMER) == "timer"
    assert F.siginfo_layout(S.SIGTRAP, S.SI_KERNEL) == "kill"
