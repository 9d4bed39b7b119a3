"""seccomp (kernel/seccomp.c): a task's syscall filter.

Strict mode (1) allows read, write, exit and rt_sigreturn; any other call kills the thread
with SIGKILL. Filter mode (2) runs every classic-BPF program of the task's chain over the
call's `struct seccomp_data` (nr, arch, pc, six arguments), newest first, and acts on the
most restrictive answer: kill the process or the thread (SIGSYS), SIGSYS to a handler
(TRAP), fail with an errno, ENOSYS where a tracer would have been asked (TRACE), log, or
allow. Filters are immutable and shared: a child (fork, clone) and an exec'd image keep the
chain, a new filter is pushed on the front of the calling thread's (or, with TSYNC, every
thread's) chain. Like Linux, the filter runs after ptrace's syscall-entry stop, on the
number and arguments the tracer left.

A task with a mode set has Task.traced_syscalls set: its calls leave the trap fast path
(proc/cpu.py) and the stub's getpid answer for proc/trap.py, which asks `check` first.

A TRACE result is ENOSYS unless a tracer asked for PTRACE_O_TRACESECCOMP; then proc/ptrace.py's
TracedCall stops the call (PTRACE_EVENT_SECCOMP) and checks it again after the tracer, as Linux.

Not here: user-space notification (SECCOMP_FILTER_FLAG_NEW_LISTENER,
SECCOMP_GET_NOTIF_SIZES, SECCOMP_RET_USER_NOTIF): answered as a Linux before 5.0 answers
them (EINVAL, EOPNOTSUPP).
"""
from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, Union

from moss_host.arch.arm64.context import OFF_PC, OFF_X0
from moss_host.cred import CAP_SYS_ADMIN, capable
from moss_host.errors import EACCES, EINVAL, ENOMEM, ENOSYS, EOPNOTSUPP, ESRCH, Errno

from . import signals
from .task import TaskExit

if TYPE_CHECKING:
    from .task import Task

log = logging.getLogger("moss.seccomp")

MODE_DISABLED, MODE_STRICT, MODE_FILTER = 0, 1, 2
SET_MODE_STRICT, SET_MODE_FILTER, GET_ACTION_AVAIL, GET_NOTIF_SIZES = 0, 1, 2, 3
FLAG_TSYNC, FLAG_LOG, FLAG_SPEC_ALLOW, FLAG_NEW_LISTENER, FLAG_TSYNC_ESRCH = 1, 2, 4, 8, 16
FLAGS_KNOWN = FLAG_TSYNC | FLAG_LOG | FLAG_SPEC_ALLOW | FLAG_TSYNC_ESRCH

RET_KILL_PROCESS, RET_KILL_THREAD, RET_TRAP, RET_ERRNO = 0x80000000, 0, 0x00030000, 0x00050000
RET_USER_NOTIF, RET_TRACE, RET_LOG, RET_ALLOW = 0x7FC00000, 0x7FF00000, 0x7FFC0000, 0x7FFF0000
RET_ACTION_FULL, RET_DATA = 0xFFFF0000, 0x0000FFFF
AVAILABLE = (RET_KILL_PROCESS, RET_KILL_THREAD, RET_TRAP, RET_ERRNO, RET_TRACE, RET_LOG, RET_ALLOW)

AUDIT_ARCH_AARCH64 = 0xC00000B7
SYS_SECCOMP = 1                  # si_code of the SIGSYS a filter raises
MAX_ERRNO = 4095
BPF_MAXINSNS, MAX_INSNS_PER_PATH, BPF_MEMWORDS = 4096, 32768, 16
SECCOMP_DATA_SIZE = 64
# arm64's strict-mode calls (mode1_syscalls: asm-generic's read, write, exit, rt_sigreturn)
STRICT_ALLOWED = frozenset((63, 64, 93, 139))

_FPROG = struct.Struct("<H6xQ")         # struct sock_fprog: len, (pad), filter pointer
_INSN = struct.Struct("<HBBI")          # struct sock_filter: code, jt, jf, k
_DATA = struct.Struct("<iIQ6Q")         # struct seccomp_data
_ARGS = struct.Struct("<6Q")
_PC = struct.Struct("<Q")

# Classic BPF opcodes (linux/bpf_common.h, linux/filter.h)
LD, LDX, ST, STX, ALU, JMP, RET, MISC = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
W, ABS, IMM, LEN, MEM = 0x00, 0x20, 0x00, 0x80, 0x60
ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, NEG, MOD, XOR = (
    0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0)
JA, JEQ, JGT, JGE, JSET = 0x00, 0x10, 0x20, 0x30, 0x40
K, X = 0x00, 0x08
RET_A = 0x10
TAX, TXA = 0x00, 0x80
_COND_JUMPS = frozenset(JMP | op | src for op in (JEQ, JGT, JGE, JSET) for src in (K, X))
_ALU_OPS = frozenset(ALU | op | src for op in (ADD, SUB, MUL, DIV, OR, AND, XOR, LSH, RSH)
                     for src in (K, X)) | {ALU | NEG}
# What seccomp_check_filter lets through (after bpf_check_classic): no packet loads, no MOD.
_ALLOWED = (_ALU_OPS | _COND_JUMPS | {RET | K, RET | RET_A, LD | IMM, LDX | IMM, MISC | TAX,
            MISC | TXA, LD | MEM, LDX | MEM, ST, STX, JMP | JA, LD | W | ABS, LD | W | LEN, LDX | W | LEN})
_M32 = 0xFFFF_FFFF


@dataclass(frozen=True, eq=False)
class Filter:
    """One attached program (struct seccomp_filter): its instructions, as checked, and the
    filter attached before it (shared by every task that had the chain when it was made)."""
    prog: tuple[tuple[int, int, int, int], ...]
    prev: Optional["Filter"]
    log: bool = False

    def count(self) -> int:
        n, f = 0, self.prev
        while f is not None:
            n, f = n + 1, f.prev
        return n + 1


@dataclass(frozen=True)
class Seccomp:
    """A task's seccomp state (struct seccomp): the mode and, in filter mode, the newest filter."""
    mode: int
    filter: Optional[Filter] = None

    def filter_count(self) -> int:
        return self.filter.count() if self.filter is not None else 0


def mode_of(task: Task) -> int:
    return task.seccomp.mode if task.seccomp is not None else MODE_DISABLED


# -- the calls that set it --------------------------------------------------------------------

def do_seccomp(task: Task, op: int, flags: int, uargs: int) -> int:
    """seccomp(2) (do_seccomp), also prctl(PR_SET_SECCOMP) with flags 0."""
    if op == SET_MODE_STRICT:
        if flags or uargs:
            raise Errno(EINVAL)
        _may_assign(task, MODE_STRICT)
        _assign(task, Seccomp(MODE_STRICT))
        return 0
    if op == SET_MODE_FILTER:
        return _set_mode_filter(task, flags, uargs)
    if op == GET_ACTION_AVAIL:
        if flags:
            raise Errno(EINVAL)
        action = struct.unpack("<I", task.mm.read(uargs, 4))[0]
        if action not in AVAILABLE:
            raise Errno(EOPNOTSUPP)
        return 0
    raise Errno(EINVAL)             # (SECCOMP_GET_NOTIF_SIZES: no user notification here)


def _set_mode_filter(task: Task, flags: int, uargs: int) -> int:
    if flags & ~FLAGS_KNOWN:
        raise Errno(EINVAL)
    length, addr = _FPROG.unpack(task.mm.read(uargs, _FPROG.size))       # EFAULT
    if length == 0 or length > BPF_MAXINSNS:
        raise Errno(EINVAL)
    if not task.no_new_privs and not capable(task.creds, CAP_SYS_ADMIN):
        raise Errno(EACCES)
    raw = task.mm.read(addr, length * _INSN.size)                         # EFAULT
    prog = check_program([_INSN.unpack_from(raw, i * _INSN.size) for i in range(length)])
    _may_assign(task, MODE_FILTER)
    current = task.seccomp.filter if task.seccomp is not None else None
    total, walker = length, current
    while walker is not None:
        total, walker = total + len(walker.prog) + 4, walker.prev     # 4 instructions' penalty each
    if total > MAX_INSNS_PER_PATH:
        raise Errno(ENOMEM)
    threads = list(task.group.threads) if flags & FLAG_TSYNC else [task]
    for t in threads:
        if t is not task and not _can_sync(t, current):
            if flags & FLAG_TSYNC_ESRCH:
                raise Errno(ESRCH)
            return t.tid                    # seccomp_can_sync_threads: who could not follow
    new = Filter(prog, current, bool(flags & FLAG_LOG))
    for t in threads:                       # (seccomp_sync_threads: no_new_privs goes along)
        if t is not task and task.no_new_privs:
            t.no_new_privs = True
        _assign(t, Seccomp(MODE_FILTER, new))
    return 0


def _can_sync(t: Task, ours: Optional[Filter]) -> bool:
    """seccomp_can_sync_threads: a thread in no mode, or whose chain is part of ours."""
    if t.seccomp is None:
        return True
    if t.seccomp.mode != MODE_FILTER:
        return False
    f = ours
    while f is not None:
        if f is t.seccomp.filter:
            return True
        f = f.prev
    return t.seccomp.filter is None


def _may_assign(task: Task, mode: int) -> None:
    if task.seccomp is not None and task.seccomp.mode != mode:
        raise Errno(EINVAL)


def _assign(task: Task, state: Seccomp) -> None:
    """Set the mode; the task's calls take the checked path from the next one on."""
    task.seccomp = state
    task.traced_syscalls = True
    if task.on_cpu is not None:
        task.on_cpu.mailbox.set_fast_pid(0)         # getpid is filtered too: it must trap


def check_program(insns: list[tuple[int, int, int, int]]) -> tuple[tuple[int, int, int, int], ...]:
    """bpf_check_classic + seccomp_check_filter: EINVAL for what either refuses; the
    length loads become immediates (the data is always 64 bytes)."""
    n = len(insns)
    out = []
    for pc, (code, jt, jf, k) in enumerate(insns):
        if code not in _ALLOWED:
            raise Errno(EINVAL)
        if code in (ALU | DIV | K,) and k == 0:
            raise Errno(EINVAL)
        if code in (ALU | LSH | K, ALU | RSH | K) and k >= 32:
            raise Errno(EINVAL)
        if code in (LD | MEM, LDX | MEM, ST, STX) and k >= BPF_MEMWORDS:
            raise Errno(EINVAL)
        if code == JMP | JA and k >= n - pc - 1:
            raise Errno(EINVAL)
        if code in _COND_JUMPS and (pc + jt + 1 >= n or pc + jf + 1 >= n):
            raise Errno(EINVAL)
        out.append((code, jt, jf, k))
    if out[-1][0] not in (RET | K, RET | RET_A):
        raise Errno(EINVAL)
    _check_load_and_stores(out)
    for i, (code, jt, jf, k) in enumerate(out):          # seccomp_check_filter's pass
        if code == LD | W | ABS and (k >= SECCOMP_DATA_SIZE or k & 3):
            raise Errno(EINVAL)
        if code == LD | W | LEN:
            out[i] = (LD | IMM, jt, jf, SECCOMP_DATA_SIZE)
        elif code == LDX | W | LEN:
            out[i] = (LDX | IMM, jt, jf, SECCOMP_DATA_SIZE)
    return tuple(out)


def _check_load_and_stores(prog: list[tuple[int, int, int, int]]) -> None:
    """No scratch memory word is read on any path before one is stored to it."""
    masks = [0xFFFF] * len(prog)
    valid = 0
    for pc, (code, jt, jf, k) in enumerate(prog):
        valid &= masks[pc]
        if code in (ST, STX):
            valid |= 1 << k
        elif code in (LD | MEM, LDX | MEM):
            if not valid & (1 << k):
                raise Errno(EINVAL)
        elif code == JMP | JA:
            masks[pc + 1 + k] &= valid
            valid = 0xFFFF
        elif code in _COND_JUMPS:
            masks[pc + 1 + jt] &= valid
            masks[pc + 1 + jf] &= valid
            valid = 0xFFFF


# -- the check at each call -------------------------------------------------------------------

def run(prog: tuple[tuple[int, int, int, int], ...], data: bytes) -> int:
    """One program over seccomp_data: its 32-bit return value."""
    a = x = 0
    mem = [0] * BPF_MEMWORDS
    pc = 0
    while True:
        code, jt, jf, k = prog[pc]
        pc += 1
        cls = code & 7
        if cls == RET:
            return a if code & RET_A else k
        if cls == LD:
            if code == LD | W | ABS:
                a = int.from_bytes(data[k:k + 4], "little")
            elif code == LD | IMM:
                a = k
            else:
                a = mem[k]
        elif cls == LDX:
            x = k if code == LDX | IMM else mem[k]
        elif cls == ST:
            mem[k] = a
        elif cls == STX:
            mem[k] = x
        elif cls == ALU:
            if code == ALU | NEG:
                a = -a & _M32
                continue
            src = x if code & X else k
            op = code & 0xF0
            if op == DIV:
                if src == 0:
                    return 0                # classic BPF: division by a zero X ends the program with 0
                a //= src
            elif op == ADD:
                a = (a + src) & _M32
            elif op == SUB:
                a = (a - src) & _M32
            elif op == MUL:
                a = (a * src) & _M32
            elif op == OR:
                a |= src
            elif op == AND:
                a &= src
            elif op == XOR:
                a ^= src
            elif op == LSH:
                a = (a << (src & 31)) & _M32
            else:
                a >>= src & 31
        elif cls == JMP:
            op = code & 0xF0
            if op == JA:
                pc += k
                continue
            src = x if code & X else k
            if op == JEQ:
                taken = a == src
            elif op == JGT:
                taken = a > src
            elif op == JGE:
                taken = a >= src
            else:
                taken = bool(a & src)
            pc += jt if taken else jf
        else:
            if code == MISC | TAX:
                x = a
            else:
                a = x


def _action_key(ret: int) -> int:
    """ACTION_ONLY: the action bits as a signed number -- the smaller, the stronger."""
    action = ret & RET_ACTION_FULL
    return action - (1 << 32) if action & 0x8000_0000 else action


def evaluate(f: Filter, data: bytes) -> tuple[int, Filter]:
    """seccomp_run_filters: every filter of the chain, newest first; the strongest answer
    (the first of equals) and the filter that gave it."""
    ret, match = RET_ALLOW, f
    walker: Optional[Filter] = f
    while walker is not None:
        cur = run(walker.prog, data)
        if _action_key(cur) < _action_key(ret):
            ret, match = cur, walker
        walker = walker.prev
    return ret, match


def start_filtered(start: Callable[..., Any], task: Task, nr: int, frame, tracer: Any) -> Any:
    """The syscall entry (dispatch.start) behind the task's filter: the call runs if it allows."""
    skipped = check(task, nr, frame)
    if skipped is not None:
        return skipped                      # (no tracer: never a Trace)
    return start(task, nr, frame, tracer)


class Trace(NamedTuple):
    """SECCOMP_RET_TRACE for a tracer that asked for it: a PTRACE_EVENT_SECCOMP stop with
    this message, then the call (the tracer may have changed or skipped it) checked again."""
    data: int


def check(task: Task, nr: int, frame, tracer_wants: bool = False, recheck: bool = False) -> Union[None, int, Trace]:
    """__secure_computing for the call about to run: None to run it, or the value x0 gets
    with the call skipped (having raised the signal or ended the thread the filter asked for),
    or a Trace stop when `tracer_wants` it (PTRACE_O_TRACESECCOMP). `recheck`: the check
    after that stop, where TRACE lets the call run. TaskExit propagates, as from a syscall."""
    state = task.seccomp
    assert state is not None
    if state.mode == MODE_STRICT:
        if nr in STRICT_ALLOWED:
            return None
        log.warning("pid %d (%s): seccomp strict mode: syscall %d -> SIGKILL", task.tid, task.comm.decode(
            errors="replace"), nr)
        raise TaskExit(signals.SIGKILL, whole_group=False)          # do_exit(SIGKILL)
    assert state.filter is not None
    args = _ARGS.unpack_from(frame, OFF_X0)
    pc = _PC.unpack_from(frame, OFF_PC)[0]
    scno = nr & _M32                        # seccomp_data.nr is an int: x8's low half
    if scno & 0x8000_0000:
        scno -= 1 << 32
    data = _DATA.pack(scno, AUDIT_ARCH_AARCH64, pc, *args)
    ret, match = evaluate(state.filter, data)
    action, value = ret & RET_ACTION_FULL, ret & RET_DATA
    if action == RET_ALLOW:
        return None
    if action == RET_LOG:
        log.info("pid %d (%s): seccomp: syscall %d logged", task.tid, task.comm.decode(errors="replace"), nr)
        return None
    if action == RET_ERRNO:
        return -min(value, MAX_ERRNO)
    if action == RET_TRAP:
        _force_sigsys(task, nr, value, pc, fatal=False)
        return args[0]                      # syscall_rollback: the handler sees the call's x0
    if action == RET_TRACE:
        if recheck:
            return None
        return Trace(value) if tracer_wants else -ENOSYS
    if action == RET_USER_NOTIF:
        return -ENOSYS                      # no listener
    return _kill(task, nr, action, value, pc, args[0])


def _kill(task: Task, nr: int, action: int, value: int, pc: int, x0: int) -> int:
    """SECCOMP_RET_KILL_PROCESS, _THREAD, or an action Linux does not know: SIGSYS that only
    the exit status shows -- the whole process, unless the thread alone was asked for and
    other threads live on (do_exit(SIGSYS))."""
    task.seccomp = Seccomp(3, task.seccomp.filter if task.seccomp else None)      # SECCOMP_MODE_DEAD
    log.warning("pid %d (%s): seccomp: syscall %d -> SIGSYS", task.tid, task.comm.decode(errors="replace"), nr)
    if action == RET_KILL_THREAD and len(task.group.threads) > 1:
        raise TaskExit(signals.SIGSYS, whole_group=False)           # do_exit(SIGSYS)
    _force_sigsys(task, nr, value, pc, fatal=True)
    return x0


def _force_sigsys(task: Task, nr: int, value: int, pc: int, fatal: bool) -> None:
    """force_sig_seccomp: SIGSYS with si_call_addr, si_syscall, si_arch; a blocked or ignored
    SIGSYS (and, for a kill, a caught one) is reset to SIG_DFL so that it takes effect."""
    info = signals.SigInfo(signals.SIGSYS, SYS_SECCOMP, errno=value, addr=pc, status=nr)
    signals.force_sig_info(task, info, reset_caught=fatal)
