"""Extended attributes at the VFS level (Linux's fs/xattr.c): the namespace rules every
filesystem shares, and SimpleXattrs, the in-memory store tmpfs uses (simple_xattr_*).

Names are full names as user space gives them (b"user.mime_type"). A filesystem declares
the namespaces it has handlers for in Superblock.xattr_namespaces (Linux's s_xattr): a
prefix ending in b"." or a whole name (b"system.posix_acl_access"). A filesystem with none
answers EOPNOTSUPP to get, set and remove, and an empty list (Linux's IOP_XATTR unset).
Order of checks, as vfs_getxattr/vfs_setxattr: xattr_permission, then the handler lookup.
"""
from __future__ import annotations

import stat as S
from typing import TYPE_CHECKING, Optional

from ..errors import EEXIST, EINVAL, ENODATA, EOPNOTSUPP, EPERM, Errno
from .vfs import MAY_READ, MAY_WRITE, permission

if TYPE_CHECKING:
    from ..cred import Cred
    from .vfs import Inode

XATTR_CREATE = 1
XATTR_REPLACE = 2
XATTR_NAME_MAX = 255
XATTR_SIZE_MAX = 65536
XATTR_LIST_MAX = 65536

USER = b"user."
TRUSTED = b"trusted."
SECURITY = b"security."
SYSTEM = b"system."
POSIX_ACL_ACCESS = b"system.posix_acl_access"
POSIX_ACL_DEFAULT = b"system.posix_acl_default"


def xattr_permission(inode: "Inode", name: bytes, mask: int, cred: Optional["Cred"], admin: bool) -> None:
    """Linux's xattr_permission: security.* and system.* are the filesystem's business;
    trusted.* needs CAP_SYS_ADMIN (invisible otherwise: ENODATA); user.* lives only on
    regular files and directories, and a sticky directory's only for its owner."""
    if name.startswith(SECURITY) or name.startswith(SYSTEM):
        return
    if name.startswith(TRUSTED):
        if not admin:
            raise Errno(EPERM if mask & MAY_WRITE else ENODATA)
        return
    if name.startswith(USER):
        mode = inode.mode
        if not (S.S_ISREG(mode) or S.S_ISDIR(mode)):
            raise Errno(EPERM if mask & MAY_WRITE else ENODATA)
        if (S.S_ISDIR(mode) and mode & S.S_ISVTX and mask & MAY_WRITE and not admin
                and cred is not None and cred.uid != inode.uid):
            raise Errno(EPERM)
    permission(inode, cred, mask)


def resolve_name(inode: "Inode", name: bytes) -> None:
    """xattr_resolve_name: EOPNOTSUPP unless the filesystem has a handler for the name;
    EINVAL for a bare prefix (b"user.")."""
    for ns in inode.sb.xattr_namespaces:
        if ns.endswith(b"."):
            if name.startswith(ns):
                if name == ns:
                    raise Errno(EINVAL)
                return
        elif name == ns:
            return
    raise Errno(EOPNOTSUPP)


def vfs_getxattr(inode: "Inode", name: bytes, cred: Optional["Cred"], admin: bool) -> bytes:
    xattr_permission(inode, name, MAY_READ, cred, admin)
    resolve_name(inode, name)
    if name in (POSIX_ACL_ACCESS, POSIX_ACL_DEFAULT) and S.S_ISLNK(inode.mode):
        raise Errno(EOPNOTSUPP)     # posix_acl_xattr_get: symlinks have no ACLs
    return inode.xattr_get(name)


def vfs_setxattr(inode: "Inode", name: bytes, value: Optional[bytes], flags: int,
                 cred: Optional["Cred"], admin: bool) -> None:
    """Set (value bytes) or remove (value None: removexattr, which is set with XATTR_REPLACE)."""
    xattr_permission(inode, name, MAY_WRITE, cred, admin)
    # No CAP_SYS_ADMIN check for security.*: commoncap's cap_inode_setxattr would give EPERM,
    # but the oracle's 6.1 (a BPF LSM whose default hook answers 0 first) lets the write through.
    resolve_name(inode, name)
    inode.xattr_set(name, value, flags)


def vfs_listxattr(inode: "Inode", admin: bool) -> list[bytes]:
    """Every name the caller may see: trusted.* only for CAP_SYS_ADMIN (the handlers' list())."""
    if not inode.sb.xattr_namespaces:
        return []
    return [n for n in inode.xattr_list() if admin or not n.startswith(TRUSTED)]


class SimpleXattrs:
    """Linux 6.1's simple_xattrs (tmpfs, kernfs): a list, newest first (list_add)."""

    def __init__(self) -> None:
        self.items: list[tuple[bytes, bytes]] = []

    def get(self, name: bytes) -> bytes:
        for n, v in self.items:
            if n == name:
                return v
        raise Errno(ENODATA)

    def set(self, name: bytes, value: Optional[bytes], flags: int) -> None:
        """simple_xattr_set: EEXIST with XATTR_CREATE, ENODATA replacing or removing a missing one."""
        for i, (n, _) in enumerate(self.items):
            if n == name:
                if flags & XATTR_CREATE:
                    raise Errno(EEXIST)
                if value is None:
                    del self.items[i]
                else:
                    self.items[i] = (name, value)
                return
        if flags & XATTR_REPLACE or value is None:
            raise Errno(ENODATA)
        self.items.insert(0, (name, value))

    def names(self) -> list[bytes]:
        return [n for n, _ in self.items]
