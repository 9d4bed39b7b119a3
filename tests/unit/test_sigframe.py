"""Signal-frame packing against the Linux uapi headers, and delivery decisions, without QEMU.

The offsets and sizes come from the cross toolchain's copies of Linux's uapi headers
(asm/sigcontext.h, asm/ucontext.h, asm/siginfo.h, asm/signal.h): a small C file is
compiled (not run) and the values are read back from its object file.
"""
import shutil
import struct
import subprocess
from types import SimpleNamespace

import pytest
from elftools.elf.elffile import ELFFile

from moss_host.errors import EINTR, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS
from moss_host.machine import layout as L
from moss_host.arch.arm64 import sigframe as F
from moss_host.arch.arm64.context import (NR_RESTART_SYSCALL, OFF_Q0, SAVED_Q0, SAVED_SIZE, TrapContext,
                                          UserContext, UserRegs, new_saved)
from moss_host.proc import signals as S
from moss_host.proc.signals import SigInfo
from moss_host.proc.pidtable import PidTable
from moss_host.proc.task import State, Task, TaskExit, ThreadGroup
from moss_host.sched.scheduler import Scheduler
from tests.covers import covers
from tests.unit.fakes import FakeMm

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


def sample_regs() -> UserRegs:
    return UserRegs(x=[0x1000 + i for i in range(31)], sp=0xFFFF_FFFF_E000, pc=0x400123, pstate=0x6000_0000,
                      fpsr=0x11, fpcr=0x0300_0000,
                      v=[(i + 1) * 0x0101_0101_0101_0101_0202_0202_0202_0202 for i in range(32)])


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
    saved = bytearray(SAVED_SIZE)
    UserContext(saved).write_regs(regs)
    assert UserContext(saved).read_regs() == regs
    assert int.from_bytes(saved[SAVED_Q0:SAVED_Q0 + 16], "little") == regs.v[0]
    live = bytearray(L.MAILBOX_SIZE)
    TrapContext(live).write_regs(regs)
    assert TrapContext(live).read_regs() == regs
    assert int.from_bytes(live[OFF_Q0 + 16 * 31:OFF_Q0 + 16 * 32], "little") == regs.v[31]


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


# -- delivery: do_signal's decisions on a task with a saved context (no QEMU) ------------------

STACK_LO, STACK_HI = 0x7000_0000, 0x7001_0000
HANDLER, RESTORER, PC, SP = 0x40_1000, 0x40_2000, 0x40_0500, 0x7000_F000


def make_task(tgid=2, x0=0, parent=None):
    sched = Scheduler()
    sched.add_cpu(SimpleNamespace(index=0, trapped=True, current=None, schedule=lambda: None, kick=lambda: None))
    kernel = SimpleNamespace(pids=PidTable(), sched=sched, tracer=None)
    task = Task(tid=tgid, group=ThreadGroup(tgid, parent=parent), mm=FakeMm(STACK_LO, STACK_HI - STACK_LO), fs=None,
                files=None, kernel=kernel, comm=b"t")
    task.context = new_saved(PC, SP)
    UserContext(task.context).x[0] = x0
    kernel.pids.add(task)
    return task


def handle(task, signo, flags=0, mask=0):
    a = S.action(task, signo)
    a.handler, a.flags, a.mask, a.restorer = HANDLER, flags | S.SA_RESTORER, mask, RESTORER


def interrupted(task, code, orig=0x33):
    UserContext(task.context).x[0] = -code
    task.restart = orig


def live(task):
    return UserContext(task.context).read_regs()


def saved_frame(task):
    regs = live(task)
    back, mask, stack = F.unpack_ucontext(task.mm.read(regs.sp + F.FRAME_UC, F.UCONTEXT_SIZE))
    return regs, back, mask


def test_handler_gets_signo_frame_record_and_restorer():
    t = make_task()
    handle(t, S.SIGUSR1, S.SA_SIGINFO)
    S.send_signal(t, S.SIGUSR1)
    S.deliver_pending(t)
    regs, back, mask = saved_frame(t)
    place = F.place_frame(SP)
    assert (regs.pc, regs.sp, regs.x[29], regs.x[30]) == (HANDLER, place.frame, place.record, RESTORER)
    assert (regs.x[0], regs.x[1], regs.x[2]) == (S.SIGUSR1, place.frame, place.frame + F.FRAME_UC)
    assert back.pc == PC and back.sp == SP and mask == 0
    assert t.blocked == S.bit(S.SIGUSR1)


@pytest.mark.parametrize("code,flags,restarts", [
    (ERESTARTSYS, 0, False), (ERESTARTSYS, S.SA_RESTART, True), (ERESTARTNOHAND, S.SA_RESTART, False),
    (ERESTARTNOINTR, 0, True),
])
def test_interrupted_syscall_restarts_or_fails_with_eintr_when_a_handler_runs(code, flags, restarts):
    t = make_task()
    handle(t, S.SIGUSR1, flags)
    interrupted(t, code)
    S.send_signal(t, S.SIGUSR1)
    S.deliver_pending(t)
    _, back, _ = saved_frame(t)
    if restarts:
        assert (back.x[0], back.pc) == (0x33, PC - 4)
    else:
        assert (back.x[0], back.pc) == ((-EINTR) & (1 << 64) - 1, PC)


def test_interrupted_syscall_restarts_when_no_handler_runs():
    t = make_task()
    interrupted(t, ERESTARTNOHAND)
    S.send_signal(t, S.SIGWINCH)                    # ignored by default
    S.deliver_pending(t)
    regs = live(t)
    assert (regs.x[0], regs.pc, t.restart) == (0x33, PC - 4, None)


def test_sigsuspend_frame_holds_the_saved_mask_which_comes_back_after():
    t = make_task()
    handle(t, S.SIGUSR1)
    t.saved_blocked, t.blocked = S.bit(S.SIGUSR1) | S.bit(S.SIGHUP), 0
    S.send_signal(t, S.SIGUSR1)
    interrupted(t, ERESTARTNOHAND)
    S.deliver_pending(t)
    _, back, mask = saved_frame(t)
    assert mask == S.bit(S.SIGUSR1) | S.bit(S.SIGHUP) and t.saved_blocked is None
    assert back.x[0] == (-EINTR) & (1 << 64) - 1
    assert S.restore_frame(t) == back.x[0] and t.blocked == mask


def test_sigreturn_restores_everything_the_frame_saved():
    t = make_task()
    ctx = UserContext(t.context)
    for i in range(31):
        ctx.x[i] = 0x100 + i
    before = live(t)
    handle(t, S.SIGUSR2, mask=S.bit(S.SIGTERM))
    S.send_signal(t, S.SIGUSR2)
    S.deliver_pending(t)
    assert t.blocked == S.bit(S.SIGUSR2) | S.bit(S.SIGTERM)
    assert S.restore_frame(t) == 0x100
    assert live(t) == before and t.blocked == 0


def test_resethand_and_nodefer():
    t = make_task()
    handle(t, S.SIGUSR1, S.SA_RESETHAND | S.SA_NODEFER)
    S.send_signal(t, S.SIGUSR1)
    S.deliver_pending(t)
    assert live(t).pc == HANDLER and t.blocked == 0
    assert S.action(t, S.SIGUSR1).handler == S.SIG_DFL


def test_standard_signals_coalesce_and_realtime_ones_queue():
    t = make_task()
    t.blocked = S.bit(S.SIGUSR1) | S.bit(S.SIGRTMIN)
    for _ in range(3):
        S.send_signal(t, S.SIGUSR1)
        S.send_signal(t, S.SIGRTMIN, S.SigInfo(S.SIGRTMIN, S.SI_QUEUE))
    assert len(t.group.shared_siginfo[S.SIGUSR1]) == 1 and len(t.group.shared_siginfo[S.SIGRTMIN]) == 3
    assert S.dequeue(t, S.bit(S.SIGRTMIN))[0] == S.SIGRTMIN and S.pending(t) & S.bit(S.SIGRTMIN)


def test_faults_are_dequeued_first():
    t = make_task()
    t.blocked = -1 & ~S.UNCATCHABLE
    S.send_signal(t, S.SIGHUP)
    S.send_signal(t, S.SIGSEGV)
    assert S.dequeue(t, ~0)[0] == S.SIGSEGV


# SIGQUIT dumps core by default, but RLIMIT_CORE's default soft limit of 0 allows none: no flag
@pytest.mark.parametrize("signo,status", [(S.SIGTERM, S.SIGTERM), (S.SIGQUIT, S.SIGQUIT)])
def test_default_action_terminates(signo, status):
    t = make_task()
    S.send_signal(t, signo)
    with pytest.raises(TaskExit) as e:
        S.deliver_pending(t)
    assert e.value.status == status


def test_blocked_fault_signal_is_unblocked_reset_and_kills():
    t = make_task()
    handle(t, S.SIGSEGV)
    t.blocked = S.bit(S.SIGSEGV)
    S.force_signal(t, S.SIGSEGV, S.SEGV_MAPERR, 0)
    assert t.blocked == 0 and S.action(t, S.SIGSEGV).handler == S.SIG_DFL
    with pytest.raises(TaskExit):
        S.deliver_pending(t)


def test_unwritable_frame_forces_sigsegv():
    t = make_task()
    t.mm = FakeMm(0x1000, 0x1000)                   # the stack is not there
    handle(t, S.SIGUSR1)
    S.send_signal(t, S.SIGUSR1)
    with pytest.raises(TaskExit) as e:
        S.deliver_pending(t)
    assert e.value.status & 0x7F == S.SIGSEGV


def test_init_ignores_default_actions_but_not_forced_faults():
    init = make_task(tgid=1)
    S.send_signal(init, S.SIGTERM)
    S.send_signal(init, S.SIGKILL)
    assert S.pending(init) == 0
    S.force_signal(init, S.SIGSEGV, S.SEGV_MAPERR, 0)
    with pytest.raises(TaskExit):
        S.deliver_pending(init)


def test_stop_reports_to_the_parent_and_keeps_the_restart_for_later():
    parent = make_task(tgid=1)
    a = S.action(parent, S.SIGCHLD)
    a.handler = HANDLER
    child = make_task(tgid=2, parent=parent)
    child.kernel = parent.kernel
    interrupted(child, ERESTARTSYS)
    S.send_signal(child, S.SIGSTOP)
    S.deliver_pending(child)
    assert child.state is State.STOPPED and child.group.wait_report == ("stopped", S.SIGSTOP)
    assert child.restart == 0x33 and live(child).pc == PC
    assert parent.group.shared_siginfo[S.SIGCHLD][0].code == S.CLD_STOPPED
    S.send_signal(child, S.SIGCONT)
    assert child.state is State.RUNNABLE and child.group.wait_report == ("continued", S.SIGCONT)
    assert [i.code for i in parent.group.shared_siginfo[S.SIGCHLD]] == [S.CLD_STOPPED]   # coalesced
    S.deliver_pending(child)
    assert (live(child).x[0], live(child).pc) == (0x33, PC - 4)


def test_sa_nocldstop_silences_stop_reports():
    parent = make_task(tgid=1)
    a = S.action(parent, S.SIGCHLD)
    a.handler, a.flags = HANDLER, S.SA_NOCLDSTOP
    child = make_task(tgid=2, parent=parent)
    child.kernel = parent.kernel
    S.send_signal(child, S.SIGSTOP)
    S.deliver_pending(child)
    assert child.state is State.STOPPED and not S.pending(parent)


def test_altstack_rules():
    t = make_task()
    assert S.set_altstack(t, (STACK_LO, 0, 5119), SP) == -12          # ENOMEM
    assert S.set_altstack(t, (STACK_LO, 4, 8192), SP) == -22          # EINVAL
    assert S.set_altstack(t, (STACK_LO, 0, 0x8000), SP) == 0
    assert S.sas_ss_flags(t, STACK_LO + 0x100) == S.SS_ONSTACK
    assert S.set_altstack(t, (0, S.SS_DISABLE, 0), STACK_LO + 0x100) == -1   # EPERM on it
    handle(t, S.SIGUSR1, S.SA_ONSTACK)
    S.send_signal(t, S.SIGUSR1)
    S.deliver_pending(t)
    assert live(t).x[29] == F.place_frame(STACK_LO + 0x8000).record


def test_exec_keeps_ignored_signals_resets_caught_ones_and_drops_the_altstack():
    t = make_task()
    handle(t, S.SIGUSR1, S.SA_RESTART, mask=S.bit(S.SIGHUP))
    ign = S.action(t, S.SIGCHLD)
    ign.handler, ign.flags = S.SIG_IGN, S.SA_NOCLDWAIT
    t.altstack, t.blocked = (STACK_LO, 0, 0x8000), S.bit(S.SIGTERM)
    t.sigpending = S.bit(S.SIGTERM)
    S.exec_reset(t)
    assert S.action(t, S.SIGUSR1) == S.SigAction()
    assert (ign.handler, ign.flags) == (S.SIG_IGN, 0)
    assert t.altstack == (0, S.SS_DISABLE, 0)
    assert t.blocked == S.bit(S.SIGTERM) and t.sigpending == S.bit(S.SIGTERM)


def test_restartblock_resumes_through_restart_syscall_without_a_handler():
    t = make_task()
    interrupted(t, 516)                             # ERESTART_RESTARTBLOCK (nanosleep)
    S.send_signal(t, S.SIGCONT)                     # no handler: nothing runs
    t.sigpending = S.bit(S.SIGWINCH)
    S.deliver_pending(t)
    regs = live(t)
    assert (regs.x[0], regs.x[8], regs.pc) == (0x33, NR_RESTART_SYSCALL, PC - 4)


def test_restartblock_with_a_handler_is_eintr():
    t = make_task()
    handle(t, S.SIGUSR1, S.SA_RESTART)
    interrupted(t, 516)
    S.send_signal(t, S.SIGUSR1)
    S.deliver_pending(t)
    _, back, _ = saved_frame(t)
    assert (back.x[0], back.pc) == ((-EINTR) & (1 << 64) - 1, PC)


def run_syscall(coro):
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the syscall slept")


@covers("kill")
def test_kill_minus_one_reaches_everyone_but_init_and_the_caller():
    from moss_host.syscalls import signal as sys_signal
    init = make_task(tgid=1)
    kernel = init.kernel
    others = []
    for pid in (2, 3, 4):
        t = make_task(tgid=pid)
        t.kernel = kernel
        kernel.pids.add(t)
        others.append(t)
    caller = others[0]
    assert run_syscall(sys_signal.kill(caller, (-1) & 0xFFFF_FFFF, S.SIGUSR1)) == 0
    assert [bool(S.pending(t)) for t in [init] + others] == [False, False, True, True]
    info = others[1].group.shared_siginfo[S.SIGUSR1][0]
    assert (info.code, info.pid) == (S.SI_USER, 2)
    alone = make_task(tgid=7)
    alone.kernel.pids = PidTable()
    alone.kernel.pids.add(init)
    alone.kernel.pids.add(alone)
    assert run_syscall(sys_signal.kill(alone, (-1) & 0xFFFF_FFFF, S.SIGUSR1)) == -3       # ESRCH: nobody


@covers("kill")
def test_kill_of_a_process_group():
    from moss_host.syscalls import signal as sys_signal
    a = make_task(tgid=2)
    b = make_task(tgid=3)
    b.kernel = a.kernel
    a.kernel.pids.add(b)
    a.pgid = b.pgid = 2
    assert run_syscall(sys_signal.kill(a, (-2) & 0xFFFF_FFFF, S.SIGHUP)) == 0
    assert S.pending(a) == S.pending(b) == S.bit(S.SIGHUP)
    assert run_syscall(sys_signal.kill(a, (-9) & 0xFFFF_FFFF, S.SIGHUP)) == -3
    assert run_syscall(sys_signal.kill(a, 0, 0)) == 0
    assert run_syscall(sys_signal.kill(a, 0x8000_0000, S.SIGHUP)) == -3                 # INT_MIN
