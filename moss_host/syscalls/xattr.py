"""The extended-attribute syscalls: {,l,f}{set,get,list,remove}xattr, as Linux 6.1's fs/xattr.c.

Order of checks: the path (or fd: EBADF, O_PATH too), mnt_want_write for changes (EROFS),
copying the arguments (flags EINVAL, name ERANGE when empty or over 255 bytes, a value
over 64 KiB E2BIG), then fs/xattr.py's permission and namespace rules, then the filesystem.
A size of 0 asks for the length; a smaller buffer is ERANGE (E2BIG if it was 64 KiB or more).
Files outside any filesystem (pipes, sockets) have no handlers: EOPNOTSUPP, an empty list.
"""

from typing import NamedTuple

from moss_host.cred import capable
from moss_host.errors import E2BIG, EINVAL, ENAMETOOLONG, EOPNOTSUPP, ERANGE, Errno
from moss_host.fs.vfs import MAY_READ, MAY_WRITE, Location, want_write
from moss_host.fs.xattr import (XATTR_CREATE, XATTR_LIST_MAX, XATTR_NAME_MAX, XATTR_REPLACE, XATTR_SIZE_MAX,
                                vfs_getxattr, vfs_listxattr, vfs_setxattr, xattr_permission)

from .args import CStr, Fd, Hex, Ptr, Size
from .fs import AT_FDCWD, _fs_cred, _path_arg, _resolve_at
from .fsattr import _fd_file
from .table import syscall


class _Attrs(NamedTuple):
    """The owner and mode of a file with no inode of ours (a pipe): what xattr_permission reads."""
    mode: int
    uid: int
    gid: int


def _target(task, path: int, follow: bool):
    """user_path_at: a Location (paths always name one)."""
    return _resolve_at(task, AT_FDCWD, _path_arg(task, path), follow=follow)


def _fd_target(task, fd: int):
    f = _fd_file(task, fd)
    return f.location if f.location is not None else f


def _name_arg(task, ua: int) -> bytes:
    """strncpy_from_user into XATTR_NAME_MAX + 1 bytes: ERANGE if empty or too long."""
    try:
        name = task.mm.read_cstring(ua, XATTR_NAME_MAX + 1)
    except Errno as e:
        if e.code == ENAMETOOLONG:
            raise Errno(ERANGE)
        raise
    if not name:
        raise Errno(ERANGE)
    return name


def _no_inode(task, target, name: bytes, mask: int) -> None:
    """A file outside any filesystem: the permission rules still run, then EOPNOTSUPP."""
    st = target.stat()
    xattr_permission(_Attrs(st.st_mode, st.st_uid, st.st_gid), name, mask, _fs_cred(task),  # type: ignore[arg-type]
                     capable(task.creds))
    raise Errno(EOPNOTSUPP)


# ---------------------------------------------------------------- set / remove

def _set(task, target, name_ua: int, value_ua: int, size: int, flags: int) -> int:
    if isinstance(target, Location):
        want_write(target)
    if flags & ~(XATTR_CREATE | XATTR_REPLACE):
        raise Errno(EINVAL)
    name = _name_arg(task, name_ua)
    value = b""
    if size:
        if size > XATTR_SIZE_MAX:
            raise Errno(E2BIG)
        value = task.mm.read(value_ua, size)
    if not isinstance(target, Location):
        _no_inode(task, target, name, MAY_WRITE)
    vfs_setxattr(target.inode, name, value, flags, _fs_cred(task), capable(task.creds))
    return 0


def _remove(task, target, name_ua: int) -> int:
    if isinstance(target, Location):
        want_write(target)
    name = _name_arg(task, name_ua)
    if not isinstance(target, Location):
        _no_inode(task, target, name, MAY_WRITE)
    vfs_setxattr(target.inode, name, None, XATTR_REPLACE, _fs_cred(task), capable(task.creds))
    return 0


@syscall("setxattr")
async def setxattr(task, path: "CStr", name: "CStr", value: "Ptr", size: "Size", flags: "Hex") -> int:
    """Set an extended attribute of path (following a final symlink)."""
    return _set(task, _target(task, path, True), name, value, size, flags & 0xFFFF_FFFF)


@syscall("lsetxattr")
async def lsetxattr(task, path: "CStr", name: "CStr", value: "Ptr", size: "Size", flags: "Hex") -> int:
    """setxattr on the symlink itself."""
    return _set(task, _target(task, path, False), name, value, size, flags & 0xFFFF_FFFF)


@syscall("fsetxattr")
async def fsetxattr(task, fd: "Fd", name: "CStr", value: "Ptr", size: "Size", flags: "Hex") -> int:
    """setxattr on the file open on fd."""
    return _set(task, _fd_target(task, fd), name, value, size, flags & 0xFFFF_FFFF)


@syscall("removexattr")
async def removexattr(task, path: "CStr", name: "CStr") -> int:
    """Remove an extended attribute (ENODATA if absent)."""
    return _remove(task, _target(task, path, True), name)


@syscall("lremovexattr")
async def lremovexattr(task, path: "CStr", name: "CStr") -> int:
    """removexattr on the symlink itself."""
    return _remove(task, _target(task, path, False), name)


@syscall("fremovexattr")
async def fremovexattr(task, fd: "Fd", name: "CStr") -> int:
    """removexattr on the file open on fd."""
    return _remove(task, _fd_target(task, fd), name)


# ---------------------------------------------------------------- get / list

def _get(task, target, name_ua: int, value_ua: int, size: int) -> int:
    name = _name_arg(task, name_ua)
    if not isinstance(target, Location):
        _no_inode(task, target, name, MAY_READ)
    value = vfs_getxattr(target.inode, name, _fs_cred(task), capable(task.creds))
    return _copy_out(task, value, value_ua, size, XATTR_SIZE_MAX)


def _copy_out(task, data: bytes, ua: int, size: int, limit: int) -> int:
    """The length for size 0; else the bytes if they fit (ERANGE, or E2BIG past the limit)."""
    if size:
        if len(data) > min(size, limit):
            raise Errno(E2BIG if size >= limit else ERANGE)
        task.mm.write(ua, data)
    return len(data)


def _list(task, target, list_ua: int, size: int) -> int:
    names: list[bytes] = []
    if isinstance(target, Location):
        names = vfs_listxattr(target.inode, capable(task.creds))
    return _copy_out(task, b"".join(n + b"\0" for n in names), list_ua, size, XATTR_LIST_MAX)


@syscall("getxattr")
async def getxattr(task, path: "CStr", name: "CStr", value: "Ptr", size: "Size") -> int:
    """Read an extended attribute of path (following a final symlink)."""
    return _get(task, _target(task, path, True), name, value, size)


@syscall("lgetxattr")
async def lgetxattr(task, path: "CStr", name: "CStr", value: "Ptr", size: "Size") -> int:
    """getxattr on the symlink itself."""
    return _get(task, _target(task, path, False), name, value, size)


@syscall("fgetxattr")
async def fgetxattr(task, fd: "Fd", name: "CStr", value: "Ptr", size: "Size") -> int:
    """getxattr on the file open on fd."""
    return _get(task, _fd_target(task, fd), name, value, size)


@syscall("listxattr")
async def listxattr(task, path: "CStr", buf: "Ptr", size: "Size") -> int:
    """The names of path's extended attributes, each NUL-terminated."""
    return _list(task, _target(task, path, True), buf, size)


@syscall("llistxattr")
async def llistxattr(task, path: "CStr", buf: "Ptr", size: "Size") -> int:
    """listxattr of the symlink itself."""
    return _list(task, _target(task, path, False), buf, size)


@syscall("flistxattr")
async def flistxattr(task, fd: "Fd", buf: "Ptr", size: "Size") -> int:
    """listxattr of the file open on fd."""
    return _list(task, _fd_target(task, fd), buf, size)

