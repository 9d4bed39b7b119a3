"""Waiting for file descriptors: ppoll.

A file says whether it is ready through `poll_events(events) -> revents` when it can
block (host-backed console files); every other file is always ready, as regular files
are on Linux. Waiting for readiness is an await on the event loop, never a busy wait.
"""
from __future__ import annotations

import asyncio
import select
import struct

from moss_host.errors import EINVAL, Errno

from .table import syscall

POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
POLLFD = struct.Struct("<ihh")
TIMESPEC = struct.Struct("<qq")
NFDS_MAX = 1024


def revents_of(task, fd: int, events: int) -> int:
    if fd < 0:
        return 0
    try:
        file = task.files.get(fd)
    except Errno:
        return POLLNVAL
    host_fd = getattr(file, "fd", None)
    if host_fd is None:                        # files in our own filesystems never block
        return events & (POLLIN | POLLOUT)
    r, w, _ = select.select([host_fd] if events & POLLIN else [], [host_fd] if events & POLLOUT else [], [], 0)
    return (POLLIN if r else 0) | (POLLOUT if w else 0)


async def wait_any(task, fds: list[tuple[int, int]], timeout: float | None) -> None:
    """Sleep until one of the host-backed fds may be ready, or the timeout passes."""
    loop = asyncio.get_running_loop()
    woken = loop.create_future()
    added = []

    def wake():
        if not woken.done():
            woken.set_result(None)
    try:
        for fd, events in fds:
            host_fd = getattr(task.files.get(fd), "fd", None) if fd >= 0 and fd in task.files else None
            if host_fd is None:
                continue
            if events & POLLIN:
                loop.add_reader(host_fd, wake)
                added.append((loop.remove_reader, host_fd))
            if events & POLLOUT:
                loop.add_writer(host_fd, wake)
                added.append((loop.remove_writer, host_fd))
        await asyncio.wait_for(woken, timeout)
    except asyncio.TimeoutError:
        pass
    finally:
        for remove, host_fd in added:
            remove(host_fd)


@syscall("ppoll")
async def ppoll(task, fds_ptr: "Ptr", nfds: "UInt", tmo_ptr: "Ptr", sigmask: "Ptr", sigsetsize: "Size") -> int:
    """Wait for events on fds; returns how many have non-zero revents (0 on timeout)."""
    if nfds > NFDS_MAX:
        raise Errno(EINVAL)
    timeout = None
    if tmo_ptr:
        sec, nsec = TIMESPEC.unpack(task.mm.read(tmo_ptr, TIMESPEC.size))
        if sec < 0 or not 0 <= nsec < 1_000_000_000:
            raise Errno(EINVAL)
        timeout = sec + nsec / 1e9
    raw = task.mm.read(fds_ptr, nfds * POLLFD.size)
    entries = [POLLFD.unpack_from(raw, i * POLLFD.size) for i in range(nfds)]
    while True:
        revents = [revents_of(task, fd, events) for fd, events, _ in entries]
        ready = sum(1 for r in revents if r)
        if ready or timeout == 0:
            break
        await wait_any(task, [(fd, events) for fd, events, _ in entries], timeout)
        if timeout is not None:
            timeout = 0                        # one wait: report what is ready now, maybe nothing
    out = b"".join(POLLFD.pack(fd, events, r) for (fd, events, _), r in zip(entries, revents))
    task.mm.write(fds_ptr, out)
    return ready
