"""splice, tee and vmsplice (Linux's fs/splice.c): moving data between a pipe and a file,
between two pipes, or between a pipe and user memory, in whole pipe buffers.

File pages and user pages each become one pipe buffer (split at page boundaries, never
topped up by a later write), as Linux's page references do, so how much fits depends on
the same page layout. The checks run in Linux's order: length 0, flags, descriptors,
pipe ends and offsets, then the direction.
"""
from __future__ import annotations

import asyncio

from moss_host.addr import PAGE_SIZE
from moss_host.errors import EBADF, EINVAL, EPIPE, ESPIPE, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import O_APPEND, O_NONBLOCK, OpenFile
from moss_host.fs.pipe import Pipe
from moss_host.proc.signals import SIGPIPE, send_thread_signal

from .args import Fd, Hex, Ptr, Size, c_uint
from .fs import MAX_RW_COUNT, _read_iovecs, _s64, _write_or_sigpipe
from .table import syscall

SPLICE_F_MOVE, SPLICE_F_NONBLOCK, SPLICE_F_MORE, SPLICE_F_GIFT = 1, 2, 4, 8
SPLICE_F_ALL = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT


def _fdget(task, fd: int) -> OpenFile:
    """fdget: an O_PATH descriptor is EBADF too."""
    f = task.files.get(fd_arg(fd))
    if f.is_path:
        raise Errno(EBADF)
    return f


def _sigpipe(task) -> Errno:
    """send_sig(SIGPIPE, current) and the EPIPE to raise; from the syscall's own asyncio task
    the signal waits until it finishes (signalling now would cancel it)."""
    if task.pending is not None and task.pending is asyncio.current_task():
        asyncio.get_running_loop().call_soon(send_thread_signal, task, SIGPIPE)
    else:
        send_thread_signal(task, SIGPIPE)
    return Errno(EPIPE)


def _pages(offset: int, data: bytes) -> list[tuple[int, bytes]]:
    """data that starts at `offset` (of a file or of memory), cut at page boundaries."""
    chunks, done = [], 0
    while done < len(data):
        in_page = (offset + done) % PAGE_SIZE
        size = min(PAGE_SIZE - in_page, len(data) - done)
        chunks.append((in_page, data[done:done + size]))
        done += size
    return chunks


@syscall("splice")
async def splice(task, fd_in: "Fd", off_in: "Ptr", fd_out: "Fd", off_out: "Ptr", length: "Size",
                 flags: "Hex") -> int:
    """Move up to length bytes from fd_in to fd_out, one of which must be a pipe; an offset
    pointer (for the non-pipe side only: ESPIPE) reads and updates a file position of its own."""
    flags = c_uint(flags)
    if not length:
        return 0
    if flags & ~SPLICE_F_ALL:
        raise Errno(EINVAL)
    src, dst = _fdget(task, fd_in), _fdget(task, fd_out)
    if (src.pipe is not None and off_in) or (dst.pipe is not None and off_out):
        raise Errno(ESPIPE)
    offset = None
    if off_out:
        offset = _s64(task.mm.read_u64(off_out))
    if off_in:
        offset = _s64(task.mm.read_u64(off_in))
    if not src.readable or not dst.writable:
        raise Errno(EBADF)
    length = min(length, MAX_RW_COUNT)
    if src.pipe is not None and dst.pipe is not None:
        nonblock = bool(flags & SPLICE_F_NONBLOCK or (src.flags | dst.flags) & O_NONBLOCK)
        return await _pipe_to_pipe(task, src.pipe, dst.pipe, length, nonblock, copy=False)
    if src.pipe is not None:
        done, offset = await _pipe_to_file(task, src, dst, offset, length, flags)
        if off_out and offset is not None:
            task.mm.write_u64(off_out, offset)
        return done
    if dst.pipe is not None:
        done, offset = await _file_to_pipe(task, src, dst, offset, length, flags)
        if off_in and offset is not None:
            task.mm.write_u64(off_in, offset)
        return done
    raise Errno(EINVAL)


async def _pipe_to_pipe(task, src: Pipe, dst: Pipe, length: int, nonblock: bool, copy: bool) -> int:
    """splice_pipe_to_pipe / link_pipe (tee): wait for data, then for room, then move buffers."""
    if src is dst:
        raise Errno(EINVAL)
    while True:
        await src.wait_for_data(nonblock)
        if dst.full:
            if not dst.readers:
                raise _sigpipe(task)
            await dst.wait_for_space(nonblock)
        if not dst.readers:
            raise _sigpipe(task)
        if not src.bufs and not src.writers:
            return 0
        moved = src.move_to(dst, length, copy)
        if moved:
            return moved
        # raced with another reader or writer: go round and wait again


async def _pipe_to_file(task, src: OpenFile, dst: OpenFile, offset: int | None, length: int,
                        flags: int) -> tuple[int, int | None]:
    """do_splice_from: what the pipe holds now (waiting for some), up to length, written out."""
    if offset is not None and not dst.seekable:
        raise Errno(EINVAL)                     # no FMODE_PWRITE
    if dst.flags & O_APPEND:
        raise Errno(EINVAL)
    if offset is not None and offset < 0:
        raise Errno(EINVAL)                     # rw_verify_area
    pipe = src.pipe
    assert pipe is not None
    await pipe.wait_for_data(bool(flags & SPLICE_F_NONBLOCK or src.flags & O_NONBLOCK))
    data = pipe.peek(length)
    if not data:
        return 0, offset
    if offset is not None:
        done = await dst.pwrite(offset, data)
        offset += done
    else:
        done = await _write_or_sigpipe(task, dst, data)
    pipe.consume(done)
    return done, offset


async def _file_to_pipe(task, src: OpenFile, dst: OpenFile, offset: int | None, length: int,
                        flags: int) -> tuple[int, int | None]:
    """splice_file_to_pipe: room in the pipe first, then the file's pages, one buffer each."""
    if offset is not None and not src.seekable:
        raise Errno(EINVAL)                     # no FMODE_PREAD
    pipe = dst.pipe
    assert pipe is not None
    nonblock = bool(flags & SPLICE_F_NONBLOCK or dst.flags & O_NONBLOCK)
    try:
        await pipe.wait_for_space(nonblock)
    except Errno as e:
        if e.code == EPIPE:
            raise _sigpipe(task)
        raise
    start = src.pos if offset is None and src.seekable else offset
    if start is not None and start < 0:
        raise Errno(EINVAL)
    if not src.splice_read:
        raise Errno(EINVAL)
    room = (pipe.slots - len(pipe.bufs)) * PAGE_SIZE
    length = min(length, room)
    if start is None:                           # a stream: what one read gives
        data = await src.read(length)
        return pipe.put_pages(_pages(0, data)), None
    data = await src.pread(start, length)
    done = pipe.put_pages(_pages(start, data))
    if offset is None:
        src.pos = start + done
        return done, None
    return done, start + done


@syscall("tee")
async def tee(task, fd_in: "Fd", fd_out: "Fd", length: "Size", flags: "Hex") -> int:
    """Copy up to length bytes from one pipe to another without consuming them."""
    flags = c_uint(flags)
    if flags & ~SPLICE_F_ALL:
        raise Errno(EINVAL)
    if not length:
        return 0
    src, dst = _fdget(task, fd_in), _fdget(task, fd_out)
    if not src.readable or not dst.writable:
        raise Errno(EBADF)
    if src.pipe is None or dst.pipe is None or src.pipe is dst.pipe:
        raise Errno(EINVAL)
    nonblock = bool(flags & SPLICE_F_NONBLOCK or (src.flags | dst.flags) & O_NONBLOCK)
    return await _pipe_to_pipe(task, src.pipe, dst.pipe, min(length, MAX_RW_COUNT), nonblock, copy=True)


@syscall("vmsplice")
async def vmsplice(task, fd: "Fd", iov: "Ptr", nr_segs: "Size", flags: "Hex") -> int:
    """User memory into a pipe (an end open for writing: each page a buffer), or out of one
    into user memory (an end open only for reading)."""
    flags = c_uint(flags)
    if flags & ~SPLICE_F_ALL:
        raise Errno(EINVAL)
    f = _fdget(task, fd)
    if not f.writable and not f.readable:
        raise Errno(EBADF)
    segments = _read_iovecs(task, iov, nr_segs)
    if not sum(n for _, n in segments):
        return 0
    pipe = f.pipe
    if pipe is None:
        raise Errno(EBADF)
    nonblock = bool(flags & SPLICE_F_NONBLOCK or f.flags & O_NONBLOCK)
    if f.writable:
        return await _user_to_pipe(task, pipe, segments, nonblock)
    await pipe.wait_for_data(nonblock)
    done = 0
    for base, n in segments:
        data = pipe.peek(n)
        if not data:
            break
        task.mm.write(base, data)
        pipe.consume(len(data))
        done += len(data)
        if len(data) < n:
            break
    return done


async def _user_to_pipe(task, pipe: Pipe, segments: list[tuple[int, int]], nonblock: bool) -> int:
    try:
        await pipe.wait_for_space(nonblock)
    except Errno as e:
        if e.code == EPIPE:
            raise _sigpipe(task)
        raise
    done = 0
    for base, n in segments:
        chunks = _pages(base, task.mm.read(base, n))
        put = pipe.put_pages(chunks)
        done += put
        if put < n:
            break
    return done
