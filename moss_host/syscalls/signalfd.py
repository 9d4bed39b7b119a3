"""signalfd4 (arm64 has no plain signalfd). The file is fs/signalfd.py; this module hands it the
signal layer (proc/signals.py) through fs.signalfd.SignalQueues."""
from __future__ import annotations

import struct

from moss_host.errors import EINVAL, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import O_CLOEXEC, O_NONBLOCK, file_needs
from moss_host.fs.signalfd import SignalFd
from moss_host.proc import signals
from moss_host.waitq import WaitQueue

from .args import Fd, Hex, Ptr, Size
from .table import syscall

SFD_CLOEXEC, SFD_NONBLOCK = O_CLOEXEC, O_NONBLOCK
SIGSET_SIZE = 8


class TaskSignals:
    """fs.signalfd.SignalQueues over proc/signals.py."""

    def __init__(self, kernel):
        self.kernel = kernel

    def current(self):
        return self.kernel.current_task()

    def pending(self, task) -> int:
        return signals.pending(task) if task is not None else 0

    def dequeue(self, task, mask: int):
        return signals.dequeue(task, mask)

    def waitqueue(self, task) -> WaitQueue:
        if task is None:
            return WaitQueue()                  # nobody asks: nothing will wake it
        signals.action(task, 1)                 # (the handler table is made on first use)
        assert task.sighand is not None
        return task.sighand.signalfd_wq


@syscall("signalfd4")
async def signalfd4(task, fd: "Fd", mask_ptr: "Ptr", sizemask: "Size", flags: "Hex") -> int:
    """A signalfd reading the signals of the mask at mask_ptr (fd -1), or a new mask for the
    signalfd fd; returns the descriptor."""
    if sizemask != SIGSET_SIZE:
        raise Errno(EINVAL)
    (mask,) = struct.unpack("<Q", task.mm.read(mask_ptr, SIGSET_SIZE))     # EFAULT
    flags &= 0xFFFF_FFFF
    if flags & ~(SFD_CLOEXEC | SFD_NONBLOCK):
        raise Errno(EINVAL)
    fd = fd_arg(fd)
    if fd == -1:
        new = SignalFd(TaskSignals(task.kernel), mask, flags & SFD_NONBLOCK)
        return task.files.install(new, cloexec=bool(flags & SFD_CLOEXEC))
    f = file_needs(task.files.get(fd))              # (fdget: an O_PATH descriptor is EBADF)
    if not isinstance(f, SignalFd):
        raise Errno(EINVAL)
    f.set_mask(mask)
    if task.sighand is not None:
        task.sighand.signalfd_wq.wake_all()
    return fd
