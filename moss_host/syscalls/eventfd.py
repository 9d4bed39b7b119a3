"""eventfd2 (arm64 has no plain eventfd; glibc's eventfd() is eventfd2). The counter is fs/eventfd.py."""
from __future__ import annotations

from moss_host.errors import EINVAL, Errno
from moss_host.fs.eventfd import EFD_SEMAPHORE, EventFd
from moss_host.fs.file import O_CLOEXEC, O_NONBLOCK

from .args import Hex, UInt
from .table import syscall

EFD_CLOEXEC, EFD_NONBLOCK = O_CLOEXEC, O_NONBLOCK


@syscall("eventfd2")
async def eventfd2(task, count: "UInt", flags: "Hex") -> int:
    """A new eventfd whose counter starts at count (an unsigned int)."""
    flags &= 0xFFFF_FFFF
    if flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE):
        raise Errno(EINVAL)
    f = EventFd(count & 0xFFFF_FFFF, bool(flags & EFD_SEMAPHORE), flags & EFD_NONBLOCK)
    return task.files.install(f, cloexec=bool(flags & EFD_CLOEXEC))
