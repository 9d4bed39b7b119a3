"""seccomp(2) (kernel/seccomp.c do_seccomp): the calling thread's syscall filter. The filter
itself, its checks and the action at each call are proc/seccomp.py's; prctl's
PR_SET_SECCOMP and PR_GET_SECCOMP (syscalls/process.py) reach the same code."""
from __future__ import annotations

from moss_host.proc import seccomp as S

from .args import Hex, Ptr
from .table import syscall


@syscall("seccomp")
def seccomp(task, op: "Hex", flags: "Hex", uargs: "Ptr") -> int:
    """SECCOMP_SET_MODE_STRICT, SECCOMP_SET_MODE_FILTER (a classic BPF program), and
    SECCOMP_GET_ACTION_AVAIL; op and flags are unsigned ints."""
    return S.do_seccomp(task, op & 0xFFFF_FFFF, flags & 0xFFFF_FFFF, uargs)
