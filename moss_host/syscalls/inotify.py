"""inotify_init1, inotify_add_watch, inotify_rm_watch. The instances are fs/inotify.py's, the
events fs/fsnotify.py's."""
from __future__ import annotations

from moss_host.cred import fs_cred
from moss_host.errors import EBADF, EINVAL, ENOENT, ENOTDIR, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import O_CLOEXEC, O_NONBLOCK
from moss_host.fs.fsnotify import IN_DONT_FOLLOW, IN_MASK_ADD, IN_MASK_CREATE, IN_ONLYDIR
from moss_host.fs.inotify import WATCH_MASK, Inotify
from moss_host.fs.path import Walker
from moss_host.fs.vfs import MAY_READ, PATH_MAX, permission

from .args import CStr, Fd, Hex
from .table import syscall

IN_CLOEXEC, IN_NONBLOCK = O_CLOEXEC, O_NONBLOCK
# Every bit inotify_add_watch knows (ALL_INOTIFY_BITS): a mask with none of them is EINVAL.
ALL_INOTIFY_BITS = WATCH_MASK | IN_ONLYDIR | IN_DONT_FOLLOW | IN_MASK_ADD | IN_MASK_CREATE | 0x4000_0000


@syscall("inotify_init1")
async def inotify_init1(task, flags: "Hex") -> int:
    """A new inotify instance; flags may be IN_NONBLOCK and IN_CLOEXEC."""
    flags &= 0xFFFF_FFFF
    if flags & ~(IN_CLOEXEC | IN_NONBLOCK):
        raise Errno(EINVAL)
    return task.files.install(Inotify(flags & IN_NONBLOCK), cloexec=bool(flags & IN_CLOEXEC))


def _instance(task, fd: int) -> Inotify:
    f = task.files.get(fd_arg(fd))
    if not isinstance(f, Inotify):
        raise Errno(EINVAL)
    return f


@syscall("inotify_add_watch")
async def inotify_add_watch(task, fd: "Fd", pathname: "CStr", mask: "Hex") -> int:
    """Watch pathname for the events in mask; the watch descriptor (the same one again for an
    inode already watched)."""
    mask &= 0xFFFF_FFFF
    if mask & IN_MASK_ADD and mask & IN_MASK_CREATE:
        raise Errno(EINVAL)
    if not mask & ALL_INOTIFY_BITS:
        raise Errno(EINVAL)
    try:
        task.files.get(fd_arg(fd))
    except Errno:
        raise Errno(EBADF) from None
    group = _instance(task, fd)
    name = task.mm.read_cstring(pathname, PATH_MAX)
    if not name:
        raise Errno(ENOENT)
    cred = fs_cred(task.creds)
    loc = Walker(task.fs, cred, task).resolve(task.fs.cwd, name, follow=not mask & IN_DONT_FOLLOW)
    if mask & IN_ONLYDIR and not loc.inode.is_dir:
        raise Errno(ENOTDIR)                # LOOKUP_DIRECTORY
    permission(loc.inode, cred, MAY_READ)
    return group.add_watch(loc.inode, mask)


@syscall("inotify_rm_watch")
async def inotify_rm_watch(task, fd: "Fd", wd: "Hex") -> int:
    """Stop the watch wd (an IN_IGNORED event says so)."""
    group = _instance(task, fd)
    raw = wd & 0xFFFF_FFFF
    group.rm_watch(raw - (1 << 32) if raw & 0x8000_0000 else raw)
    return 0
