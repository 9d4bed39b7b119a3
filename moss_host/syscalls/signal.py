"""Signal syscalls: dispositions, masks, waiting for signals, sending them, and the return
from a handler. The semantics live in proc/signals.py; these decode and check arguments
in the order Linux's kernel/signal.c does, so the same errno wins.
"""
from __future__ import annotations

import asyncio
import struct

from moss_host.arch.arm64.sigframe import SIGINFO_SIZE, SIGSET_SIZE, STACK_T, pack_siginfo
from moss_host.cred import CAP_KILL, capable
from moss_host.errors import EAGAIN, EINTR, EINVAL, EPERM, ERESTARTNOHAND, ESRCH, Errno
from moss_host.proc import signals as S
from moss_host.waitq import WaitQueue
from moss_host.uapi import NSEC_PER_SEC, TIMESPEC, timespec_valid

from .args import Int, Ptr, Size
from .table import syscall

SIGACTION = struct.Struct("<QQQQ")        # arm64 struct sigaction: handler, flags, restorer, mask
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
INT_MIN = -(1 << 31)


def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v


def _valid(sig: int) -> bool:
    """valid_signal(): 0..64 read as unsigned."""
    return 0 <= sig <= S.NSIG


def _read_sigset(task, ptr: int) -> int:
    return int.from_bytes(task.mm.read(ptr, SIGSET_SIZE), "little")


def _write_sigset(task, ptr: int, value: int, size: int = SIGSET_SIZE) -> None:
    task.mm.write(ptr, (value & (1 << 64) - 1).to_bytes(8, "little")[:size])


# -- dispositions and masks ----------------------------------------------------------------------

@syscall("rt_sigaction")
async def rt_sigaction(task, sig: "Int", act: "Ptr", oact: "Ptr", sigsetsize: "Size") -> int:
    """Examine and change the action for sig (struct sigaction {handler, flags, restorer, mask})."""
    if sigsetsize != SIGSET_SIZE:
        raise Errno(EINVAL)
    new = SIGACTION.unpack(task.mm.read(act, SIGACTION.size)) if act else None
    sig = _s32(sig)
    if not 1 <= sig <= S.NSIG or (new is not None and sig in (S.SIGKILL, S.SIGSTOP)):
        raise Errno(EINVAL)
    cur = S.action(task, sig)
    old = (cur.handler, cur.flags & S.UAPI_SA_FLAGS, cur.restorer, cur.mask)
    if new is not None:
        handler, flags, restorer, mask = new
        cur.handler, cur.flags = handler, flags & S.UAPI_SA_FLAGS
        cur.restorer, cur.mask = restorer, mask & ~S.UNCATCHABLE
        if S.is_ignored(task, sig):
            # POSIX: setting SIG_IGN (or SIG_DFL where the default is to ignore) discards
            # a pending instance, blocked or not.
            S._flush(task, S.bit(sig))
    if oact:
        task.mm.write(oact, SIGACTION.pack(*old))
    return 0


@syscall("rt_sigprocmask")
def rt_sigprocmask(task, how: "Int", nset: "Ptr", oset: "Ptr", sigsetsize: "Size") -> int:
    """Change the blocked mask; SIGKILL and SIGSTOP are never blocked."""
    if sigsetsize != SIGSET_SIZE:
        raise Errno(EINVAL)
    old = task.blocked
    if nset:
        new = _read_sigset(task, nset) & ~S.UNCATCHABLE
        how = _s32(how)
        if how == SIG_BLOCK:
            task.blocked = old | new
        elif how == SIG_UNBLOCK:
            task.blocked = old & ~new
        elif how == SIG_SETMASK:
            task.blocked = new
        else:
            raise Errno(EINVAL)
    if oset:
        _write_sigset(task, oset, old)
    return 0


@syscall("rt_sigpending")
async def rt_sigpending(task, uset: "Ptr", sigsetsize: "Size") -> int:
    """The pending signals that are blocked."""
    if sigsetsize > SIGSET_SIZE:
        raise Errno(EINVAL)
    _write_sigset(task, uset, S.pending(task) & task.blocked, sigsetsize)
    return 0


# -- waiting for signals -------------------------------------------------------------------------

@syscall("rt_sigsuspend")
async def rt_sigsuspend(task, unewset: "Ptr", sigsetsize: "Size") -> int:
    """Replace the mask and sleep until a signal is delivered. Always -EINTR: the
    -ERESTARTNOHAND becomes EINTR once the handler's frame holds the old mask."""
    if sigsetsize != SIGSET_SIZE:
        raise Errno(EINVAL)
    new = _read_sigset(task, unewset)
    task.saved_blocked = task.blocked
    task.blocked = new & ~S.UNCATCHABLE
    try:
        while not S.pending(task) & ~task.blocked:
            await WaitQueue().wait()
    except asyncio.CancelledError:
        pass
    return -ERESTARTNOHAND


@syscall("rt_sigtimedwait")
async def rt_sigtimedwait(task, uthese: "Ptr", uinfo: "Ptr", uts: "Ptr", sigsetsize: "Size") -> int:
    """Take one of the signals in *uthese off the pending set, waiting up to *uts."""
    if sigsetsize != SIGSET_SIZE:
        raise Errno(EINVAL)
    wanted = _read_sigset(task, uthese) & ~S.UNCATCHABLE
    timeout = None
    if uts:
        sec, nsec = TIMESPEC.unpack(task.mm.read(uts, TIMESPEC.size))
        if not timespec_valid(sec, nsec):
            raise Errno(EINVAL)
        timeout = sec + nsec / NSEC_PER_SEC
    signo, info = S.dequeue(task, wanted)
    if not signo and timeout != 0:
        # Unblock what we wait for while asleep, so that its arrival wakes us.
        # The real mask is kept in real_blocked meanwhile: a signal it blocks must still be
        # queued, never judged ignored and dropped (Linux's real_blocked).
        real_blocked = task.real_blocked = task.blocked
        task.blocked &= ~wanted
        interrupted = False
        try:
            if not S.pending(task) & ~task.blocked:
                await WaitQueue().wait(timeout)
        except asyncio.CancelledError:
            interrupted = True
        finally:
            task.blocked = real_blocked
            task.real_blocked = 0
        signo, info = S.dequeue(task, wanted)
        if not signo and interrupted:
            return -EINTR
    if not signo:
        raise Errno(EAGAIN)
    assert info is not None                     # dequeue gives one with every signo
    if uinfo:
        task.mm.write(uinfo, pack_siginfo(info))
    return signo


# -- sending -------------------------------------------------------------------------------------

def _kill_permitted(sender, target, sig: int) -> bool:
    """check_kill_permission() for a signal from user space (sig already valid)."""
    if sender.tgid == target.tgid:
        return True
    c, t = sender.creds, target.creds
    if capable(c, CAP_KILL) or c.euid in (t.suid, t.uid) or c.uid in (t.suid, t.uid):
        return True
    return sig == S.SIGCONT and sender.sid == target.sid


def _send_user(sender, target, sig: int, info: S.SigInfo, thread: bool = False) -> int:
    """group_send_sig_info() (or to one thread): 0 or -errno; sig 0 checks only."""
    if not _valid(sig):
        return -EINVAL
    if not _kill_permitted(sender, target, sig):
        return -EPERM
    if sig:
        return S.send_signal(target, sig, info, thread=thread)   # -EAGAIN: RLIMIT_SIGPENDING
    return 0


def _user_info(task, sig: int, code: int = S.SI_USER) -> S.SigInfo:
    return S.SigInfo(sig, code, pid=task.tgid, uid=task.creds.uid)


def _kill_group(task, pgid: int, sig: int) -> int:
    """__kill_pgrp_info(): 0 if any member got it, else the last error (ESRCH if none)."""
    success, result = False, -ESRCH
    for t in task.kernel.pids.processes():
        if t.pgid == pgid:
            result = _send_user(task, t, sig, _user_info(task, sig))
            success |= result == 0
    return 0 if success else result


@syscall("kill")
async def kill(task, pid: "Int", sig: "Int") -> int:
    """Send sig to a process (pid > 0), our group (0), everyone we may (-1), or group -pid."""
    pid, sig = _s32(pid), _s32(sig)
    pids = task.kernel.pids
    if pid > 0:
        target = pids.get(pid)                  # a thread's tid names its process too
        if target is None:
            return -ESRCH
        return _send_user(task, target, sig, _user_info(task, sig))
    if pid == 0:
        return _kill_group(task, task.pgid, sig)
    if pid == -1:
        result, count = 0, 0
        for t in pids.processes():
            if t.tgid > 1 and t.tgid != task.tgid:
                err = _send_user(task, t, sig, _user_info(task, sig))
                count += 1
                if err != -EPERM:
                    result = err
        return result if count else -ESRCH
    if pid == INT_MIN:
        return -ESRCH
    return _kill_group(task, -pid, sig)


def _send_specific(task, tgid: int, tid: int, sig: int) -> int:
    """do_send_specific(): the thread tid (of process tgid when tgid > 0)."""
    target = task.kernel.pids.get(tid)
    if target is None or (tgid > 0 and target.tgid != tgid):
        return -ESRCH
    return _send_user(task, target, sig, _user_info(task, sig, S.SI_TKILL), thread=True)


@syscall("tgkill")
async def tgkill(task, tgid: "Int", tid: "Int", sig: "Int") -> int:
    """Send sig to thread tid of process tgid."""
    tgid, tid, sig = _s32(tgid), _s32(tid), _s32(sig)
    if tid <= 0 or tgid <= 0:
        return -EINVAL
    return _send_specific(task, tgid, tid, sig)


@syscall("tkill")
async def tkill(task, tid: "Int", sig: "Int") -> int:
    """Send sig to thread tid (obsolete: tgkill)."""
    tid, sig = _s32(tid), _s32(sig)
    if tid <= 0:
        return -EINVAL
    return _send_specific(task, 0, tid, sig)


@syscall("rt_sigqueueinfo")
async def rt_sigqueueinfo(task, pid: "Int", sig: "Int", uinfo: "Ptr") -> int:
    """Send sig with the caller's siginfo to process pid; only the kernel (or the
    process itself) may claim SI_USER/SI_KERNEL or SI_TKILL codes."""
    pid, sig = _s32(pid), _s32(sig)
    raw = task.mm.read(uinfo, SIGINFO_SIZE)
    code = struct.unpack_from("<i", raw, 8)[0]
    if (code >= 0 or code == S.SI_TKILL) and task.tgid != pid:
        return -EPERM
    target = task.kernel.pids.get(pid) if pid > 0 else None
    if target is None or target.tgid != pid:
        return -ESRCH
    info = S.SigInfo(sig, code, raw=raw)
    return _send_user(task, target, sig, info)


@syscall("rt_tgsigqueueinfo")
async def rt_tgsigqueueinfo(task, tgid: "Int", tid: "Int", sig: "Int", uinfo: "Ptr") -> int:
    """rt_sigqueueinfo aimed at thread tid of process tgid."""
    tgid, tid, sig = _s32(tgid), _s32(tid), _s32(sig)
    if tid <= 0 or tgid <= 0:
        return -EINVAL
    raw = task.mm.read(uinfo, SIGINFO_SIZE)
    code = struct.unpack_from("<i", raw, 8)[0]
    if (code >= 0 or code == S.SI_TKILL) and task.tid != tid:
        return -EPERM
    target = task.kernel.pids.get(tid)
    if target is None or target.tgid != tgid:
        return -ESRCH
    return _send_user(task, target, sig, S.SigInfo(sig, code, raw=raw), thread=True)


# -- the alternate stack and the return from a handler --------------------------------------------

@syscall("sigaltstack")
async def sigaltstack(task, uss: "Ptr", uoss: "Ptr") -> int:
    """Set and/or get the alternate signal stack."""
    sp = task.regs().sp
    new = None
    if uss:
        ss_sp, ss_flags, _, ss_size = STACK_T.unpack(task.mm.read(uss, STACK_T.size))
        new = (ss_sp, ss_flags, ss_size)
    ss_sp, ss_flags, ss_size = task.altstack
    old = STACK_T.pack(ss_sp, S.sas_ss_flags(task, sp) | (ss_flags & S.SS_FLAG_BITS), 0, ss_size)
    if new is not None:
        err = S.set_altstack(task, new, sp)
        if err:
            return err
    if uoss:
        task.mm.write(uoss, old)
    return 0


@syscall("rt_sigreturn")
async def rt_sigreturn(task) -> int:
    """Return from a signal handler: the context in the frame at sp comes back."""
    return S.restore_frame(task)

