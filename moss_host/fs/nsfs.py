"""nsfs (fs/nsfs.c): the inodes that stand for namespaces. /proc/PID/ns/<kind> leads to one;
its inode number is the namespace's (proc_alloc_inum), which readlink shows as "uts:[N]" and
fstat as st_ino, so tools compare namespaces by it; setns(2) takes an open one, and its
ioctls (NS_GET_NSTYPE, NS_GET_USERNS, ...) answer what lsns and nsenter ask."""
from __future__ import annotations

import stat as S
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Union

from moss_host.errors import EINVAL, ENOTTY, EPERM, Errno
from moss_host.utsname import UtsNamespace

from .file import InodeFile
from .vfs import Dentry, Inode, Location, alloc_internal_dev

if TYPE_CHECKING:
    from .namespace import MountTable

NSFS_DEV = alloc_internal_dev()

# linux/nsfs.h
NS_GET_USERNS, NS_GET_PARENT, NS_GET_NSTYPE, NS_GET_OWNER_UID = 0xB701, 0xB702, 0xB703, 0xB704
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWUSER = 0x00020000, 0x04000000, 0x10000000
KIND_FLAG = {"mnt": CLONE_NEWNS, "uts": CLONE_NEWUTS, "user": CLONE_NEWUSER}


@dataclass(frozen=True)
class UserNamespace:
    """The initial user namespace, the only one: no /proc/PID/ns link shows it (no
    CONFIG_USER_NS), but NS_GET_USERNS names it as every namespace's owner, as tools ask."""
    inum: int = 0xEFFFFFFD          # PROC_USER_INIT_INO


INIT_USER_NS = UserNamespace()
Namespace = Union["MountTable", UtsNamespace, UserNamespace]


class NsInode(Inode):
    """One namespace's nsfs inode: S_IFREG, read-only to everyone, numbered as the namespace."""

    def __init__(self, sb, kind: str, ns: Namespace, inum: int):
        super().__init__(sb, S.S_IFREG | 0o444, ino=inum)
        self.kind = kind            # "mnt", "uts", "user": the name of its /proc/PID/ns link
        self.ns = ns

    def file_ioctl(self, task, cmd: int, arg: int) -> int:
        """ns_ioctl: the namespace's type, its owning user namespace (a new descriptor; EPERM
        for the initial user namespace, which has no owner), its parent (EINVAL: none of these
        is hierarchical but the user namespace, whose initial one has none: EPERM), a user
        namespace's owner uid."""
        user = self.kind == "user"
        if cmd == NS_GET_NSTYPE:
            return KIND_FLAG[self.kind]
        if cmd in (NS_GET_USERNS, NS_GET_PARENT):
            if user:
                raise Errno(EPERM)
            if cmd == NS_GET_PARENT:
                raise Errno(EINVAL)
            f = InodeFile(ns_location("user", INIT_USER_NS, INIT_USER_NS.inum), 0)
            return task.files.install(f, cloexec=True)
        if cmd == NS_GET_OWNER_UID:
            if not user:
                raise Errno(EINVAL)
            task.mm.write(arg, struct.pack("<I", 0))
            return 0
        raise Errno(ENOTTY)


class _NsMount:
    """The internal mount nsfs inodes live on, made at first use."""
    root: Optional[Location] = None

    @classmethod
    def location(cls) -> Location:
        if cls.root is None:
            from .drivers.tmpfs import Tmpfs
            from .namespace import MountTable      # here: namespace.py imports file.py, which we need
            sb = Tmpfs(mode=0o555, dev=NSFS_DEV)
            sb.export_op = None                     # nsfs has no file handles (Linux 6.1)
            cls.root = MountTable(sb).root_location()
        return cls.root


def ns_location(kind: str, ns: Namespace, inum: int) -> Location:
    """Where following /proc/PID/ns/<kind> leads (ns_get_path): the namespace's inode."""
    root = _NsMount.location()
    name = b"%s:[%d]" % (kind.encode(), inum)
    # A dentry of its own, not in the root's children: no lookup finds it.
    return Location(root.mount, Dentry(name, NsInode(root.mount.sb, kind, ns, inum), root.dentry))


def ns_of(f: object) -> Optional[NsInode]:
    """The namespace inode an open file is on (setns's proc_ns_file), or None."""
    if isinstance(f, InodeFile) and isinstance(f.location.inode, NsInode):
        return f.location.inode
    return None

