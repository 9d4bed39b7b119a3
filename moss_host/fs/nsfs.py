"""nsfs (fs/nsfs.c): the inodes that stand for namespaces. /proc/PID/ns/<kind> leads to one;
its inode number is the namespace's (proc_alloc_inum), which readlink shows as "uts:[N]" and
fstat as st_ino, so tools compare namespaces by it; setns(2) takes an open one."""
from __future__ import annotations

import stat as S
from typing import TYPE_CHECKING, Optional, Union

from moss_host.utsname import UtsNamespace

from .file import InodeFile
from .vfs import Dentry, Inode, Location, alloc_internal_dev

if TYPE_CHECKING:
    from .namespace import MountTable

NSFS_DEV = alloc_internal_dev()


Namespace = Union["MountTable", UtsNamespace]


class NsInode(Inode):
    """One namespace's nsfs inode: S_IFREG, read-only to everyone, numbered as the namespace."""

    def __init__(self, sb, kind: str, ns: Namespace, inum: int):
        super().__init__(sb, S.S_IFREG | 0o444, ino=inum)
        self.kind = kind            # "mnt", "uts": the name of its /proc/PID/ns link
        self.ns = ns


class _NsMount:
    """The internal mount nsfs inodes live on, made at first use."""
    root: Optional[Location] = None

    @classmethod
    def location(cls) -> Location:
        if cls.root is None:
            from .drivers.tmpfs import Tmpfs
            from .namespace import MountTable      # here: namespace.py imports file.py, which we need
            cls.root = MountTable(Tmpfs(mode=0o555, dev=NSFS_DEV)).root_location()
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

