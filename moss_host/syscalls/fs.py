"""File syscalls: I/O on descriptors, open/close, the *at path operations, stat,
directories, descriptor duplication and control.

Each handler decodes its registers, checks them in the order Linux does (so the
same errno wins), and calls the VFS (moss_host/fs). Arguments arrive as raw
64-bit register values: descriptors go through fd_arg (a C int), offsets through
_s64 (a C off_t).
"""

import asyncio
import stat as S
import struct

from moss_host.addr import USER_VA_END
from moss_host.cred import CAP_MKNOD, CAP_SYS_RESOURCE, Cred, capable, fs_cred, real_cred
from moss_host.errors import (EBADF, EFAULT, EINVAL, ENOENT, ENOTDIR, ENOTTY, EPERM, EPIPE, ERANGE, EROFS,
                              ERESTARTSYS, ESPIPE, Errno)
from moss_host.fs import fsnotify
from moss_host.fs.fsnotify import watched as WATCHED
from moss_host.fs.drivers.memdev import DISCARDS_WRITES
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import (FASYNC, O_ACCMODE, O_APPEND, O_CLOEXEC, O_NONBLOCK, O_PATH, O_RDWR, O_WRONLY,
                               SEEK_MAX, InodeFile, OpenFile, file_needs, open_file)
from moss_host.fs.path import Walker
from moss_host.fs.pipe import BrokenPipe, ParkedRead, PipeFile
from moss_host.fs.stat import STAT_SIZE, Stat
from moss_host.mm.page_cache import before_read
from moss_host.fs.vfs import (MAY_EXEC, PATH_MAX, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT,
                              Location, permission, vfs_create, vfs_mkdir, vfs_rename, vfs_rmdir,
                              vfs_symlink, vfs_unlink)
from moss_host.proc import fsize
from moss_host.proc.signals import SIGPIPE, send_thread_signal
from moss_host.net.unix import UnixSocket
from moss_host.sched.parked import Parked

from .args import CStr, Fd, Hex, Int, Ptr, Size, UInt
from .fcntl_owner import OWNER_FCNTL_CMDS, OWNER_IOCTLS, fasync, fcntl_owner, owner_ioctl, setfl
from .socket import socket_write, unix_read_now
from .locks import LOCK_CMDS, fcntl_lock
from .memfd import SEAL_CMDS, fcntl_seals
from .table import SLOW, syscall

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_EACCESS = 0x200
AT_NO_AUTOMOUNT = 0x800
AT_EMPTY_PATH = 0x1000
AT_STATX_SYNC_TYPE = 0x6000
STATX__RESERVED = 0x8000_0000

MAX_RW_COUNT = 0x7FFFF000           # INT_MAX rounded down to a page: Linux's cap on one read/write
UIO_MAXIOV = 1024
IOVEC = struct.Struct("<QQ")        # struct iovec { void *iov_base; size_t iov_len; }

F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_DUPFD_CLOEXEC = 1030
F_SETPIPE_SZ, F_GETPIPE_SZ = 1031, 1032
FD_CLOEXEC = 1
O_PATH_FCNTL_CMDS = (F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL)

FIONCLEX, FIOCLEX, FIONBIO, FIOASYNC = 0x5450, 0x5451, 0x5421, 0x5452

R_OK, W_OK, X_OK = 4, 2, 1

CLOSE_RANGE_UNSHARE, CLOSE_RANGE_CLOEXEC = 1 << 1, 1 << 2


# ---------------------------------------------------------------- argument helpers

def _s64(raw: int) -> int:
    raw &= (1 << 64) - 1
    return raw - (1 << 64) if raw >> 63 else raw


def _u32(raw: int) -> int:
    return raw & 0xFFFF_FFFF


def _fs_cred(task) -> Cred:
    """Who file operations of task act as (its fs ids and groups)."""
    return fs_cred(task.creds)


def _file(task, fd: int) -> OpenFile:
    """fdget: the open file behind fd; EBADF if none or if it is an O_PATH descriptor."""
    return file_needs(task.files.get(fd_arg(fd)))


def _check_user_range(ua: int, n: int) -> None:
    """access_ok: the whole buffer must lie in the user half."""
    if ua + n > USER_VA_END:
        raise Errno(EFAULT)


def _path_arg(task, ua: int, empty_ok: bool = False) -> bytes:
    """A path argument: EFAULT, ENAMETOOLONG (no NUL in PATH_MAX bytes), ENOENT if empty."""
    if ua == 0 and empty_ok:
        return b""                      # AT_EMPTY_PATH with a NULL path means "" (Linux 6.11)
    path = task.mm.read_cstring(ua, PATH_MAX)
    if not path and not empty_ok:
        raise Errno(ENOENT)
    return path


def _dir_start(task, dirfd: int, path: bytes) -> Location:
    """Where a relative path starts: the cwd for AT_FDCWD, else dirfd's directory.

    Absolute paths ignore dirfd entirely, even a bad one. EBADF for a bad dirfd,
    ENOTDIR if it is not a directory (only when there is a path to walk from it).
    """
    if path[:1] == b"/":
        return task.fs.root
    fd = fd_arg(dirfd)
    if fd == AT_FDCWD:
        return task.fs.cwd
    f = task.files.get(fd)
    if f.location is None or (path and not f.location.inode.is_dir):
        raise Errno(ENOTDIR)
    return f.location


def _resolve_at(task, dirfd: int, path: bytes, follow: bool, cred=None):
    """The target of an *at call: a Location, or the OpenFile itself for AT_EMPTY_PATH on a dirfd."""
    if not path:
        fd = fd_arg(dirfd)
        if fd == AT_FDCWD:
            return task.fs.cwd
        f = task.files.get(fd)
        return f.location if f.location is not None else f
    cred = _fs_cred(task) if cred is None else cred
    return Walker(task.fs, cred, task).resolve(_dir_start(task, dirfd, path), path, follow)


def _stat_of(target) -> Stat:
    return target.inode.getattr() if isinstance(target, Location) else target.stat()


def _store_stat(task, ua: int, st: Stat) -> None:
    """Copy `struct stat` out: packed in place into guest RAM when the buffer sits in one
    writable resident page (the usual case: a stack buffer), else through write()."""
    mm = task.mm
    at = mm.direct_offset(ua, STAT_SIZE)
    if at >= 0:
        st.pack_into(mm.mem.physmem.mv, at)
    else:
        mm.write(ua, st.pack())


def _read_iovecs(task, iov: int, iovcnt: int) -> list[tuple[int, int]]:
    """import_iovec: the (base, len) pairs, their total clamped to MAX_RW_COUNT."""
    if iovcnt > UIO_MAXIOV:
        raise Errno(EINVAL)
    if iovcnt == 0:
        return []
    raw = task.mm.read(iov, IOVEC.size * iovcnt)
    segments, total = [], 0
    for base, length in IOVEC.iter_unpack(raw):
        if length >> 63:
            raise Errno(EINVAL)         # negative ssize_t
        _check_user_range(base, length)
        length = min(length, MAX_RW_COUNT - total)
        total += length
        segments.append((base, length))
    return segments


# ---------------------------------------------------------------- read and write

def _read_now(task, fd: int, buf: int, count: int):
    """read's synchronous try (table.py), for pipes: what is buffered (or the end of file)
    at once; an empty pipe with writers parks the reader (sched/parked.py), whom the next
    write serves inline. A connected AF_UNIX stream socket likewise (syscalls/socket.py
    unix_read_now). Any other file takes the async handler."""
    f = task.files.get(fd_arg(fd))
    if type(f) is UnixSocket and count:
        file_needs(f, readable=True)
        _check_user_range(buf, count)
        return unix_read_now(task, f, buf, min(count, MAX_RW_COUNT))
    if type(f) is not PipeFile:
        return SLOW
    file_needs(f, readable=True)
    _check_user_range(buf, count)
    count = min(count, MAX_RW_COUNT)
    pipe = f.pipe
    data = pipe.read_now(count, f)
    if data is None:
        return _park_read(task, pipe, buf, count)
    task.mm.write(buf, data)
    return len(data)


def _park_read(task, pipe, buf: int, count: int) -> Parked:
    """pipe_read's sleep without a job: the writer copies the bytes into `buf` and finishes
    the call with their count (EFAULT if they cannot be copied); a signal ends it with
    -ERESTARTSYS (SA_RESTART restarts it, else EINTR), as wait_event_interruptible."""
    def serve(data: bytes) -> None:
        try:
            task.mm.write(buf, data)
            result = len(data)
        except Errno as e:
            result = -e.code
        parked.finish(result)

    def interrupted() -> int:
        pipe.unpark_reader(reader)
        return -ERESTARTSYS

    reader = ParkedRead(count, serve)
    parked = Parked(task, interrupted)
    pipe.park_reader(reader)
    return parked


@syscall("read", fast=_read_now)
async def read(task, fd: "Fd", buf: "Ptr", count: "Size") -> int:
    """Read up to count bytes from fd at its file offset into buf."""
    f = file_needs(task.files.get(fd_arg(fd)), readable=True)
    _check_user_range(buf, count)
    count = min(count, MAX_RW_COUNT)
    if type(f) is InodeFile:
        done = _read_lent(task, f, f.pos, buf, count)
        if done is not None:
            f.pos += done
            return done
    saved = f.pos
    data = await f.read(count)
    _copy_out_or_rewind(task, f, saved, buf, data)
    return len(data)


def _read_lent(task, f: InodeFile, pos: int, buf: int, count: int):
    """A plain file whose inode lends its bytes (tmpfs's `read_view`): copy them straight into
    user memory, without building a bytes object first (for a 64 KiB read that
    allocation and second copy cost as much as the rest of the syscall). The number
    of bytes copied, or None if the inode cannot lend this range. EFAULT copies nothing."""
    before_read(f.inode, pos, count)        # stores through shared mappings reach the file first
    view = f.inode.read_view(pos, count)
    if view is None:
        return None
    with view:
        task.mm.write(buf, view)
        if view:
            fsnotify.on_file(f.location.dentry, fsnotify.IN_ACCESS)
        return len(view)


def _copy_out_or_rewind(task, f: OpenFile, saved_pos: int, buf: int, data: bytes) -> None:
    """A read that cannot be copied out is EFAULT and, for a file, consumes nothing."""
    try:
        task.mm.write(buf, data)
    except Errno:
        if f.seekable:
            f.pos = saved_pos
        raise


def _write_now(task, fd: int, buf: int, count: int):
    """write's synchronous try (table.py): a device that discards what it is given
    (/dev/null) answers here, without a coroutine, and so does a pipe write that goes in
    whole at once; anything else (a descriptor not open included) takes the async handler.
    (fd_arg inline: the low 32 bits of a negative descriptor are no open one either.)"""
    f = task.files.peek(fd & 0xFFFF_FFFF)
    cls = type(f)
    if cls in DISCARDS_WRITES:
        return _discard(task, f, buf, count)
    return _pipe_write_now(task, f, buf, count) if cls is PipeFile else SLOW


def _pipe_write_now(task, f: PipeFile, buf: int, count: int):
    """A write to a pipe that goes in whole at once (PipeFile.write_now), without a coroutine;
    one that may sleep, split, or meet no reader (SIGPIPE) takes the async handler."""
    file_needs(f, writable=True)
    _check_user_range(buf, count)
    done = f.write_now(task.mm.read(buf, min(count, MAX_RW_COUNT)))
    return SLOW if done is None else done


def _discard(task, f: OpenFile, buf: int, count: int) -> int:
    """vfs_write to write_null: the checks, then the count, the buffer unread. (Inline, as
    this is write's fast path: file_needs(f, writable=True), then access_ok; fsnotify's
    hook only while some inode anywhere is watched.)"""
    flags = f.flags
    if flags & O_PATH or flags & O_ACCMODE not in _WRITE_MODES:
        raise Errno(EBADF)
    if buf + count > USER_VA_END:
        raise Errno(EFAULT)
    if count > MAX_RW_COUNT:
        count = MAX_RW_COUNT
    if count and WATCHED and f.location is not None:
        fsnotify.on_file(f.location.dentry, fsnotify.IN_MODIFY)   # vfs_write's fsnotify_modify
    return count


_WRITE_MODES = (O_WRONLY, O_RDWR)


@syscall("write", fast=_write_now)
async def write(task, fd: "Fd", buf: "Ptr", count: "Size") -> int:
    """Write count bytes from buf to fd at its file offset (at the end with O_APPEND)."""
    f = task.files.get(fd_arg(fd))
    if type(f) in DISCARDS_WRITES:
        return _discard(task, f, buf, count)
    file_needs(f, writable=True)
    _check_user_range(buf, count)
    data = fsize.limit_write(task, f, task.mm.read(buf, min(count, MAX_RW_COUNT)))
    return await _write_or_sigpipe(task, f, data)


async def _write_or_sigpipe(task, f: OpenFile, data: bytes) -> int:
    """f.write(data); EPIPE (a pipe or socket with no reader) also sends SIGPIPE to the writer.
    A BrokenPipe (the reader left after part of the data went in) returns the count
    written, as Linux's pipe_write does."""
    if f.is_socket:                 # a send with the writer's credentials; SIGPIPE as sockets decide
        return await socket_write(task, f, data)
    try:
        return await f.write(data)
    except Errno as e:
        if e.code != EPIPE:
            raise
        if task.pending is not None and task.pending is asyncio.current_task():
            # We are the sleeping syscall's own asyncio task: signalling now would cancel
            # it (Scheduler.interrupt); queue the signal for just after it finishes.
            asyncio.get_running_loop().call_soon(send_thread_signal, task, SIGPIPE)
        else:
            send_thread_signal(task, SIGPIPE)     # send_sig(SIGPIPE, current): this thread
        if isinstance(e, BrokenPipe) and e.written:
            return e.written
        raise


SENDFILE_CHUNK = 16 << 20        # bytes moved per call; callers loop, as they must on Linux


@syscall("sendfile")
async def sendfile(task, out_fd: "Fd", in_fd: "Fd", offset_ptr: "Ptr", count: "Size") -> int:
    """Copy up to count bytes from in_fd to out_fd without a trip through user memory.

    With an offset pointer, reading starts there and in_fd's position does not move;
    the pointer is updated instead. Returns the bytes written.
    """
    src = file_needs(task.files.get(fd_arg(in_fd)), readable=True)
    dst = file_needs(task.files.get(fd_arg(out_fd)), writable=True)
    if dst.flags & O_APPEND:
        raise Errno(EINVAL)
    count = min(count, SENDFILE_CHUNK)
    if offset_ptr:
        offset = _s64(task.mm.read_u64(offset_ptr))
        if offset < 0 or not src.splice_read:
            raise Errno(EINVAL)
        data = await src.pread(offset, count)
        written = await _write_or_sigpipe(task, dst, data) if data else 0
        task.mm.write_u64(offset_ptr, offset + written)
        return written
    if not src.splice_read:             # Linux's do_splice_to without f_op->splice_read
        raise Errno(EINVAL)
    data = await src.read(count)
    written = await _write_or_sigpipe(task, dst, data) if data else 0
    if written < len(data) and src.seekable:
        src.pos -= len(data) - written          # what did not go out is read again next time
    return written


@syscall("readv")
async def readv(task, fd: "Fd", iov: "Ptr", iovcnt: "UInt") -> int:
    """read() into iovcnt buffers described by the iovec array at iov, filling each in turn."""
    f = _file(task, fd)
    segments = _read_iovecs(task, iov, iovcnt)
    file_needs(f, readable=True)
    saved = f.pos
    data = await f.read(sum(n for _, n in segments))
    return _scatter(task, f, saved, segments, data)


def _scatter(task, f: OpenFile, saved_pos: int, segments, data: bytes) -> int:
    done = 0
    for base, length in segments:
        if done == len(data):
            break
        piece = data[done:done + length]
        try:
            task.mm.write(base, piece)
        except Errno:
            if done == 0 and f.seekable:
                f.pos = saved_pos
            if done == 0:
                raise
            if f.seekable:
                f.pos = saved_pos + done
            return done
        done += len(piece)
    return done


@syscall("writev")
async def writev(task, fd: "Fd", iov: "Ptr", iovcnt: "UInt") -> int:
    """write() the iovcnt buffers described by the iovec array at iov, in order, as one write."""
    f = _file(task, fd)
    segments = _read_iovecs(task, iov, iovcnt)
    file_needs(f, writable=True)
    if not segments:
        return 0
    return await _write_or_sigpipe(task, f, fsize.limit_write(task, f, _gather(task, segments)))


def _gather(task, segments) -> bytes:
    """The bytes of every segment; a bad one ends the data there (EFAULT if it is the first)."""
    pieces = []
    for base, length in segments:
        try:
            pieces.append(task.mm.read(base, length))
        except Errno:
            if not pieces:
                raise
            break
    return b"".join(pieces)


def _positional(task, fd: int, offset: int, readable: bool = False, writable: bool = False):
    """The file and offset of pread64/pwrite64, checked in Linux's order: EINVAL, EBADF, ESPIPE."""
    pos = _s64(offset)
    if pos < 0:
        raise Errno(EINVAL)
    f = _file(task, fd)
    if not f.seekable:
        raise Errno(ESPIPE)
    file_needs(f, readable=readable, writable=writable)
    return f, pos


@syscall("pread64")
async def pread64(task, fd: "Fd", buf: "Ptr", count: "Size", offset: "Int") -> int:
    """Read from fd at offset without moving its file offset."""
    f, pos = _positional(task, fd, offset, readable=True)
    _check_user_range(buf, count)
    if type(f) is InodeFile:
        done = _read_lent(task, f, pos, buf, min(count, MAX_RW_COUNT))
        if done is not None:
            return done
    data = await f.pread(pos, min(count, MAX_RW_COUNT))
    task.mm.write(buf, data)
    return len(data)


@syscall("pwrite64")
async def pwrite64(task, fd: "Fd", buf: "Ptr", count: "Size", offset: "Int") -> int:
    """Write to fd at offset without moving its file offset."""
    f, pos = _positional(task, fd, offset, writable=True)
    _check_user_range(buf, count)
    data = fsize.limit_write(task, f, task.mm.read(buf, min(count, MAX_RW_COUNT)), pos)
    return await f.pwrite(pos, data)


@syscall("lseek")
async def lseek(task, fd: "Fd", offset: "Int", whence: "UInt") -> int:
    """Reposition fd's file offset: SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE."""
    f = _file(task, fd)
    whence = _u32(whence)
    if whence > SEEK_MAX:
        raise Errno(EINVAL)
    return f.lseek(_s64(offset), whence)


# ---------------------------------------------------------------- open and close

@syscall("openat")
async def openat(task, dirfd: "Fd", path: "CStr", flags: "Hex", mode: "Hex") -> int:
    """Open (with O_CREAT, create) path relative to dirfd; return the lowest free descriptor."""
    flags = _u32(flags)
    name = _path_arg(task, path)
    fd = task.files.alloc_fd()          # EMFILE wins over lookup errors, as in Linux
    try:
        f = await open_file(task.fs, _dir_start(task, dirfd, name), name, flags, mode, _fs_cred(task), task)
    except BaseException:
        task.files.release_reserved(fd)
        raise
    return task.files.install_at_reserved(fd, f, cloexec=bool(flags & O_CLOEXEC))


@syscall("close")
async def close(task, fd: "Fd") -> int:
    """Close fd; the file itself goes when its last descriptor does."""
    task.files.close(fd_arg(fd))
    return 0


@syscall("close_range")
async def close_range(task, first: "UInt", last: "UInt", flags: "Hex") -> int:
    """Close (or with CLOSE_RANGE_CLOEXEC mark close-on-exec) every open fd in [first, last].

    CLOSE_RANGE_UNSHARE is accepted and acts on the caller's table as it is (the table is
    private to the process unless it was shared with CLONE_FILES)."""
    first, last = _u32(first), _u32(last)
    if flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) or first > last:
        raise Errno(EINVAL)
    for nr, _ in list(task.files.items()):
        if first <= nr <= last:
            if flags & CLOSE_RANGE_CLOEXEC:
                task.files.set_cloexec(nr, True)
            else:
                task.files.close(nr)
    return 0


# ---------------------------------------------------------------- attributes

@syscall("fstat")
def fstat(task, fd: "Fd", statbuf: "Ptr") -> int:
    """Store the attributes of fd's file (O_PATH descriptors too) in the struct stat at statbuf."""
    _store_stat(task, statbuf, task.files.get(fd_arg(fd)).stat())
    return 0


@syscall("newfstatat")
def newfstatat(task, dirfd: "Fd", path: "CStr", statbuf: "Ptr", flags: "Hex") -> int:
    """stat/lstat of path relative to dirfd; AT_EMPTY_PATH with "" stats dirfd itself."""
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH):
        raise Errno(EINVAL)
    name = _path_arg(task, path, empty_ok=bool(flags & AT_EMPTY_PATH))
    target = _resolve_at(task, dirfd, name, follow=not flags & AT_SYMLINK_NOFOLLOW)
    _store_stat(task, statbuf, _stat_of(target))
    return 0


@syscall("statx")
def statx(task, dirfd: "Fd", path: "CStr", flags: "Hex", mask: "Hex", statxbuf: "Ptr") -> int:
    """Extended stat: fill the struct statx at statxbuf (we always provide the basic fields)."""
    allowed = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE
    if flags & ~allowed or flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE:
        raise Errno(EINVAL)
    if mask & STATX__RESERVED:
        raise Errno(EINVAL)
    name = _path_arg(task, path, empty_ok=bool(flags & AT_EMPTY_PATH))
    target = _resolve_at(task, dirfd, name, follow=not flags & AT_SYMLINK_NOFOLLOW)
    task.mm.write(statxbuf, _stat_of(target).pack_statx(mask))
    return 0


@syscall("readlinkat")
async def readlinkat(task, dirfd: "Fd", path: "CStr", buf: "Ptr", bufsiz: "Int") -> int:
    """Copy the target of symlink path into buf: truncated to bufsiz, no NUL added."""
    size = fd_arg(bufsiz)               # an int, like a descriptor
    if size <= 0:
        raise Errno(EINVAL)
    name = _path_arg(task, path, empty_ok=True)
    target = _resolve_at(task, dirfd, name, follow=False)
    if not isinstance(target, Location) or not target.inode.is_symlink:
        raise Errno(ENOENT if not name else EINVAL)
    data = target.inode.readlink()[:size]
    task.mm.write(buf, data)
    return len(data)


async def _access(task, dirfd: int, path: int, mode: int, flags: int) -> int:
    """access(2): may the caller (real ids, or effective with AT_EACCESS) use path for mode?"""
    if mode & ~(R_OK | W_OK | X_OK):
        raise Errno(EINVAL)
    if flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise Errno(EINVAL)
    c = task.creds
    cred = _fs_cred(task) if flags & AT_EACCESS else real_cred(c)
    name = _path_arg(task, path, empty_ok=bool(flags & AT_EMPTY_PATH))
    target = _resolve_at(task, dirfd, name, follow=not flags & AT_SYMLINK_NOFOLLOW, cred=cred)
    if isinstance(target, Location):
        inode = target.inode
        if mode & W_OK and target.mount.is_read_only and (inode.is_reg or inode.is_dir or inode.is_symlink):
            raise Errno(EROFS)
        permission(inode, cred, mode)
    else:
        st = target.stat()
        permission(_Attrs(st.st_mode, st.st_uid, st.st_gid), cred, mode)
    return 0


class _Attrs:
    """Enough of an inode for permission() (vfs.Owned): for files that live in no filesystem."""

    def __init__(self, mode: int, uid: int, gid: int):
        self.mode, self.uid, self.gid = mode, uid, gid


@syscall("faccessat")
async def faccessat(task, dirfd: "Fd", path: "CStr", mode: "Hex") -> int:
    """Check the real user's permission to access path (R_OK, W_OK, X_OK, or F_OK for existence)."""
    return await _access(task, dirfd, path, mode, 0)


@syscall("faccessat2")
async def faccessat2(task, dirfd: "Fd", path: "CStr", mode: "Hex", flags: "Hex") -> int:
    """faccessat with flags: AT_EACCESS, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH."""
    return await _access(task, dirfd, path, mode, flags)


# ---------------------------------------------------------------- directories

@syscall("getdents64")
async def getdents64(task, fd: "Fd", dirp: "Ptr", count: "UInt") -> int:
    """Fill dirp with struct linux_dirent64 records from fd's position; 0 at the end."""
    f = _file(task, fd)
    saved = f.pos
    data = f.getdents64(_u32(count))
    _copy_out_or_rewind(task, f, saved, dirp, data)
    return len(data)


@syscall("getcwd")
async def getcwd(task, buf: "Ptr", size: "Size") -> int:
    """Copy the absolute path of the cwd, NUL-terminated, to buf; return its length with the NUL."""
    path = task.fs.getcwd() + b"\0"
    if len(path) > size:
        raise Errno(ERANGE)
    task.mm.write(buf, path)
    return len(path)


@syscall("chdir")
async def chdir(task, path: "CStr") -> int:
    """Make path (a directory we may search) the working directory."""
    name = _path_arg(task, path)
    cred = _fs_cred(task)
    loc = Walker(task.fs, cred, task).resolve(task.fs.cwd, name, follow=True)
    _enter_cwd(task, loc, cred)
    return 0


@syscall("fchdir")
async def fchdir(task, fd: "Fd") -> int:
    """Make the directory open on fd the working directory."""
    f = task.files.get(fd_arg(fd))
    if f.location is None:
        raise Errno(ENOTDIR)
    _enter_cwd(task, f.location, _fs_cred(task))
    return 0


def _enter_cwd(task, loc: Location, cred: Cred) -> None:
    if not loc.inode.is_dir:
        raise Errno(ENOTDIR)
    permission(loc.inode, cred, MAY_EXEC)
    task.fs.cwd = loc


@syscall("mkdirat")
async def mkdirat(task, dirfd: "Fd", path: "CStr", mode: "Hex") -> int:
    """Create directory path with mode & ~umask."""
    name = _path_arg(task, path)
    cred = _fs_cred(task)
    parent = Walker(task.fs, cred, task).resolve_parent(_dir_start(task, dirfd, name), name)
    vfs_mkdir(parent.dir, parent.name, _u32(mode) & 0o7777 & ~task.fs.umask, cred)
    return 0


@syscall("mknodat")
async def mknodat(task, dirfd: "Fd", path: "CStr", mode: "Hex", dev: "Hex") -> int:
    """Create a FIFO, device node, socket or regular file at path; the type is in mode."""
    mode = _u32(mode)
    kind = S.S_IFMT(mode)
    if kind == S.S_IFDIR:
        raise Errno(EPERM)
    if kind not in (0, S.S_IFREG, S.S_IFCHR, S.S_IFBLK, S.S_IFIFO, S.S_IFSOCK):
        raise Errno(EINVAL)
    name = _path_arg(task, path)
    cred = _fs_cred(task)
    parent = Walker(task.fs, cred, task).resolve_parent(_dir_start(task, dirfd, name), name)
    if kind in (S.S_IFCHR, S.S_IFBLK) and not capable(task.creds, CAP_MKNOD):
        raise Errno(EPERM)              # CAP_MKNOD
    vfs_create(parent.dir, parent.name, (kind or S.S_IFREG) | (mode & 0o7777 & ~task.fs.umask), cred,
               rdev=_u32(dev) if kind in (S.S_IFCHR, S.S_IFBLK) else 0, slash=parent.slash)
    return 0


@syscall("unlinkat")
async def unlinkat(task, dirfd: "Fd", path: "CStr", flags: "Hex") -> int:
    """Remove the name path: a non-directory, or with AT_REMOVEDIR an empty directory."""
    if flags & ~AT_REMOVEDIR:
        raise Errno(EINVAL)
    name = _path_arg(task, path)
    cred = _fs_cred(task)
    parent = Walker(task.fs, cred, task).resolve_parent(_dir_start(task, dirfd, name), name)
    if flags & AT_REMOVEDIR:
        vfs_rmdir(parent.dir, parent.name, cred)
    else:
        vfs_unlink(parent.dir, parent.name, cred, slash=parent.slash)
    return 0


@syscall("symlinkat")
async def symlinkat(task, target: "CStr", newdirfd: "Fd", linkpath: "CStr") -> int:
    """Create linkpath as a symbolic link containing target (which need not exist)."""
    contents = _path_arg(task, target)
    name = _path_arg(task, linkpath)
    cred = _fs_cred(task)
    parent = Walker(task.fs, cred, task).resolve_parent(_dir_start(task, newdirfd, name), name)
    vfs_symlink(parent.dir, parent.name, contents, cred, slash=parent.slash)
    return 0


@syscall("renameat")
async def renameat(task, olddirfd: "Fd", oldpath: "CStr", newdirfd: "Fd", newpath: "CStr") -> int:
    """Rename oldpath to newpath, atomically replacing newpath if it exists."""
    return await _rename(task, olddirfd, oldpath, newdirfd, newpath, 0)


@syscall("renameat2")
async def renameat2(task, olddirfd: "Fd", oldpath: "CStr", newdirfd: "Fd", newpath: "CStr",
                    flags: "Hex") -> int:
    """renameat with flags: RENAME_NOREPLACE (EXCHANGE and WHITEOUT are not supported: EINVAL)."""
    return await _rename(task, olddirfd, oldpath, newdirfd, newpath, _u32(flags))


async def _rename(task, olddirfd: int, oldpath: int, newdirfd: int, newpath: int, flags: int) -> int:
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT):
        raise Errno(EINVAL)
    if flags & RENAME_EXCHANGE and flags & (RENAME_NOREPLACE | RENAME_WHITEOUT):
        raise Errno(EINVAL)
    if flags & (RENAME_EXCHANGE | RENAME_WHITEOUT):
        raise Errno(EINVAL)             # tmpfs would support them; we do not yet
    old_name = _path_arg(task, oldpath)
    new_name = _path_arg(task, newpath)
    cred = _fs_cred(task)
    walker = Walker(task.fs, cred, task)
    old = walker.resolve_parent(_dir_start(task, olddirfd, old_name), old_name)
    new = walker.resolve_parent(_dir_start(task, newdirfd, new_name), new_name)
    vfs_rename(old.dir, old.name, new.dir, new.name, cred, flags, old.slash, new.slash)
    return 0


@syscall("umask")
async def umask(task, mask: "Hex") -> int:
    """Set the file mode creation mask to mask & 0777; return the previous one."""
    old = task.fs.umask
    task.fs.umask = mask & 0o777
    return old


# ---------------------------------------------------------------- descriptors

@syscall("dup")
async def dup(task, oldfd: "Fd") -> int:
    """A new descriptor (the lowest free) for the same open file; close-on-exec off."""
    return task.files.dup(fd_arg(oldfd))


@syscall("dup3")
async def dup3(task, oldfd: "Fd", newfd: "Fd", flags: "Hex") -> int:
    """Make newfd refer to oldfd's file, closing newfd first; flags may only be O_CLOEXEC."""
    if flags & ~O_CLOEXEC:
        raise Errno(EINVAL)
    old, new = fd_arg(oldfd), fd_arg(newfd)
    if old == new:
        raise Errno(EINVAL)
    if not 0 <= new < task.files.limit:
        raise Errno(EBADF)
    return task.files.dup3(old, new, cloexec=bool(flags & O_CLOEXEC))


@syscall("fcntl")
async def fcntl(task, fd: "Fd", cmd: "UInt", arg: "Hex") -> int:
    """Descriptor control: duplicate, close-on-exec flag, status flags, (advisory) locks."""
    nr = fd_arg(fd)
    f = task.files.get(nr)
    cmd = _u32(cmd)
    if f.is_path and cmd not in O_PATH_FCNTL_CMDS:
        raise Errno(EBADF)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        if arg >= task.files.limit:
            raise Errno(EINVAL)
        return task.files.dup(nr, lowest=arg, cloexec=cmd == F_DUPFD_CLOEXEC)
    if cmd == F_GETFD:
        return FD_CLOEXEC if task.files.cloexec(nr) else 0
    if cmd == F_SETFD:
        task.files.set_cloexec(nr, bool(arg & FD_CLOEXEC))
        return 0
    if cmd == F_GETFL:
        return f.flags
    if cmd == F_SETFL:
        setfl(task, f, nr, _u32(arg))
        return 0
    if cmd in LOCK_CMDS:
        return await fcntl_lock(task, f, cmd, arg)
    if cmd in SEAL_CMDS:
        return fcntl_seals(task, f, cmd, arg)
    if cmd in (F_GETPIPE_SZ, F_SETPIPE_SZ):
        pipe = f.pipe
        if pipe is None:
            raise Errno(EBADF)
        return pipe.capacity if cmd == F_GETPIPE_SZ else pipe.resize(arg, capable(task.creds, CAP_SYS_RESOURCE))   # unsigned long
    if cmd in OWNER_FCNTL_CMDS:
        return fcntl_owner(task, f, cmd, arg)
    raise Errno(EINVAL)


@syscall("ioctl")
async def ioctl(task, fd: "Fd", cmd: "Hex", arg: "Hex") -> int:
    """Device control: the generic FIOCLEX/FIONCLEX/FIONBIO/FIOASYNC here, the rest by the file (ENOTTY)."""
    nr = fd_arg(fd)
    f = _file(task, fd)
    cmd = _u32(cmd)
    if cmd in (FIOCLEX, FIONCLEX):
        task.files.set_cloexec(nr, cmd == FIOCLEX)
        return 0
    if cmd in (FIONBIO, FIOASYNC):
        on = struct.unpack("<i", task.mm.read(arg, 4))[0] != 0
        if cmd == FIOASYNC:
            if on != bool(f.flags & FASYNC):
                if not f.has_fasync:
                    raise Errno(ENOTTY)     # ioctl_fioasync: no ->fasync to change it
                fasync(task, f, nr, on)
            return 0
        f.set_status_flags((f.flags | O_NONBLOCK) if on else (f.flags & ~O_NONBLOCK))
        return 0
    if cmd in OWNER_IOCTLS and f.is_socket:
        return owner_ioctl(task, f, cmd, arg)
    return await f.ioctl(task, cmd, arg)

