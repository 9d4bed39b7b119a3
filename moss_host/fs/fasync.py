"""Signal-driven I/O: an open file's owner (F_SETOWN, Linux's struct fown_struct) and the
SIGIO / F_SETSIG signal it gets when the file becomes readable or writable (O_ASYNC), and
SIGURG when urgent data reaches a socket (fs/fcntl.c send_sigio, send_sigurg).

A pipe raises them itself where Linux's fs/pipe.c calls kill_fasync: every read signals
the write ends' owners (POLL_OUT), every write the read ends' (POLL_IN), data or not, and
a close that leaves one side without ends both (OpenFile.fasync_lists: the driver's lists,
which a Fasync joins while O_ASYNC is on). Any other file raises them from its wake-up path:
while O_ASYNC is on (or, for a socket, an owner is set), its Fasync watches the file's poll
queue(s) like an epoll item does (OpenFile.poll_subscribe); each wake-up's POLL* key says why:

* POLLPRI on a socket (a keyed wake-up: urgent data arrived): SIGURG to the owner, and with
  O_ASYNC the F_SETSIG signal with POLL_PRI (sock_wake_async's SOCK_WAKE_URG); the socket
  wakes its readers for the byte afterwards (sk_data_ready: POLL_IN), as Linux's queue_oob.
* read side (POLLIN...): POLL_IN for a file open for reading (kill_fasync of the readers).
* write side (POLLOUT...): POLL_OUT when the file became writable again (a socket whose
  send buffer was full: Linux's SOCKWQ_ASYNC_NOSPACE).
* a wake-up about nothing in particular (WAKE_ANY: a close, a state change): the file's
  poll mask now stands for it; a socket that hung up or has an error says POLL_HUP/POLL_ERR.

Only files whose Linux f_op has ->fasync (pipes and FIFOs, sockets, ttys, inotify:
OpenFile.has_fasync) take O_ASYNC; on the others (eventfd, timerfd, signalfd, epoll, regular
files) F_SETFL leaves it off and FIOASYNC is ENOTTY, as in Linux 6.1.

Finding the owner's tasks and checking the sender's right (sigio_perm) is the process
layer's: the owner record carries a SigioSender the fcntl that set it handed down.
"""
from __future__ import annotations

from typing import Callable, Optional, Protocol

from ..waitq import WAKE_ANY
from .file import (ALL_POLL_EVENTS, FASYNC, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, READ_SIDE, WRITE_SIDE,
                   OpenFile, PollSubscription, poll_mask)

# struct f_owner_ex.type
F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP = 0, 1, 2
# si_code of a SIGIO (and of an F_SETSIG signal): why the file signalled
POLL_IN, POLL_OUT, POLL_MSG, POLL_ERR, POLL_PRI, POLL_HUP = 1, 2, 3, 4, 5, 6
# fs/fcntl.c band_table: si_band for each reason (mangle_poll is the identity on arm64)
BAND = {POLL_IN: 0x041, POLL_OUT: 0x304, POLL_MSG: 0x441, POLL_ERR: 0x008, POLL_PRI: 0x082, POLL_HUP: 0x018}


class FileOwner:
    """struct fown_struct: who gets the file's signals, as whom, and which signal."""

    def __init__(self) -> None:
        self.pid = 0                    # 0: nobody
        self.kind = F_OWNER_TID         # (a fresh file's pid_type is PIDTYPE_PID)
        self.uid = 0                    # the setter's uid and euid (sigio_perm checks them)
        self.euid = 0
        self.signum = 0                 # F_SETSIG; 0: plain SIGIO
        self.sender: Optional[SigioSender] = None


class SigioSender(Protocol):
    """The process layer's half: find the owner's tasks, check the right, queue the signal."""

    def send_sigio(self, owner: FileOwner, fd: int, reason: int) -> None:
        """send_sigio: the F_SETSIG signal (POLL_* si_code, si_band, si_fd), or SIGIO."""

    def send_sigurg(self, owner: FileOwner) -> bool:
        """send_sigurg: SIGURG to the owner; whether there is an owner at all."""


class Fasync:
    """A file's signal-driven I/O state: its owner and, while it matters, the watch."""

    def __init__(self, f: OpenFile) -> None:
        self.file = f
        self.owner = FileOwner()
        self.fd = -1                    # fa_fd: the descriptor O_ASYNC was turned on through
        self._sub: Optional[PollSubscription] = None
        self._stops: list[Callable[[], None]] = []
        self._writable = False          # at the last wake-up (POLL_OUT is sent on the edge)

    @property
    def on(self) -> bool:
        return bool(self.file.flags & FASYNC)

    def update(self) -> None:
        """Watch the file (or be on its driver's lists) while it could signal someone, and
        only then (fasync_helper)."""
        f = self.file
        want = f.has_fasync and (self.on or (f.is_socket and self.owner.pid != 0))
        if want and not self._stops:
            lists = f.fasync_lists()
            if lists:
                for queue in lists:
                    queue.append(self)
                self._stops = [lambda: self._leave(lists), f.on_release(self._stop)]
                return
            self._writable = bool(poll_mask(f) & POLLOUT)
            self._sub = f.poll_subscribe(ALL_POLL_EVENTS | POLLERR | POLLHUP, self._woken)
            self._stops = [self._sub.stop, f.on_release(self._stop)]
        elif not want and self._stops:
            self._stop()

    def _leave(self, lists: tuple[list["Fasync"], ...]) -> None:
        for queue in lists:
            queue.remove(self)

    def signal(self, reason: int) -> None:
        """kill_fasync's send_sigio for this file: its owner, if any, gets the signal."""
        owner = self.owner
        if owner.pid and owner.sender is not None:
            owner.sender.send_sigio(owner, self.fd, reason)

    def _stop(self) -> None:
        stops, self._stops, self._sub = self._stops, [], None
        for stop in stops:
            stop()

    def _woken(self, key: int) -> bool:
        """A wake-up of the file (the subscription's callback): the signals it means."""
        sub = self._sub
        if sub is None:
            return False
        f = self.file
        owner = self.owner
        if key != WAKE_ANY and key & POLLPRI and f.is_socket:
            self._urgent()
            key &= ~POLLPRI                 # (the byte's arrival as data is a wake-up of its own)
        if key and self.on and owner.pid and owner.sender is not None:
            for reason in self._reasons(key):
                owner.sender.send_sigio(owner, self.fd, reason)
        else:
            self._writable = bool(poll_mask(f) & POLLOUT)
        sub.rearm()                         # (a file watched through poll_watch fires once per arming)
        return False

    def _urgent(self) -> None:
        """sk_send_sigurg: SIGURG to the owner; with O_ASYNC and F_SETSIG, that signal too."""
        owner = self.owner
        if owner.sender is not None and owner.sender.send_sigurg(owner) and self.on and owner.signum:
            owner.sender.send_sigio(owner, self.fd, POLL_PRI)

    def _reasons(self, key: int) -> list[int]:
        f = self.file
        mask = poll_mask(f)
        was_writable, self._writable = self._writable, bool(mask & POLLOUT)
        if key == WAKE_ANY:
            if not f.is_socket:             # (an unkeyed wake_up: inotify, a tty) each side the file has
                return [r for r, side in ((POLL_IN, f.readable), (POLL_OUT, f.writable)) if side]
            if mask & POLLHUP:
                return [POLL_HUP]
            if mask & POLLERR:
                return [POLL_ERR]
            key = mask
        reasons = []
        if key & (READ_SIDE | POLLHUP) and f.readable:
            reasons.append(POLL_IN)
        if key & WRITE_SIDE and f.writable and self._writable and not was_writable:
            reasons.append(POLL_OUT)
        return reasons


def kill_fasync(fasyncs: list[Fasync], reason: int) -> None:
    """A driver's event (POLL_IN, POLL_OUT): every file on its list signals its owner."""
    for fa in fasyncs:
        fa.signal(reason)


def fasync_of(f: OpenFile) -> Fasync:
    """The file's Fasync, made on first use (most files never have an owner)."""
    if f.fasync is None:
        f.fasync = Fasync(f)
    return f.fasync


def set_async(f: OpenFile, fd: int, on: bool) -> None:
    """F_SETFL / FIOASYNC changing O_ASYNC through descriptor fd (the file's ->fasync)."""
    f.set_status_flags((f.flags | FASYNC) if on else (f.flags & ~FASYNC))
    if f.has_fasync:
        state = fasync_of(f)
        if on:
            state.fd = fd
        state.update()


def owner_changed(f: OpenFile) -> None:
    """F_SETOWN and friends: a socket's watch (for SIGURG) may start or end."""
    if f.fasync is not None:
        f.fasync.update()
