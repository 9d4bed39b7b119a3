"""Open files backed by a host file descriptor: the guest's stdin/stdout/stderr in `moss-host run`.

The host is single-threaded asyncio, so nothing here may block the event loop:
a read waits for readability with loop.add_reader() and then reads what is there;
a write to a pipe or tty goes out in PIPE_BUF chunks, each after the fd is
writable. Regular host files never block and are used directly.
Terminal ioctls pass through to the host tty with fcntl.ioctl: the arm64 and x86
kernel layouts of struct termios (36 bytes) and struct winsize (8 bytes) are the same.
Closing a HostFile never closes the host descriptor: the host still needs it.
"""
from __future__ import annotations

import asyncio
import fcntl
import os
import select
import stat as S
import struct
from typing import Callable

from ..errors import EAGAIN, EINVAL, ENOTTY, EPIPE, ESPIPE, Errno
from .file import (FIONREAD, O_ACCMODE, O_NONBLOCK, O_RDWR, POLLIN, POLLOUT, SEEK_CUR, SEEK_END, SEEK_SET,
                   OpenFile)
from .stat import Stat, makedev
from .vfs import alloc_internal_dev

TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TIOCGWINSZ, TIOCSWINSZ = 0x5413, 0x5414
TERMIOS_SIZE = 36           # 4 tcflag_t, c_line, c_cc[19]
WINSIZE_SIZE = 8            # 4 unsigned short
PIPE_BUF = 4096

HOST_DEV = alloc_internal_dev()        # st_dev of every host-backed file (they live in no guest filesystem)


def _ready(fd: int, write: bool) -> bool:
    r, w, _ = select.select([] if write else [fd], [fd] if write else [], [], 0)
    return bool(w if write else r)


# Host descriptors being waited for: (fd, write) -> callbacks. The loop allows one reader
# and one writer callback per fd, and several sleepers (a read, a poll of another task)
# may wait for the same host fd, so they share one registration.
_watchers: dict[tuple[int, bool], list] = {}


def watch_host_fd(fd: int, write: bool, callback: Callable[[], None]) -> Callable[[], None] | None:
    """Call callback() when host fd becomes readable (writable); returns the function that
    stops watching, or None if fd cannot be watched (a regular file: it never blocks)."""
    loop = asyncio.get_running_loop()
    key = (fd, write)
    callbacks = _watchers.get(key)
    if callbacks is None:
        callbacks = []

        def fire() -> None:
            for cb in list(callbacks):
                cb()
        try:
            (loop.add_writer if write else loop.add_reader)(fd, fire)
        except (PermissionError, ValueError, OSError):
            return None
        _watchers[key] = callbacks
    callbacks.append(callback)

    def unwatch() -> None:
        try:
            callbacks.remove(callback)
        except ValueError:
            return
        if not callbacks and _watchers.get(key) is callbacks:
            del _watchers[key]
            (loop.remove_writer if write else loop.remove_reader)(fd)
    return unwatch


async def _wait_ready(fd: int, write: bool) -> None:
    """Sleep until fd is readable (or writable) without blocking the loop; cancellable."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    unwatch = watch_host_fd(fd, write, wake)
    if unwatch is None:
        return          # not pollable (a regular file, /dev/null): it never blocks anyway
    try:
        await ready
    finally:
        unwatch()


def _os_error(e: OSError) -> Errno:
    return Errno(e.errno or EINVAL, str(e))


class HostFile(OpenFile):
    """A guest open file whose I/O goes to a host fd (a tty, pipe or regular file)."""

    def __init__(self, fd: int, flags: int):
        super().__init__(flags)
        self.fd = fd
        self.host_mode = os.fstat(fd).st_mode
        self.is_tty = os.isatty(fd)
        self.seekable = S.S_ISREG(self.host_mode)
        # Host files epoll may watch are Linux's pollable ones (ttys, pipes, sockets); a regular
        # file or /dev/null has no f_op->poll (EPERM from epoll_ctl).
        self.can_poll = self.is_tty or S.S_ISFIFO(self.host_mode) or S.S_ISSOCK(self.host_mode)

    # -- reading
    async def read(self, n: int) -> bytes:
        if n == 0:
            return b""
        while True:
            if self.seekable or _ready(self.fd, write=False):
                try:
                    return os.read(self.fd, n)
                except BlockingIOError:
                    pass                            # the host fd is non-blocking and someone got there first
                except OSError as e:
                    raise _os_error(e) from None
            if self.flags & O_NONBLOCK:
                raise Errno(EAGAIN)
            await _wait_ready(self.fd, write=False)

    async def pread(self, offset: int, n: int) -> bytes:
        if not self.seekable:
            raise Errno(ESPIPE)
        return os.pread(self.fd, n, offset)

    # -- writing
    async def write(self, data: bytes) -> int:
        if self.seekable:
            return self._write_some(data)
        done = 0
        view = memoryview(data)
        while done < len(data):
            if _ready(self.fd, write=True):
                try:
                    done += self._write_some(view[done:done + PIPE_BUF])
                    continue
                except BlockingIOError:
                    pass
                except Errno:
                    if done:
                        return done                 # report what went out; the error comes next time
                    raise
            if self.flags & O_NONBLOCK:
                if done:
                    return done
                raise Errno(EAGAIN)
            await _wait_ready(self.fd, write=True)
        return done

    def _write_some(self, data) -> int:
        try:
            return os.write(self.fd, data)
        except BlockingIOError:
            raise
        except BrokenPipeError:
            raise Errno(EPIPE) from None            # the caller's kernel side raises SIGPIPE
        except OSError as e:
            raise _os_error(e) from None

    async def pwrite(self, offset: int, data: bytes) -> int:
        if not self.seekable:
            raise Errno(ESPIPE)
        return os.pwrite(self.fd, data, offset)

    def lseek(self, offset: int, whence: int) -> int:
        if not self.seekable:
            raise Errno(ESPIPE)
        if whence not in (SEEK_SET, SEEK_CUR, SEEK_END):
            raise Errno(EINVAL)
        try:
            return os.lseek(self.fd, offset, whence)
        except OSError as e:
            raise _os_error(e) from None

    # -- attributes
    def stat(self) -> Stat:
        st = os.fstat(self.fd)
        if self.is_tty:
            mode, rdev = S.S_IFCHR | (st.st_mode & 0o7777), makedev(os.major(st.st_rdev), os.minor(st.st_rdev))
        else:
            mode, rdev = st.st_mode, 0
        regular = S.S_ISREG(st.st_mode)
        return Stat(st_dev=HOST_DEV, st_ino=st.st_ino, st_mode=mode, st_nlink=st.st_nlink, st_rdev=rdev,
                    st_size=st.st_size if regular else 0, st_blksize=4096 if not self.is_tty else 1024,
                    st_blocks=st.st_blocks if regular else 0, st_atime_ns=st.st_atime_ns,
                    st_mtime_ns=st.st_mtime_ns, st_ctime_ns=st.st_ctime_ns)

    def poll_events(self, events: int) -> int:
        if self.seekable:
            return events & (POLLIN | POLLOUT)
        r, w, _ = select.select([self.fd] if events & POLLIN else [], [self.fd] if events & POLLOUT else [], [], 0)
        return (POLLIN if r else 0) | (POLLOUT if w else 0)

    def poll_watch(self, events: int, callback: Callable[[], None]) -> list[Callable[[], None]]:
        """poll/select: call callback when the host fd may be ready for events; the stop functions."""
        stops = []
        for write, wanted in ((False, events & POLLIN), (True, events & POLLOUT)):
            if wanted and not self.seekable:
                stop = watch_host_fd(self.fd, write, callback)
                if stop is not None:
                    stops.append(stop)
        return stops

    # -- terminal control
    async def ioctl(self, task, cmd: int, arg: int) -> int:
        if cmd == FIONREAD:
            return self._fionread(task, arg)
        if not self.is_tty or cmd not in (TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCSWINSZ):
            raise Errno(ENOTTY)
        if cmd in (TCGETS, TIOCGWINSZ):
            size = TERMIOS_SIZE if cmd == TCGETS else WINSIZE_SIZE
            task.mm.write(arg, self._host_ioctl(cmd, bytes(size)))
        else:
            size = TERMIOS_SIZE if cmd != TIOCSWINSZ else WINSIZE_SIZE
            self._host_ioctl(cmd, task.mm.read(arg, size))
        return 0

    def _fionread(self, task, arg: int) -> int:
        if self.seekable:
            avail = max(0, os.fstat(self.fd).st_size - os.lseek(self.fd, 0, SEEK_CUR))
        else:
            avail = struct.unpack("<i", self._host_ioctl(FIONREAD, bytes(4)))[0]
        task.mm.write(arg, struct.pack("<i", min(avail, 0x7FFFFFFF)))
        return 0

    def _host_ioctl(self, cmd: int, buf: bytes) -> bytes:
        try:
            return fcntl.ioctl(self.fd, cmd, buf)
        except OSError as e:
            raise _os_error(e) from None


def make_console_files(stdin_fd: int = 0, stdout_fd: int = 1, stderr_fd: int = 2) -> tuple[HostFile, HostFile, HostFile]:
    """Open files for the guest's fds 0, 1, 2, each with the host fd's own access mode.

    A host descriptor that is closed (the host was started with `<&-`) becomes the host's
    /dev/null, so the guest still gets three working descriptors.
    """
    return _console_file(stdin_fd), _console_file(stdout_fd), _console_file(stderr_fd)


def _console_file(fd: int) -> HostFile:
    try:
        access = fcntl.fcntl(fd, fcntl.F_GETFL) & O_ACCMODE     # O_ACCMODE is 3 on x86 too
    except OSError:
        fd, access = os.open(os.devnull, os.O_RDWR), O_RDWR
    return HostFile(fd, access)
