"""signalfd: reading pending signals from a file (Linux's fs/signalfd.c).

A signalfd holds a signal mask (never SIGKILL or SIGSTOP). A read dequeues pending signals
in that mask as dequeue_signal does -- the reading thread's own before its process's -- and
returns one 128-byte struct signalfd_siginfo each; it waits while none is pending (unless
O_NONBLOCK). Poll reports POLLIN while a signal in the mask is pending for the task that
asks: as in Linux, readiness and reads belong to the *reader*, not to the creator.

The signal layer sits above fs, so a signalfd is handed a SignalQueues: the few calls it
needs, over whatever the task objects are. The task asking comes from file.POLLER in a
poll scan, else from SignalQueues.current() (the task whose syscall is running).
"""
from __future__ import annotations

import struct
from typing import Any, Protocol

from ..arch.arm64.sigframe import pack_siginfo, siginfo_layout
from ..errors import EAGAIN, EINVAL, Errno
from ..waitq import WaitQueue
from .anon_inode import AnonFile
from .file import O_NONBLOCK, O_RDWR, POLLER, POLLIN

SIGKILL, SIGSTOP = 9, 19
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))
# struct signalfd_siginfo: signo errno code pid uid fd tid band overrun trapno status int
# ptr utime stime addr addr_lsb __pad2 syscall call_addr arch, then 28 bytes of padding.
SIGNALFD_SIGINFO = struct.Struct("<IiiIIiIIIIiiQQQQHHiQI28x")
assert SIGNALFD_SIGINFO.size == 128


class SignalQueues(Protocol):
    """What a signalfd needs of the signal layer."""

    def current(self) -> Any:
        """The task whose syscall is running now."""

    def pending(self, task: Any) -> int:
        """Signals pending for task (its own and its process's), bit signo - 1."""

    def dequeue(self, task: Any, mask: int) -> tuple[int, Any]:
        """Take the next pending signal in mask for task: (signo, its SigInfo), (0, None) if none."""

    def waitqueue(self, task: Any) -> WaitQueue:
        """Woken whenever a signal is queued for task's process (sighand->signalfd_wqh)."""


def pack_signalfd_siginfo(info: Any) -> bytes:
    """signalfd_copyinfo: the fields of the signal's siginfo layout, in signalfd_siginfo form."""
    raw = pack_siginfo(info)
    signo, errno, code = struct.unpack_from("<iii", raw, 0)
    pid = uid = fd = tid = band = overrun = status = sival = 0
    ptr = utime = stime = addr = 0
    kind = siginfo_layout(signo, code)
    if kind == "kill":
        pid, uid = struct.unpack_from("<iI", raw, 16)
    elif kind == "timer":
        tid, overrun, ptr = struct.unpack_from("<iiQ", raw, 16)
        sival = ptr & 0xFFFF_FFFF
    elif kind == "rt":
        pid, uid, ptr = struct.unpack_from("<iIQ", raw, 16)
        sival = ptr & 0xFFFF_FFFF
    elif kind == "poll":
        band, fd = struct.unpack_from("<qi", raw, 16)
    elif kind in ("fault", "sys"):
        (addr,) = struct.unpack_from("<Q", raw, 16)
    elif kind == "chld":
        pid, uid, status, _, utime, stime = struct.unpack_from("<iIiiqq", raw, 16)
    sival = sival - (1 << 32) if sival & 0x8000_0000 else sival
    return SIGNALFD_SIGINFO.pack(signo, errno, code, pid & 0xFFFF_FFFF, uid, fd, tid & 0xFFFF_FFFF,
                                 band & 0xFFFF_FFFF, overrun & 0xFFFF_FFFF, 0, status, sival, ptr,
                                 utime & (2**64 - 1), stime & (2**64 - 1), addr, 0, 0, 0, 0, 0)


class SignalFd(AnonFile):
    anon_name = "[signalfd]"

    def __init__(self, queues: SignalQueues, mask: int, flags: int):
        super().__init__(O_RDWR | flags)
        self.queues = queues
        self.mask = 0
        self.set_mask(mask)

    def set_mask(self, mask: int) -> None:
        """The signals to read (signalfd4 on an existing signalfd changes them)."""
        self.mask = mask & ~UNBLOCKABLE & ((1 << 64) - 1)

    def _asker(self) -> Any:
        task = POLLER.get()
        return task if task is not None else self.queues.current()

    @property
    def poll_wq(self) -> WaitQueue:
        return self.queues.waitqueue(self._asker())

    def poll_events(self, events: int) -> int:
        return POLLIN if self.queues.pending(self._asker()) & self.mask else 0

    async def read(self, n: int) -> bytes:
        count = n // SIGNALFD_SIGINFO.size
        if not count:
            raise Errno(EINVAL)
        task = self.queues.current()            # taken before any sleep: the reader
        out = bytearray()
        while len(out) < count * SIGNALFD_SIGINFO.size:
            signo, info = self.queues.dequeue(task, self.mask)
            if signo:
                out += pack_signalfd_siginfo(info)
                continue
            if out:
                break
            if self.flags & O_NONBLOCK:
                raise Errno(EAGAIN)
            await self.queues.waitqueue(task).wait_until(lambda: bool(self.queues.pending(task) & self.mask))
        return bytes(out)
