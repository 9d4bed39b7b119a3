"""A terminal: line discipline + attributes + window size + job control state, and the
open files (TtyFile) that read, write and ioctl it.

A Tty sits between a driver and the processes:

    driver (console.py: the host terminal)          processes (TtyFile)
      tty.receive(bytes)  --> LineDiscipline -->      read(): canonical / VMIN / VTIME waits
      driver.write(bytes) <-- output processing <--   write(): OPOST, flow control, TOSTOP

Job control follows Linux's drivers/tty/tty_jobctrl.c. The Tty knows its session and
foreground process group by number; what it needs from the process layer (the calling
task, signalling a process group, "is this signal ignored", "is this group orphaned",
"which session is that group in", setting a process's controlling tty) goes through a
JobControl object, so that unit tests can pass a fake and tty code never imports proc/.

Controlling terminal: a task's controlling tty is `task.ctty` when set. While the
process layer does not maintain that field (fork copying it, setsid clearing it), a
task whose ctty is None is taken to be controlled by a tty whose session is the task's
session, which is what Linux's per-session rule amounts to. A process that gave up
its terminal with TIOCNOTTY is remembered (by tgid) so it is not adopted again.

Simplifications (documented where they matter): the job control check runs once at the
start of read/write (as Linux does); hang-up on session leader exit signals the
foreground group and detaches the session but does not make open files return EIO;
TCGETA/TCSETA (struct termio) and modem-control ioctls answer ENOTTY; TIOCSTI needs
the tty to be the caller's controlling tty, or root.
"""
from __future__ import annotations

import asyncio
import stat as S
import struct
from typing import Callable, Optional

from ..clock import realtime_ns
from ..cred import capable
from ..errors import EAGAIN, EINVAL, EIO, ENOTTY, EPERM, ERESTARTSYS, ESRCH, Errno
from ..fs.file import O_NONBLOCK, OpenFile
from ..fs.stat import Stat, makedev
from ..fs.vfs import alloc_internal_dev
from ..waitq import WaitQueue
from .ldisc import LineDiscipline
from .termios import (CBAUD, N_TTY, TCFLSH, TCGETA, TCGETS, TCGETS2, TCIFLUSH, TCIOFF, TCIOFLUSH, TCION,
                      TCOFLUSH, TCOOFF, TCOON, TCSBRK, TCSBRKP, TCSETA, TCSETAF, TCSETAW, TCSETS, TCSETS2,
                      TCSETSF, TCSETSF2, TCSETSW, TCSETSW2, TCXONC, TERMIO, TERMIOS, TERMIOS2, TIOCCBRK,
                      TIOCEXCL, TIOCGETD, TIOCGEXCL, TIOCGLCKTRMIOS, TIOCGPGRP,
                      TIOCGSID, TIOCGWINSZ, TIOCINQ, TIOCNOTTY, TIOCNXCL, TIOCOUTQ, TIOCSBRK, TIOCSCTTY,
                      TIOCSETD, TIOCSPGRP, TIOCSTI, TIOCSWINSZ, TOSTOP, VSTART, VSTOP, VDISABLE, WINSIZE,
                      Termios, Winsize)

SIGHUP, SIGCONT, SIGTTIN, SIGTTOU, SIGWINCH = 1, 18, 21, 22, 28
POLLIN, POLLOUT, POLLERR, POLLHUP = 0x1, 0x4, 0x8, 0x10
POLLRDNORM, POLLWRNORM = 0x40, 0x100

OUTPUT_LIMIT = 65536            # driver backlog beyond which writers wait (its "write room")
WRITE_CHUNK = 2048              # n_tty_write hands the driver this much at a time
TTY_DEV = alloc_internal_dev()     # st_dev of a tty file opened without a device node

# cflag baud codes -> bits per second (for termios2's speed fields)
_BAUD = {0: 0, 1: 50, 2: 75, 3: 110, 4: 134, 5: 150, 6: 200, 7: 300, 8: 600, 9: 1200, 10: 1800,
         11: 2400, 12: 4800, 13: 9600, 14: 19200, 15: 38400, 0o10001: 57600, 0o10002: 115200,
         0o10003: 230400, 0o10004: 460800, 0o10005: 500000, 0o10006: 576000, 0o10007: 921600,
         0o10010: 1000000, 0o10011: 1152000, 0o10012: 1500000, 0o10013: 2000000, 0o10014: 2500000,
         0o10015: 3000000, 0o10016: 3500000, 0o10017: 4000000}
BOTHER = 0o10000


class Waiters(WaitQueue):
    """Sleepers on one condition of a tty (input arrived, output room): a wait queue whose
    wake_all() also calls the poll callbacks subscribed to it; each sleeper re-checks."""

    def __init__(self) -> None:
        super().__init__()
        self._callbacks: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        self._callbacks.append(callback)

        def stop() -> None:
            try:
                self._callbacks.remove(callback)
            except ValueError:
                pass
        return stop

    def wake_all(self) -> None:
        super().wake_all()
        for cb in list(self._callbacks):
            cb()


class JobControl:
    """What a Tty asks of the process layer. This default knows no processes (tests subclass it);
    console.py builds one on the kernel's task table and signals module."""

    def current_task(self):
        """The task whose syscall is running now (read/write are not given it), or None."""
        return None

    def signal_group(self, pgid: int, signo: int) -> None:
        """Send signo to every process of process group pgid."""

    def keyboard_signal(self, pgid: int, signo: int) -> None:
        """INTR/QUIT/SUSP typed: signal the foreground group (a console may add its own policy)."""
        self.signal_group(pgid, signo)

    def is_ignored(self, task, signo: int) -> bool:
        """signo is blocked by task or its handler is SIG_IGN (Linux's is_ignored() in tty_jobctrl.c)."""
        return False

    def is_orphaned_pgrp(self, pgid: int) -> bool:
        """No member has a parent in another group of the same session (will_become_orphaned_pgrp)."""
        return False

    def session_of_pgrp(self, pgid: int) -> Optional[int]:
        """The session of process group pgid (or of process pgid if no group has that id); None: no such pid."""
        return None

    def set_ctty(self, task, tty: Optional["Tty"]) -> None:
        """Set (or clear, with None) the controlling tty of every thread of task's process."""
        task.ctty = tty

    def clear_session_ctty(self, sid: int, tty: "Tty") -> None:
        """Every process of session sid loses tty as its controlling terminal (session_clear_tty)."""


class TtyDriver:
    """The hardware side of a tty. This one keeps what is written in `output` (tests, no device)."""

    def __init__(self) -> None:
        self.output = bytearray()
        self.tty: Optional[Tty] = None

    def write(self, data: bytes) -> None:
        """Queue bytes for the device; never blocks. The driver calls tty.output_progress() as it drains."""
        self.output += data

    def pending(self) -> int:
        """Bytes queued and not yet on the device (TIOCOUTQ)."""
        return 0

    def flush_output(self) -> None:
        """Drop what is queued (TCOFLUSH, ISIG)."""

    def input_room_changed(self) -> None:
        """A reader took input: a throttled driver may feed more (tty.ldisc.room())."""


class Tty:
    """One terminal (Linux's tty_struct): its line discipline and termios, window size,
    session and foreground group, held output and the sleepers on input and output."""

    def __init__(self, driver: Optional[TtyDriver] = None, jobs: Optional[JobControl] = None,
                 name: str = "console", rdev: int = makedev(5, 1), mode: int = 0o600):
        self.driver = driver if driver is not None else TtyDriver()
        self.driver.tty = self
        self.jobs = jobs if jobs is not None else JobControl()
        self.ldisc = LineDiscipline()
        self.winsize = Winsize()
        self.session = 0                # sid of the session this is the controlling tty of; 0: none
        self.pgrp = 0                   # foreground process group; 0: none
        self.detached: set[int] = set()     # tgids that left us with TIOCNOTTY (see controls())
        self.exclusive = False          # TIOCEXCL
        self.held = bytearray()         # output while stopped (^S, TCOOFF)
        self.other_closed = False       # a pty master whose slave side is all closed: EIO once drained
        self.hung_up = False            # a pty slave whose master is gone: reads 0, writes EIO
        self.read_wait = Waiters()      # input arrived or termios changed
        self.write_wait = Waiters()     # output room, drain, flow restarted
        self.name = name
        self.rdev = rdev
        self.mode = mode
        self.ino = 0x7A00 + (rdev & 0xFF)
        self.created_ns = realtime_ns()

    @property
    def termios(self) -> Termios:
        return self.ldisc.termios

    # ------------------------------------------------------------------ from the driver

    def receive(self, data: bytes) -> None:
        """Input from the device (keyboard): cook it, echo, raise signals, wake readers."""
        was_stopped = self.ldisc.stopped
        r = self.ldisc.receive(data)
        if r.flush_output:
            self.flush_output()
        if r.output:
            self.emit(bytes(r.output))
        for signo in r.signals:
            if self.pgrp:
                self.jobs.keyboard_signal(self.pgrp, signo)
        if r.flow_changed and was_stopped and not self.ldisc.stopped:
            self._restart_output()
        if r.readable:
            self.read_wait.wake_all()

    def output_progress(self) -> None:
        """The driver sent some of its queue: writers and drain waiters may go on."""
        self.write_wait.wake_all()

    def hang_up(self) -> None:
        """The line is gone (tty_vhangup; a pty slave when its master closes): readers see end of
        file, writers EIO; the session leader and the foreground group get SIGHUP and SIGCONT."""
        if self.hung_up:
            return
        self.hung_up = True
        if self.session:
            self.jobs.signal_group(self.session, SIGHUP)       # the leader's group: its pgid is its sid
            self.jobs.signal_group(self.session, SIGCONT)
        self.disassociate(on_exit=False)
        self.read_wait.wake_all()
        self.write_wait.wake_all()

    def set_other_closed(self, closed: bool) -> None:
        """TTY_OTHER_CLOSED on a pty master: the last slave descriptor closed (or one opened again)."""
        self.other_closed = closed
        self.read_wait.wake_all()
        self.write_wait.wake_all()

    # ------------------------------------------------------------------ output

    def emit(self, data: bytes) -> None:
        """Processed output to the device, or held while output is stopped."""
        if not data:
            return
        if self.ldisc.stopped:
            self.held += data
        else:
            self.driver.write(data)

    def output_room(self) -> bool:
        return not self.ldisc.stopped and self.driver.pending() < OUTPUT_LIMIT

    def outq(self) -> int:
        return self.driver.pending() + len(self.held)

    def flush_output(self) -> None:
        self.held.clear()
        self.driver.flush_output()
        self.write_wait.wake_all()

    def stop_output(self, by_tcooff: bool) -> None:
        self.ldisc.stopped = True
        if by_tcooff:
            self.ldisc.tco_stopped = True

    def start_output(self) -> None:
        if self.ldisc.stopped:
            self.ldisc.stopped = False
            self.ldisc.tco_stopped = False
            self._restart_output()

    def _restart_output(self) -> None:
        held, self.held = bytes(self.held), bytearray()
        if held:
            self.driver.write(held)
        self.write_wait.wake_all()

    async def wait_until_sent(self) -> None:
        """tty_wait_until_sent: sleep until the driver's queue (and held output) is empty."""
        while self.outq():
            await self.write_wait.wait()

    # ------------------------------------------------------------------ attributes

    def set_termios(self, new: Termios) -> None:
        old = self.termios
        if new.cflag & CBAUD != old.cflag & CBAUD:
            new.ispeed = new.ospeed = _BAUD.get(new.cflag & CBAUD, old.ospeed)
        self.ldisc.set_termios(new)
        if not self.ldisc.stopped and self.held:
            self._restart_output()
        self.read_wait.wake_all()       # a reader's wait condition (ICANON, VMIN, VTIME) may have changed
        self.driver.input_room_changed()

    def set_winsize(self, ws: Winsize) -> None:
        """TIOCSWINSZ and host resizes (tty_do_resize): SIGWINCH to the foreground group on a change."""
        if ws == self.winsize:
            return
        self.winsize = ws
        if self.pgrp:
            self.jobs.signal_group(self.pgrp, SIGWINCH)

    # ------------------------------------------------------------------ job control

    def controls(self, task) -> bool:
        """This is task's controlling terminal (current->signal->tty == tty)."""
        if task is None:
            return False
        ctty = task.ctty
        if ctty is self:
            return True
        return (ctty is None and self.session != 0 and task.sid == self.session
                and task.tgid not in self.detached)

    def check_change(self, task, signo: int) -> None:
        """__tty_check_change: a background process touching its terminal gets signo
        (SIGTTIN for reads, SIGTTOU for writes and changes) and the call restarts after it;
        EIO if that signal cannot stop it (ignored SIGTTIN, or an orphaned process group)."""
        if not self.controls(task):
            return
        if self.pgrp and task.pgid != self.pgrp:
            if self.jobs.is_ignored(task, signo):
                if signo == SIGTTIN:
                    raise Errno(EIO)
                return
            if self.jobs.is_orphaned_pgrp(task.pgid):
                raise Errno(EIO)
            self.jobs.signal_group(task.pgid, signo)
            raise Errno(ERESTARTSYS)

    def make_controlling(self, task) -> None:
        """proc_set_tty: task's session takes this tty, its group in the foreground."""
        self.session = task.sid
        self.pgrp = task.pgid
        self.detached.clear()
        self.jobs.set_ctty(task, self)

    def disassociate(self, on_exit: bool) -> None:
        """The session gives up this terminal (disassociate_ctty): the session leader exits
        (on_exit) or its leader used TIOCNOTTY. The foreground group gets SIGHUP (and SIGCONT
        when not exiting); then nobody controls the tty."""
        if self.pgrp:
            self.jobs.signal_group(self.pgrp, SIGHUP)
            if not on_exit:
                self.jobs.signal_group(self.pgrp, SIGCONT)
        if self.session:
            self.jobs.clear_session_ctty(self.session, self)
        self.session = 0
        self.pgrp = 0
        self.detached.clear()

    # ------------------------------------------------------------------ opening

    def open(self, flags: int, location=None) -> "TtyFile":
        return TtyFile(self, flags, location)


def disassociate_ctty(task, on_exit: bool = True) -> None:
    """For the process layer: a session leader exits (or gives up its terminal).
    Does nothing if task is not a session leader with a controlling tty."""
    tty = task.ctty
    if isinstance(tty, Tty) and task.sid == task.tgid and tty.session == task.sid:
        tty.disassociate(on_exit)


class TtyFile(OpenFile):
    """An open descriptor of a Tty (/dev/console, /dev/tty, fds 0-2 of the first process)."""
    has_fasync = True           # tty_fasync: SIGIO when input arrives

    def __init__(self, tty: Tty, flags: int, location=None):
        super().__init__(flags)
        self.tty = tty
        self.location = location

    @property
    def path_name(self) -> str:
        return f"/dev/{self.tty.name}"

    # ------------------------------------------------------------------ reading

    async def read(self, n: int, task=None) -> bytes:
        """n_tty_read: canonical lines, or VMIN/VTIME in non-canonical mode."""
        tty = self.tty
        if tty.hung_up:
            return b""
        if task is None:
            task = tty.jobs.current_task()
        tty.check_change(task, SIGTTIN)
        ld = tty.ldisc
        minimum, inter_byte, timeout = ld.read_params()
        loop = asyncio.get_running_loop()
        out = bytearray()
        try:
            while len(out) < n:
                if not ld.read_available():
                    if tty.hung_up or tty.other_closed:
                        if out:
                            break
                        if tty.hung_up:
                            return b""
                        raise Errno(EIO)        # n_tty_read on a pty master whose slave closed
                    if timeout is not None and timeout <= 0:
                        break
                    if self.flags & O_NONBLOCK:
                        if not out:
                            raise Errno(EAGAIN)
                        break
                    started = loop.time()
                    await tty.read_wait.wait(timeout)
                    if timeout is not None:
                        timeout -= loop.time() - started
                    continue
                canonical = ld.canonical
                out += ld.take(n - len(out))
                tty.driver.input_room_changed()
                if canonical or len(out) >= minimum:
                    break
                if inter_byte is not None:
                    timeout = inter_byte
        except asyncio.CancelledError:
            if out:
                return bytes(out)       # a signal after some bytes: the read returns them
            raise
        return bytes(out)

    # ------------------------------------------------------------------ writing

    async def write(self, data: bytes, task=None) -> int:
        """n_tty_write: TOSTOP check, OPOST processing, wait for room (or restart after ^S)."""
        tty = self.tty
        if tty.hung_up:
            raise Errno(EIO)
        if task is None:
            task = tty.jobs.current_task()
        if tty.termios.l(TOSTOP):
            tty.check_change(task, SIGTTOU)
        done = 0
        try:
            while done < len(data):
                if not tty.output_room():
                    if self.flags & O_NONBLOCK:
                        if done:
                            break
                        raise Errno(EAGAIN)
                    await tty.write_wait.wait()
                    continue
                chunk = bytes(data[done:done + WRITE_CHUNK])
                tty.emit(tty.ldisc.process_output(chunk))
                done += len(chunk)
        except asyncio.CancelledError:
            if done:
                return done
            raise
        return done

    # ------------------------------------------------------------------ poll

    def poll_events(self, events: int) -> int:
        tty = self.tty
        if tty.hung_up:                 # hung_up_tty_poll
            return (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM) & events | POLLERR | POLLHUP
        revents = 0
        if tty.ldisc.poll_readable():
            revents |= POLLIN | POLLRDNORM
        if tty.output_room():
            revents |= POLLOUT | POLLWRNORM
        revents &= events
        if tty.other_closed:
            revents |= POLLHUP          # n_tty_poll: a pty whose other side is closed
        return revents

    def poll_watch(self, events: int, callback: Callable[[], None]) -> list[Callable[[], None]]:
        """poll/select: call callback whenever readiness for events may have changed; the stop functions."""
        stops = []
        if events & (POLLIN | POLLRDNORM):
            stops.append(self.tty.read_wait.subscribe(callback))
        if events & (POLLOUT | POLLWRNORM):
            stops.append(self.tty.write_wait.subscribe(callback))
        return stops

    # ------------------------------------------------------------------ attributes

    def stat(self) -> Stat:
        if self.location is not None:
            return self.location.inode.getattr()
        tty = self.tty
        ns = tty.created_ns
        return Stat(st_dev=TTY_DEV, st_ino=tty.ino, st_mode=S.S_IFCHR | tty.mode, st_rdev=tty.rdev,
                    st_blksize=1024, st_atime_ns=ns, st_mtime_ns=ns, st_ctime_ns=ns)

    # ------------------------------------------------------------------ ioctl

    async def ioctl(self, task, cmd: int, arg: int) -> int:
        tty = self.tty
        handler = _IOCTLS.get(cmd)
        if handler is None:
            raise Errno(ENOTTY)
        return await handler(self, tty, task, arg)


# ---------------------------------------------------------------------- ioctl handlers

def _read_int(task, arg: int) -> int:
    return struct.unpack("<i", task.mm.read(arg, 4))[0]


def _write_int(task, arg: int, value: int) -> int:
    task.mm.write(arg, struct.pack("<i", value))
    return 0


async def _tcgets(f: TtyFile, tty: Tty, task, arg: int) -> int:
    task.mm.write(arg, tty.termios.pack())
    return 0


async def _tcgets2(f: TtyFile, tty: Tty, task, arg: int) -> int:
    task.mm.write(arg, tty.termios.pack2())
    return 0


async def _tcgeta(f: TtyFile, tty: Tty, task, arg: int) -> int:
    task.mm.write(arg, tty.termios.pack_termio())
    return 0


async def _tiocglcktrmios(f: TtyFile, tty: Tty, task, arg: int) -> int:
    """The termios bits locked against change: none (TIOCSLCKTRMIOS, which would lock some, is
    not implemented), so a struct termios of zeros."""
    task.mm.write(arg, bytes(TERMIOS.size))
    return 0


def _set_termios_op(flush: bool, wait: bool, two: bool, termio: bool = False):
    async def op(f: TtyFile, tty: Tty, task, arg: int) -> int:
        """set_termios (tty_ioctl.c): background check, copy in, flush input (…SF), drain (…SW/SF), set.
        `termio`: TCSETA*, a struct termio over the low bits of the current settings."""
        tty.check_change(task, SIGTTOU)
        if termio:
            new = tty.termios.with_termio(task.mm.read(arg, TERMIO.size))
        else:
            raw = task.mm.read(arg, TERMIOS2.size if two else TERMIOS.size)
            new = Termios.unpack2(raw) if two else Termios.unpack(raw)
        if not two:
            new.ispeed, new.ospeed = tty.termios.ispeed, tty.termios.ospeed
        elif new.cflag & CBAUD != BOTHER:
            new.ispeed = new.ospeed = _BAUD.get(new.cflag & CBAUD, new.ospeed)
        if flush:
            tty.ldisc.flush_input()
            tty.driver.input_room_changed()
        if wait:
            await tty.wait_until_sent()
        tty.set_termios(new)
        return 0
    return op


async def _tcflsh(f: TtyFile, tty: Tty, task, arg: int) -> int:
    tty.check_change(task, SIGTTOU)
    if arg not in (TCIFLUSH, TCOFLUSH, TCIOFLUSH):
        raise Errno(EINVAL)
    if arg in (TCIFLUSH, TCIOFLUSH):
        tty.ldisc.flush_input()
        tty.driver.input_room_changed()
    if arg in (TCOFLUSH, TCIOFLUSH):
        tty.flush_output()
    return 0


async def _tcxonc(f: TtyFile, tty: Tty, task, arg: int) -> int:
    tty.check_change(task, SIGTTOU)
    if arg == TCOOFF:
        tty.stop_output(by_tcooff=True)
    elif arg == TCOON:
        tty.start_output()
    elif arg in (TCIOFF, TCION):
        c = tty.termios.cc[VSTOP if arg == TCIOFF else VSTART]
        if c != VDISABLE:
            tty.driver.write(bytes((c,)))       # tty_send_xchar: straight to the device
    else:
        raise Errno(EINVAL)
    return 0


async def _tcsbrk(f: TtyFile, tty: Tty, task, arg: int) -> int:
    """TCSBRK/TCSBRKP: tcdrain (arg != 0) or tcsendbreak; a console has no line to break."""
    tty.check_change(task, SIGTTOU)
    await tty.wait_until_sent()
    return 0


async def _tiocbrk(f: TtyFile, tty: Tty, task, arg: int) -> int:
    tty.check_change(task, SIGTTOU)
    return 0


async def _fionread(f: TtyFile, tty: Tty, task, arg: int) -> int:
    return _write_int(task, arg, tty.ldisc.inq())


async def _tiocoutq(f: TtyFile, tty: Tty, task, arg: int) -> int:
    return _write_int(task, arg, tty.outq())


async def _tiocgwinsz(f: TtyFile, tty: Tty, task, arg: int) -> int:
    task.mm.write(arg, tty.winsize.pack())
    return 0


async def _tiocswinsz(f: TtyFile, tty: Tty, task, arg: int) -> int:
    tty.set_winsize(Winsize.unpack(task.mm.read(arg, WINSIZE.size)))
    return 0


async def _tiocgpgrp(f: TtyFile, tty: Tty, task, arg: int) -> int:
    if not tty.controls(task):
        raise Errno(ENOTTY)
    return _write_int(task, arg, tty.pgrp)


async def _tiocspgrp(f: TtyFile, tty: Tty, task, arg: int) -> int:
    """tiocspgrp: the caller's own terminal, a group of its own session."""
    try:
        tty.check_change(task, SIGTTOU)
    except Errno as e:
        if e.code == EIO:
            raise Errno(ENOTTY) from None
        raise
    pgid = _read_int(task, arg)
    if pgid < 0:
        raise Errno(EINVAL)
    if not tty.controls(task) or tty.session != task.sid:
        raise Errno(ENOTTY)
    sid = tty.jobs.session_of_pgrp(pgid)
    if sid is None:
        raise Errno(ESRCH)
    if sid != task.sid:
        raise Errno(EPERM)
    tty.pgrp = pgid
    return 0


async def _tiocgsid(f: TtyFile, tty: Tty, task, arg: int) -> int:
    if not tty.controls(task) or not tty.session:
        raise Errno(ENOTTY)
    return _write_int(task, arg, tty.session)


def _is_admin(task) -> bool:
    return capable(task.creds)          # CAP_SYS_ADMIN


async def _tiocsctty(f: TtyFile, tty: Tty, task, arg: int) -> int:
    """tiocsctty: a session leader without a terminal takes this one (arg 1 + root: steal it)."""
    leader = task.sid == task.tgid
    if leader and tty.session == task.sid:
        return 0
    if not leader or task.ctty is not None:
        raise Errno(EPERM)
    if tty.session:
        if arg == 1 and _is_admin(task):
            tty.jobs.clear_session_ctty(tty.session, tty)
        else:
            raise Errno(EPERM)
    if not f.readable and not _is_admin(task):
        raise Errno(EPERM)
    tty.make_controlling(task)
    return 0


async def _tiocnotty(f: TtyFile, tty: Tty, task, arg: int) -> int:
    """Give up the controlling terminal; a session leader takes its whole session along."""
    if not tty.controls(task):
        raise Errno(ENOTTY)
    if task.sid == task.tgid:
        tty.disassociate(on_exit=False)
    else:
        tty.detached.add(task.tgid)
    tty.jobs.set_ctty(task, None)
    return 0


async def _tiocsti(f: TtyFile, tty: Tty, task, arg: int) -> int:
    """Fake input: one byte as if typed."""
    if not tty.controls(task) and not _is_admin(task):
        raise Errno(EPERM)
    c = task.mm.read(arg, 1)
    tty.receive(c)
    return 0


async def _tiocgetd(f: TtyFile, tty: Tty, task, arg: int) -> int:
    return _write_int(task, arg, N_TTY)


async def _tiocsetd(f: TtyFile, tty: Tty, task, arg: int) -> int:
    if _read_int(task, arg) != N_TTY:
        raise Errno(EINVAL)             # N_TTY is the only discipline there is
    return 0


async def _tiocexcl(f: TtyFile, tty: Tty, task, arg: int) -> int:
    tty.exclusive = True
    return 0


async def _tiocnxcl(f: TtyFile, tty: Tty, task, arg: int) -> int:
    tty.exclusive = False
    return 0


async def _tiocgexcl(f: TtyFile, tty: Tty, task, arg: int) -> int:
    return _write_int(task, arg, int(tty.exclusive))


async def mode_ioctl(f: TtyFile, real_tty: Tty, task, cmd: int, arg: int) -> int:
    """One of MODE_IOCTLS on `real_tty`: tty_mode_ioctl's, which a pty master's file applies to
    its slave (Linux's real_tty = tty->link)."""
    return await _IOCTLS[cmd](f, real_tty, task, arg)


_IOCTLS = {
    TCGETS: _tcgets, TCGETS2: _tcgets2,
    TCSETS: _set_termios_op(False, False, False), TCSETSW: _set_termios_op(False, True, False),
    TCSETSF: _set_termios_op(True, True, False),
    TCSETS2: _set_termios_op(False, False, True), TCSETSW2: _set_termios_op(False, True, True),
    TCSETSF2: _set_termios_op(True, True, True),
    TCGETA: _tcgeta, TCSETA: _set_termios_op(False, False, False, termio=True),
    TCSETAW: _set_termios_op(False, True, False, termio=True), TCSETAF: _set_termios_op(True, True, False, termio=True),
    TIOCGLCKTRMIOS: _tiocglcktrmios,
    TCFLSH: _tcflsh, TCXONC: _tcxonc, TCSBRK: _tcsbrk, TCSBRKP: _tcsbrk,
    TIOCSBRK: _tiocbrk, TIOCCBRK: _tiocbrk,
    TIOCINQ: _fionread, TIOCOUTQ: _tiocoutq,
    TIOCGWINSZ: _tiocgwinsz, TIOCSWINSZ: _tiocswinsz,
    TIOCGPGRP: _tiocgpgrp, TIOCSPGRP: _tiocspgrp, TIOCGSID: _tiocgsid,
    TIOCSCTTY: _tiocsctty, TIOCNOTTY: _tiocnotty, TIOCSTI: _tiocsti,
    TIOCGETD: _tiocgetd, TIOCSETD: _tiocsetd,
    TIOCEXCL: _tiocexcl, TIOCNXCL: _tiocnxcl, TIOCGEXCL: _tiocgexcl,
}

MODE_IOCTLS = frozenset({TCGETS, TCGETS2, TCSETS, TCSETSW, TCSETSF, TCSETS2, TCSETSW2, TCSETSF2,
                         TCGETA, TCSETA, TCSETAW, TCSETAF, TIOCGLCKTRMIOS})
