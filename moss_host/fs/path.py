"""Path walk: turn a path string into a Location, the way Linux's namei does.

Rules (path_resolution(7)):
  * absolute paths start at the process root, relative ones at a start directory
    (the cwd or a dirfd);
  * "." stays, ".." goes up but never above the process root, and crosses mounts;
  * every directory passed through needs search (x) permission, else EACCES;
    a non-directory in the middle is ENOTDIR, a missing one ENOENT;
  * symlinks in the middle are always followed, the last one only when asked
    or when the path ends in "/"; at most 40 per resolution, then ELOOP;
  * a trailing "/" means the result must be a directory (ENOTDIR otherwise);
  * a component longer than 255 bytes, or a path of 4096 bytes or more, is ENAMETOOLONG.

A successful resolve() is remembered in dcache.CACHE (see dcache.py for what invalidates
it); a hit re-checks the search permission of the directories the walk passed through.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..cred import Cred
from ..errors import ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, Errno
from .dcache import CACHE, Entry
from .vfs import MAY_EXEC, PATH_MAX, FsContext, Location, child_of, parent_of, permission

if TYPE_CHECKING:
    from ..proc.task import Task
    from .vfs import Inode

MAXSYMLINKS = 40
_SELF = (b"", b".")            # a last component that names the directory itself


@dataclass(slots=True)
class Parent:
    """A path split into its resolved directory and its last component, unresolved.

    `name` is b"." or b".." if the path ended so, and b"" if the path named the root ("/").
    `slash` records a trailing "/" (the caller must want a directory).
    """
    dir: Location
    name: bytes
    slash: bool


class Walker:
    """One path resolution (Linux's nameidata): every symlink it follows counts against one budget.

    `cred` is who the permission checks are for (None: the kernel itself, allowed
    everywhere); `caller` is the task walking (None: the kernel), which names like
    /proc/self depend on.
    """

    def __init__(self, fs: FsContext, cred: Optional[Cred] = None, caller: Optional[Task] = None):
        self.fs = fs
        self.cred = cred
        self.caller = caller
        self.links = 0
        # For the path cache: the directories searched so far (in order), and how many
        # steps went through names that must not be remembered (procfs, magic links).
        self.searched: list[Inode] = []
        self.dynamic = 0

    def resolve(self, start: Location, path: bytes, follow: bool = True) -> Location:
        """The Location `path` names; follow=False leaves a final symlink unfollowed (unless a "/" ends the path)."""
        root = self.fs.root
        if path[:1] == b"/":
            start = root                    # an absolute path does not depend on where it starts
        key = (start.mount, start.dentry, root.mount, root.dentry, path, follow)
        hit = CACHE.entries.get(key)
        if hit is not None and self.links + hit.links <= MAXSYMLINKS:
            return self._replay(hit)
        first, dynamic = len(self.searched), self.dynamic
        links = self.links
        loc = self._finish(self.resolve_parent(start, path), follow)
        if self.dynamic == dynamic:
            CACHE.put(key, Entry(loc, tuple(self.searched[first:]), self.links - links))
        return loc

    def _replay(self, hit: Entry) -> Location:
        """A remembered walk: only the permission checks are redone (in the walk's order,
        so the first directory refused is the one the walk would have refused)."""
        cred = self.cred
        if cred is not None:
            for inode in hit.searched:
                permission(inode, cred, MAY_EXEC)
        self.searched += hit.searched
        self.links += hit.links
        return hit.result

    def resolve_parent(self, start: Location, path: bytes) -> Parent:
        """Resolve all but the last component of `path` (which must be non-empty)."""
        if not path:
            raise Errno(ENOENT)
        if len(path) >= PATH_MAX:
            raise Errno(ENAMETOOLONG)
        cur = self.fs.root if path[:1] == b"/" else start
        names = path.split(b"/")
        if b"" in names:                    # a leading, trailing or doubled "/"
            names = [n for n in names if n]
            if not names:
                return Parent(cur, b"", False)
        last = names.pop()
        for name in names:
            cur = self._step(cur, name)
        self._enter(cur)
        return Parent(cur, last, path.endswith(b"/"))

    def follow_parent(self, link: Location, dir: Location) -> Parent:
        """Count one symlink and resolve its target, relative to the directory holding it, up to its last component."""
        self.links += 1
        if self.links > MAXSYMLINKS:
            raise Errno(ELOOP)
        target = link.inode.readlink()
        return self.resolve_parent(dir, target)

    def _enter(self, dir: Location) -> None:
        """We are about to look a name up in `dir`: it must be a directory we may search."""
        inode = dir.dentry.inode
        if not inode.is_dir:
            raise Errno(ENOTDIR)
        self.searched.append(inode)
        if self.cred is not None:           # None: the kernel itself, allowed everywhere
            permission(inode, self.cred, MAY_EXEC)

    def _step(self, cur: Location, name: bytes) -> Location:
        """One intermediate component; a symlink there is always followed."""
        self._enter(cur)
        if name == b".":
            return cur
        if name == b"..":
            return parent_of(cur, self.fs.root)
        if type(cur.dentry.children) is not dict:
            self.dynamic += 1                # procfs: names change without the VFS knowing
        loc = child_of(cur, name, self.caller)
        if loc.dentry.inode.is_symlink:
            jump = self._magic_jump(loc)
            loc = jump if jump is not None else self._finish(self.follow_parent(loc, cur), follow=True)
        return loc

    def _magic_jump(self, link: Location) -> Optional[Location]:
        """Where a /proc/pid/fd link leads without reading it (counted as a link), or None."""
        jump = link.inode.magic_jump()
        if jump is not None:
            self.dynamic += 1
            self.links += 1
            if self.links > MAXSYMLINKS:
                raise Errno(ELOOP)
        return jump

    def _finish(self, parent: Parent, follow: bool) -> Location:
        """Resolve the last component, following symlinks if asked or if a trailing "/" demands a directory."""
        must_be_dir = parent.slash
        while True:
            loc = self._last(parent)
            if not (loc.dentry.inode.is_symlink and (follow or must_be_dir)):
                break
            jump = self._magic_jump(loc)
            if jump is not None:
                loc = jump
                break
            parent = self.follow_parent(loc, parent.dir)
            must_be_dir |= parent.slash
        if must_be_dir and not loc.inode.is_dir:
            raise Errno(ENOTDIR)
        return loc

    def _last(self, parent: Parent) -> Location:
        """Look up the last component of an already resolved parent."""
        name = parent.name
        if name in _SELF:
            return parent.dir
        if name == b"..":
            return parent_of(parent.dir, self.fs.root)
        if type(parent.dir.dentry.children) is not dict:
            self.dynamic += 1
        return child_of(parent.dir, name, self.caller)


def lookup(fs: FsContext, path: bytes, start: Optional[Location] = None, follow: bool = True,
           cred: Optional[Cred] = None, caller: Optional[Task] = None) -> Location:
    """Resolve `path` for the kernel itself or for `cred`, relative to `start` (default: the cwd)."""
    return Walker(fs, cred, caller).resolve(start if start is not None else fs.cwd, path, follow)


def lookup_parent(fs: FsContext, path: bytes, start: Optional[Location] = None,
                  cred: Optional[Cred] = None, caller: Optional[Task] = None) -> Parent:
    return Walker(fs, cred, caller).resolve_parent(start if start is not None else fs.cwd, path)
