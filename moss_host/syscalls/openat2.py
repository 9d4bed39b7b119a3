"""openat2(2): openat with a struct open_how (Linux's fs/open.c: the openat2 syscall,
do_sys_openat2, build_open_flags) and the RESOLVE_* walk of fs/resolve.py.

Unlike openat, every argument is checked: unknown open flags (the upper 32 bits too),
unknown resolve flags, BENEATH with IN_ROOT, a mode without O_CREAT/O_TMPFILE or with
bits beyond 07777, O_PATH with flags it does not permit, O_TMPFILE without O_DIRECTORY or
write access: EINVAL; RESOLVE_CACHED with O_CREAT, O_TRUNC or O_TMPFILE: EAGAIN.
"""
import struct

from moss_host.errors import E2BIG, EAGAIN, EINVAL, ENOTDIR, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import (O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_DSYNC, O_EXCL,
                               O_LARGEFILE, O_NOATIME, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_PATH_FLAGS,
                               O_SYNC, O_TRUNC, __O_TMPFILE, open_file)
from moss_host.fs.resolve import RESOLVE_BENEATH, RESOLVE_CACHED, RESOLVE_IN_ROOT, VALID_RESOLVE_FLAGS, scoped_walker
from moss_host.fs.vfs import Location

from .args import CStr, Fd, Ptr, Size
from .fs import AT_FDCWD, _dir_start, _fs_cred, _path_arg
from .table import syscall

OPEN_HOW = struct.Struct("<QQQ")        # flags, mode, resolve
OPEN_HOW_SIZE_VER0 = 24
FASYNC = 0o20000
FMODE_NONOTIFY = 0x4000000              # kernel-internal: stripped, not refused
VALID_OPEN_FLAGS = (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_SYNC | O_DSYNC
                    | FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC
                    | O_PATH | __O_TMPFILE)
S_IALLUGO = 0o7777


def read_open_how(task, ua: int, size: int) -> tuple[int, int, int]:
    """copy_struct_from_user: a larger struct must be zero beyond ours (E2BIG)."""
    if size < OPEN_HOW_SIZE_VER0:
        raise Errno(EINVAL)
    raw = task.mm.read(ua, size)
    if any(raw[OPEN_HOW.size:]):
        raise Errno(E2BIG)
    return OPEN_HOW.unpack(raw[:OPEN_HOW.size])


def build_open_flags(flags: int, mode: int, resolve: int) -> int:
    """The open flags to use, after build_open_flags' checks in its order."""
    flags &= ~(FMODE_NONOTIFY | O_CLOEXEC)
    if flags & ~VALID_OPEN_FLAGS or resolve & ~VALID_RESOLVE_FLAGS:
        raise Errno(EINVAL)
    if resolve & RESOLVE_BENEATH and resolve & RESOLVE_IN_ROOT:
        raise Errno(EINVAL)
    if flags & (O_CREAT | __O_TMPFILE):
        if mode & ~S_IALLUGO:
            raise Errno(EINVAL)
    elif mode:
        raise Errno(EINVAL)
    if flags & __O_TMPFILE and (not flags & O_DIRECTORY or not flags & O_ACCMODE):
        raise Errno(EINVAL)
    if flags & O_PATH and flags & ~O_PATH_FLAGS:
        raise Errno(EINVAL)
    if resolve & RESOLVE_CACHED and flags & (O_TRUNC | O_CREAT | __O_TMPFILE):
        raise Errno(EAGAIN)
    return flags


@syscall("openat2")
async def openat2(task, dirfd: "Fd", path: "CStr", how: "Ptr", size: "Size") -> int:
    """openat with its flags, mode and RESOLVE_* flags in a struct open_how of `size` bytes."""
    flags, mode, resolve = read_open_how(task, how, size)
    if not flags & O_PATH:
        flags |= O_LARGEFILE            # force_o_largefile
    cloexec = bool(flags & O_CLOEXEC)
    flags = build_open_flags(flags, mode, resolve)
    name = _path_arg(task, path)
    fd = task.files.alloc_fd()          # EMFILE wins over lookup errors
    try:
        f = await _open(task, dirfd, name, flags, mode, resolve)
    except BaseException:
        task.files.release_reserved(fd)
        raise
    return task.files.install_at_reserved(fd, f, cloexec=cloexec)


async def _open(task, dirfd: int, name: bytes, flags: int, mode: int, resolve: int):
    cred = _fs_cred(task)
    if resolve & RESOLVE_BENEATH and name[:1] == b"/":
        start = task.fs.root             # the walker answers EXDEV before looking at dirfd
    elif resolve & RESOLVE_IN_ROOT:
        start = _scope_start(task, dirfd, name)
    else:
        start = _dir_start(task, dirfd, name)
    walker = scoped_walker(task.fs, start, resolve, cred, task)
    return await open_file(walker.fs, start, name, flags, mode, cred, task, walker=walker)


def _scope_start(task, dirfd: int, name: bytes) -> Location:
    """path_init under RESOLVE_IN_ROOT: an absolute path starts at dirfd too, which must be a
    directory (ENOTDIR) as soon as there is any path, "/" included."""
    fd = fd_arg(dirfd)
    if fd == AT_FDCWD:
        return task.fs.cwd
    loc = task.files.get(fd).location
    if loc is None or not loc.inode.is_dir:
        raise Errno(ENOTDIR)
    return loc
