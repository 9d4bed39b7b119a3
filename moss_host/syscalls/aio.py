"""Linux native AIO (fs/aio.c, Linux 6.1): io_setup, io_destroy, io_submit, io_cancel,
io_getevents, io_pgetevents -- what libaio calls. The contexts and their rings are
fs/aio.py's; here the arguments are decoded and each iocb is checked in Linux's order (a
check that fails ends io_submit, which returns how many it took, or that error for the
first), then run: PREAD, PWRITE, PREADV, PWRITEV, FSYNC and FDSYNC complete before
io_submit returns (their own errors go into the event's res), POLL when the file is ready.
"""
from __future__ import annotations

import asyncio
import struct
from typing import Optional

from moss_host.errors import EAGAIN, EINPROGRESS, EINTR, EINVAL, ERESTARTNOHAND, Errno
from moss_host.fs import aio
from moss_host.fs.eventfd import EventFd
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import POLLERR, POLLHUP, InodeFile, OpenFile, file_needs
from moss_host.proc import fsize, signals
from moss_host.sched.state import State

from .args import Hex, Int, Ptr, UInt
from .fs import _check_user_range, _gather, _read_iovecs, _s64, _write_or_sigpipe
from .fsattr import _fd_file, sync_file
from .poll import restore_sigmask_unless, set_user_sigmask
from .rw_vec import _check_flags, scatter_read
from .table import syscall

IOCB = struct.Struct("<QIIHhIQQqQII")   # struct iocb: 64 bytes
CMD_PREAD, CMD_PWRITE, CMD_FSYNC, CMD_FDSYNC, CMD_POLL, CMD_PREADV, CMD_PWRITEV = 0, 1, 2, 3, 5, 7, 8
IOCB_FLAG_RESFD, IOCB_FLAG_IOPRIO = 1, 2
KIOCB_KEY = 0
MAX_RW_COUNT = 0x7FFF_F000
TIMESPEC = struct.Struct("<qq")
AIO_SIGSET = struct.Struct("<QQ")       # struct __aio_sigset: the mask's address, its size
_OFF_KEY = 8


@syscall("io_setup")
def io_setup(task, nr_events: "UInt", ctxp: "Ptr") -> int:
    """A context for nr_events requests; its id (the ring's address) is stored at *ctxp,
    which must hold 0."""
    old = struct.unpack("<Q", task.mm.read(ctxp, 8))[0]         # EFAULT
    nr_events &= 0xFFFF_FFFF
    if old or nr_events == 0:
        raise Errno(EINVAL)
    ctx = aio.setup(task.mm, nr_events, len(task.kernel.cpus))
    try:
        task.mm.write(ctxp, struct.pack("<Q", ctx.user_id))
    except Errno:
        aio.destroy(task.mm, ctx)
        raise
    return 0


@syscall("io_destroy")
def io_destroy(task, ctx_id: "Hex") -> int:
    """End a context: polls in flight are dropped, its ring unmapped."""
    aio.destroy(task.mm, aio.lookup(task.mm, ctx_id))
    return 0


@syscall("io_submit")
async def io_submit(task, ctx_id: "Hex", nr: "Int", iocbpp: "Ptr") -> int:
    """Queue nr requests; how many were taken (the first one's error if none was)."""
    nr = _s64(nr)
    if nr < 0:
        raise Errno(EINVAL)
    ctx = aio.lookup(task.mm, ctx_id)
    nr = min(nr, ctx.nr_events)
    done = 0
    while done < nr:
        try:
            user_iocb = struct.unpack("<Q", task.mm.read(iocbpp + 8 * done, 8))[0]
            await _submit_one(task, ctx, user_iocb)
        except Errno:
            if done:
                return done
            raise
        done += 1
    return done


async def _submit_one(task, ctx: aio.AioContext, user_iocb: int) -> None:
    """io_submit_one and __io_submit_one: the checks, then the request."""
    (data, _key, rw_flags, opcode, reqprio, fildes, buf, nbytes, offset, reserved2, flags,
     resfd) = IOCB.unpack(task.mm.read(user_iocb, IOCB.size))
    if reserved2 or nbytes >> 63:
        raise Errno(EINVAL)
    if not ctx.room():
        raise Errno(EAGAIN)
    f = _fd_file(task, fildes)                                  # EBADF (fget: O_PATH too)
    eventfd: Optional[EventFd] = None
    if flags & IOCB_FLAG_RESFD:
        target = task.files.get(fd_arg(resfd))
        if not isinstance(target, EventFd):
            raise Errno(EINVAL)
        eventfd = target
    task.mm.write(user_iocb + _OFF_KEY, struct.pack("<I", KIOCB_KEY))   # EFAULT
    if opcode in (CMD_PREAD, CMD_PREADV, CMD_PWRITE, CMD_PWRITEV):
        res = await _rw(task, f, opcode, buf, nbytes, offset, rw_flags, flags, reqprio)
    elif opcode in (CMD_FSYNC, CMD_FDSYNC):
        if buf or offset or nbytes or rw_flags:
            raise Errno(EINVAL)
        sync_file(f)                                            # EINVAL: no ->fsync
        res = 0
    elif opcode == CMD_POLL:
        if buf & ~0xFFFF or offset or nbytes or rw_flags:
            raise Errno(EINVAL)
        ctx.add_poll(f, buf | POLLERR | POLLHUP, data, user_iocb, eventfd)
        return
    else:
        raise Errno(EINVAL)
    ctx.complete(data, user_iocb, res, eventfd)


async def _rw(task, f: OpenFile, opcode: int, buf: int, nbytes: int, offset: int, rw_flags: int,
              flags: int, reqprio: int) -> int:
    """aio_read / aio_write up to the transfer (errors end io_submit), then the transfer
    (its result, or its error as a negative number, is the event's res)."""
    if flags & IOCB_FLAG_IOPRIO and (reqprio >> 13) not in (0, 1, 2, 3):
        raise Errno(EINVAL)                                      # ioprio_check_cap
    _check_flags(f, rw_flags)
    write = opcode in (CMD_PWRITE, CMD_PWRITEV)
    file_needs(f, readable=not write, writable=write)
    if isinstance(f, InodeFile) and f.inode.is_dir:
        raise Errno(EINVAL)                                      # no ->read_iter
    if opcode in (CMD_PREADV, CMD_PWRITEV):
        segments = _read_iovecs(task, buf, nbytes)
    else:
        nbytes = min(nbytes, MAX_RW_COUNT)
        _check_user_range(buf, nbytes)
        segments = [(buf, nbytes)]
    if offset < 0:
        raise Errno(EINVAL)                                      # rw_verify_area
    try:
        if write:
            return await _write(task, f, segments, offset)
        return await _read(task, f, segments, offset)
    except Errno as e:
        return -e.code


async def _read(task, f: OpenFile, segments: list[tuple[int, int]], offset: int) -> int:
    total = sum(n for _, n in segments)
    if not total:
        return 0
    return scatter_read(task, segments, await (f.pread(offset, total) if f.seekable else f.read(total)))


async def _write(task, f: OpenFile, segments: list[tuple[int, int]], offset: int) -> int:
    if not sum(n for _, n in segments):
        return 0
    data = _gather(task, segments)
    if f.seekable:
        return await f.pwrite(offset, fsize.limit_write(task, f, data, offset))
    return await _write_or_sigpipe(task, f, fsize.limit_write(task, f, data))


@syscall("io_cancel")
def io_cancel(task, ctx_id: "Hex", iocb: "Ptr", result: "Ptr") -> int:
    """Cancel a request in flight (only polls wait here): its event comes through the ring
    and the call says EINPROGRESS; EINVAL for one that is done or unknown."""
    key = struct.unpack("<I", task.mm.read(iocb + _OFF_KEY, 4))[0]     # EFAULT
    if key != KIOCB_KEY:
        raise Errno(EINVAL)
    ctx = aio.lookup(task.mm, ctx_id)
    if not ctx.cancel(iocb):
        raise Errno(EINVAL)
    raise Errno(EINPROGRESS)


def _timeout(task, ptr: int) -> Optional[float]:
    """The relative timeout (seconds), or None for none; Linux does not validate it."""
    if not ptr:
        return None
    sec, nsec = TIMESPEC.unpack(task.mm.read(ptr, TIMESPEC.size))     # EFAULT
    return sec + nsec / 1e9


@syscall("io_getevents")
async def io_getevents(task, ctx_id: "Hex", min_nr: "Int", nr: "Int", events: "Ptr", timeout: "Ptr") -> int:
    """Wait for at least min_nr events (or the timeout, or a signal: EINTR if none came),
    copy up to nr of them out."""
    result = await _getevents(task, ctx_id, min_nr, nr, events, _timeout(task, timeout))
    if result == 0 and _signal_pending(task):
        raise Errno(EINTR)
    return result


@syscall("io_pgetevents")
async def io_pgetevents(task, ctx_id: "Hex", min_nr: "Int", nr: "Int", events: "Ptr", timeout: "Ptr",
                        usig: "Ptr") -> int:
    """io_getevents with a signal mask for the wait, as ppoll: interrupted with no events,
    ERESTARTNOHAND (EINTR once a handler runs)."""
    seconds = _timeout(task, timeout)
    mask_ptr, mask_size = AIO_SIGSET.unpack(task.mm.read(usig, AIO_SIGSET.size)) if usig else (0, 0)
    swapped = set_user_sigmask(task, mask_ptr, mask_size)
    try:
        result = await _getevents(task, ctx_id, min_nr, nr, events, seconds)
    except BaseException:
        restore_sigmask_unless(task, swapped, False)
        raise
    interrupted = _signal_pending(task)
    restore_sigmask_unless(task, swapped, interrupted)
    if interrupted and result == 0:
        raise Errno(ERESTARTNOHAND)
    return result


async def _getevents(task, ctx_id: int, min_nr: int, nr: int, events: int, seconds: Optional[float]) -> int:
    """do_io_getevents and read_events: the events read, or a negative errno if the first
    copy failed (the wait itself never fails: its end is just fewer events)."""
    ctx = aio.lookup(task.mm, ctx_id)
    min_nr, nr = _s64(min_nr), _s64(nr)
    if not 0 <= min_nr <= nr:
        raise Errno(EINVAL)
    loop = asyncio.get_running_loop()
    deadline = None if seconds is None else loop.time() + seconds
    got = 0
    while True:
        try:
            got += ctx.take_events(nr - got, task.mm.write, events + got * aio.IO_EVENT.size)
        except Errno:
            if not got:
                raise
            return got
        if ctx.dead:
            if not got:
                raise Errno(EINVAL)
            return got
        if got >= min_nr or seconds == 0:
            return got
        left = None if deadline is None else deadline - loop.time()
        if (left is not None and left <= 0) or _signal_pending(task):
            return got
        try:
            await ctx.waitq.wait(left)
        except asyncio.CancelledError:
            if task.state is State.ZOMBIE:
                raise
            return got


def _signal_pending(task) -> bool:
    return bool(signals.pending(task) & ~task.blocked)
