"""Linux native AIO contexts (fs/aio.c): the kioctx behind io_setup(2) and its ring.

A context is a ring of struct io_event mapped into the process ("/[aio] (deleted)" in its
maps), with a header user space reads too: libaio's io_getevents takes events straight from
the ring when its magic is right, advancing `head` itself; the kernel advances `tail` as
requests complete. The context id is the ring's address; each address space keeps its own
table (a child of fork finds none: EINVAL).

Reads, writes and syncs complete while io_submit runs (as Linux's buffered AIO mostly does);
IOCB_CMD_POLL completes when the file becomes ready (one-shot) or is cancelled.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

from moss_host.addr import PAGE_SIZE
from moss_host.errors import EAGAIN, EINVAL, Errno
from moss_host.mm.vma import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, Vma
from moss_host.waitq import WAKE_ANY, WaitQueue

from .eventfd import EventFd
from .file import OpenFile, PollSubscription, poll_mask

if TYPE_CHECKING:
    from moss_host.mm.address_space import AddressSpace

AIO_RING_MAGIC = 0xA10A10A1
AIO_MAX_NR = 65536                    # /proc/sys/fs/aio-max-nr's default
RING = struct.Struct("<8I")          # id, nr, head, tail, magic, compat_features, incompat_features, header_length
RING_HEAD, RING_TAIL = 8, 12
IO_EVENT = struct.Struct("<QQqq")     # data, obj, res, res2
RING_NAME = "/[aio] (deleted)"


@dataclass(eq=False)
class PendingPoll:
    """An IOCB_CMD_POLL waiting for its file (aio_poll): one-shot."""
    ctx: "AioContext"
    file: OpenFile
    events: int
    data: int
    obj: int
    eventfd: Optional[EventFd]
    watch: Optional[PollSubscription] = None

    def fired(self, key: int) -> bool:
        """aio_poll_wake: a wake-up about our events completes the poll with that wake-up's
        key (not masked); one about nothing in particular asks the file."""
        if key == WAKE_ANY:
            mask = poll_mask(self.file) & self.events
        else:
            mask = key if key & self.events else 0
        if mask:
            self.finish(mask)
        return False

    def finish(self, mask: int) -> None:
        if self.watch is not None:
            self.watch.stop()
            self.watch = None
        self.ctx.pending.pop(self.obj, None)
        self.ctx.complete(self.data, self.obj, mask, self.eventfd)


@dataclass(eq=False)
class AioContext:
    """struct kioctx: the ring (its kernel copy of `tail`), requests in flight, waiters."""
    mm: "AddressSpace"
    user_id: int                      # the ring's address: the aio_context_t user space holds
    nr_events: int                    # the ring's slots (the header's `nr`)
    max_reqs: int                     # what io_setup asked for (counted against aio-max-nr)
    size: int                         # bytes mapped
    tail: int = 0
    dead: bool = False
    pending: dict[int, PendingPoll] = field(default_factory=dict)    # user iocb address -> poll
    waitq: WaitQueue = field(default_factory=WaitQueue)

    # -- the ring --

    def head(self) -> int:
        """Where user space has consumed up to (it writes the ring's head itself)."""
        return struct.unpack("<I", self.mm.read(self.user_id + RING_HEAD, 4))[0] % self.nr_events

    def unread(self) -> int:
        return (self.tail - self.head()) % self.nr_events

    def room(self) -> bool:
        """aio_get_req's reqs_available: a slot for one more event, counting those in flight."""
        return self.unread() + len(self.pending) < self.nr_events - 1

    def complete(self, data: int, obj: int, res: int, eventfd: Optional[EventFd], res2: int = 0) -> None:
        """aio_complete: the event at tail, then tail (what readers poll), the eventfd, waiters."""
        slot = self.user_id + RING.size + self.tail * IO_EVENT.size
        self.mm.write(slot, IO_EVENT.pack(data, obj, res, res2))
        self.tail = (self.tail + 1) % self.nr_events
        self.mm.write(self.user_id + RING_TAIL, struct.pack("<I", self.tail))
        if eventfd is not None:
            eventfd.signal(1)
        self.waitq.wake_all()

    def take_events(self, nr: int, write: Callable[[int, bytes], None], dest: int) -> int:
        """aio_read_events_ring: up to nr events from head to `dest` (through `write`, which
        may fail with EFAULT), advancing the ring's head past those copied."""
        head, done = self.head(), 0
        while done < nr and head != self.tail:
            event = self.mm.read(self.user_id + RING.size + head * IO_EVENT.size, IO_EVENT.size)
            write(dest + done * IO_EVENT.size, event)
            head = (head + 1) % self.nr_events
            done += 1
            self.mm.write(self.user_id + RING_HEAD, struct.pack("<I", head))
        return done

    # -- polls --

    def add_poll(self, f: OpenFile, events: int, data: int, obj: int, eventfd: Optional[EventFd]) -> None:
        """IOCB_CMD_POLL: done at once if the file is ready, else when it becomes ready."""
        req = PendingPoll(self, f, events, data, obj, eventfd)
        mask = poll_mask(f) & events
        if mask:
            self.complete(data, obj, mask, eventfd)
            return
        self.pending[obj] = req
        req.watch = f.poll_subscribe(events, req.fired)

    def cancel(self, obj: int) -> bool:
        """io_cancel of a poll in flight: it completes now with what is ready (maybe nothing)."""
        req = self.pending.get(obj)
        if req is None:
            return False
        req.finish(poll_mask(req.file) & req.events)
        return True

    def kill(self) -> None:
        """io_destroy / the address space's end: cancel what waits, wake readers, unmap."""
        self.dead = True
        for req in list(self.pending.values()):
            if req.watch is not None:
                req.watch.stop()
        self.pending.clear()
        self.waitq.wake_all()


def setup(mm: "AddressSpace", nr_events: int, cpus: int) -> AioContext:
    """ioctx_alloc + aio_setup_ring: size the ring as Linux does (twice the request, at least
    four per possible CPU each, two spare, whole pages), map it, fill its header."""
    max_reqs = nr_events
    nr = max(nr_events, cpus * 4) * 2
    if nr > 0x1000_0000 // IO_EVENT.size:
        raise Errno(EINVAL)
    if max_reqs > AIO_MAX_NR or max_reqs + sum(c.max_reqs for c in mm.aio_contexts.values()) > AIO_MAX_NR:
        raise Errno(EAGAIN)
    nr += 2
    pages = (RING.size + IO_EVENT.size * nr + PAGE_SIZE - 1) // PAGE_SIZE
    size = pages * PAGE_SIZE
    nr = (size - RING.size) // IO_EVENT.size
    addr = mm.vmas.find_free(size, top=mm.mmap_top)
    mm.add(Vma(addr, addr + size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, name=RING_NAME))
    ctx = AioContext(mm, addr, nr, max_reqs, size)
    slot = len(mm.aio_contexts)
    mm.write(addr, RING.pack(slot, nr, 0, 0, AIO_RING_MAGIC, 1, 0, RING.size))
    mm.aio_contexts[addr] = ctx
    return ctx


def lookup(mm: "AddressSpace", ctx_id: int) -> AioContext:
    """lookup_ioctx: EINVAL for anything but a live context of this address space."""
    ctx = mm.aio_contexts.get(ctx_id)
    if ctx is None or ctx.dead:
        raise Errno(EINVAL)
    return ctx


def destroy(mm: "AddressSpace", ctx: AioContext) -> None:
    """kill_ioctx: the context ends and its ring is unmapped."""
    ctx.kill()
    del mm.aio_contexts[ctx.user_id]
    mm.unmap(ctx.user_id, ctx.user_id + ctx.size)
