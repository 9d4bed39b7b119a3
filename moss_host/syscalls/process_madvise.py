"""process_madvise (Linux's mm/madvise.c): madvise on the ranges of another process, named by
a pidfd. Only the non-destructive hints Linux allows (MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED,
MADV_COLLAPSE); ptrace read access to the target (EACCES as mm_access) and CAP_SYS_NICE
(EPERM) are required. Returns the bytes advised, or the first error if none were."""
from __future__ import annotations

from moss_host.cred import CAP_SYS_NICE, capable
from moss_host.errors import EACCES, EINVAL, EPERM, ESRCH, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.mm import advice as advice_mod
from moss_host.proc.pidfd import may_access, pidfd_of
from moss_host.proc.task import State

from .args import Fd, Hex, Int, Ptr, Size, c_int, c_uint
from .fs import _read_iovecs
from .table import syscall

PROCESS_MADVISE_ADVICE = frozenset({advice_mod.MADV_COLD, advice_mod.MADV_PAGEOUT, advice_mod.MADV_WILLNEED,
                                    advice_mod.MADV_COLLAPSE})


@syscall("process_madvise")
def process_madvise(task, pidfd: "Fd", iov: "Ptr", vlen: "Size", advice: "Int", flags: "Hex") -> int:
    """Give `advice` for each (base, len) of the iovec in the pidfd's process."""
    if c_uint(flags):
        raise Errno(EINVAL)
    segments = _read_iovecs(task, iov, vlen)
    target = pidfd_of(task.files.get(fd_arg(pidfd))).task()
    if target is None:
        raise Errno(ESRCH)
    advice = c_int(advice)
    if advice not in PROCESS_MADVISE_ADVICE:
        raise Errno(EINVAL)
    if target.state is State.ZOMBIE:
        raise Errno(ESRCH)                      # mm_access: the process has no memory left
    if not may_access(task, target):
        raise Errno(EACCES)
    if not capable(task.creds, CAP_SYS_NICE):
        raise Errno(EPERM)
    done = 0
    for base, length in segments:
        try:
            advice_mod.madvise(target.mm, base, length, advice)
        except Errno:
            if done:
                break
            raise
        done += length
    return done
