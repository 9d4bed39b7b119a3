"""The file descriptor table: small integers -> OpenFile, plus the close-on-exec flag of each.

Linux rules kept here: a new descriptor is the lowest free one (at or above a floor
for F_DUPFD); no descriptor may reach RLIMIT_NOFILE (EMFILE when allocating, EBADF
or EINVAL when the caller named one); close-on-exec belongs to the descriptor, the
status flags to the shared OpenFile. Each descriptor holds one reference on its file.

open(2) reserves its descriptor before the lookup (so EMFILE wins over ENOENT, as in
Linux) with alloc_fd(), then fills it with install_at_reserved() or gives it back
with release_reserved().
"""
from __future__ import annotations

from typing import Iterator, Optional

from ..errors import EBADF, EINVAL, EMFILE, Errno
from .file import OpenFile

RLIMIT_NOFILE_DEFAULT = 1024

_RESERVED = object()        # a slot handed out by alloc_fd() and not yet filled


def fd_arg(raw: int) -> int:
    """A descriptor argument from a raw 64-bit register: the kernel reads an int, so
    sign-extend the low 32 bits (AT_FDCWD arrives as 0xffffff9c or 0xffffffffffffff9c)."""
    raw &= 0xFFFF_FFFF
    return raw - (1 << 32) if raw & 0x8000_0000 else raw


class FdTable:
    def __init__(self, limit: int = RLIMIT_NOFILE_DEFAULT):
        self.limit = limit                      # RLIMIT_NOFILE soft limit
        self.users = 1                          # tasks sharing this table (CLONE_FILES)
        self._slots: list = []                  # OpenFile, _RESERVED or None
        self._cloexec: set[int] = set()
        # Every slot below this one is in use (Linux's next_fd): alloc_fd starts its scan
        # here instead of at 0. Lowered whenever a slot is freed.
        self._free_hint = 0

    # -- lookup
    def get(self, fd: int) -> OpenFile:
        """The file behind fd; EBADF if fd is not open."""
        if 0 <= fd < len(self._slots):
            f = self._slots[fd]
            if f is not None and f is not _RESERVED:
                return f
        raise Errno(EBADF)

    def peek(self, fd: int) -> Optional[OpenFile]:
        """The file behind fd (fd >= 0), or None: for a fast path that leaves every descriptor
        it does not handle (EBADF included) to the full call."""
        try:
            f = self._slots[fd]
        except IndexError:
            return None
        return None if f is _RESERVED else f

    def __contains__(self, fd: int) -> bool:
        try:
            self.get(fd)
            return True
        except Errno:
            return False

    def items(self) -> Iterator[tuple[int, OpenFile]]:
        """Open descriptors in increasing order (for /proc/pid/fd and exec)."""
        for fd, f in enumerate(self._slots):
            if f is not None and f is not _RESERVED:
                yield fd, f

    # -- allocation
    def alloc_fd(self, lowest: int = 0) -> int:
        """Reserve the lowest free descriptor >= lowest; EMFILE if it would reach the limit."""
        slots = self._slots
        fd = lowest if lowest > self._free_hint else self._free_hint
        while fd < len(slots) and slots[fd] is not None:
            fd += 1
        if fd >= self.limit:
            raise Errno(EMFILE)
        if fd >= len(slots):
            slots.extend([None] * (fd + 1 - len(slots)))
        slots[fd] = _RESERVED
        if lowest <= self._free_hint:
            self._free_hint = fd + 1        # the scan passed only used slots
        return fd

    def install_at_reserved(self, fd: int, f: OpenFile, cloexec: bool = False) -> int:
        assert self._slots[fd] is _RESERVED
        self._slots[fd] = f.get()
        self._set_cloexec_bit(fd, cloexec)
        return fd

    def release_reserved(self, fd: int) -> None:
        assert self._slots[fd] is _RESERVED
        self._slots[fd] = None
        self._freed(fd)

    def install(self, f: OpenFile, cloexec: bool = False, lowest: int = 0) -> int:
        """Put f at the lowest free descriptor >= lowest and return it."""
        return self.install_at_reserved(self.alloc_fd(lowest), f, cloexec)

    def install_at(self, fd: int, f: OpenFile, cloexec: bool = False) -> int:
        """Put f exactly at fd, closing what was there (dup2/dup3). EBADF if fd is out of range."""
        if not 0 <= fd < self.limit:
            raise Errno(EBADF)
        if fd >= len(self._slots):
            self._slots.extend([None] * (fd + 1 - len(self._slots)))
        old = self._slots[fd]
        self._slots[fd] = f.get()
        self._set_cloexec_bit(fd, cloexec)
        if old is not None and old is not _RESERVED:
            old.flush(self)
            old.put()
        return fd

    # -- the operations the syscalls name
    def close(self, fd: int) -> None:
        f = self.get(fd)
        self._slots[fd] = None
        self._freed(fd)
        self._cloexec.discard(fd)
        self._trim()
        f.flush(self)           # this process's POSIX locks on the file go with any descriptor
        f.put()

    def dup(self, fd: int, lowest: int = 0, cloexec: bool = False) -> int:
        """A new descriptor for fd's file: dup, and fcntl F_DUPFD/F_DUPFD_CLOEXEC with a floor."""
        return self.install(self.get(fd), cloexec, lowest)

    def dup3(self, oldfd: int, newfd: int, cloexec: bool = False) -> int:
        """dup3 without its argument checks (those are the syscall's): newfd now refers to oldfd's file."""
        if not 0 <= newfd < self.limit:
            raise Errno(EBADF)
        return self.install_at(newfd, self.get(oldfd), cloexec)

    def cloexec(self, fd: int) -> bool:
        self.get(fd)
        return fd in self._cloexec

    def set_cloexec(self, fd: int, on: bool) -> None:
        self.get(fd)
        self._set_cloexec_bit(fd, on)

    def _set_cloexec_bit(self, fd: int, on: bool) -> None:
        if on:
            self._cloexec.add(fd)
        else:
            self._cloexec.discard(fd)

    def _freed(self, fd: int) -> None:
        if fd < self._free_hint:
            self._free_hint = fd

    def _trim(self) -> None:
        while self._slots and self._slots[-1] is None:
            self._slots.pop()

    # -- process lifetime
    def clone(self) -> "FdTable":
        """fork without CLONE_FILES: same files (one more reference each), same cloexec flags."""
        copy = FdTable(self.limit)
        copy._slots = [f.get() if f is not None and f is not _RESERVED else None for f in self._slots]
        copy._cloexec = set(self._cloexec)
        copy._trim()            # (its hint stays 0: a reserved slot here is free there)
        return copy

    def close_on_exec(self) -> None:
        for fd in sorted(self._cloexec):
            if fd in self:
                self.close(fd)
        self._cloexec.clear()

    def close_all(self) -> None:
        for fd, _ in list(self.items()):
            self.close(fd)

    def set_limit(self, limit: int) -> None:
        """setrlimit(RLIMIT_NOFILE); existing descriptors above the limit stay open, as in Linux."""
        if limit < 0:
            raise Errno(EINVAL)
        self.limit = limit

