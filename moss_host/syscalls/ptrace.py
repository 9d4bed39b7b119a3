"""ptrace(2): decode the request, check it in Linux's order (kernel/ptrace.c sys_ptrace,
ptrace_request; arch/arm64/kernel/ptrace.c for the register sets), act through
proc/ptrace.py.

The raw syscall, not glibc's wrapper: PEEK* store the word at `data` and return 0.
"""
from __future__ import annotations

import struct

from moss_host.arch.arm64.sigframe import SIGINFO_SIZE, pack_siginfo
from moss_host.errors import EFAULT, EINVAL, EIO, EPERM, ESRCH, Errno
from moss_host.mm.vma import PROT_EXEC, PROT_WRITE
from moss_host.proc import hwdebug
from moss_host.proc import ptrace as P
from moss_host.proc import signals
from moss_host.proc.ptrace_state import SYSCALL_ENTRY, SYSCALL_EXIT
from moss_host.proc.task import State, Task

from .args import Hex, Int, Ptr
from .table import syscall

PTRACE_TRACEME, PTRACE_PEEKTEXT, PTRACE_PEEKDATA, PTRACE_PEEKUSR = 0, 1, 2, 3
PTRACE_POKETEXT, PTRACE_POKEDATA, PTRACE_POKEUSR, PTRACE_CONT, PTRACE_KILL = 4, 5, 6, 7, 8
PTRACE_SINGLESTEP, PTRACE_ATTACH, PTRACE_DETACH, PTRACE_SYSCALL = 9, 16, 17, 24
PTRACE_SYSEMU, PTRACE_SYSEMU_SINGLESTEP = 31, 32
PTRACE_SETOPTIONS, PTRACE_GETEVENTMSG, PTRACE_GETSIGINFO, PTRACE_SETSIGINFO = 0x4200, 0x4201, 0x4202, 0x4203
PTRACE_GETREGSET, PTRACE_SETREGSET, PTRACE_SEIZE, PTRACE_INTERRUPT = 0x4204, 0x4205, 0x4206, 0x4207
PTRACE_LISTEN, PTRACE_PEEKSIGINFO, PTRACE_GETSIGMASK, PTRACE_SETSIGMASK = 0x4208, 0x4209, 0x420A, 0x420B
PTRACE_GET_SYSCALL_INFO = 0x420E

NT_PRSTATUS, NT_PRFPREG = 1, 2
NT_ARM_TLS, NT_ARM_SYSTEM_CALL = 0x401, 0x404
PTRACE_PEEKSIGINFO_SHARED = 1
AUDIT_ARCH_AARCH64 = 0xC00000B7
PTRACE_SYSCALL_INFO_NONE, PTRACE_SYSCALL_INFO_ENTRY, PTRACE_SYSCALL_INFO_EXIT, PTRACE_SYSCALL_INFO_SECCOMP = 0, 1, 2, 3
SIGSET_SIZE = 8
_NSIG = 64
MAX_ERRNO = 4095

IOVEC = struct.Struct("<QQ")
PEEKSIGINFO_ARGS = struct.Struct("<QIi")
PRSTATUS_SIZE = 34 * 8              # struct user_pt_regs: x0..x30, sp, pc, pstate
FPREG_SIZE = 32 * 16 + 16           # struct user_fpsimd_state: vregs, fpsr, fpcr, padding
_MASK = (1 << 64) - 1


def _valid_signal(sig: int) -> bool:
    return 0 <= sig <= _NSIG


@syscall("ptrace")
def ptrace(task: Task, request: "Int", pid: "Int", addr: "Hex", data: "Hex") -> int:
    """Trace another task: attach to it, stop and resume it, read and change its memory,
    registers and signals (sys_ptrace)."""
    request = request & _MASK
    if request == PTRACE_TRACEME:
        P.traceme(task)
        return 0
    pid = pid & 0xFFFF_FFFF
    pid = pid - (1 << 32) if pid & (1 << 31) else pid
    child = task.kernel.pids.get(pid) if pid > 0 else None
    if child is None or (child.state is State.ZOMBIE and child.ptrace.tracer is not task):
        raise Errno(ESRCH)
    if request in (PTRACE_ATTACH, PTRACE_SEIZE):
        return _attach(task, child, request, addr, data)
    P.check_attached(task, child.tid, need_stopped=request not in (PTRACE_KILL, PTRACE_INTERRUPT))
    return _request(task, child, request, addr, data)


def _attach(task: Task, child: Task, request: int, addr: int, data: int) -> int:
    seize = request == PTRACE_SEIZE
    if seize and (addr or data & ~P.O_MASK):
        raise Errno(EIO)
    P.attach(task, child, seize, data if seize else 0)
    return 0


def _request(task: Task, child: Task, request: int, addr: int, data: int) -> int:
    """ptrace_request (arm64 has no requests of its own beyond the register sets). The
    requests a tracer makes at every stop (strace: GET_SYSCALL_INFO or GETREGSET, then
    SYSCALL) are looked at first."""
    if request in (PTRACE_CONT, PTRACE_SYSCALL, PTRACE_SYSEMU, PTRACE_SINGLESTEP, PTRACE_SYSEMU_SINGLESTEP):
        if not _valid_signal(data):
            raise Errno(EIO)
        P.resume(child, data, syscalls=request == PTRACE_SYSCALL,
                 sysemu=request in (PTRACE_SYSEMU, PTRACE_SYSEMU_SINGLESTEP),
                 step=request in (PTRACE_SINGLESTEP, PTRACE_SYSEMU_SINGLESTEP))
        return 0
    if request in (PTRACE_GETREGSET, PTRACE_SETREGSET):
        return _regset(task, child, request == PTRACE_SETREGSET, addr, data)
    if request == PTRACE_GET_SYSCALL_INFO:
        return _syscall_info(task, child, addr, data)
    if request in (PTRACE_PEEKTEXT, PTRACE_PEEKDATA):
        word = _access(child, addr, None)
        task.mm.write(data, word)
        return 0
    if request in (PTRACE_POKETEXT, PTRACE_POKEDATA):
        _access(child, addr, (data & _MASK).to_bytes(8, "little"))
        return 0
    if request == PTRACE_SETOPTIONS:
        if data & ~P.O_MASK:
            raise Errno(EINVAL)
        child.ptrace.options = data
        return 0
    if request == PTRACE_GETEVENTMSG:
        task.mm.write(data, struct.pack("<Q", child.ptrace.eventmsg & _MASK))
        return 0
    if request == PTRACE_PEEKSIGINFO:
        return _peek_siginfo(task, child, addr, data)
    if request == PTRACE_GETSIGINFO:
        info = child.ptrace.siginfo
        if info is None:
            raise Errno(EINVAL)
        task.mm.write(data, pack_siginfo(info))
        return 0
    if request == PTRACE_SETSIGINFO:
        raw = task.mm.read(data, SIGINFO_SIZE)
        if child.ptrace.siginfo is None:
            raise Errno(EINVAL)
        signo = struct.unpack_from("<i", raw)[0]
        child.ptrace.siginfo = signals.SigInfo(signo, struct.unpack_from("<i", raw, 8)[0], raw=raw)
        return 0
    if request == PTRACE_GETSIGMASK:
        if addr != SIGSET_SIZE:
            raise Errno(EINVAL)
        task.mm.write(data, struct.pack("<Q", child.blocked))
        return 0
    if request == PTRACE_SETSIGMASK:
        if addr != SIGSET_SIZE:
            raise Errno(EINVAL)
        child.blocked = struct.unpack("<Q", task.mm.read(data, 8))[0] & ~signals.UNCATCHABLE
        return 0
    if request == PTRACE_INTERRUPT:
        if not child.ptrace.seized:
            raise Errno(EIO)
        P.request_interrupt(child)
        return 0
    if request == PTRACE_LISTEN:
        info = child.ptrace.siginfo
        if not child.ptrace.seized or info is None or (info.code >> 8) != P.PTRACE_EVENT_STOP:
            raise Errno(EIO)
        P.listen(child)
        return 0
    if request == PTRACE_DETACH:
        if not _valid_signal(data):
            raise Errno(EIO)
        P.detach(child, data)
        return 0
    if request == PTRACE_KILL:
        if child.state is not State.ZOMBIE:
            signals.send_signal(child, signals.SIGKILL)
        return 0
    # PEEKUSR/POKEUSR (arm64 has none) and anything unknown.
    raise Errno(EIO)


def _access(child: Task, addr: int, word: bytes | None) -> bytes:
    """access_process_vm for one word: EIO unless all 8 bytes could be read or written."""
    try:
        if word is None:
            return child.mm.read(addr, 8)
        child.mm.write_forced(addr, word)
        return word
    except Errno:
        raise Errno(EIO) from None


def _peek_siginfo(task: Task, child: Task, addr: int, data: int) -> int:
    """PTRACE_PEEKSIGINFO: the pending siginfos (the thread's, or the process's with
    PTRACE_PEEKSIGINFO_SHARED) from index off, at most nr of them."""
    off, flags, nr = PEEKSIGINFO_ARGS.unpack(task.mm.read(addr, PEEKSIGINFO_ARGS.size))
    if flags & ~PTRACE_PEEKSIGINFO_SHARED or nr < 0:
        raise Errno(EINVAL)
    queue = child.group.shared_siginfo if flags & PTRACE_PEEKSIGINFO_SHARED else child.siginfo
    infos = [info for signo in sorted(queue) for info in queue[signo]]
    out = 0
    for info in infos[off:off + nr]:
        task.mm.write(data + out * SIGINFO_SIZE, pack_siginfo(info))
        out += 1
    return out


def _regset(task: Task, child: Task, setting: bool, note: int, iov_ptr: int) -> int:
    """PTRACE_GETREGSET/SETREGSET: the iovec's length is cut to the set's size; EINVAL
    for an unknown set or a length that is not a whole number of its units."""
    base, length = IOVEC.unpack(task.mm.read(iov_ptr, IOVEC.size))
    if note == NT_PRSTATUS:
        unit, size = 8, PRSTATUS_SIZE
    elif note == NT_PRFPREG:
        unit, size = 16, FPREG_SIZE
    elif note == NT_ARM_TLS:
        unit, size = 8, 16
    elif note == NT_ARM_SYSTEM_CALL:
        unit, size = 4, 4
    elif note in (hwdebug.NT_ARM_HW_BREAK, hwdebug.NT_ARM_HW_WATCH):
        unit, size = 4, hwdebug.REGSET_SIZE
    else:
        raise Errno(EINVAL)
    if length % unit:
        raise Errno(EINVAL)
    n = min(length, size)
    current = _read_set(child, note)
    if setting:
        new = bytearray(current)
        new[:n] = task.mm.read(base, n)
        if note in (hwdebug.NT_ARM_HW_BREAK, hwdebug.NT_ARM_HW_WATCH):
            hwdebug.write_regset(child, note, bytes(new), n)
        else:
            _write_set(child, note, bytes(new))
    else:
        task.mm.write(base, current[:n])
    task.mm.write(iov_ptr + 8, struct.pack("<Q", n))
    return 0


def _read_set(child: Task, note: int) -> bytes:
    regs = child.regs()
    blob = regs.blob
    if note == NT_PRSTATUS:
        return bytes(blob[0:PRSTATUS_SIZE])
    if note == NT_PRFPREG:
        return bytes(blob[regs.Q0:regs.Q0 + 512]) + struct.pack("<II8x", regs.fpsr, regs.fpcr)
    if note == NT_ARM_TLS:
        return struct.pack("<QQ", regs.tpidr, 0)
    if note in (hwdebug.NT_ARM_HW_BREAK, hwdebug.NT_ARM_HW_WATCH):
        return hwdebug.read_regset(child, note)
    return struct.pack("<i", child.ptrace.syscallno)


def _write_set(child: Task, note: int, raw: bytes) -> None:
    regs = child.regs()
    blob = regs.blob
    if note == NT_PRSTATUS:
        pstate = struct.unpack_from("<Q", raw, 33 * 8)[0]
        blob[0:PRSTATUS_SIZE - 8] = raw[:PRSTATUS_SIZE - 8]
        pstate = pstate & 0xFFFF_FFFF & ~0xF                 # valid_user_regs: EL0t only
        # user_regs_reset_single_step: SS is the step state machine's, not the tracer's.
        stepping = hwdebug.state_of(child).step
        regs.pstate = pstate | hwdebug.SPSR_SS if stepping else pstate & ~hwdebug.SPSR_SS
    elif note == NT_PRFPREG:
        blob[regs.Q0:regs.Q0 + 512] = raw[:512]
        regs.fpsr, regs.fpcr = struct.unpack_from("<II", raw, 512)
    elif note == NT_ARM_TLS:
        regs.tpidr = struct.unpack_from("<Q", raw)[0]
    else:
        child.ptrace.syscallno = struct.unpack("<i", raw)[0]


def _syscall_info(task: Task, child: Task, size: int, data: int) -> int:
    """PTRACE_GET_SYSCALL_INFO: what the stop is (entry, exit, seccomp or none) with its details;
    writes min(size, its length) bytes and returns its length."""
    st = child.ptrace
    regs = child.regs()
    info = bytearray(88)
    op, actual = PTRACE_SYSCALL_INFO_NONE, 24
    sysgood = st.siginfo is not None and st.siginfo.code == signals.SIGTRAP | 0x80
    if sysgood and st.stop_kind == SYSCALL_ENTRY:
        op, actual = PTRACE_SYSCALL_INFO_ENTRY, 80
        struct.pack_into("<q6Q", info, 24, st.syscallno, *st.syscall_args[:1], *(regs.x[i] for i in range(1, 6)))
    elif st.siginfo is not None and st.siginfo.code == signals.SIGTRAP | P.PTRACE_EVENT_SECCOMP << 8:
        op, actual = PTRACE_SYSCALL_INFO_SECCOMP, 84        # the entry's fields and the filter's data
        struct.pack_into("<q6QI", info, 24, st.syscallno, *st.syscall_args[:1], *(regs.x[i] for i in range(1, 6)),
                         st.eventmsg)
    elif sysgood and st.stop_kind == SYSCALL_EXIT:
        op, actual = PTRACE_SYSCALL_INFO_EXIT, 33
        value = regs.x[0]
        err = value >= (1 << 64) - MAX_ERRNO
        struct.pack_into("<QB", info, 24, value, 1 if err else 0)
    struct.pack_into("<B3xIQQ", info, 0, op, AUDIT_ARCH_AARCH64, regs.pc, regs.sp)
    n = min(actual, size)
    if n:
        try:
            task.mm.write(data, bytes(info[:n]))
        except Errno:
            raise Errno(EFAULT) from None
    return actual


# -- process_vm_readv / process_vm_writev (mm/process_vm_access.c) ----------------------------

UIO_MAXIOV = 1024
PAGE_SIZE = 4096


def _iovecs(task: Task, iov: int, count: int) -> list[tuple[int, int]]:
    """import_iovec/iovec_from_user: EINVAL past UIO_MAXIOV or for a negative length."""
    if count > UIO_MAXIOV:
        raise Errno(EINVAL)
    if not count:
        return []
    vecs = list(IOVEC.iter_unpack(task.mm.read(iov, IOVEC.size * count)))
    if any(length >> 63 for _, length in vecs):
        raise Errno(EINVAL)
    return vecs


def _process_vm(task: Task, pid: int, lvec: int, liovcnt: int, rvec: int, riovcnt: int, flags: int,
                write: bool) -> int:
    """process_vm_rw: the bytes copied, in page-sized steps on the remote side; an error
    only if nothing was copied."""
    if flags:
        raise Errno(EINVAL)
    local = _iovecs(task, lvec, liovcnt)
    if not sum(length for _, length in local):
        return 0
    remote = _iovecs(task, rvec, riovcnt)
    if not any(length for _, length in remote):
        return 0
    pid = pid - (1 << 32) if pid & (1 << 31) else pid & 0xFFFF_FFFF
    target = task.kernel.pids.get(pid) if pid > 0 else None
    if target is None or target.state is State.ZOMBIE:
        raise Errno(ESRCH)
    if not P.may_access(task, target):
        raise Errno(EPERM)
    return _copy_vectors(task, target, local, remote, write)


def _copy_vectors(task: Task, target: Task, local: list, remote: list, write: bool) -> int:
    copied = 0
    li, loff = 0, 0
    try:
        for rbase, rlen in remote:
            while rlen and li < len(local):
                lbase, llen = local[li]
                if loff == llen:
                    li, loff = li + 1, 0
                    continue
                n = min(rlen, llen - loff, PAGE_SIZE - (rbase & (PAGE_SIZE - 1)))
                if write:
                    _write_remote(target, rbase, task.mm.read(lbase + loff, n))
                else:
                    task.mm.write(lbase + loff, target.mm.read(rbase, n))
                copied += n
                rbase, rlen, loff = rbase + n, rlen - n, loff + n
    except Errno:
        if not copied:
            raise Errno(EFAULT) from None
    return copied


def _write_remote(target: Task, addr: int, data: bytes) -> None:
    """FOLL_WRITE without FOLL_FORCE: EFAULT unless the mapping is writable. A private
    writable and executable page (a JIT's) may hold code that already ran: it takes the
    bytes in a fresh frame (AddressSpace.write_forced), as QEMU keeps the translations of
    a frame's old code through a store by the host."""
    mm = target.mm
    vma = mm.vmas.find(addr & ~(PAGE_SIZE - 1))
    if vma is not None and vma.prot & PROT_EXEC and vma.prot & PROT_WRITE and not vma.shared:
        mm.write_forced(addr, data)
    else:
        mm.write(addr, data)


@syscall("process_vm_readv")
def process_vm_readv(task: Task, pid: "Int", lvec: "Ptr", liovcnt: "Int", rvec: "Ptr", riovcnt: "Int",
                     flags: "Hex") -> int:
    """Copy from another process's memory (riov) into ours (liov), with ptrace's access check."""
    return _process_vm(task, pid, lvec, liovcnt, rvec, riovcnt, flags, write=False)


@syscall("process_vm_writev")
def process_vm_writev(task: Task, pid: "Int", lvec: "Ptr", liovcnt: "Int", rvec: "Ptr", riovcnt: "Int",
                      flags: "Hex") -> int:
    """Copy from our memory (liov) into another process's (riov), with ptrace's access check."""
    return _process_vm(task, pid, lvec, liovcnt, rvec, riovcnt, flags, write=True)
