"""Signals in real programs: dispositions, masks, delivery frames, sigreturn, faults,
alternate stacks, restarts, job control and the vDSO trampoline (tests/programs/sig_*.c).

Linux is the specification. Where qemu-aarch64 (the host's Linux answering syscalls)
agrees with Linux, the output is compared with it byte for byte (run with
`-cpu cortex-a72`, the CPU moss-py models, so that no SVE record changes the frame).
Where qemu-aarch64 7.2 itself departs from Linux (it maps no vDSO, reports si_code
ILL_ILLOPN for an undefined instruction, ignores SA_NOCLDSTOP and SS_AUTODISARM, accepts
alternate stacks below MINSIGSTKSZ, and its signals race), the expected output is
written out here from Linux's rules.
"""
import os
import subprocess

import pytest

from tests.covers import covers

from .conftest import PROGRAMS, moss_run

pytestmark = pytest.mark.qemu


def linux_user_run(program: str, *args: str) -> subprocess.CompletedProcess:
    """The program under qemu-aarch64 on a Cortex-A72, like moss-py's CPU."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "TERM": "linux"}
    return subprocess.run(["qemu-aarch64", "-cpu", "cortex-a72", str(PROGRAMS / program), *args],
                          capture_output=True, timeout=60, env=env)


def run_ok(program: str, *args: str) -> bytes:
    r = moss_run(f"/tests/{program}", *args)
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-2000:]
    return r.stdout


@pytest.mark.differential
@covers("rt_sigaction", "rt_sigprocmask", "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo",
        "rt_tgsigqueueinfo", "kill", "tgkill", "tkill", "rt_sigreturn")
def test_dispositions_masks_and_sending_match_linux():
    moss = run_ok("sig_basic")
    assert moss == linux_user_run("sig_basic").stdout
    assert b"handler ran 4 times for raise, kill, tgkill, tkill" in moss
    assert b"nesting: outer-begin usr2 outer-end hup" in moss


@pytest.mark.differential
@covers("rt_sigaction", "rt_sigreturn", "tgkill")
def test_handler_sees_the_interrupted_registers_and_sigreturn_restores_them():
    moss = run_ok("sig_context")
    assert moss == linux_user_run("sig_context").stdout
    assert moss == b"""\
handler: x0=signo 1, info/uc arguments consistent 1
uc_mcontext: x19..x28 1, sp 1, pc after svc 1, uc_sigmask without USR1 1
fpsimd_context: magic 1 size 528, v0..v31 saved 1, terminator after it 1
tgkill returned 0
after sigreturn: x19..x28 restored 1, x20 as edited 1
after sigreturn: v0..v31 restored despite the clobbers 1 (v8 1), v9 as edited 1
"""


@pytest.mark.differential
@covers("rt_sigaction", "rt_sigreturn", "rt_sigprocmask")
def test_faults_reach_handlers_with_si_code_and_si_addr_like_linux():
    moss = run_ok("sig_faults")
    linux = linux_user_run("sig_faults").stdout
    # qemu-aarch64 7.2 says ILL_ILLOPN (2) for an undefined instruction; Linux's
    # do_el0_undef says ILL_ILLOPC (1).
    linux = linux.replace(b"udf #0: Illegal instruction si_code=2", b"udf #0: Illegal instruction si_code=1")
    assert moss == linux
    assert b"WRONG" not in moss
    assert b"SIGSEGV blocked when the fault happens: killed by Segmentation fault" in moss


@covers("rt_sigreturn")
def test_aborts_carry_an_esr_context_and_bad_frames_end_in_sigsegv():
    lines = run_ok("sig_faults", "esr").decode().splitlines()
    shown = {lines[i - 1].split(":")[0]: lines[i].strip() for i in range(1, len(lines)) if "esr_context" in lines[i]}
    for what in ("null write", "write to a read-only page", "read of a PROT_NONE page", "read after munmap",
                 "unaligned ldxr"):
        assert shown[what] == "esr_context present EC=0x24, fault_address = si_addr", what
    assert shown["udf #0"] == "esr_context absent EC=0, fault_address not si_addr"
    assert lines[-2:] == ["rt_sigreturn with a bad frame: killed by Segmentation fault",
                          "handler frame on a read-only alternate stack: killed by Segmentation fault"]


@pytest.mark.differential
@covers("rt_sigsuspend", "rt_sigtimedwait", "read", "kill", "clone", "wait4", "nanosleep", "restart_syscall")
def test_sa_restart_restarts_a_blocking_read_and_sigsuspend_returns_eintr():
    moss = run_ok("sig_restart")
    assert moss == linux_user_run("sig_restart").stdout
    assert b"SA_RESTART: read = 1 (got the byte written later), handler ran 1" in moss
    assert b"no SA_RESTART: read = -1 EINTR, handler ran 1" in moss


@pytest.mark.differential
@covers("kill", "tgkill", "rt_sigqueueinfo", "setresuid")
def test_permission_to_send_follows_the_credentials():
    moss = run_ok("sig_perm")
    assert moss == b"""\
uid 1000 -> root, signal 0: EPERM
uid 1000 -> root, SIGUSR1: EPERM
uid 1000 -> root, SIGCONT (same session): ok
uid 1000 -> root, tgkill SIGUSR1: EPERM
uid 1000 -> itself: ok
forged SI_USER to another process: EPERM
SI_QUEUE SIGUSR1 uid 1000 -> root: EPERM
uid 1000 -> uid 2000, signal 0: EPERM
uid 1000 -> uid 2000, SIGKILL: EPERM
uid 1000 -> uid 2000, SIGCONT (same session): ok
uid 1000 -> its process group, signal 0 (it may signal itself): ok
uid 1000 child exited 0
uid 2000 child exited 0
"""
    if os.geteuid() == 0:                   # qemu-aarch64 needs root to switch uids
        assert moss == linux_user_run("sig_perm").stdout


@covers("sigaltstack", "rt_sigaction")
def test_sigaltstack_and_sa_onstack():
    assert run_ok("sig_altstack") == b"""\
initially: flags 2 (SS_DISABLE=2) size 0
size 5119: ENOMEM
size 5120: ok
flags 4: EINVAL
flags SS_ONSTACK: ok
set: ok
old one was: flags 0
now: flags 0, sp is ours 1, size 65536
SA_ONSTACK handler on the alternate stack: 1
  sigaltstack query inside: SS_ONSTACK 1
  changing it inside: EPERM
  uc_stack describes it: 1, uc_stack.ss_flags 0
  nested SA_ONSTACK handler still on it: 1, below the outer frame: 1
after the handler: flags 0
handler without SA_ONSTACK on the alternate stack: 0
disable: ok
now: flags 2 size 0
SA_ONSTACK with no alternate stack runs on the normal stack: 1
SS_AUTODISARM: ok
now: flags 0x80000000
SS_AUTODISARM handler on it: 1, query inside: flags 2, change inside: ok
stack overflow: SEGV si_code SEGV_MAPERR, handler on the alternate stack 1
overflowing child exited 0
"""


@covers("kill", "wait4", "rt_sigaction")
def test_stop_continue_and_sigchld_reports():
    assert run_ok("sig_stop") == b"""\
after SIGSTOP: stopped by Stopped (signal)
after SIGCONT: continued
nothing more to report: 0
SIGKILL while stopped: killed by Killed
with a handler: SIGCHLD codes: CLD_STOPPED CLD_CONTINUED CLD_STOPPED CLD_KILLED
SA_NOCLDSTOP: after SIGSTOP: stopped by Stopped (signal)
SA_NOCLDSTOP: SIGTERM: killed by Terminated
with SA_NOCLDSTOP: SIGCHLD codes: CLD_KILLED
reader stopped: stopped by Stopped (signal)
reader after SIGCONT and a write (9: read the 5 bytes): exited 9
stopped reader: SIGCHLD codes: CLD_EXITED
child catching SIGTSTP: exited 7
caught SIGTSTP: SIGCHLD codes: CLD_EXITED
kill(0, SIGUSR1) = 0
group member with SIG_DFL: killed by User defined signal 1
group member that ignores it (then SIGKILL): killed by Killed
the group's leader, which ignored it: exited 3
group kill: SIGCHLD codes: CLD_EXITED
kill(-99999, SIGUSR1) = -1 ESRCH
"""


@covers("kill", "wait4", "prlimit64")
def test_default_actions_terminate_stop_ignore_and_dump_core():
    assert run_ok("sig_default") == b"""\
with RLIMIT_CORE 1 MiB: QUIT     killed by QUIT, core dumped (shell status 131)
TERM     killed by TERM (shell status 143)
INT      killed by INT (shell status 130)
USR1     killed by USR1 (shell status 138)
HUP      killed by HUP (shell status 129)
QUIT     killed by QUIT (shell status 131)
ABRT     killed by ABRT (shell status 134)
SEGV     killed by SEGV (shell status 139)
ILL      killed by ILL (shell status 132)
FPE      killed by FPE (shell status 136)
BUS      killed by BUS (shell status 135)
TRAP     killed by TRAP (shell status 133)
SYS      killed by SYS (shell status 159)
XCPU     killed by XCPU (shell status 152)
CHLD     exited 0
URG      exited 0
WINCH    exited 0
CONT     exited 0
STOP     stopped by STOP
STOP     killed by KILL (shell status 137)
TSTP     exited 0
"""


@covers("rt_sigaction", "rt_sigreturn")
def test_handlers_return_through_the_vdso_trampoline():
    assert run_ok("sig_vdso") == b"""\
AT_SYSINFO_EHDR present: 1
ELF magic 1, ET_DYN 1, EM_AARCH64 1
dynamic: symtab 1 strtab 1 hash 1 versym 1 verdef 1
__kernel_rt_sigreturn found 1, version LINUX_2.6.39
code: mov x8, #139 1; svc #0 1
glibc's sigaction: SA_RESTORER 0
handler returned through the vDSO trampoline: 1 (ran 1)
backtrace() from the handler unwinds through the trampoline into the interrupted code: 1
with SA_RESTORER: returned through our restorer 1 (ran 2)
"""


def test_fault_without_handler_kills_pid_1_and_says_why():
    r = moss_run("/tests/segv")
    assert r.returncode == 128 + 11 or r.returncode == -11
    assert b"SEGV_MAPERR" in r.stderr and b"killed by SIGSEGV" in r.stderr
