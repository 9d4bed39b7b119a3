"""Advisory file locks (Linux's fs/locks.c): POSIX record locks, OFD locks and flock.

Each inode that was ever locked has a FileLocks (Inode.file_locks) with two lists, as
Linux's file_lock_context: `posix` holds POSIX and OFD record locks (byte ranges), `flock`
holds whole-file flock locks. Who owns a lock decides what conflicts with it:

  POSIX   the process's descriptor table (Linux's fl_owner = current->files): threads
          sharing the table share the locks; closing *any* descriptor of the file drops
          them all (remove_posix, from the fd table's close), and so does exit.
  OFD     the open file (F_OFD_*): shared by dup'ed and inherited descriptors, dropped
          when the open file is released (remove_file).
  flock   the open file too, in its own list that never meets the record locks.

A request that conflicts either fails (EAGAIN) or, for F_SETLKW/flock without LOCK_NB,
sleeps on the inode's wait queue and looks again after every change; a signal cancels
the sleep. Before a POSIX request sleeps, posix_locks_deadlock's walk follows "the owner
of the lock in my way is itself waiting for ..." and answers EDEADLK when it comes back
to the caller. Ranges are inclusive [start, end], end OFFSET_MAX meaning "to EOF and
beyond"; an owner's record locks never overlap, and adjacent ones of one type merge.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Optional

from ..errors import EAGAIN, EDEADLK, Errno
from ..waitq import WaitQueue
from .stat import major, minor

if TYPE_CHECKING:
    from .vfs import Inode

F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2
OFFSET_MAX = (1 << 63) - 1
MAX_DEADLK_ITERATIONS = 10

POSIX, OFD, FLOCK = "POSIX", "OFDLCK", "FLOCK"

_serial = itertools.count()


@dataclass(eq=False)
class FileLock:
    """One held lock or one waiting request (Linux's struct file_lock)."""
    kind: str               # POSIX, OFD or FLOCK
    owner: object           # the fd table (POSIX) or the open file (OFD, FLOCK)
    pid: int                # the locking process (l_pid, /proc/locks); OFD locks show -1
    type: int               # F_RDLCK, F_WRLCK (F_UNLCK only in a request)
    start: int = 0
    end: int = OFFSET_MAX
    order: int = field(default_factory=lambda: next(_serial))     # /proc/locks lists newest first

    def overlaps(self, other: "FileLock") -> bool:
        return self.start <= other.end and other.start <= self.end

    def conflicts(self, other: "FileLock") -> bool:
        """Another owner's overlapping lock, one of them a write lock (posix_locks_conflict)."""
        return (self.owner is not other.owner and self.overlaps(other)
                and F_WRLCK in (self.type, other.type))


class FileLocks:
    """The locks of one inode (file_lock_context) and the queue its waiters sleep on."""

    def __init__(self, inode: "Inode"):
        self.inode = inode
        self.posix: list[FileLock] = []
        self.flock: list[FileLock] = []
        self.waitq = WaitQueue()
        # Requests asleep on this inode, each with the lock it waits for (for /proc/locks).
        self.waiting: list[tuple[FileLock, FileLock]] = []


# Every inode with locks, for /proc/locks; and the POSIX waiters with the lock each waits for
# (Linux's blocked_hash), which the deadlock walk follows.
_contexts: dict[int, FileLocks] = {}
_blocked: list[tuple[FileLock, FileLock]] = []


def locks_of(inode: "Inode") -> FileLocks:
    ctx = inode.file_locks
    if ctx is None:
        ctx = inode.file_locks = FileLocks(inode)
    _contexts[id(ctx)] = ctx
    return ctx


# ---------------------------------------------------------------- record locks (fcntl)

def test_lock(inode: "Inode", request: FileLock) -> Optional[FileLock]:
    """F_GETLK: the first lock that would block request, or None (posix_test_lock)."""
    ctx = inode.file_locks
    if ctx is None:
        return None
    for held in ctx.posix:
        if held.conflicts(request):
            return held
    return None


async def set_lock(inode: "Inode", request: FileLock, wait: bool) -> None:
    """F_SETLK/F_SETLKW (and OFD): take, change or (F_UNLCK) drop the range for request.owner."""
    ctx = locks_of(inode)
    while request.type != F_UNLCK:
        blocker = next((held for held in ctx.posix if held.conflicts(request)), None)
        if blocker is None:
            break
        if not wait:
            raise Errno(EAGAIN)
        if request.kind == POSIX and _would_deadlock(request, blocker):
            raise Errno(EDEADLK)
        await _sleep(ctx, request, blocker)
    _replace_range(ctx, request)


def _replace_range(ctx: FileLocks, request: FileLock) -> None:
    """posix_lock_inode's splitting and merging: cut [start, end] out of the owner's locks, then
    put the new one in, merged with its own type's touching neighbours."""
    mine = [lk for lk in ctx.posix if lk.owner is request.owner]
    if not mine and request.type == F_UNLCK:
        return
    kept: list[FileLock] = []
    new = None if request.type == F_UNLCK else FileLock(request.kind, request.owner, request.pid,
                                                      request.type, request.start, request.end)
    for lk in mine:
        if new is not None and lk.type == new.type and lk.start <= _succ(new.end) and new.start <= _succ(lk.end):
            new.start, new.end = min(new.start, lk.start), max(new.end, lk.end)
            new.order = min(new.order, lk.order)
            continue
        if not lk.overlaps(request):
            kept.append(lk)
            continue
        if lk.start < request.start:
            kept.append(FileLock(lk.kind, lk.owner, lk.pid, lk.type, lk.start, request.start - 1, lk.order))
        if lk.end > request.end:
            kept.append(FileLock(lk.kind, lk.owner, lk.pid, lk.type, request.end + 1, lk.end, lk.order))
    if new is not None:
        kept.append(new)
    kept.sort(key=lambda lk: lk.start)
    others = [lk for lk in ctx.posix if lk.owner is not request.owner]
    ctx.posix = others + kept
    ctx.waitq.wake_all()        # an unlock or a downgrade may let a waiter in
    _forget_if_unused(ctx)


def _succ(end: int) -> int:
    return end if end == OFFSET_MAX else end + 1


def _would_deadlock(request: FileLock, blocker: FileLock) -> bool:
    """posix_locks_deadlock: follow owner -> the lock its owner waits for, a few steps."""
    lock: Optional[FileLock] = blocker
    for _ in range(MAX_DEADLK_ITERATIONS + 1):
        lock = _waiting_for(lock.owner) if lock is not None else None
        if lock is None:
            return False
        if lock.owner is request.owner:
            return True
    return False


def _waiting_for(owner: object) -> Optional[FileLock]:
    for waiter, blocker in _blocked:
        if waiter.owner is owner:
            return blocker
    return None


async def _sleep(ctx: FileLocks, request: FileLock, blocker: FileLock) -> None:
    """Wait for the next change of ctx's locks; a signal cancels (EINTR or a restart)."""
    entry = (request, blocker)
    if request.kind == POSIX:
        _blocked.append(entry)
    ctx.waiting.append(entry)
    try:
        await ctx.waitq.wait()
    finally:
        ctx.waiting.remove(entry)
        if request.kind == POSIX:
            _blocked.remove(entry)


def remove_posix(inode: "Inode", owner: object) -> None:
    """A descriptor of the file was closed by the table `owner`: its POSIX locks go (filp_close)."""
    ctx = inode.file_locks
    if ctx is None or not any(lk.owner is owner for lk in ctx.posix):
        return
    ctx.posix = [lk for lk in ctx.posix if lk.owner is not owner]
    ctx.waitq.wake_all()
    _forget_if_unused(ctx)


def _forget_if_unused(ctx: FileLocks) -> None:
    """/proc/locks looks at the inodes that hold locks or have waiters, and only those."""
    if not ctx.posix and not ctx.flock and not ctx.waiting:
        _contexts.pop(id(ctx), None)
    else:
        _contexts[id(ctx)] = ctx


def remove_file(inode: "Inode", f: object) -> None:
    """The open file f was released: its OFD and flock locks go (locks_remove_file)."""
    ctx = inode.file_locks
    if ctx is None:
        return
    if any(lk.owner is f for lk in ctx.posix) or any(lk.owner is f for lk in ctx.flock):
        ctx.posix = [lk for lk in ctx.posix if lk.owner is not f]
        ctx.flock = [lk for lk in ctx.flock if lk.owner is not f]
        ctx.waitq.wake_all()
    _forget_if_unused(ctx)


# ---------------------------------------------------------------- flock

async def flock(inode: "Inode", request: FileLock, wait: bool) -> None:
    """flock_lock_inode: one lock per open file; a change of type drops the old lock first
    (so a failed LOCK_NB upgrade leaves none), then waits for or fails on a conflict."""
    ctx = locks_of(inode)
    mine = next((lk for lk in ctx.flock if lk.owner is request.owner), None)
    if mine is not None:
        if mine.type == request.type:
            return
        ctx.flock.remove(mine)
        ctx.waitq.wake_all()
    if request.type == F_UNLCK:
        _forget_if_unused(ctx)
        return
    while True:
        blocker = next((lk for lk in ctx.flock if lk.owner is not request.owner
                        and F_WRLCK in (lk.type, request.type)), None)
        if blocker is None:
            break
        if not wait:
            raise Errno(EAGAIN)
        await _sleep(ctx, request, blocker)
    ctx.flock.append(FileLock(FLOCK, request.owner, request.pid, request.type))
    _forget_if_unused(ctx)


# ---------------------------------------------------------------- /proc/locks

def proc_locks_text() -> bytes:
    """/proc/locks as locks_show prints it: one line per held lock, newest first (Linux adds each
    to the head of its CPU's list), each followed by the requests waiting for it, marked `-> `."""
    lines = []
    held = sorted(_all_held(), key=lambda pair: pair[1].order, reverse=True)
    for n, (ctx, lk) in enumerate(held, 1):
        lines.append(f"{n}: {_describe(ctx, lk)}")
        for waiter, blocker in ctx.waiting:
            if blocker is lk:
                lines.append(f"{n}: -> {_describe(ctx, waiter)}")
    return "".join(lines).encode()


def _all_held() -> Iterator[tuple[FileLocks, FileLock]]:
    for ctx in list(_contexts.values()):
        for lk in ctx.posix + ctx.flock:
            yield ctx, lk


def _describe(ctx: FileLocks, lk: FileLock) -> str:
    head = {POSIX: "POSIX  ADVISORY  ", OFD: "OFDLCK ADVISORY  ", FLOCK: "FLOCK  ADVISORY  "}[lk.kind]
    kind = "WRITE" if lk.type == F_WRLCK else "READ"
    dev = ctx.inode.sb.dev
    where = f"{major(dev):02x}:{minor(dev):02x}:{ctx.inode.ino}"
    pid = -1 if lk.kind == OFD else lk.pid
    if lk.kind == FLOCK:
        span = "0 EOF"
    else:
        span = f"{lk.start} EOF" if lk.end == OFFSET_MAX else f"{lk.start} {lk.end}"
    return f"{head}{kind} {pid} {where} {span}\n"
