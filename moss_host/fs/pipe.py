"""Pipes and FIFOs: a bounded byte buffer between writers and readers (Linux's fs/pipe.c, fs/fifo).

A Pipe is the shared object; each open end is a PipeFile (an OpenFile that reads or
writes or, for a FIFO opened O_RDWR, both). The rules kept from Linux:

* a ring of 16 page buffers (64 KiB) by default, changeable with fcntl(F_SETPIPE_SZ);
  small writes merge into the last page, so what fits depends on the page layout;
* a write of at most PIPE_BUF (4096) bytes is atomic: all of it goes in at once or the
  writer waits (O_NONBLOCK: EAGAIN); a larger write may be split and interleaved, and
  returns once every byte is in (or with the partial count when a signal or O_NONBLOCK
  stops it after some bytes went in);
* O_DIRECT is packet mode: every write is its own buffer and a read returns at most one;
* a read returns what is there (up to n), waits while the pipe is empty and some writer
  remains, and returns b"" (end of file) when no writer remains;
* a write with no reader left raises EPIPE; the syscall layer sends SIGPIPE (this layer
  does not know the task). When the reader goes away after part of a large write went
  in, the Errno carries `written` and the syscall returns that count (SIGPIPE is sent
  all the same, as Linux does);
* poll: POLLIN when data is buffered, POLLHUP on a read end with no writer left (once a
  writer was ever seen), POLLOUT when a page buffer is free, POLLERR on a write end
  with no reader left.

Every change of state wakes `waitq`, which sleeping readers, writers, FIFO openers and
poll/select (through PipeFile.poll_wq) all share; each re-checks its own condition.

FIFOs: opening a mkfifo node (registered with register_fifo_opener) attaches to the Pipe
kept on the inode (`inode.fifo_pipe`) while any end is open; an O_RDONLY open waits
for a writer and an O_WRONLY open for a reader unless O_NONBLOCK (then a write open
with no reader is ENXIO); O_RDWR never waits. The buffer goes away with the last end.
"""
from __future__ import annotations

import itertools
import stat as S
import struct
from collections import deque
from dataclasses import dataclass
from typing import Callable, Optional

from ..errors import EAGAIN, EBUSY, EINVAL, ENOTTY, ENXIO, EPERM, EPIPE, Errno
from ..waitq import WaitQueue
from .fasync import POLL_IN, POLL_OUT, Fasync, kill_fasync
from .file import (FIONREAD, O_ACCMODE, O_DIRECT, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, OpenFile,
                   register_fifo_opener)
from .stat import Stat
from .vfs import Location, StatFs, alloc_internal_dev, now_ns

PAGE_SIZE = 4096
PIPE_BUF = 4096                     # the atomic write size (POSIX PIPE_BUF on Linux)
PIPE_DEF_SIZE = 16 * PAGE_SIZE      # 16 buffers of a page, Linux's default
PIPE_MAX_SIZE = 1 << 20             # /proc/sys/fs/pipe-max-size's default: the unprivileged ceiling
PIPE_SIZE_LIMIT = 1 << 31           # what even root cannot ask for (EINVAL beyond)

POLLIN, POLLOUT, POLLERR, POLLHUP = 0x1, 0x4, 0x8, 0x10
POLLRDNORM, POLLWRNORM = 0x40, 0x100

PIPEFS_DEV = alloc_internal_dev()      # st_dev of every anonymous pipe (Linux's pipefs)
PIPEFS_MAGIC = 0x50495045


def pipefs_statfs() -> StatFs:
    """statfs figures of pipefs, where pipes opened anonymously live in Linux."""
    return StatFs(PIPEFS_MAGIC, PAGE_SIZE, 0, 0, 0, 0, 0, 255, PAGE_SIZE)
_pipe_inos = itertools.count(1)


@dataclass
class PipeSysctls:
    """fs.pipe-max-size, which root may change (procfs/sysctl.py)."""
    max_size: int = PIPE_MAX_SIZE


PIPE_SYSCTLS = PipeSysctls()


def round_pipe_size(size: int) -> int:
    """Linux's round_pipe_size: at least a page, rounded up to a power of two pages."""
    if size < PAGE_SIZE:
        return PAGE_SIZE
    return 1 << (size - 1).bit_length()


class BrokenPipe(Errno):
    """EPIPE from a write whose reader left after part of the data went in: the syscall
    layer returns `written` bytes (and sends SIGPIPE), as Linux's pipe_write does."""

    def __init__(self, written: int):
        super().__init__(EPIPE)
        self.written = written


class _Buffer:
    """One page of the ring (struct pipe_buffer): bytes from `offset` of a page."""
    __slots__ = ("offset", "data", "packet", "can_merge")

    def __init__(self, data: bytes, packet: bool, can_merge: bool = True, offset: int = 0):
        self.offset = offset
        self.data = bytearray(data)
        self.packet = packet        # O_DIRECT ("packet mode"): no merging, one read per buffer
        self.can_merge = can_merge  # PIPE_BUF_FLAG_CAN_MERGE: a write() made it; spliced pages are not topped up


class ParkedRead:
    """A read(2) asleep on an empty pipe without an asyncio job (the read syscall's park):
    `serve(data)` gets the bytes it reads (b"" at end of file) inline, from the write,
    splice or close that ended its wait."""
    __slots__ = ("count", "serve")

    def __init__(self, count: int, serve: Callable[[bytes], None]):
        self.count = count
        self.serve = serve


class Pipe:
    """The ring of page buffers and the bookkeeping both ends share.

    Like Linux, the pipe holds up to capacity/PAGE_SIZE buffers of a page each: a write
    first tops up the last buffer with its odd tail (total % PAGE_SIZE bytes, if they fit),
    the rest goes into fresh pages. So 1000-byte writes fill a 64 KiB pipe with 64000 bytes,
    and whether a write fits depends on the page layout, exactly as on Linux.
    """

    def __init__(self, capacity: int = PIPE_DEF_SIZE, uid: int = 0, gid: int = 0):
        self.bufs: deque[_Buffer] = deque()
        self.nbytes = 0
        self.capacity = capacity
        self.readers = 0            # open read ends (an O_RDWR FIFO end counts on both sides)
        self.writers = 0
        self.r_counter = 0          # read/write opens ever made: FIFO open waits and POLLHUP
        self.w_counter = 0
        self.waitq = WaitQueue()
        self.parked_readers: deque[ParkedRead] = deque()     # reads asleep without a job
        # The O_ASYNC ends (fs/fasync.py): readers hear of every write, writers of every read.
        self.fasync_readers: list[Fasync] = []
        self.fasync_writers: list[Fasync] = []
        self.ino = next(_pipe_inos)
        self.uid, self.gid = uid, gid
        self.atime_ns = self.mtime_ns = self.ctime_ns = now_ns()

    # -- ends
    def open_end(self, flags: int, location: Optional[Location] = None) -> "PipeFile":
        """Attach an end (by flags' access mode) and count it; the caller handles FIFO waits."""
        end = PipeFile(self, flags, location)
        if end.readable:
            self.readers += 1
            self.r_counter += 1
        if end.writable:
            self.writers += 1
            self.w_counter += 1
        self.waitq.wake_all()
        return end

    def open_pair(self, flags: int) -> tuple["PipeFile", "PipeFile"]:
        """pipe2: a read end and a write end, both with flags' O_NONBLOCK/O_DIRECT."""
        status = flags & ~O_ACCMODE
        return self.open_end(O_RDONLY | status), self.open_end(O_WRONLY | status)

    def close_end(self, end: "PipeFile") -> None:
        if end.readable:
            self.readers -= 1
        if end.writable:
            self.writers -= 1
        self.waitq.wake_all()       # a reader may now see EOF, a writer EPIPE, a poller HUP/ERR
        if not self.readers != (not self.writers):         # (pipe_release)
            kill_fasync(self.fasync_readers, POLL_IN)
            kill_fasync(self.fasync_writers, POLL_OUT)
        if self.parked_readers:
            self.serve_readers()    # the last writer gone: end of file

    # -- data
    @property
    def slots(self) -> int:
        return self.capacity // PAGE_SIZE

    @property
    def full(self) -> bool:
        return len(self.bufs) >= self.slots

    async def read(self, n: int, end: "PipeFile") -> bytes:
        """Up to n bytes; b"" at end of file; waits while empty and a writer remains."""
        if n == 0:
            return b""
        while not self.bufs:
            if self.fasync_writers:     # pipe_read's kill_fasync: at every return but EINTR's
                kill_fasync(self.fasync_writers, POLL_OUT)
            if not self.writers:
                return b""
            if end.flags & O_NONBLOCK:
                raise Errno(EAGAIN)
            await self.waitq.wait()
        return self._take(n)

    def read_now(self, n: int, end: "PipeFile") -> Optional[bytes]:
        """read()'s synchronous part: the bytes (b"" at end of file), EAGAIN, or None when
        the reader must sleep (the fasync signal that precedes pipe_read's sleep is sent)."""
        if n == 0:
            return b""
        if self.bufs:
            return self._take(n)
        if self.fasync_writers:
            kill_fasync(self.fasync_writers, POLL_OUT)
        if not self.writers:
            return b""
        if end.flags & O_NONBLOCK:
            raise Errno(EAGAIN)
        return None

    def park_reader(self, reader: "ParkedRead") -> None:
        """A reader that read_now told to sleep waits here without a job; the next write (or
        the last writer's close) serves it inline (serve_readers)."""
        self.parked_readers.append(reader)

    def unpark_reader(self, reader: "ParkedRead") -> None:
        """A signal or the reader's exit ends its wait: it reads nothing."""
        try:
            self.parked_readers.remove(reader)
        except ValueError:
            pass

    def serve_readers(self) -> None:
        """Hand what is buffered (or the end of file) to the parked readers, in the order they
        came. Called where a write, splice or close has finished, never half-way through a
        write: a reader sees what one write put in at once, as with Linux's pipe mutex."""
        readers = self.parked_readers
        while readers and (self.bufs or not self.writers):
            reader = readers.popleft()
            if self.bufs:
                reader.serve(self._take(reader.count))
            else:
                if self.fasync_writers:
                    kill_fasync(self.fasync_writers, POLL_OUT)
                reader.serve(b"")

    def _take(self, n: int) -> bytes:
        """Up to n bytes out of a non-empty pipe, and the wake-ups a read makes."""
        was_full = self.full
        out = bytearray()
        while self.bufs and len(out) < n:
            buf = self.bufs[0]
            take = min(n - len(out), len(buf.data))
            out += buf.data[:take]
            del buf.data[:take]
            buf.offset += take
            if buf.packet or not buf.data:
                self.bufs.popleft()         # a packet is read whole or its rest is dropped
                if buf.packet:
                    self.nbytes -= len(buf.data)
                    break
        self.nbytes -= len(out)
        self.atime_ns = now_ns()
        # Room for writers; epoll hears of it only if the pipe was full (pipe_read's was_full).
        self.waitq.wake_poll(POLLOUT | POLLWRNORM if was_full else 0)
        if self.fasync_writers:
            kill_fasync(self.fasync_writers, POLL_OUT)
        return bytes(out)

    async def write(self, data: bytes, end: "PipeFile") -> int:
        """All of data (never split when len <= PIPE_BUF); EPIPE when no reader is left."""
        total = len(data)
        if total == 0:
            return 0                # a null write succeeds, even with no reader
        if not self.readers:
            raise Errno(EPIPE)
        packet = bool(end.flags & O_DIRECT)
        done = 0
        chars = total % PAGE_SIZE
        if chars and self.bufs and not packet:
            last = self.bufs[-1]
            if last.can_merge and not last.packet and last.offset + len(last.data) + chars <= PAGE_SIZE:
                last.data += data[:chars]
                done = self._wrote(chars)
                if done == total:
                    return done
        while True:
            if not self.readers:
                raise BrokenPipe(done)
            if not self.full:
                piece = data[done:done + PAGE_SIZE]
                self.bufs.append(_Buffer(piece, packet))
                done += self._wrote(len(piece))
                if done == total:
                    return done
                if not self.full:
                    continue
            if end.flags & O_NONBLOCK:
                if done:
                    return done
                raise Errno(EAGAIN)
            if self.fasync_readers:     # pipe_write's kill_fasync before it sleeps
                kill_fasync(self.fasync_readers, POLL_IN)
            if self.parked_readers:
                self.serve_readers()    # they may make room for the rest
                if not self.full:
                    continue
            try:
                await self.waitq.wait()
            except BaseException:
                if done:
                    return done     # interrupted after some bytes went in: report them
                raise

    def write_now(self, data: bytes, end: "PipeFile") -> Optional[int]:
        """write()'s synchronous part: len(data) when all of it goes in at once (a reader
        remains and it fits in the free page slots, after topping up the last page as
        write() does); None, with nothing done, when the write may sleep, split or fail."""
        total = len(data)
        if not total or not self.readers:
            return None
        packet = bool(end.flags & O_DIRECT)
        merge = total % PAGE_SIZE
        if merge and self.bufs and not packet:
            last = self.bufs[-1]
            if not (last.can_merge and not last.packet and last.offset + len(last.data) + merge <= PAGE_SIZE):
                merge = 0
        else:
            merge = 0
        if len(self.bufs) + -(-(total - merge) // PAGE_SIZE) > self.slots:
            return None
        if merge:
            self.bufs[-1].data += data[:merge]
            self._wrote(merge)
        for at in range(merge, total, PAGE_SIZE):
            piece = data[at:at + PAGE_SIZE]
            self.bufs.append(_Buffer(piece, packet))
            self._wrote(len(piece))
        return total

    # -- splice(2), tee(2), vmsplice(2): whole buffers in and out (fs/splice.c)
    async def wait_for_data(self, nonblock: bool) -> None:
        """ipipe_prep / splice_from_pipe_next: sleep while empty and a writer remains
        (EAGAIN instead with nonblock); an empty pipe without writers returns at once (EOF)."""
        while not self.bufs and self.writers:
            if nonblock:
                raise Errno(EAGAIN)
            await self.waitq.wait()

    async def wait_for_space(self, nonblock: bool) -> None:
        """wait_for_space / opipe_prep: EPIPE without readers (the caller sends SIGPIPE);
        sleep while full (EAGAIN instead with nonblock)."""
        while True:
            if not self.readers:
                raise Errno(EPIPE)
            if not self.full:
                return
            if nonblock:
                raise Errno(EAGAIN)
            await self.waitq.wait()

    def peek(self, n: int) -> bytes:
        """Up to n bytes from the front, left in the pipe (what a splice to a file writes first)."""
        out = bytearray()
        for buf in self.bufs:
            if len(out) >= n:
                break
            out += buf.data[:n - len(out)]
        return bytes(out)

    def consume(self, n: int) -> None:
        """Drop n bytes from the front (after a splice wrote them elsewhere)."""
        was_full = self.full
        self.nbytes -= n
        while n:
            buf = self.bufs[0]
            take = min(n, len(buf.data))
            del buf.data[:take]
            buf.offset += take
            n -= take
            if not buf.data:
                self.bufs.popleft()
        self.atime_ns = now_ns()
        self.waitq.wake_poll(POLLOUT | POLLWRNORM if was_full else 0)
        kill_fasync(self.fasync_writers, POLL_OUT)      # (splice's wakeup_pipe_writers)

    def put_pages(self, chunks: list[tuple[int, bytes]]) -> int:
        """Add (page offset, bytes) chunks, one buffer each and never merged into by write(),
        while slots are free; the bytes added (a page of a file or of user memory each)."""
        done = 0
        for offset, data in chunks:
            if self.full or not data:
                break
            self.bufs.append(_Buffer(data, False, can_merge=False, offset=offset))
            done += len(data)
        if done:
            self._wrote(done)
            kill_fasync(self.fasync_readers, POLL_IN)   # (vmsplice's wakeup_pipe_readers)
            if self.parked_readers:
                self.serve_readers()
        return done

    def move_to(self, other: "Pipe", n: int, copy: bool) -> int:
        """splice_pipe_to_pipe (copy=False) / link_pipe (copy=True, tee): up to n bytes of
        buffers to `other` while it has slots. A whole buffer keeps its flags; the front part
        of one is a new buffer that write() does not top up."""
        moved = 0
        was_full = self.full
        for buf in list(self.bufs):
            if moved >= n or other.full:
                break
            size = min(n - moved, len(buf.data))
            whole = size == len(buf.data)
            if whole and not copy:
                self.bufs.popleft()
                other.bufs.append(buf)
            else:
                other.bufs.append(_Buffer(bytes(buf.data[:size]), buf.packet, can_merge=whole and buf.can_merge and not copy,
                                          offset=buf.offset))
                if not copy:
                    del buf.data[:size]
                    buf.offset += size
            moved += size
        if moved:
            if not copy:
                self.nbytes -= moved
                self.waitq.wake_poll(POLLOUT | POLLWRNORM if was_full else 0)
                kill_fasync(self.fasync_writers, POLL_OUT)
            other._wrote(moved)
            kill_fasync(other.fasync_readers, POLL_IN)
            if other.parked_readers:
                other.serve_readers()
        return moved

    def _wrote(self, n: int) -> int:
        self.nbytes += n
        self.mtime_ns = self.ctime_ns = now_ns()
        self.waitq.wake_poll(POLLIN | POLLRDNORM)
        return n

    # -- readiness and attributes
    def poll_mask(self, end: "PipeFile") -> int:
        mask = 0
        if end.readable:
            if self.bufs:
                mask |= POLLIN | POLLRDNORM
            if not self.writers and end.seen_writers != self.w_counter:
                mask |= POLLHUP
        if end.writable:
            if not self.full:
                mask |= POLLOUT | POLLWRNORM
            if not self.readers:
                mask |= POLLERR
        return mask

    def resize(self, size: int, privileged: bool) -> int:
        """fcntl(F_SETPIPE_SZ) as Linux's pipe_set_size: any size up to 2 GiB is rounded up to
        a power-of-two number of pages (0 gives one page); growing beyond pipe-max-size needs
        CAP_SYS_RESOURCE, shrinking is always allowed; EBUSY below what the pipe holds."""
        if size > PIPE_SIZE_LIMIT:
            raise Errno(EINVAL)
        size = round_pipe_size(size)
        if size > self.capacity and size > PIPE_SYSCTLS.max_size and not privileged:
            raise Errno(EPERM)
        if size // PAGE_SIZE < len(self.bufs):
            raise Errno(EBUSY)
        self.capacity = size
        self.waitq.wake_all()
        return size

    def stat(self) -> Stat:
        return Stat(st_dev=PIPEFS_DEV, st_ino=self.ino, st_mode=S.S_IFIFO | 0o600, st_nlink=1,
                    st_uid=self.uid, st_gid=self.gid, st_blksize=PAGE_SIZE, st_atime_ns=self.atime_ns,
                    st_mtime_ns=self.mtime_ns, st_ctime_ns=self.ctime_ns)


class PipeFile(OpenFile):
    """One open end of a pipe or FIFO."""
    has_fasync = True           # pipe_fasync: SIGIO for a read end on writes, a write end on room

    def __init__(self, pipe: Pipe, flags: int, location: Optional[Location] = None):
        super().__init__(flags)
        self.pipe: Pipe = pipe
        self.location = location
        # The writer count this end has already seen: a FIFO opened O_RDONLY|O_NONBLOCK
        # before any writer reports no POLLHUP until a writer has come (and gone).
        self.seen_writers = 0
        self._released = False

    @property
    def poll_wq(self) -> WaitQueue:
        """What poll/select sleep on: woken by every change of the pipe's state."""
        return self.pipe.waitq

    async def read(self, n: int) -> bytes:
        return await self.pipe.read(n, self)

    async def write(self, data: bytes) -> int:
        pipe = self.pipe
        try:
            return await pipe.write(data, self)
        finally:
            if pipe.fasync_readers and data:        # pipe_write's kill_fasync: at every return
                kill_fasync(pipe.fasync_readers, POLL_IN)
            if pipe.parked_readers:
                pipe.serve_readers()                # the readers it woke read now

    def write_now(self, data: bytes) -> Optional[int]:
        """write() when it cannot sleep (Pipe.write_now), with write()'s signal and serving of
        parked readers; None (nothing done) sends the caller to write()."""
        pipe = self.pipe
        done = pipe.write_now(data, self)
        if done is None:
            return None
        if pipe.fasync_readers:
            kill_fasync(pipe.fasync_readers, POLL_IN)
        if pipe.parked_readers:
            pipe.serve_readers()
        return done

    def fasync_lists(self) -> tuple[list[Fasync], ...]:
        """pipe_fasync: a read end is on the readers' list, a write end on the writers'."""
        pipe = self.pipe
        return ((pipe.fasync_readers,) if self.readable else ()) + ((pipe.fasync_writers,) if self.writable else ())

    def poll_events(self, events: int) -> int:
        return self.pipe.poll_mask(self)

    def stat(self) -> Stat:
        if self.location is not None:           # a FIFO: the attributes of its node
            return self.location.inode.getattr()
        return self.pipe.stat()

    async def ioctl(self, task, cmd: int, arg: int) -> int:
        if cmd == FIONREAD:
            task.mm.write(arg, struct.pack("<i", min(self.pipe.nbytes, 0x7FFFFFFF)))
            return 0
        raise Errno(ENOTTY)

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self.pipe.close_end(self)
        if self.location is not None and not (self.pipe.readers or self.pipe.writers):
            inode = self.location.inode
            if inode.fifo_pipe is self.pipe:
                inode.fifo_pipe = None          # the last end: the FIFO's buffer goes


# ---------------------------------------------------------------- FIFOs

async def open_fifo(loc: Location, flags: int) -> PipeFile:
    """open(2) of a FIFO node, with fifo_open's waits for the other side."""
    inode = loc.inode
    pipe = inode.fifo_pipe
    if pipe is None:
        pipe = Pipe(uid=inode.uid, gid=inode.gid)
        inode.fifo_pipe = pipe
    access = flags & O_ACCMODE
    if access == O_WRONLY and flags & O_NONBLOCK and not pipe.readers:
        _forget_if_unused(inode, pipe)
        raise Errno(ENXIO)
    if access not in (O_RDONLY, O_WRONLY, O_RDWR):
        _forget_if_unused(inode, pipe)
        raise Errno(EINVAL)
    end = pipe.open_end(flags, loc)
    try:
        if access == O_RDONLY and not pipe.writers:
            if flags & O_NONBLOCK:
                end.seen_writers = pipe.w_counter      # no POLLHUP until a writer has been seen
            else:
                seen = pipe.w_counter
                await pipe.waitq.wait_until(lambda: pipe.w_counter != seen)
        elif access == O_WRONLY and not pipe.readers:
            seen = pipe.r_counter
            await pipe.waitq.wait_until(lambda: pipe.r_counter != seen)
    except BaseException:
        end.release()                           # interrupted: as if never opened
        raise
    return end


def _forget_if_unused(inode, pipe: Pipe) -> None:
    if not (pipe.readers or pipe.writers) and inode.fifo_pipe is pipe:
        inode.fifo_pipe = None


register_fifo_opener(open_fifo)
