"""Open files: the object a file descriptor refers to (Linux's struct file), and open(2) itself.

OpenFile is the base every kind of open file shares (inode-backed files here, host
console files in hostfile.py, pipes/sockets/ttys elsewhere): status flags, a
position, a reference count shared by dup'ed and inherited descriptors, and
`async` read/write because pipes and ttys sleep.
InodeFile is an open regular file, directory or (O_PATH) symlink of some filesystem.
open_file() runs open(2)'s lookup, create and permission rules.

Open flag values are arm64's (<asm/fcntl.h> + <asm-generic/fcntl.h>): O_DIRECTORY,
O_NOFOLLOW, O_DIRECT and O_LARGEFILE differ from x86.
"""
from __future__ import annotations

import functools
import stat as S
import struct
from contextvars import ContextVar
from typing import TYPE_CHECKING, Awaitable, Callable, Optional

from ..cred import Cred
from ..errors import (EACCES, EBADF, EEXIST, EINVAL, EISDIR, ELOOP, ENOENT, ENOTDIR, ENOTTY, ENXIO,
                      EOPNOTSUPP, EROFS, ESPIPE, Errno)
from ..mm.page_cache import after_write, before_read, truncate_file
from . import fsnotify, locks
from .namespace import MS_NODEV
from .path import Parent, Walker
from .stat import Stat, major, minor
from .vfs import (MAY_READ, MAY_WRITE, FsContext, Location, child_of, path_of,
                  vfs_create, vfs_tmpfile)

if TYPE_CHECKING:
    from ..proc.task import Task
    from .fasync import Fasync
    from ..waitq import WaitQueue
    from .pipe import Pipe

O_ACCMODE = 0o3
O_RDONLY = 0o0
O_WRONLY = 0o1
O_RDWR = 0o2
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_DSYNC = 0o10000
FASYNC = 0o20000
O_DIRECTORY = 0o40000
O_NOFOLLOW = 0o100000
O_DIRECT = 0o200000
O_LARGEFILE = 0o400000
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000
O_SYNC = 0o4000000 | O_DSYNC
O_PATH = 0o10000000
__O_TMPFILE = 0o20000000
O_TMPFILE = __O_TMPFILE | O_DIRECTORY

# What fcntl(F_SETFL) may change.
SETFL_MASK = O_APPEND | O_NONBLOCK | FASYNC | O_DIRECT | O_NOATIME
# What an O_PATH open keeps.
O_PATH_FLAGS = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
# Open-time only: not part of the file's status flags (F_GETFL does not show them).
OPEN_ONLY_FLAGS = O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC

SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE = 0, 1, 2, 3, 4
SEEK_MAX = SEEK_HOLE
MAX_OFFSET = (1 << 63) - 1

FIONREAD = 0x541B
POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP = 0x1, 0x2, 0x4, 0x8, 0x10
POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND, POLLRDHUP = 0x40, 0x80, 0x100, 0x200, 0x2000
# Every event a poll asks a file about (fs/select.c's DEFAULT_POLLMASK plus RDHUP for epoll).
ALL_POLL_EVENTS = POLLIN | POLLPRI | POLLOUT | POLLRDNORM | POLLRDBAND | POLLWRNORM | POLLWRBAND | POLLRDHUP
# What a wake-up of a file's read side or write side is about (the keys of wake_up_poll).
READ_SIDE = POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND | POLLRDHUP
WRITE_SIDE = POLLOUT | POLLWRNORM | POLLWRBAND

# The task whose poll, select or epoll_wait is asking now (Linux's `current` in f_op->poll):
# the poll syscalls set it around each scan; a file whose readiness depends on who asks
# (signalfd: the asker's pending signals) reads it. None outside a scan.
POLLER: ContextVar[Optional["Task"]] = ContextVar("poller", default=None)

_DIRENT64_HEAD = struct.Struct("<QqHB")     # d_ino, d_off, d_reclen, d_type; then d_name + NUL


class OpenFile:
    """Base of every open file. Subclasses override what their kind supports;
    the defaults are Linux's answers for a file without that operation."""
    seekable = False            # FMODE_LSEEK/PREAD/PWRITE: False for pipes, sockets, ttys
    can_poll = True             # has f_op->poll (file_can_poll): epoll refuses files without (EPERM)
    anon_name: Optional[str] = None     # an anon_inode file's kind, "[eventfd]": /proc/pid/fd shows it
    _release_hooks: Optional[list[Callable[[], None]]] = None    # epoll items forgetting the file
    location: Optional[Location] = None     # where in the tree the file was opened (None: nowhere)
    pipe: Optional[Pipe] = None             # the pipe behind a pipe or FIFO end
    is_socket = False                       # a socket (moss_host/net): sends carry the writer's credentials
    # Every change of poll_events() wakes poll_wq (eventfd): epoll may keep a level-triggered
    # item's last answer until the next wake-up instead of polling again (fs/epoll.py).
    poll_wakes_on_change = False
    # Linux's f_op->fasync: O_ASYNC makes the file signal its owner (pipes, sockets, ttys,
    # inotify; fs/fasync.py). `fasync` is the owner and watch, made at the first F_SETOWN/O_ASYNC.
    has_fasync = False
    fasync: Optional["Fasync"] = None

    def fasync_lists(self) -> "tuple[list[Fasync], ...]":
        """The driver's lists of O_ASYNC files that it signals itself at its own points
        (kill_fasync: pipes); none: fs/fasync.py signals from the file's poll wake-ups."""
        return ()

    def __init__(self, flags: int):
        # 64-bit Linux forces O_LARGEFILE, except on O_PATH descriptors (build_open_how strips it)
        self.flags = (flags & ~OPEN_ONLY_FLAGS) | (0 if flags & O_PATH else O_LARGEFILE)
        self.pos = 0
        self.refs = 0

    # -- access mode
    @property
    def is_path(self) -> bool:
        """An O_PATH descriptor: only names a file; I/O on it is EBADF."""
        return bool(self.flags & O_PATH)

    @property
    def readable(self) -> bool:
        return not self.is_path and self.flags & O_ACCMODE in (O_RDONLY, O_RDWR)

    @property
    def writable(self) -> bool:
        return not self.is_path and self.flags & O_ACCMODE in (O_WRONLY, O_RDWR)

    def set_status_flags(self, flags: int) -> None:
        """fcntl(F_SETFL): only the SETFL_MASK bits change."""
        self.flags = (self.flags & ~SETFL_MASK) | (flags & SETFL_MASK)

    def fdinfo_lines(self) -> list[str]:
        """What /proc/<pid>/fdinfo/N adds for this kind of file (Linux's show_fdinfo): nothing
        by default (procfs/fdinfo.py knows the fs-level kinds; a pidfd says its own)."""
        return []

    # -- references: one per descriptor (and per mapping, later); release() when the last goes
    def get(self) -> "OpenFile":
        self.refs += 1
        return self

    def put(self) -> None:
        self.refs -= 1
        if self.refs == 0:
            if self._release_hooks:
                for hook in list(self._release_hooks):      # eventpoll_release, before f_op->release
                    hook()
            self.release()

    def on_release(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call hook when the last reference goes (epoll drops its items of this file); the
        function that cancels it."""
        if self._release_hooks is None:
            self._release_hooks = []
        hooks = self._release_hooks
        hooks.append(hook)

        def cancel() -> None:
            try:
                hooks.remove(hook)
            except ValueError:
                pass
        return cancel

    def release(self) -> None:
        """The last descriptor closed (pipes wake their peer here)."""

    def flush(self, files: object) -> None:
        """A descriptor of this file was closed by the fd table `files` (filp_close): that
        process's POSIX locks on the file go. Files without an inode hold none."""

    # -- I/O
    async def read(self, n: int) -> bytes:
        raise Errno(EINVAL)

    async def write(self, data: bytes) -> int:
        raise Errno(EINVAL)

    async def pread(self, offset: int, n: int) -> bytes:
        raise Errno(ESPIPE)

    async def pwrite(self, offset: int, data: bytes) -> int:
        raise Errno(ESPIPE)

    def lseek(self, offset: int, whence: int) -> int:
        raise Errno(ESPIPE)

    def getdents64(self, size: int) -> bytes:
        raise Errno(ENOTDIR)

    def stat(self) -> Stat:
        raise NotImplementedError

    async def ioctl(self, task, cmd: int, arg: int) -> int:
        raise Errno(ENOTTY)

    def poll_events(self, events: int) -> int:
        """The subset of POLL* `events` that would not block now; files that never block are always ready."""
        return events & (POLLIN | POLLOUT)

    @property
    def splice_read(self) -> bool:
        """sendfile(2) can read this file (Linux's f_op->splice_read); EINVAL where not."""
        return True

    # -- sleeping in poll/select until poll_events may have changed (a file may offer either)
    @property
    def poll_wq(self) -> Optional[WaitQueue]:
        """A WaitQueue woken on every change of the file's state (pipes); None if it has none."""
        return None

    def poll_watch(self, events: int, callback: Callable[[], None]) -> list[Callable[[], None]]:
        """Call callback whenever readiness for `events` may have changed (a host fd, a tty);
        the functions that stop it. A file that never blocks has nothing to watch."""
        return []

    def poll_subscribe(self, events: int, callback: Callable[[int], bool],
                       exclusive: bool = False) -> "PollSubscription":
        """A lasting watch (epoll's) of the file's readiness for `events`: see PollSubscription."""
        return PollSubscription(self, events, callback, exclusive)


class PollSubscription:
    """A lasting watch of an open file (an epoll item's): callback(key) at every wake-up of the
    file's poll queue, `key` the POLL* events the wake-up is about (waitq.WAKE_ANY: unknown).

    Files watched through poll_watch instead (ttys, host descriptors) call back once and then
    wait for rearm(): a host descriptor reports readiness for as long as it lasts, on every
    turn of the event loop, where a wait queue reports changes. epoll rearms an item when it
    leaves the ready list, which is when a new change would matter.
    """

    def __init__(self, f: OpenFile, events: int, callback: Callable[[int], bool], exclusive: bool = False):
        self.file = f
        self.callback = callback
        self.events = events
        wq = f.poll_wq
        self._stop_wq = wq.watch(callback, exclusive) if wq is not None else None
        self._watch_stops: list[Callable[[], None]] = []
        self._armed = False
        self.rearm()

    def rearm(self) -> None:
        """Watch again through poll_watch after a call-back (no-op while armed)."""
        if self._armed:
            return
        self._armed = True
        for side in (READ_SIDE, WRITE_SIDE):
            if self.events & side:
                self._watch_stops += self.file.poll_watch(side, functools.partial(self._fired, side))

    def change(self, events: int) -> None:
        """The events watched for changed (EPOLL_CTL_MOD)."""
        self._disarm()
        self.events = events
        self.rearm()

    def _fired(self, key: int) -> None:
        self._disarm()
        self.callback(key)

    def _disarm(self) -> None:
        self._armed = False
        stops, self._watch_stops = self._watch_stops, []
        for stop in stops:
            stop()

    def stop(self) -> None:
        self._disarm()
        if self._stop_wq is not None:
            self._stop_wq()
            self._stop_wq = None


def poll_mask(f: OpenFile) -> int:
    """f's POLL* mask now (vfs_poll), with the *NORM twins Linux files report alongside IN/OUT."""
    mask = f.poll_events(ALL_POLL_EVENTS)
    if mask & POLLIN:
        mask |= POLLRDNORM
    if mask & POLLOUT:
        mask |= POLLWRNORM
    return mask


class InodeFile(OpenFile):
    """An open file of a filesystem: reads and writes go to the inode at the file position."""
    seekable = True
    can_poll = False            # regular files and directories have no f_op->poll

    def __init__(self, location: Location, flags: int):
        super().__init__(flags)
        self.location: Location = location
        location.inode.opened()     # a file unlinked while open lives until its last close (ext4 orphans)
        location.inode.open_files += 1

    @property
    def inode(self):
        return self.location.inode

    def release(self) -> None:
        inode = self.location.inode
        locks.remove_file(inode, self)     # its OFD and flock locks
        inode.open_files -= 1
        if not self.is_path:
            fsnotify.on_file(self.location.dentry, fsnotify.IN_CLOSE_WRITE if self.writable
                             else fsnotify.IN_CLOSE_NOWRITE)
            if not inode.open_files and self.location.dentry.unlinked and (inode.nlink == 0 or inode.is_dir):
                fsnotify.inode_gone(inode)      # the last close of an unlinked file (dput's DELETE_SELF)
        inode.closed()

    def flush(self, files: object) -> None:
        locks.remove_posix(self.location.inode, files)

    @property
    def path_name(self) -> str:
        """The file's path from the namespace root, for /proc/*/maps and /proc/*/fd."""
        ns = self.location.mount.ns
        path, _ = path_of(self.location, ns.root_location())
        if self.location.dentry.unlinked:
            path += b" (deleted)"
        return path.decode(errors="surrogateescape")

    @property
    def splice_read(self) -> bool:
        return self.inode.splice_read

    async def read(self, n: int) -> bytes:
        before_read(self.inode, self.pos, n)        # stores through shared mappings first
        data = self.inode.read(self.pos, n)
        self.pos += len(data)
        if data:
            fsnotify.on_file(self.location.dentry, fsnotify.IN_ACCESS)
        return data

    async def write(self, data: bytes) -> int:
        if self.flags & O_APPEND:
            self.pos = self.inode.size
        allowed = self.inode.write_limit(self.pos, len(data))
        n = self.inode.write(self.pos, data if allowed == len(data) else data[:allowed])
        after_write(self.inode, self.pos, data, n)      # mappings of the file see it at once
        self.pos += n
        if n:
            fsnotify.on_file(self.location.dentry, fsnotify.IN_MODIFY)
            if self.flags & O_DSYNC:            # O_SYNC/O_DSYNC: durable before returning (generic_write_sync)
                self.inode.sb.sync()
        return n

    async def pread(self, offset: int, n: int) -> bytes:
        before_read(self.inode, offset, n)
        data = self.inode.read(offset, n)
        if data:
            fsnotify.on_file(self.location.dentry, fsnotify.IN_ACCESS)
        return data

    async def pwrite(self, offset: int, data: bytes) -> int:
        if self.flags & O_APPEND:       # Linux appends even for pwrite (a documented bug kept forever)
            offset = self.inode.size
        allowed = self.inode.write_limit(offset, len(data))
        n = self.inode.write(offset, data if allowed == len(data) else data[:allowed])
        after_write(self.inode, offset, data, n)
        if n:
            fsnotify.on_file(self.location.dentry, fsnotify.IN_MODIFY)
            if self.flags & O_DSYNC:
                self.inode.sb.sync()
        return n

    def lseek(self, offset: int, whence: int) -> int:
        if self.inode.is_dir:
            return self._lseek_dir(offset, whence)
        size = self.inode.size
        if whence == SEEK_SET:
            new = offset
        elif whence == SEEK_CUR:
            new = self.pos + offset
        elif whence == SEEK_END:
            new = size + offset
        elif offset >= size or offset < 0:
            raise Errno(ENXIO)          # SEEK_DATA/SEEK_HOLE past the end
        else:
            new = self.inode.seek_data(offset, whence == SEEK_DATA)
        return self._set_pos(new)

    def _lseek_dir(self, offset: int, whence: int) -> int:
        """Directory positions are readdir cookies: only absolute or relative moves make sense."""
        if whence == SEEK_CUR:
            offset += self.pos
        elif whence != SEEK_SET:
            raise Errno(EINVAL)
        return self._set_pos(offset)

    def _set_pos(self, new: int) -> int:
        if new < 0 or new > MAX_OFFSET:
            raise Errno(EINVAL)
        self.pos = new
        return new

    def getdents64(self, size: int) -> bytes:
        """As many `struct linux_dirent64` records as fit in size bytes; EINVAL if not even one."""
        if not self.inode.is_dir:
            raise Errno(ENOTDIR)
        if self.location.dentry.unlinked:
            raise Errno(ENOENT)
        out = bytearray()
        for entry in self.inode.readdir(self.pos):
            record = pack_dirent64(entry.ino, entry.next_pos, entry.dtype, entry.name)
            if len(out) + len(record) > size:
                if not out:
                    raise Errno(EINVAL)
                break
            out += record
            self.pos = entry.next_pos
        fsnotify.on_file(self.location.dentry, fsnotify.IN_ACCESS)     # iterate_dir
        return bytes(out)

    def stat(self) -> Stat:
        return self.inode.getattr()

    async def ioctl(self, task, cmd: int, arg: int) -> int:
        if cmd == FIONREAD and self.inode.is_reg:
            task.mm.write(arg, struct.pack("<i", max(0, min(self.inode.size - self.pos, 0x7FFFFFFF))))
            return 0
        return self.inode.file_ioctl(task, cmd, arg)


def pack_dirent64(ino: int, next_pos: int, dtype: int, name: bytes) -> bytes:
    """One `struct linux_dirent64`: 19 bytes of header, the name, a NUL, padded to 8 bytes."""
    reclen = (_DIRENT64_HEAD.size + len(name) + 1 + 7) & ~7
    head = _DIRENT64_HEAD.pack(ino, next_pos, reclen, dtype)
    return head + name + bytes(reclen - len(head) - len(name))


# ---------------------------------------------------------------- special files

# How to open a device node or FIFO: drivers register an async opener(location, flags) -> OpenFile.
Opener = Callable[[Location, int], Awaitable[OpenFile]]
_device_openers: dict[tuple[int, int, int], Opener] = {}
_major_openers: dict[tuple[int, int], Opener] = {}      # for the minors without their own
_fifo_opener: Optional[Opener] = None


def register_device(kind: int, major_nr: int, minor_nr: int, opener: Opener) -> None:
    """Make device nodes of type kind (S_IFCHR or S_IFBLK) and this major:minor open through `opener`."""
    _device_openers[(kind, major_nr, minor_nr)] = opener


def register_major(kind: int, major_nr: int, opener: Opener) -> None:
    """Device nodes of this major whose minor has no opener of its own open through `opener`."""
    _major_openers[(kind, major_nr)] = opener


def unregister_device(kind: int, major_nr: int, minor_nr: int, opener: Opener) -> None:
    """Undo register_device of this opener (one registered since for the same number stays)."""
    if _device_openers.get((kind, major_nr, minor_nr)) is opener:
        del _device_openers[(kind, major_nr, minor_nr)]


def register_fifo_opener(opener: Opener) -> None:
    global _fifo_opener
    _fifo_opener = opener


async def _open_special(loc: Location, flags: int) -> OpenFile:
    """Device nodes go to their driver, FIFOs to the pipe code; no driver means ENXIO, as in Linux."""
    inode = loc.inode
    kind = S.S_IFMT(inode.mode)
    if kind in (S.S_IFCHR, S.S_IFBLK) and loc.mount.flags & MS_NODEV:
        raise Errno(EACCES)             # a nodev mount: its device nodes cannot be opened
    if kind in (S.S_IFCHR, S.S_IFBLK):
        opener = _device_openers.get((kind, major(inode.rdev), minor(inode.rdev)))
        if opener is None:
            opener = _major_openers.get((kind, major(inode.rdev)))
    elif kind == S.S_IFIFO:
        opener = _fifo_opener
    else:
        opener = None                   # sockets cannot be opened
    if opener is None:
        raise Errno(ENXIO)
    return await opener(loc, flags)


# ---------------------------------------------------------------- open(2)

def access_mask(flags: int) -> int:
    """The permissions an open needs: O_RDONLY read, O_WRONLY write, O_RDWR (and 3) both; O_TRUNC adds write."""
    mask = (MAY_READ, MAY_WRITE, MAY_READ | MAY_WRITE, MAY_READ | MAY_WRITE)[flags & O_ACCMODE]
    if flags & O_TRUNC:
        mask |= MAY_WRITE
    return mask


async def open_file(fs: FsContext, start: Location, path: bytes, flags: int, mode: int,
                    cred: Optional[Cred], caller: Optional[Task] = None,
                    walker: Optional[Walker] = None) -> OpenFile:
    """open(2) of `path` relative to `start`: look it up (creating it with O_CREAT), check, open.
    `caller` is the opening task (None: the kernel itself); `walker` one that obeys openat2's
    RESOLVE_* flags (fs/resolve.py), else a plain one."""
    if flags & O_PATH:
        flags &= O_PATH_FLAGS
    if walker is None:
        walker = Walker(fs, cred, caller)
    if flags & __O_TMPFILE:
        return _open_tmpfile(walker, start, path, flags, mode)
    if flags & O_CREAT:
        loc, created = _lookup_or_create(walker, start, path, flags, (mode & 0o7777) & ~fs.umask)
    else:
        loc, created = walker.resolve(start, path, follow=not flags & O_NOFOLLOW), False
    return await open_location(loc, flags, cred, created)


def _open_tmpfile(walker: Walker, start: Location, path: bytes, flags: int, mode: int) -> OpenFile:
    """O_TMPFILE (build_open_flags, do_tmpfile): with O_DIRECTORY, without O_CREAT, for writing;
    an unnamed file in the directory `path`, which linkat may name unless O_EXCL."""
    if flags & (O_TMPFILE | O_CREAT) != O_TMPFILE or not access_mask(flags) & MAY_WRITE:
        raise Errno(EINVAL)
    fs, cred = walker.fs, walker.cred
    dir = walker.resolve(start, path, follow=True)
    if not dir.inode.is_dir:
        raise Errno(ENOTDIR)
    loc = vfs_tmpfile(dir, (mode & 0o7777) & ~fs.umask, cred, linkable=not flags & O_EXCL)
    _may_open(loc, flags & ~O_TMPFILE, cred, True)
    f = InodeFile(loc, flags & ~O_TMPFILE)
    fsnotify.on_file(loc.dentry, fsnotify.IN_OPEN)
    return f


def _lookup_or_create(walker: Walker, start: Location, path: bytes, flags: int,
                      mode: int) -> tuple[Location, bool]:
    """O_CREAT: find the last component or create it; a dangling symlink creates its target."""
    parent: Parent = walker.resolve_parent(start, path)
    while True:
        if parent.slash or parent.name in (b"", b".", b".."):
            raise Errno(EISDIR)
        try:
            loc = child_of(parent.dir, parent.name, walker.caller)
        except Errno as e:
            if e.code != ENOENT:
                raise
            return vfs_create(parent.dir, parent.name, S.S_IFREG | mode, walker.cred), True
        if flags & O_EXCL:
            raise Errno(EEXIST)
        if not loc.inode.is_symlink:
            return loc, False
        if flags & O_NOFOLLOW:
            raise Errno(ELOOP)
        parent = walker.follow_parent(loc, parent.dir)


async def open_location(loc: Location, flags: int, cred: Optional[Cred] = None,
                        created: bool = False) -> OpenFile:
    """The checks of Linux's do_open/may_open on a resolved file, then the open itself."""
    inode = loc.inode
    if flags & O_PATH:
        if flags & O_DIRECTORY and not inode.is_dir:
            raise Errno(ENOTDIR)
        return InodeFile(loc, flags)
    if inode.is_symlink:
        raise Errno(ELOOP)              # only reachable with O_NOFOLLOW
    if flags & O_CREAT and inode.is_dir:
        raise Errno(EISDIR)
    if flags & O_DIRECTORY and not inode.is_dir:
        raise Errno(ENOTDIR)
    _may_open(loc, flags, cred, created)
    if S.S_ISREG(inode.mode) or inode.is_dir:
        if flags & O_TRUNC and inode.is_reg and not created:
            truncate_file(inode, 0)
            fsnotify.on_file(loc.dentry, fsnotify.IN_MODIFY)
        f = InodeFile(loc, flags)
        fsnotify.on_file(loc.dentry, fsnotify.IN_OPEN)
        return f
    return await _open_special(loc, flags)


def _may_open(loc: Location, flags: int, cred: Optional[Cred], created: bool) -> None:
    inode = loc.inode
    mask = access_mask(flags)
    if inode.is_dir and mask & MAY_WRITE:
        raise Errno(EISDIR)
    if created:
        return                          # the creator may open what it made, whatever the mode
    if mask & MAY_WRITE and (inode.is_reg or inode.is_dir) and loc.mount.is_read_only:
        raise Errno(EROFS)
    inode.may_access(cred, mask)


def file_needs(f: OpenFile, readable: bool = False, writable: bool = False) -> OpenFile:
    """EBADF unless f is open for the needed access (and is not an O_PATH descriptor)."""
    if f.is_path or (readable and not f.readable) or (writable and not f.writable):
        raise Errno(EBADF)
    return f
