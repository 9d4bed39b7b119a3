"""The guest's console: the open files behind fds 0, 1 and 2 of the first process, and
the /dev/console (5:1) and /dev/tty (5:0) device openers.

When the host's stdin and stdout are a terminal, the console is a real tty (tty.py): the host
terminal is put in raw mode (no echo, no ICANON, no ISIG, no IXON, no OPOST: the
guest's line discipline does all of it), host stdin is read with loop.add_reader()
and fed to the line discipline, output goes to host stdout through a non-blocking
descriptor of its own, and a host SIGWINCH updates the window size and signals the
foreground group. The host terminal's mode comes back at exit (here through atexit,
and in cli.py, which saved it before the run, also after an exception).

When pid 1 is a shell (`moss-host run`, `moss-host boot --init /bin/sh`), the console is
the controlling terminal of session 1 with process group 1 in the foreground from the
start, as if a getty had made it so (Linux never makes /dev/console a controlling
terminal by itself; we do, so that ^C and job control work at that prompt). When pid 1
is BusyBox init (KernelConfig.init_owns_console off), the console starts as Linux's
does, controlling nothing: init's children call setsid() and TIOCSCTTY for the shell.

Because ISIG is off on the host, ^C goes to the guest and no longer stops moss-host
by itself. Two ways out remain: ^C (or ^\\) when the foreground is only pid 1 with no
handler for it ends the run, since init ignores such signals and nothing else could
stop it (`moss-host run -- sleep 100`: proc/jobctl.py decides, as the JobControl the
kernel hands the console); and Ctrl-] then q always does (Ctrl-] then anything else
passes both keys to the guest).

When stdin or stdout is not a terminal (pipes in tests and CI, `moss-host run ... | less`),
the console stays the host's own descriptors (fs/hostfile.py), exactly as before: a tty
reads its input eagerly (to see ^C), which would steal keys from a pager reading the
same terminal, and raw mode would fight its settings.
"""
from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import logging
import os
import signal
import stat as S
import sys
import termios as host_termios
from typing import Callable, Iterator, Optional, Protocol, TextIO

from ..cred import capable
from ..errors import EBUSY, ENXIO, Errno
from ..fs.file import O_ACCMODE, O_RDONLY, O_RDWR, OpenFile
from ..fs.stat import Stat, makedev
from ..fs.vfs import FsContext, Location
from .termios import TIOCGWINSZ, Winsize
from .tty import JobControl, Tty, TtyDriver, TtyFile

log = logging.getLogger("moss.tty")

TTY_MAJOR = 5
ESCAPE, ESCAPE_QUIT = 0x1D, ord("q")     # Ctrl-] q: leave moss-host
READ_CHUNK = 4096

_consoles: set = set()          # HostConsoles not yet closed
_escape_actions: dict[int, Callable[["HostConsole"], None]] = {}    # Ctrl-] KEY -> action


def on_escape(key: int, action: Callable[["HostConsole"], None]) -> None:
    """Ctrl-] then `key` runs action(console) instead of reaching the guest (the kernel
    console's Ctrl-] p); Ctrl-] q stays "leave moss-host"."""
    _escape_actions[key] = action


class LineSink(Protocol):
    """Where a writer of host-side lines (the --trace tracer) sends them."""
    out: TextIO


def close_consoles() -> None:
    """Give every host terminal we drive back its mode (cli.py calls this when a run ends)."""
    for console in list(_consoles):
        console.close()


# ---------------------------------------------------------------------- entry point

def open_console(jobs: JobControl, root_fs: Optional[FsContext], init_owns_console: bool,
                 tracer: Optional[LineSink] = None) -> tuple[tuple[OpenFile, ...], Optional[Tty]]:
    """The open files for fds 0, 1, 2 of pid 1 (one open file, as Linux's init gets), and the
    console tty when the host gives us a terminal; registers the /dev/console and /dev/tty
    openers. `jobs` is what the tty asks of the process layer, `tracer` the --trace output
    to keep readable in raw mode."""
    if _is_terminal(0) and _is_terminal(1):
        try:
            console = HostConsole(jobs, init_owns_console, tracer)
        except OSError as e:
            log.warning("console: cannot drive the host terminal (%s); using plain stdin/stdout", e)
        else:
            _register_openers(console.tty)
            f = console.tty.open(O_RDWR, _console_node(root_fs))
            return (f, f, f), console.tty
    from moss_host.fs.hostfile import make_console_files
    files = make_console_files()
    _register_openers(None)
    return files, None


def _console_node(fs: Optional[FsContext]) -> Optional[Location]:
    """/dev/console in the root filesystem, if there is one: fds 0-2 then stat as that node (and
    ttyname() finds it), as they would after init opened it."""
    from moss_host.fs.path import Walker
    if fs is None:
        return None
    try:
        loc = Walker(fs).resolve(fs.root, b"/dev/console")
    except Errno:
        return None
    st = loc.inode.getattr()
    return loc if S.S_ISCHR(st.st_mode) and st.st_rdev == makedev(TTY_MAJOR, 1) else None


def interrupt_host() -> None:
    """End the run the way ^C at a cooked terminal would: a SIGINT to ourselves, which asyncio
    turns into cancelling the kernel (its cleanup runs) and cli.py into "moss: interrupted"."""
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
        raise KeyboardInterrupt
    signal.raise_signal(signal.SIGINT)


def _is_terminal(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


# ---------------------------------------------------------------------- the host terminal as a tty driver

class HostConsole(TtyDriver):
    """The host's terminal behind the guest's console tty."""

    def __init__(self, jobs: JobControl, init_owns_console: bool = True, tracer: Optional[LineSink] = None,
                 in_fd: int = 0, out_fd: int = 1):
        super().__init__()
        self.loop = asyncio.get_running_loop()
        self.in_fd = in_fd
        self.queue = bytearray()        # output the host terminal has not taken yet
        self.writer_added = False
        self.reader_added = False
        self.escape_seen = False
        self.closed = False
        # Our own open file description of the terminal for output, so O_NONBLOCK is ours
        # alone (the host shell shares fd 1's); without /proc, fd 1 itself (writes may block).
        try:
            self.out_fd = os.open(f"/proc/self/fd/{out_fd}", os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
            self.own_out = True
        except OSError:
            self.out_fd, self.own_out = out_fd, False
        self.saved_mode = _enter_raw_mode(in_fd)
        self.tracer_sink = tracer
        self.saved_streams = _crlf_host_messages(tracer)
        atexit.register(self.close)
        _consoles.add(self)
        self.tty: Tty = Tty(self, jobs, name="console", rdev=makedev(TTY_MAJOR, 1))
        if init_owns_console:
            self.tty.session = 1        # pid 1's session, its group in the foreground (see the module doc)
            self.tty.pgrp = 1
        self._update_winsize()
        self._start_reading()
        try:
            self.loop.add_signal_handler(signal.SIGWINCH, self._update_winsize)
        except (ValueError, RuntimeError, NotImplementedError):
            pass

    def close(self) -> None:
        """Give the host terminal back: its mode, our descriptor, the loop registrations."""
        if self.closed:
            return
        self.closed = True
        _consoles.discard(self)
        try:
            if self.own_out:
                os.set_blocking(self.out_fd, True)     # the last output must not be lost to EAGAIN
            self._flush(final=True)
        except OSError:
            pass
        _leave_raw_mode(self.in_fd, self.saved_mode)
        _restore_host_messages(self.saved_streams)
        if not self.loop.is_closed():
            if self.reader_added:
                self.loop.remove_reader(self.in_fd)
            if self.writer_added:
                self.loop.remove_writer(self.out_fd)
            try:
                self.loop.remove_signal_handler(signal.SIGWINCH)
            except (ValueError, RuntimeError):
                pass
        if self.own_out:
            os.close(self.out_fd)

    # -- input

    def _start_reading(self) -> None:
        if not self.reader_added and not self.closed:
            self.loop.add_reader(self.in_fd, self._on_input)
            self.reader_added = True

    def _stop_reading(self) -> None:
        if self.reader_added:
            self.loop.remove_reader(self.in_fd)
            self.reader_added = False

    def _on_input(self) -> None:
        room = self.tty.ldisc.room()
        if room <= 0:
            self._stop_reading()        # throttled: a reader taking input restarts us
            return
        try:
            data = os.read(self.in_fd, min(READ_CHUNK, room))
        except BlockingIOError:
            return
        except OSError as e:
            log.warning("console: reading the host terminal: %s", e)
            data = b""
        if not data:
            self._stop_reading()        # the host terminal went away
            return
        data = self._host_escape(data)
        if data:
            self.tty.receive(data)

    def _host_escape(self, data: bytes) -> bytes:
        """Ctrl-] q ends moss-host, Ctrl-] KEY runs an action registered with on_escape (the
        keys after it are dropped); any other key after Ctrl-] goes to the guest with it."""
        if self.escape_seen:
            self.escape_seen = False
            data = bytes((ESCAPE,)) + data
        i = data.find(ESCAPE)
        while i >= 0:
            if i + 1 == len(data):
                self.escape_seen = True
                return data[:i]
            if self._escape_command(data[i + 1]):
                return data[:i]
            i = data.find(ESCAPE, i + 1)
        return data

    def _escape_command(self, key: int) -> bool:
        if key == ESCAPE_QUIT:
            interrupt_host()
            return True
        action = _escape_actions.get(key)
        if action is not None:
            action(self)
            return True
        return False

    @contextlib.contextmanager
    def cooked(self) -> Iterator[None]:
        """The host terminal as the user's shell had it, for a while (the kernel console):
        its saved mode, Python's own streams, blocking output with ours flushed first."""
        self._flush(final=True)
        _leave_raw_mode(self.in_fd, self.saved_mode)
        _restore_host_messages(self.saved_streams)
        try:
            yield
        finally:
            self.saved_mode = _enter_raw_mode(self.in_fd)
            self.saved_streams = _crlf_host_messages(self.tracer_sink)

    def input_room_changed(self) -> None:
        if not self.reader_added and self.tty.ldisc.room() > 0:
            self._start_reading()

    # -- output

    def write(self, data: bytes) -> None:
        self.queue += data
        self._flush()

    def pending(self) -> int:
        return len(self.queue)

    def flush_output(self) -> None:
        self.queue.clear()

    def _flush(self, final: bool = False) -> None:
        progressed = False
        while self.queue:
            try:
                n = os.write(self.out_fd, self.queue[:65536])
            except BlockingIOError:
                break
            except OSError as e:            # the terminal is gone (EIO), stdout closed (EPIPE)...
                log.debug("console: writing the host terminal: %s", e)
                self.queue.clear()
                break
            del self.queue[:n]
            progressed = True
        if final:
            return
        if self.queue and not self.writer_added:
            self.loop.add_writer(self.out_fd, self._flush)
            self.writer_added = True
        elif not self.queue and self.writer_added:
            self.loop.remove_writer(self.out_fd)
            self.writer_added = False
        if progressed and self.tty is not None:
            self.tty.output_progress()

    # -- window size

    def _update_winsize(self) -> None:
        for fd in (self.out_fd, self.in_fd):
            try:
                raw = fcntl.ioctl(fd, TIOCGWINSZ, bytes(8))
            except OSError:
                continue
            self.tty.set_winsize(Winsize.unpack(raw))
            return


def _enter_raw_mode(fd: int):
    """cfmakeraw on the host terminal (byte at a time, nothing interpreted); the old mode to restore."""
    saved = host_termios.tcgetattr(fd)
    mode = host_termios.tcgetattr(fd)
    iflag, oflag, cflag, lflag = mode[0], mode[1], mode[2], mode[3]
    mode[0] = iflag & ~(host_termios.IGNBRK | host_termios.BRKINT | host_termios.PARMRK | host_termios.ISTRIP
                        | host_termios.INLCR | host_termios.IGNCR | host_termios.ICRNL | host_termios.IXON)
    mode[1] = oflag & ~host_termios.OPOST
    mode[2] = (cflag & ~(host_termios.CSIZE | host_termios.PARENB)) | host_termios.CS8
    mode[3] = lflag & ~(host_termios.ECHO | host_termios.ECHONL | host_termios.ICANON | host_termios.ISIG
                        | host_termios.IEXTEN)
    mode[6] = list(mode[6])
    mode[6][host_termios.VMIN] = 1
    mode[6][host_termios.VTIME] = 0
    host_termios.tcsetattr(fd, host_termios.TCSANOW, mode)
    return saved


def _leave_raw_mode(fd: int, saved) -> None:
    try:
        host_termios.tcsetattr(fd, host_termios.TCSANOW, saved)
    except (host_termios.error, OSError):
        pass


def _crlf_host_messages(tracer: Optional[LineSink]):
    """With OPOST off, moss's own log and trace lines on the terminal need \\r\\n: point them
    at a stderr that writes line ends that way. Returns what to put back."""
    if not _is_terminal(2):
        return None
    old = sys.stderr
    crlf = open(os.dup(2), "w", buffering=1, newline="\r\n", encoding="utf-8", errors="backslashreplace")
    handlers = [h for h in logging.getLogger().handlers
                if isinstance(h, logging.StreamHandler) and h.stream is old]
    for h in handlers:
        h.setStream(crlf)
    traced = tracer if tracer is not None and tracer.out is old else None
    if traced is not None:
        traced.out = crlf
    sys.stderr = crlf
    return old, crlf, handlers, traced


def _restore_host_messages(saved) -> None:
    if saved is None:
        return
    old, crlf, handlers, tracer = saved
    for h in handlers:
        if h.stream is crlf:
            h.setStream(old)
    if tracer is not None and tracer.out is crlf:
        tracer.out = old
    if sys.stderr is crlf:
        sys.stderr = old
    try:
        crlf.flush()
    except (OSError, ValueError):
        pass


# ---------------------------------------------------------------------- /dev/console and /dev/tty

def _register_openers(console: Optional[Tty]) -> None:
    from moss_host.fs.file import register_device

    async def open_console_node(loc, flags: int) -> OpenFile:
        if console is not None:
            _check_exclusive(console)
            return TtyFile(console, flags, loc)
        return PipedConsoleFile(flags, loc)

    async def open_tty_node(loc, flags: int) -> OpenFile:
        """/dev/tty: the caller's controlling terminal (ENXIO without one)."""
        tty = _controlling_tty(console)
        if tty is None:
            raise Errno(ENXIO)
        _check_exclusive(tty)
        return TtyFile(tty, flags, loc)

    register_device(S.S_IFCHR, TTY_MAJOR, 1, open_console_node)
    register_device(S.S_IFCHR, TTY_MAJOR, 0, open_tty_node)


def _check_exclusive(tty: Tty) -> None:
    """TIOCEXCL: only root may open the tty again."""
    if tty.exclusive:
        task = tty.jobs.current_task()
        if task is None or not capable(task.creds):     # CAP_SYS_ADMIN
            raise Errno(EBUSY)


def _controlling_tty(console: Optional[Tty]) -> Optional[Tty]:
    if console is None:
        return None
    task = console.jobs.current_task()
    if task is None:
        return None
    if task.ctty is not None:
        return task.ctty
    return console if console.controls(task) else None


class PipedConsoleFile(OpenFile):
    """/dev/console while the host's stdin is not a terminal: reads host stdin, writes host
    stdout, like fds 0 and 1 of the first process; no terminal ioctls unless stdout is a tty."""

    def __init__(self, flags: int, location=None):
        from moss_host.fs.hostfile import make_console_files
        super().__init__(flags)
        self.location = location
        self.reader, self.writer, _ = make_console_files()

    async def read(self, n: int) -> bytes:
        return await self.reader.read(n)

    async def write(self, data: bytes) -> int:
        return await self.writer.write(data)

    def poll_events(self, events: int) -> int:
        from moss_host.fs.file import POLLIN, POLLOUT
        return self.reader.poll_events(events & POLLIN) | self.writer.poll_events(events & POLLOUT)

    def poll_watch(self, events: int, callback):
        from moss_host.fs.file import POLLIN, POLLOUT
        stops = []
        for f, mask in ((self.reader, POLLIN), (self.writer, POLLOUT)):
            if events & mask:
                stops += f.poll_watch(events & mask, callback)
        return stops

    async def ioctl(self, task, cmd: int, arg: int) -> int:
        target = self.reader if self.flags & O_ACCMODE == O_RDONLY else self.writer
        return await target.ioctl(task, cmd, arg)

    def stat(self) -> Stat:
        if self.location is not None:
            return self.location.inode.getattr()
        return self.writer.stat()

