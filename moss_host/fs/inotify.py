"""inotify instances (Linux's fs/notify/inotify): a file whose reads return the events of its
watches, as `struct inotify_event` records.

Watches are fsnotify Marks (fsnotify.py raises the events); each instance numbers its watch
descriptors cyclically from 1 (idr_alloc_cyclic), one per inode: adding a watch for an inode
already watched changes its mask (or ORs into it with IN_MASK_ADD, or is EEXIST with
IN_MASK_CREATE) and returns the same wd. Events queue up to max_queued_events; one more
becomes a single IN_Q_OVERFLOW. An event equal to the last one queued (same wd, mask,
cookie and name) is dropped (inotify_merge). A read returns as many whole events as fit
(EINVAL if not even the first does), waits while none are queued (EAGAIN with O_NONBLOCK),
and the file is readable to poll while events are queued.
"""
from __future__ import annotations

import struct
from collections import deque
from typing import TYPE_CHECKING, NamedTuple

from ..errors import EAGAIN, EEXIST, EINVAL, ENOTTY, Errno
from ..waitq import WaitQueue
from .anon_inode import AnonFile
from .file import FIONREAD, O_NONBLOCK, O_RDONLY, POLLIN, POLLRDNORM
from .fsnotify import IN_ALL_EVENTS, IN_EXCL_UNLINK, IN_MASK_ADD, IN_MASK_CREATE, IN_ONESHOT, IN_Q_OVERFLOW, Mark

if TYPE_CHECKING:
    from .vfs import Inode

MAX_QUEUED_EVENTS = 16384           # /proc/sys/fs/inotify/max_queued_events
EVENT_HEAD = struct.Struct("<iIII")  # wd, mask, cookie, len; then the name, NUL-padded to len
WATCH_MASK = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK


class Event(NamedTuple):
    wd: int
    mask: int
    cookie: int
    name: bytes

    def packed(self) -> bytes:
        """The record: a name is padded with NULs to a multiple of 16 bytes, NUL included."""
        if not self.name:
            return EVENT_HEAD.pack(self.wd, self.mask, self.cookie, 0)
        padded = (len(self.name) + 1 + 15) & ~15
        return EVENT_HEAD.pack(self.wd, self.mask, self.cookie, padded) + self.name.ljust(padded, b"\0")


class Inotify(AnonFile):
    anon_name = "inotify"
    has_fasync = True           # fsnotify_fasync: SIGIO for each event queued

    def __init__(self, flags: int):
        super().__init__(O_RDONLY | flags)
        self.events: deque[Event] = deque()
        self.overflowed = False             # the IN_Q_OVERFLOW event is queued
        self.marks: dict[int, Mark] = {}    # wd -> mark
        self.last_wd = 0
        self.waitq = WaitQueue()

    # -- watches
    def add_watch(self, inode: "Inode", mask: int) -> int:
        """inotify_update_watch: change the inode's watch, or make one."""
        for mark in self.marks.values():
            if mark.inode is inode:
                if mask & IN_MASK_CREATE:
                    raise Errno(EEXIST)
                new = mask & WATCH_MASK
                mark.mask = (mark.mask | new) if mask & IN_MASK_ADD else new
                return mark.wd
        wd = self._next_wd()
        mark = Mark(self, inode, wd, mask & WATCH_MASK)
        self.marks[wd] = mark
        mark.attach()
        return wd

    def _next_wd(self) -> int:
        wd = self.last_wd + 1
        while wd in self.marks or wd > 0x7FFF_FFFF:
            wd = 1 if wd > 0x7FFF_FFFF else wd + 1
        self.last_wd = wd
        return wd

    def rm_watch(self, wd: int) -> None:
        mark = self.marks.get(wd)
        if mark is None:
            raise Errno(EINVAL)
        mark.detach()

    def mark_gone(self, mark: Mark) -> None:
        self.marks.pop(mark.wd, None)

    def release(self) -> None:
        for mark in list(self.marks.values()):
            mark.forget()
        self.marks.clear()

    # -- the queue
    def queue_event(self, wd: int, mask: int, cookie: int, name: bytes) -> None:
        event = Event(wd, mask, cookie, name)
        if self.events and self.events[-1] == event:
            return                          # inotify_merge: same as the last one
        if len(self.events) >= MAX_QUEUED_EVENTS:
            if self.overflowed:
                return
            self.overflowed = True
            event = Event(-1, IN_Q_OVERFLOW, 0, b"")
        self.events.append(event)
        self.waitq.wake_poll(POLLIN)

    @property
    def poll_wq(self) -> WaitQueue:
        return self.waitq

    def poll_events(self, events: int) -> int:
        return POLLIN | POLLRDNORM if self.events else 0

    async def read(self, n: int) -> bytes:
        if not self.events:
            if self.flags & O_NONBLOCK:
                raise Errno(EAGAIN)
            await self.waitq.wait_until(lambda: bool(self.events))
        out = bytearray()
        while self.events:
            record = self.events[0].packed()
            if len(out) + len(record) > n:
                break
            out += record
            if self.events.popleft().mask == IN_Q_OVERFLOW:
                self.overflowed = False
        if not out:
            raise Errno(EINVAL)
        return bytes(out)

    async def ioctl(self, task, cmd: int, arg: int) -> int:
        if cmd == FIONREAD:
            task.mm.write(arg, struct.pack("<i", sum(len(e.packed()) for e in self.events)))
            return 0
        raise Errno(ENOTTY)
