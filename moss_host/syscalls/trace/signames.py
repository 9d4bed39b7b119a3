"""Signals as strace names them: SIGCHLD, a sigset_t as `[INT CHLD]` (or `~[...]` when most
are set), and the siginfo of a delivered signal."""
from __future__ import annotations

NSIG = 64
NAMES = {1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
         7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
         13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD",
         18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG",
         24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH",
         29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS"}


def name(signo: int) -> str:
    """SIGCHLD; real-time ones as strace numbers them from SIGRTMIN (32): SIGRT_2."""
    if signo in NAMES:
        return NAMES[signo]
    if 32 <= signo <= NSIG:
        return "SIGRTMIN" if signo == 32 else f"SIGRT_{signo - 32}"
    return str(signo)


def short(signo: int) -> str:
    """The name inside a set: CHLD, RTMIN, RT_2."""
    n = name(signo)
    return n[3:] if n.startswith("SIG") else n


def sigset(mask: int, size: int = 8) -> str:
    """`[INT CHLD]`; a mask with more than half the signals set as the complement `~[...]`."""
    bits = size * 8
    mask &= (1 << bits) - 1
    members = [s for s in range(1, bits + 1) if mask >> (s - 1) & 1]
    if len(members) > bits // 2:
        missing = [s for s in range(1, bits + 1) if not mask >> (s - 1) & 1]
        return "~[" + " ".join(short(s) for s in missing) + "]"
    return "[" + " ".join(short(s) for s in members) + "]"


# si_code values (include/uapi/asm-generic/siginfo.h)
SI_CODES = {0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ",
            -4: "SI_ASYNCIO", -5: "SI_SIGIO", -6: "SI_TKILL"}
CLD_CODES = {1: "CLD_EXITED", 2: "CLD_KILLED", 3: "CLD_DUMPED", 4: "CLD_TRAPPED",
             5: "CLD_STOPPED", 6: "CLD_CONTINUED"}
FAULT_CODES = {
    11: {1: "SEGV_MAPERR", 2: "SEGV_ACCERR", 3: "SEGV_BNDERR", 4: "SEGV_PKUERR", 8: "SEGV_MTEAERR",
         9: "SEGV_MTESERR"},
    7: {1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR", 4: "BUS_MCEERR_AR", 5: "BUS_MCEERR_AO"},
    4: {1: "ILL_ILLOPC", 2: "ILL_ILLOPN", 3: "ILL_ILLADR", 4: "ILL_ILLTRP", 5: "ILL_PRVOPC",
        6: "ILL_PRVREG", 7: "ILL_COPROC", 8: "ILL_BADSTK"},
    8: {1: "FPE_INTDIV", 2: "FPE_INTOVF", 3: "FPE_FLTDIV", 4: "FPE_FLTOVF", 5: "FPE_FLTUND",
        6: "FPE_FLTRES", 7: "FPE_FLTINV", 8: "FPE_FLTSUB"},
    5: {1: "TRAP_BRKPT", 2: "TRAP_TRACE", 3: "TRAP_BRANCH", 4: "TRAP_HWBKPT"},
}


def siginfo(info) -> str:
    """`{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=..., ...}` for a proc.signals.SigInfo."""
    signo, code = info.signo, info.code
    parts = [f"si_signo={name(signo)}"]
    user_code = code <= 0 or code == 0x80
    if signo == 17 and not user_code:
        parts.append(f"si_code={CLD_CODES.get(code, code)}")
        status = name(info.status) if code in (2, 3, 4, 5, 6) else str(info.status)
        parts += [f"si_pid={info.pid}", f"si_uid={info.uid}", f"si_status={status}",
                  f"si_utime={info.utime}", f"si_stime={info.stime}"]
    elif signo in FAULT_CODES and not user_code:
        parts.append(f"si_code={FAULT_CODES[signo].get(code, code)}")
        parts.append(f"si_addr={info.addr:#x}" if info.addr else "si_addr=NULL")
    else:
        parts.append(f"si_code={SI_CODES.get(code, code)}")
        if code in (0, -6, -1, -3):
            parts += [f"si_pid={info.pid}", f"si_uid={info.uid}"]
        if code == -2:
            parts += [f"si_timerid={info.pid:#x}", f"si_overrun={info.overrun}"]
        if code in (-1, -2, -3):
            parts += [f"si_int={info.value & 0xFFFF_FFFF}", f"si_ptr={info.value:#x}"]
    return "{" + ", ".join(parts) + "}"
