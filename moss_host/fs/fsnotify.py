"""File-change notification (Linux's fsnotify): the VFS reports what happens to files here, and
every watch (an inotify mark) on the inodes involved gets the event.

The VFS calls these at its own operations, not in drivers, so tmpfs, ext4 and FAT all
report alike: vfs_create/mkdir/symlink/link -> created(), vfs_unlink/rmdir -> deleted(),
vfs_rename -> moved(), open/read/write/close of an InodeFile and the attribute syscalls ->
on_file(). An event about a file goes first to its parent directory's marks, named by the
file's name (fsnotify_parent), then to the file's own marks. A file's marks go, with
IN_DELETE_SELF and IN_IGNORED, when its last link goes and nothing holds it open.

Each hook starts by looking whether any mark is there to tell: an unwatched file (nearly
every file) costs an attribute test or two.
"""
from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Optional, Protocol

if TYPE_CHECKING:
    from .vfs import Dentry, Inode, Superblock

IN_ACCESS, IN_MODIFY, IN_ATTRIB = 0x1, 0x2, 0x4
IN_CLOSE_WRITE, IN_CLOSE_NOWRITE, IN_OPEN = 0x8, 0x10, 0x20
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF = 0x400, 0x800
IN_UNMOUNT, IN_Q_OVERFLOW, IN_IGNORED = 0x2000, 0x4000, 0x8000
IN_ALL_EVENTS = 0xFFF
IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK = 0x0100_0000, 0x0200_0000, 0x0400_0000
IN_MASK_CREATE, IN_MASK_ADD, IN_ISDIR, IN_ONESHOT = 0x1000_0000, 0x2000_0000, 0x4000_0000, 0x8000_0000

_cookies = itertools.count(1)          # fsnotify_get_cookie: one per rename, shared by FROM and TO
# The inodes that have marks, for unmount (Linux walks the superblock's inodes instead);
# empty while nobody watches anything, which hot paths test before calling in here.
watched: dict[int, "Inode"] = {}


class Listener(Protocol):
    """Who owns marks (an inotify instance): it queues events and hears of marks going away."""

    def queue_event(self, wd: int, mask: int, cookie: int, name: bytes) -> None: ...

    def mark_gone(self, mark: "Mark") -> None: ...


class Mark:
    """One watch of one inode by one listener (an inotify watch descriptor)."""

    def __init__(self, listener: Listener, inode: "Inode", wd: int, mask: int):
        self.listener = listener
        self.inode = inode
        self.wd = wd
        self.mask = mask

    def attach(self) -> None:
        if self.inode.fsnotify_marks is None:
            self.inode.fsnotify_marks = []
            watched[id(self.inode)] = self.inode
        self.inode.fsnotify_marks.append(self)

    def forget(self) -> None:
        """Stop watching without a word (the listener itself is going)."""
        marks = self.inode.fsnotify_marks
        if marks is not None and self in marks:
            marks.remove(self)
            if not marks:
                self.inode.fsnotify_marks = None
                watched.pop(id(self.inode), None)

    def detach(self) -> None:
        """Stop watching and tell the listener with IN_IGNORED (inotify_freeing_mark)."""
        marks = self.inode.fsnotify_marks
        if marks is not None and self in marks:
            self.forget()
            self.listener.queue_event(self.wd, IN_IGNORED, 0, b"")
            self.listener.mark_gone(self)


def _isdir(inode: "Inode") -> int:
    return IN_ISDIR if inode.is_dir else 0


def _send(inode: "Inode", mask: int, name: bytes = b"", cookie: int = 0, unlinked_child: bool = False) -> None:
    """Give the event to each of inode's marks that asked for it (IN_ONESHOT marks then go)."""
    marks = inode.fsnotify_marks
    if not marks:
        return
    for mark in list(marks):
        if not mark.mask & mask & IN_ALL_EVENTS:
            continue
        if unlinked_child and mark.mask & IN_EXCL_UNLINK:
            continue
        mark.listener.queue_event(mark.wd, mask, cookie, name)
        if mark.mask & IN_ONESHOT:
            mark.detach()


def on_file(dentry: "Dentry", mask: int) -> None:
    """Something happened to the file itself (open, read, write, close, attributes): its
    directory's marks hear it with its name, then its own marks."""
    inode = dentry.inode
    parent = dentry.parent
    watched_parent = parent is not dentry and parent.inode.fsnotify_marks
    if not (watched_parent or inode.fsnotify_marks):
        return
    mask |= _isdir(inode)
    if watched_parent:
        _send(parent.inode, mask, dentry.name, unlinked_child=dentry.unlinked)
    _send(inode, mask)


def created(dir: "Inode", name: bytes, inode: "Inode") -> None:
    """fsnotify_create/mkdir: a new name in dir."""
    if dir.fsnotify_marks:
        _send(dir, IN_CREATE | _isdir(inode), name)


def linked(dir: "Inode", name: bytes, dentry: "Dentry") -> None:
    """fsnotify_link: the file's link count changed (IN_ATTRIB, to its own marks only), then the
    new name appeared."""
    _send(dentry.inode, IN_ATTRIB)
    created(dir, name, dentry.inode)


def deleted(dir: "Inode", victim: "Dentry", still_open: bool) -> None:
    """vfs_unlink/rmdir after the fact: IN_ATTRIB for the link count (files), the file's own
    IN_DELETE_SELF + IN_IGNORED if that was its last link and nothing holds it, then IN_DELETE
    in the directory (d_delete_notify's order)."""
    inode = victim.inode
    if not inode.is_dir:
        _send(inode, IN_ATTRIB)         # fsnotify_link_count: the file's own marks
    if inode.nlink == 0 or inode.is_dir:
        if not still_open:
            inode_gone(inode)
    if dir.fsnotify_marks:
        _send(dir, IN_DELETE | _isdir(inode), victim.name)


def inode_gone(inode: "Inode") -> None:
    """fsnotify_inoderemove: the file is gone for good; its marks end."""
    if inode.fsnotify_marks:
        _send(inode, IN_DELETE_SELF | _isdir(inode))
        for mark in list(inode.fsnotify_marks or ()):
            mark.detach()


def moved(old_dir: "Inode", old_name: bytes, new_dir: "Inode", new_name: bytes, inode: "Inode",
          replaced: Optional["Dentry"]) -> None:
    """fsnotify_move: MOVED_FROM and MOVED_TO with one cookie, IN_ATTRIB for a replaced file,
    IN_MOVE_SELF for the moved one."""
    if not (old_dir.fsnotify_marks or new_dir.fsnotify_marks or inode.fsnotify_marks or
            (replaced is not None and replaced.inode.fsnotify_marks)):
        return
    cookie = next(_cookies)
    isdir = _isdir(inode)
    _send(old_dir, IN_MOVED_FROM | isdir, old_name, cookie)
    _send(new_dir, IN_MOVED_TO | isdir, new_name, cookie)
    if replaced is not None and not replaced.inode.is_dir:
        _send(replaced.inode, IN_ATTRIB)
    _send(inode, IN_MOVE_SELF | isdir)


def unmounted(sb: "Superblock") -> None:
    """fsnotify_unmount_inodes: the filesystem's last mount went; every watch on its inodes
    hears IN_UNMOUNT (whatever it asked for), then ends with IN_IGNORED."""
    for inode in [i for i in watched.values() if i.sb is sb]:
        for mark in list(inode.fsnotify_marks or ()):
            mark.listener.queue_event(mark.wd, IN_UNMOUNT | _isdir(inode), 0, b"")
            mark.detach()
