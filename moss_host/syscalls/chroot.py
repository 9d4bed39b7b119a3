"""chroot (fs/open.c): the caller's root directory, where absolute paths start and `..` stops.

The path walk (fs/path.py) already starts absolute paths at FsContext.root and never goes
above it; getcwd shows a working directory outside the root as "(unreachable)...", as Linux.
"""
from __future__ import annotations

from moss_host.cred import CAP_SYS_CHROOT, capable, fs_cred
from moss_host.errors import ENOTDIR, EPERM, Errno
from moss_host.fs.path import Walker
from moss_host.fs.vfs import MAY_EXEC, permission

from .args import CStr
from .fs import _path_arg
from .table import syscall


@syscall("chroot")
async def chroot(task, path: "CStr") -> int:
    """Make path the caller's root: looked up (ENOENT, ENOTDIR), searchable (EACCES), then
    CAP_SYS_CHROOT (EPERM), in ksys_chroot's order. The working directory stays where it is."""
    name = _path_arg(task, path)
    cred = fs_cred(task.creds)
    loc = Walker(task.fs, cred, task).resolve(task.fs.cwd, name, follow=True)
    if not loc.inode.is_dir:
        raise Errno(ENOTDIR)
    permission(loc.inode, cred, MAY_EXEC)
    if not capable(task.creds, CAP_SYS_CHROOT):
        raise Errno(EPERM)
    task.fs.root = loc
    return 0
