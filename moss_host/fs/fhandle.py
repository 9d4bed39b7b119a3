"""File handles (Linux 6.1's fs/fhandle.c over fs/exportfs): a filesystem that can name its
inodes in a few bytes (its s_export_op) encodes one, and finds the inode again from those
bytes alone, whatever path led to it. name_to_handle_at and open_by_handle_at are the
syscalls (syscalls/fhandle.py); this module is what they call.

A filesystem says how in `ExportOps` (Superblock.export_op; None: no file handles, as
procfs, sysfs, devpts and pipefs). A handle names an inode, not a path: decoding finds a
dentry of it in the filesystem's cached tree (d_find_alias) or, failing that, a detached
one (d_obtain_alias's disconnected dentry) that lookups never reach.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, NamedTuple, Optional

from ..errors import EOPNOTSUPP, ESTALE, Errno
from .drivers.procfs.mounts import mount_id
from .vfs import Dentry, Inode, Location

if TYPE_CHECKING:
    from .vfs import Superblock

MAX_HANDLE_SZ = 128
FILEID_INO32_GEN = 1            # include/linux/exportfs.h: 32-bit inode number and generation
FILEID_INVALID = 0xFF           # what an encoder answers when the buffer is too small


class Encoded(NamedTuple):
    """An encoder's answer: the handle type (FILEID_INVALID: the room was too small) and its
    32-bit words, or the number of words it needs."""
    fh_type: int
    words: tuple[int, ...]
    needed: int


class ExportOps:
    """A filesystem's export operations (Linux's struct export_operations).

    The default encoder is Linux's export_encode_fh: FILEID_INO32_GEN, the inode number and
    its generation in two words. Drivers override `generation`, `find_inode` and, when their
    handles look different, `encode`."""

    def generation(self, inode: Inode) -> int:
        """The inode's i_generation (a number the filesystem gives each new inode)."""
        return 0

    def encode(self, inode: Inode, max_words: int) -> Encoded:
        if max_words < 2:
            return Encoded(FILEID_INVALID, (), 2)
        return Encoded(FILEID_INO32_GEN, (inode.ino & 0xFFFF_FFFF, self.generation(inode)), 2)

    def find_inode(self, sb: "Superblock", words: tuple[int, ...], fh_type: int) -> Optional[Inode]:
        """fh_to_dentry's inode, or None (the handle is stale or not this filesystem's)."""
        return None


def name_to_handle(loc: Location, max_bytes: int) -> tuple[int, bytes, int, int]:
    """do_sys_name_to_handle after the copy-in: (handle_type, handle, handle_bytes to store,
    mount id); EOPNOTSUPP where the filesystem has no export operations. A handle that does
    not fit in max_bytes comes back empty with handle_bytes the size needed: the caller
    answers EOVERFLOW."""
    ops = loc.mount.sb.export_op
    if ops is None:
        raise Errno(EOPNOTSUPP)
    enc = ops.encode(loc.inode, max_bytes >> 2)
    needed = enc.needed * 4
    if enc.fh_type == FILEID_INVALID or needed > max_bytes:
        return enc.fh_type, b"", needed, mount_id(loc.mount)
    raw = b"".join(w.to_bytes(4, "little") for w in enc.words)
    return enc.fh_type, raw, needed, mount_id(loc.mount)


def handle_to_location(mount_loc: Location, fh_type: int, raw: bytes) -> Location:
    """exportfs_decode_fh on the mount of mount_loc: where the handle leads, or ESTALE (a
    handle of a gone inode, of another filesystem, or on a filesystem without handles)."""
    mount = mount_loc.mount
    ops = mount.sb.export_op
    if ops is None:
        raise Errno(ESTALE)
    words = tuple(int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw) & ~3, 4))
    inode = ops.find_inode(mount.sb, words, fh_type)
    if inode is None:
        raise Errno(ESTALE)
    alias = find_alias(mount.sb.root_dentry, inode)
    if not mount.root.is_ancestor_of(alias):
        # Outside a bind mount's subtree: Linux 6.1 opens it all the same, but moss-py's
        # paths (vfs.path_of) cannot name a dentry its mount does not reach: stale here.
        raise Errno(ESTALE)
    return Location(mount, alias)


def find_alias(root: Dentry, inode: Inode) -> Dentry:
    """A cached dentry of inode (d_find_alias), else a detached one (a disconnected alias:
    its parent is the filesystem's root, which does not list it)."""
    for d in _cached(root):
        if d.inode is inode:
            return d
    alias = Dentry(b"", inode, root)
    alias.unlinked = inode.nlink == 0
    return alias


def _cached(root: Dentry) -> Iterator[Dentry]:
    stack = [root]
    while stack:
        d = stack.pop()
        yield d
        stack.extend(d.children.values())
