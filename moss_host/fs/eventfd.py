"""eventfd: a 64-bit counter as a file (Linux's fs/eventfd.c).

A write adds its 8-byte value to the counter (waiting while the sum would reach
2**64 - 1); a read returns the counter and zeroes it, or with EFD_SEMAPHORE returns 1
and decrements it (waiting while it is zero). Buffers shorter than 8 bytes are EINVAL;
writing 0xffffffffffffffff is EINVAL. Poll: POLLIN while the counter is non-zero,
POLLOUT while another 1 fits, POLLERR at the (only kernel-reachable) maximum.
Wake-ups carry their poll key (POLLIN after a write, POLLOUT after a read), which is what
edge-triggered epoll reports on.
"""
from __future__ import annotations

import struct

from ..errors import EAGAIN, EINVAL, Errno
from ..waitq import WaitQueue
from .anon_inode import AnonFile
from .file import O_NONBLOCK, O_RDWR, POLLERR, POLLIN, POLLOUT

EFD_SEMAPHORE = 1
ULLONG_MAX = (1 << 64) - 1
COUNT = struct.Struct("<Q")


class EventFd(AnonFile):
    anon_name = "[eventfd]"
    poll_wakes_on_change = True     # count changes only in read/write, which wake waitq

    def __init__(self, count: int, semaphore: bool, flags: int):
        super().__init__(O_RDWR | flags)
        self.count = count
        self.semaphore = semaphore
        self.waitq = WaitQueue()

    @property
    def poll_wq(self) -> WaitQueue:
        return self.waitq

    def poll_events(self, events: int) -> int:
        mask = POLLIN if self.count > 0 else 0
        if self.count == ULLONG_MAX:
            mask |= POLLERR
        if ULLONG_MAX - 1 > self.count:
            mask |= POLLOUT
        return mask

    def signal(self, n: int) -> None:
        """eventfd_signal (a completed AIO request): add n, saturating at the maximum."""
        self.count += min(n, ULLONG_MAX - self.count)
        self.waitq.wake_poll(POLLIN)

    async def read(self, n: int) -> bytes:
        if n < COUNT.size:
            raise Errno(EINVAL)
        if not self.count:
            if self.flags & O_NONBLOCK:
                raise Errno(EAGAIN)
            await self.waitq.wait_until(lambda: self.count > 0)
        value = 1 if self.semaphore else self.count
        self.count -= value
        self.waitq.wake_poll(POLLOUT)
        return COUNT.pack(value)

    async def write(self, data: bytes) -> int:
        if len(data) < COUNT.size:
            raise Errno(EINVAL)
        (value,) = COUNT.unpack_from(data)
        if value == ULLONG_MAX:
            raise Errno(EINVAL)
        if not ULLONG_MAX - self.count > value:
            if self.flags & O_NONBLOCK:
                raise Errno(EAGAIN)
            await self.waitq.wait_until(lambda: ULLONG_MAX - self.count > value)
        self.count += value
        self.waitq.wake_poll(POLLIN)
        return COUNT.size
