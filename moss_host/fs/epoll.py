"""epoll: an interest list of files and a ready list (Linux's fs/eventpoll.c).

Each registered (file, fd) pair is an EpItem holding a lasting watch on the file's poll
queue(s) (OpenFile.poll_subscribe). A wake-up whose key matches the item's events puts the
item on the ready list (ep_poll_callback) and wakes epoll_wait sleepers and whoever polls
the epoll file itself. epoll_wait then polls each ready item (ep_send_events): an item with
nothing to report leaves the list; a level-triggered item that reported goes back to its
end, an edge-triggered one waits for its next wake-up, a EPOLLONESHOT one is disabled
until EPOLL_CTL_MOD. The order of the reported events is the order of the wake-ups.

Items hold no reference on their file: closing a descriptor leaves its item as long as
the open file lives (a dup, a child's copy); the file's release removes it
(eventpoll_release). An epoll file is pollable, so epolls nest, with ELOOP for cycles and
for chains deeper than EP_MAX_NESTS.
"""
from __future__ import annotations

import asyncio
import struct
from typing import Any, Callable, Optional, Sequence

from ..errors import EEXIST, EINTR, EINVAL, ELOOP, ENOENT, ENOSPC, EPERM, Errno
from ..waitq import WAKE_ANY, WaitQueue
from .anon_inode import AnonFile
from .signalfd import SignalFd
from .file import (ALL_POLL_EVENTS, O_RDWR, POLLER, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, OpenFile,
                   PollSubscription, poll_mask)

EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP = 0x1, 0x2, 0x4, 0x8, 0x10
EPOLLRDNORM, EPOLLRDHUP = 0x40, 0x2000
EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET = 1 << 28, 1 << 29, 1 << 30, 1 << 31
EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE
EPOLLEXCLUSIVE_OK_BITS = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE
EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
EP_MAX_NESTS = 4
EPOLL_EVENT = struct.Struct("<IxxxxQ")      # arm64's struct epoll_event is not packed: 16 bytes
_NOT_LEVEL = EPOLLONESHOT | EPOLLET
# POLLIN -> POLLRDNORM and POLLOUT -> POLLWRNORM are one shift apart: the twins in one step.
_IN_OUT, _TO_NORM = POLLIN | POLLOUT, 6
assert POLLIN << _TO_NORM == POLLRDNORM and POLLOUT << _TO_NORM == POLLWRNORM
# The items of every epoll a user created (user_struct's epoll_watches), by uid: an
# EPOLL_CTL_ADD past /proc/sys/fs/epoll/max_user_watches is ENOSPC.
USER_WATCHES: dict[int, int] = {}


class EpItem:
    """One registration: a file under one descriptor number, its events and user data."""

    def __init__(self, ep: "Epoll", file: OpenFile, fd: int, events: int, data: int):
        self.ep = ep
        self.file = file
        self.fd = fd
        self.events = events
        self.data = data
        self.ready = False                  # on ep.ready (ep_is_linked)
        self.revents = 0                    # what the last harvest found (stored by the caller)
        # revents is still what the file would say: no wake-up of the file since that harvest,
        # and the file wakes its poll queue at every change (OpenFile.poll_wakes_on_change).
        self.unchanged = False
        self.trusts_wakes = file.poll_wakes_on_change and file.poll_wq is not None
        self.subscription: Optional[PollSubscription] = None
        self.stops: list[Callable[[], None]] = []
        self.alone = (self,)                # harvest's answer when it is the one ready item
        # The file's poll, looked up once: harvest calls it on every epoll_wait.
        self.poll_now: Callable[[int], int] = (_nested_poll(file.ep) if isinstance(file, EpollFile)
                                               else file.poll_events)

    def poll(self, asker_depth: int = 0) -> int:
        """ep_item_poll: the file's events now, of those this item asks for."""
        f = self.file
        if isinstance(f, EpollFile):
            mask = f.ep.ready_events(asker_depth + 1)
        else:
            mask = poll_mask(f)
        return mask & self.events

    @property
    def level_triggered(self) -> bool:
        """Neither edge-triggered nor one-shot: reported for as long as the file is ready."""
        return not self.events & _NOT_LEVEL

    def wake(self, key: int) -> bool:
        """ep_poll_callback: a wake-up of the file. Whether it counts as having woken someone:
        always, unless EPOLLEXCLUSIVE, which counts only when an epoll_wait was sleeping and
        the wake-up was for what it asks (so an exclusive wake-up goes on to the next epoll)."""
        self.unchanged = False              # (before the key test: any change may end readiness)
        self.ep.steady = None
        exclusive = bool(self.events & EPOLLEXCLUSIVE)
        if not self.events & ~EP_PRIVATE_BITS or not key & self.events:
            return not exclusive            # (disabled by EPOLLONESHOT until EPOLL_CTL_MOD)
        sleepers = len(self.ep.wq) > 0 or self.ep.parked > 0
        self.ep.make_ready(self)
        if not exclusive:
            return True
        inout = 0 if key == WAKE_ANY else key & (EPOLLIN | EPOLLOUT)
        return sleepers and (inout == 0 or (inout in (EPOLLIN, EPOLLOUT) and bool(inout & self.events)))


def _nested_poll(ep: "Epoll") -> Callable[[int], int]:
    """An item's poll_now for an epoll inside an epoll: asked from one level up."""
    return lambda events: ep.ready_events(1)


class Epoll:
    """struct eventpoll: the interest list, the ready list, and who waits on them."""

    def __init__(self, uid: int = 0) -> None:
        self.uid = uid                      # the creator's (ep->user): whose watches these are
        self.items: dict[tuple[int, int], EpItem] = {}     # (id(file), fd) -> item
        self.ready: list[EpItem] = []
        self.wq = WaitQueue()               # epoll_wait sleepers
        self.poll_wait = WaitQueue()        # poll/select/epoll on the epoll file itself
        self.nested_in: list[EpItem] = []   # the items of other epolls watching this one
        self.askers = 0                     # items whose readiness depends on who asks (POLLER)
        self.parked = 0                     # epoll_wait sleepers parked on a watch of wq (no future)
        # The one ready item when epoll_wait's answer is its last one again: level-triggered,
        # reported, its file unchanged since (EpItem.unchanged), nothing else ready. The
        # syscall's synchronous try stores that event without harvest or settle. Cleared by
        # whatever could change the answer: a wake-up of any item, the ready list changing,
        # EPOLL_CTL_MOD.
        self.steady: Optional[EpItem] = None

    # -- the ready list
    def make_ready(self, item: EpItem) -> None:
        if not item.ready:
            item.ready = True
            self.ready.append(item)
            self.steady = None
        self.wq.wake_all()
        self.poll_wait.wake_poll(EPOLLIN)

    def _unlink(self, item: EpItem) -> None:
        if item.ready:
            item.ready = False
            item.unchanged = False
            self.steady = None
            self.ready.remove(item)
            if item.subscription is not None:
                item.subscription.rearm()

    def ready_events(self, depth: int = 0) -> int:
        """__ep_eventpoll_poll: POLLIN if an item on the ready list really has events; the
        ones that have none leave the list."""
        if depth > EP_MAX_NESTS:
            return 0
        for item in list(self.ready):
            if item.poll(depth):
                return EPOLLIN | EPOLLRDNORM
            self._unlink(item)
        return 0

    def harvest(self, maxevents: int) -> Sequence[EpItem]:
        """ep_send_events' choice: up to maxevents items of the ready list that have events,
        each with them in `revents` (not to be changed: one ready item answers with its own
        tuple, allocated once). The caller stores (revents, data) of each, then hands settle()
        the items it stored."""
        ready = self.ready
        if len(ready) == 1:                 # the usual case, without the loop's bookkeeping
            item = ready[0]
            if item.unchanged:              # reported, the file unchanged since
                if not item.events & _NOT_LEVEL:
                    self.steady = item
                return item.alone
            mask = item.poll_now(ALL_POLL_EVENTS)
            revents = (mask | (mask & _IN_OUT) << _TO_NORM) & item.events
            if revents:
                item.revents = revents
                if item.trusts_wakes:
                    item.unchanged = True
                    if not item.events & _NOT_LEVEL:
                        self.steady = item
                return item.alone
            self._unlink(item)
            return ()
        self.steady = None
        out: list[EpItem] = []
        stale: Optional[list[EpItem]] = None
        for item in ready:                  # (a wake-up meanwhile appends: seen later on)
            if item.unchanged:
                revents = item.revents
            else:
                mask = item.poll_now(ALL_POLL_EVENTS)
                revents = (mask | (mask & _IN_OUT) << _TO_NORM) & item.events     # (poll_mask's *NORM twins)
            if revents:
                item.revents = revents
                item.unchanged = item.trusts_wakes
                out.append(item)
                if len(out) >= maxevents:
                    break
            elif stale is None:
                stale = [item]
            else:
                stale.append(item)
        if stale is not None:
            for item in stale:
                self._unlink(item)
        return out

    def settle(self, reported: Sequence[EpItem]) -> None:
        """After the events of `reported` reached user space: one-shot items are disabled,
        edge-triggered ones leave the ready list, level-triggered ones move to its end."""
        ready = self.ready
        for item in reported:
            if item.ready and not item.events & (EPOLLONESHOT | EPOLLET):
                if ready[-1] is not item:       # level-triggered: stays ready, at the end
                    ready.remove(item)
                    ready.append(item)
                continue
            self._unlink(item)
            if item.events & EPOLLONESHOT:
                item.events &= EP_PRIVATE_BITS
            elif not item.events & EPOLLET:
                item.ready = True
                ready.append(item)
                self.steady = None

    # -- the interest list
    def ctl(self, op: int, f: OpenFile, fd: int, events: int, data: int, max_watches: int = 1 << 31) -> None:
        """EPOLL_CTL_ADD/MOD/DEL after the descriptor checks (the syscall's); an ADD is
        ENOSPC when the creator has max_watches items in all its epolls."""
        item = self.items.get((id(f), fd))
        if op == EPOLL_CTL_ADD:
            if item is not None:
                raise Errno(EEXIST)
            if USER_WATCHES.get(self.uid, 0) >= max_watches:
                raise Errno(ENOSPC)
            self._insert(f, fd, events | EPOLLERR | EPOLLHUP, data)
        elif op == EPOLL_CTL_DEL:
            if item is None:
                raise Errno(ENOENT)
            self.remove(item)
        elif op == EPOLL_CTL_MOD:
            if item is None:
                raise Errno(ENOENT)
            if item.events & EPOLLEXCLUSIVE:
                raise Errno(EINVAL)
            item.events = events | EPOLLERR | EPOLLHUP
            item.data = data
            item.unchanged = False
            self.steady = None
            if item.subscription is not None:
                item.subscription.change(item.events)
            self._check_now(item)
        else:
            raise Errno(EINVAL)

    def _insert(self, f: OpenFile, fd: int, events: int, data: int) -> None:
        item = EpItem(self, f, fd, events, data)
        self.items[(id(f), fd)] = item
        USER_WATCHES[self.uid] = USER_WATCHES.get(self.uid, 0) + 1
        if _asks_poller(f):
            self.askers += 1
        item.subscription = f.poll_subscribe(events, item.wake, exclusive=bool(events & EPOLLEXCLUSIVE))
        item.stops = [item.subscription.stop, f.on_release(lambda: self.remove(item))]
        if isinstance(f, EpollFile):
            f.ep.nested_in.append(item)
            item.stops.append(lambda: f.ep.nested_in.remove(item))
        self._check_now(item)

    def _check_now(self, item: EpItem) -> None:
        if item.poll() and not item.ready:
            self.make_ready(item)

    def remove(self, item: EpItem) -> None:
        """ep_remove: forget the item (EPOLL_CTL_DEL, its file released, the epoll released)."""
        if self.items.get((id(item.file), item.fd)) is not item:
            return
        del self.items[(id(item.file), item.fd)]
        USER_WATCHES[self.uid] -= 1
        if _asks_poller(item.file):
            self.askers -= 1
        for stop in item.stops:
            stop()
        item.stops = []
        item.subscription = None
        self._unlink(item)

    def depth_below(self, inserting_into: "Epoll", depth: int = 0) -> int:
        """ep_loop_check_proc: how many levels of epolls this one holds, EP_MAX_NESTS + 1 when
        `inserting_into` is among them (a loop) or they go too deep."""
        result = 0
        for item in self.items.values():
            f = item.file
            if isinstance(f, EpollFile):
                if f.ep is inserting_into or depth > EP_MAX_NESTS:
                    return EP_MAX_NESTS + 1
                result = max(result, f.ep.depth_below(inserting_into, depth + 1) + 1)
                if result > EP_MAX_NESTS:
                    break
        return result

    def depth_above(self) -> int:
        """ep_get_upwards_depth_proc: how many levels of epolls hold this one."""
        return max((item.ep.depth_above() + 1 for item in self.nested_in), default=0)

    def would_loop(self, target: "Epoll") -> bool:
        """ep_loop_check: adding `target` here closes a loop or nests more than EP_MAX_NESTS."""
        below = target.depth_below(self)
        return below > EP_MAX_NESTS or below + 1 + self.depth_above() > EP_MAX_NESTS

    def close(self) -> None:
        """ep_free: the epoll file is released; every item goes."""
        for item in list(self.items.values()):
            self.remove(item)

    # -- epoll_wait
    async def wait(self, poller: Any, maxevents: int, timeout: Optional[float],
                   interrupted: Callable[[], bool]) -> Sequence[EpItem]:
        """ep_poll for task `poller`: wait until items have events (returned unsettled), `timeout`
        seconds pass ([]; None: no limit, 0: do not wait), or a signal is pending (EINTR:
        `interrupted` says so before a sleep; a cancellation during one propagates)."""
        got = self._harvest_for(poller, maxevents)
        if got or timeout == 0:
            return got
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if interrupted():
                raise Errno(EINTR)          # epoll_wait is never restarted
            await self.wq.wait(None if deadline is None else deadline - loop.time())
            got = self._harvest_for(poller, maxevents)
            if got or (deadline is not None and loop.time() >= deadline):
                return got

    def ready_now(self, poller: Any, maxevents: int) -> Sequence[EpItem]:
        """wait()'s first harvest alone, for a caller that will not sleep: what is ready now."""
        if not self.askers:
            return self.harvest(maxevents)
        token = POLLER.set(poller)          # a signalfd's readiness is the asker's
        try:
            return self.harvest(maxevents)
        finally:
            POLLER.reset(token)

    def _harvest_for(self, poller: Any, maxevents: int) -> Sequence[EpItem]:
        if not self.ready:
            return []
        token = POLLER.set(poller)          # a signalfd's readiness is the asker's
        try:
            return self.harvest(maxevents)
        finally:
            POLLER.reset(token)


def _asks_poller(f: OpenFile) -> bool:
    """Whether f's readiness is the asking task's (a signalfd; an epoll, which may hold one)."""
    return isinstance(f, (SignalFd, EpollFile))


class EpollFile(AnonFile):
    anon_name = "[eventpoll]"

    def __init__(self, flags: int = 0, uid: int = 0):
        super().__init__(O_RDWR | flags)
        self.ep = Epoll(uid)

    @property
    def poll_wq(self) -> WaitQueue:
        return self.ep.poll_wait

    def poll_events(self, events: int) -> int:
        return self.ep.ready_events()

    def release(self) -> None:
        self.ep.close()


def check_ctl(ep_file: OpenFile, target: OpenFile, op: int, events: int) -> Epoll:
    """do_epoll_ctl's checks on the two files, in Linux's order; the epoll to change."""
    if not target.can_poll:
        raise Errno(EPERM)
    if ep_file is target or not isinstance(ep_file, EpollFile):
        raise Errno(EINVAL)
    if op != EPOLL_CTL_DEL and events & EPOLLEXCLUSIVE:
        if op == EPOLL_CTL_MOD:
            raise Errno(EINVAL)
        if op == EPOLL_CTL_ADD and (isinstance(target, EpollFile) or events & ~EPOLLEXCLUSIVE_OK_BITS):
            raise Errno(EINVAL)
    if op == EPOLL_CTL_ADD and isinstance(target, EpollFile) and ep_file.ep.would_loop(target.ep):
        raise Errno(ELOOP)
    return ep_file.ep

