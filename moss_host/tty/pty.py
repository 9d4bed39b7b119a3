"""Pseudo-terminals (Unix 98): /dev/ptmx hands out a master, /dev/pts/N is its slave.

A pty is two Ttys joined back to back (Linux's drivers/tty/pty.c), each the other's driver:

    master fd (PtyMasterFile)                         slave fd (PtySlaveFile: a terminal)
      write(): master OPOST (off) --> slave.receive()  --> slave N_TTY: echo, ^C, lines --> read()
      read():  master N_TTY (raw) <-- master.receive() <-- slave OPOST (ONLCR...)      <-- write()

So what a program like `script` or a remote shell server writes to the master is typed
at the slave, and what runs on the slave shows up, output-processed, at the master.
Each direction has a queue (PtyPort.queue) that feeds the other side's line discipline
as it has room; a writer waits while that queue is full, like any tty writer.

The master's termios is Linux's pty master default (no input or output processing, no
echo, non-canonical); the slave's is tty_std_termios without HUPCL. The window size is
one for both (TIOCSWINSZ on either end; SIGWINCH to the slave's foreground group).

Opening /dev/ptmx allocates the lowest free index and a locked slave; unlockpt()
(TIOCSPTLCK 0) must come before the slave opens (EIO until then). grantpt() is
TIOCGPTN in glibc. TIOCGPTPEER opens the slave from the master. When the last slave
descriptor closes, master reads return what is buffered and then EIO, and poll reports
POLLHUP; when the last master descriptor closes, the slave hangs up (SIGHUP to its
session; reads return 0, writes EIO) and the index is freed.

Opening a slave without O_NOCTTY makes it the controlling terminal of a session leader
that has none (tty_open_proc_set_tty), as for any terminal but the console.

Not done: packet mode (TIOCPKT answers EINVAL when enabling it), TIOCSIG, legacy BSD ptys.
"""
from __future__ import annotations

import asyncio
import dataclasses
import struct
from typing import Callable, Optional

from ..errors import EINVAL, EIO, ENOSPC, ENOTTY, Errno
from ..fs.file import O_CLOEXEC, O_NOCTTY
from ..fs.stat import Stat, makedev
from .termios import B38400, CREAD, CS8, Termios, Winsize
from .tty import MODE_IOCTLS, JobControl, Tty, TtyDriver, TtyFile, mode_ioctl

PTMX_MAJOR, PTMX_MINOR = 5, 2
PTS_MAJOR = 136                 # UNIX98_PTY_SLAVE_MAJOR
PTY_MAX = 4096                  # /proc/sys/kernel/pty/max

TIOCPKT = 0x5420
TIOCGPTN = 0x80045430           # _IOR('T', 0x30, unsigned int)
TIOCSPTLCK = 0x40045431         # _IOW('T', 0x31, int)
TIOCGPKT = 0x80045438
TIOCGPTLCK = 0x80045439
TIOCGPTPEER = 0x5441            # _IO('T', 0x41)


def master_termios() -> Termios:
    """pty master init_termios: raw, 38400 8N1, receiver on."""
    return Termios(iflag=0, oflag=0, cflag=B38400 | CS8 | CREAD, lflag=0)


def slave_termios() -> Termios:
    """pty slave init_termios: tty_std_termios with c_cflag B38400 | CS8 | CREAD."""
    return Termios(cflag=B38400 | CS8 | CREAD)


class PtyPort(TtyDriver):
    """One end's driver: what its Tty outputs is queued here and fed to the other end's input
    as the other end's line discipline has room (pty_write + the flip buffer)."""

    def __init__(self) -> None:
        super().__init__()
        self.queue = bytearray()
        self.peer: Optional["PtyPort"] = None
        self._pushing = False

    def write(self, data: bytes) -> None:
        self.queue += data
        self.push()

    def pending(self) -> int:
        return len(self.queue)

    def flush_output(self) -> None:
        self.queue.clear()

    def input_room_changed(self) -> None:
        """A reader on our tty took input: the other end's queued output may come in now."""
        if self.peer is not None:
            self.peer.push()

    def push(self) -> None:
        """Feed queued bytes to the other end while it has room. Not re-entrant: echo from
        the other end that comes back to us (both ends echoing) waits for the next turn of
        the event loop instead of recursing."""
        if self._pushing:
            _later(self.push)
            return
        target = self.peer.tty if self.peer is not None else None
        if target is None or not self.queue:
            return
        self._pushing = True
        try:
            while self.queue:
                room = target.ldisc.room()
                if room <= 0:
                    break
                chunk = bytes(self.queue[:room])
                del self.queue[:room]
                target.receive(chunk)
        finally:
            self._pushing = False
        assert self.tty is not None             # a pty end's driver always has its tty
        self.tty.output_progress()


def _later(fn: Callable[[], None]) -> None:
    try:
        asyncio.get_running_loop().call_soon(fn)
    except RuntimeError:
        pass                            # no loop (unit tests): the next read or write drains it


class PtyTty(Tty):
    """A Tty that is one end of a pty: the window size is shared with the other end."""

    def __init__(self, pty: "Pty", port: PtyPort, jobs: JobControl, name: str, rdev: int, mode: int):
        super().__init__(port, jobs, name=name, rdev=rdev, mode=mode)
        self.pty = pty

    def set_winsize(self, ws: Winsize) -> None:
        """pty_resize: both ends take the size; the slave's foreground group hears SIGWINCH."""
        self.pty.master.winsize = ws
        Tty.set_winsize(self.pty.slave, ws)


class Pty:
    """One master/slave pair with index `index` (/dev/pts/<index>)."""

    def __init__(self, table: "PtyTable", index: int, jobs: JobControl, uid: int = 0, gid: int = 5):
        self.table = table
        self.index = index
        self.locked = True              # until unlockpt()
        self.uid, self.gid, self.mode = uid, gid, 0o620     # the slave node (devpts gid=5,mode=620)
        self.masters = 0                # open master descriptions
        self.slaves = 0                 # open slave descriptions
        self.slave_opened = False       # the slave has been opened at least once
        mport, sport = PtyPort(), PtyPort()
        mport.peer, sport.peer = sport, mport
        self.master = PtyTty(self, mport, jobs, "ptmx", makedev(PTMX_MAJOR, PTMX_MINOR), 0o666)
        self.slave = PtyTty(self, sport, jobs, f"pts/{index}", makedev(PTS_MAJOR, index), 0o620)
        self.master.ldisc.set_termios(master_termios())
        self.slave.ldisc.set_termios(slave_termios())
        self.slave.ino = index + 3      # devpts: root 1, ptmx 2, slave N at N + 3
        self.master.ino = 2

    @property
    def rdev(self) -> int:
        return makedev(PTS_MAJOR, self.index)

    # -- opening and closing

    def open_master(self, flags: int, location=None) -> "PtyMasterFile":
        self.masters += 1
        return PtyMasterFile(self, flags, location)

    def open_slave(self, flags: int, task=None, location=None) -> "PtySlaveFile":
        """tty_open of /dev/pts/N: EIO while locked or after the master went away."""
        if self.locked or self.masters == 0 or self.slave.hung_up:
            raise Errno(EIO)
        self.slaves += 1
        self.slave_opened = True
        if self.master.other_closed:
            self.master.set_other_closed(False)
        f = PtySlaveFile(self, flags, location)
        tty = self.slave
        if (task is not None and not flags & O_NOCTTY and task.sid == task.tgid
                and task.ctty is None and tty.session == 0):
            tty.make_controlling(task)      # tty_open_proc_set_tty
        return f

    def master_closed(self) -> None:
        self.masters -= 1
        if self.masters == 0:
            self.slave.hang_up()        # pty_close of the master: tty_vhangup(slave)
            self.table.release(self)

    def slave_closed(self) -> None:
        self.slaves -= 1
        if self.slaves == 0:
            self.master.set_other_closed(True)


class PtyTable:
    """The ptys of one devpts instance, by index."""

    def __init__(self, jobs: Optional[JobControl] = None, on_change: Optional[Callable[[], None]] = None,
                 locate: Optional[Callable[[Pty], object]] = None):
        self.jobs = jobs if jobs is not None else JobControl()
        self.ptys: dict[int, Pty] = {}
        self.on_change = on_change      # devpts: a slave node appeared or went away
        # devpts: /dev/pts/N's Location (None while unmounted)
        self.locate: Callable[[Pty], object] = locate if locate is not None else (lambda pty: None)

    def allocate(self, task=None) -> Pty:
        """A new pty with the lowest free index (devpts_new_index); ENOSPC past pty/max."""
        index = next(i for i in range(PTY_MAX + 1) if i not in self.ptys)
        if index >= PTY_MAX:
            raise Errno(ENOSPC)
        pty = Pty(self, index, self.jobs, uid=task.creds.euid if task is not None else 0)
        self.ptys[index] = pty
        if self.on_change is not None:
            self.on_change()
        return pty

    def release(self, pty: Pty) -> None:
        if self.ptys.get(pty.index) is pty:
            del self.ptys[pty.index]
            if self.on_change is not None:
                self.on_change()

    def open_ptmx(self, flags: int, location=None) -> "PtyMasterFile":
        """ptmx_open: a new pty, its master open for the caller."""
        pty = self.allocate(self.jobs.current_task())
        return pty.open_master(flags, location)

    def open_slave(self, index: int, flags: int, location=None) -> "PtySlaveFile":
        pty = self.ptys.get(index)
        if pty is None:
            raise Errno(EIO)
        return pty.open_slave(flags, self.jobs.current_task(), location)


# ---------------------------------------------------------------------- open files

def _write_u32(task, arg: int, value: int) -> int:
    task.mm.write(arg, struct.pack("<I", value))
    return 0


class PtyMasterFile(TtyFile):
    """An open /dev/ptmx: the master end."""

    def __init__(self, pty: Pty, flags: int, location=None):
        super().__init__(pty.master, flags, location)
        self.pty = pty
        self._released = False

    @property
    def path_name(self) -> str:
        return "/dev/ptmx"

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.pty.master_closed()

    async def ioctl(self, task, cmd: int, arg: int) -> int:
        pty = self.pty
        if cmd == TIOCGPTN:
            return _write_u32(task, arg, pty.index)
        if cmd == TIOCSPTLCK:
            pty.locked = bool(struct.unpack("<i", task.mm.read(arg, 4))[0])
            return 0
        if cmd == TIOCGPTLCK:
            return _write_u32(task, arg, int(pty.locked))
        if cmd == TIOCGPTPEER:
            return self._open_peer(task, arg)
        if cmd == TIOCPKT:
            if struct.unpack("<i", task.mm.read(arg, 4))[0]:
                raise Errno(EINVAL)     # packet mode is not implemented
            return 0
        if cmd == TIOCGPKT:
            return _write_u32(task, arg, 0)
        if cmd in MODE_IOCTLS:          # termios get/set on the master: the slave's
            return await mode_ioctl(self, pty.slave, task, cmd, arg)
        return await super().ioctl(task, cmd, arg)

    def _open_peer(self, task, flags: int) -> int:
        """TIOCGPTPEER: open the slave from the master, as a new descriptor (flags: O_RDWR, O_NOCTTY, O_CLOEXEC...)."""
        f = self.pty.open_slave(flags & ~O_CLOEXEC, task, self.pty.table.locate(self.pty))
        try:
            return task.files.install(f, cloexec=bool(flags & O_CLOEXEC))
        except Errno:
            f.release()                 # no descriptor took it (EMFILE)
            raise


class PtySlaveFile(TtyFile):
    """An open /dev/pts/N: a terminal like any other."""

    def __init__(self, pty: Pty, flags: int, location=None):
        super().__init__(pty.slave, flags, location)
        self.pty = pty
        self._released = False

    @property
    def path_name(self) -> str:
        return f"/dev/pts/{self.pty.index}"

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.pty.slave_closed()

    async def ioctl(self, task, cmd: int, arg: int) -> int:
        if cmd == TIOCGPTN:
            raise Errno(ENOTTY)
        return await super().ioctl(task, cmd, arg)

    def stat(self) -> Stat:
        if self.location is not None:
            return self.location.inode.getattr()
        return dataclasses.replace(super().stat(), st_uid=self.pty.uid, st_gid=self.pty.gid)
