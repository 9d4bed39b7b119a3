"""openat2's RESOLVE_* flags: a path walk that refuses what the caller excluded (Linux's
LOOKUP_NO_XDEV, LOOKUP_NO_MAGICLINKS, LOOKUP_NO_SYMLINKS, LOOKUP_BENEATH, LOOKUP_IN_ROOT and
LOOKUP_CACHED in fs/namei.c).

ScopedWalker is a Walker whose component steps check the flags; plain walks keep Walker's
own steps and pay nothing for them. Its walks are never put in the path cache (their answers
depend on the flags). The rules, as Linux 6.1:

  RESOLVE_NO_XDEV        crossing a mount point, down (a mount on a name) or up (".." off a
                         mount's root), an absolute symlink from another mount than the
                         root's, a magic link to another mount: EXDEV
  RESOLVE_NO_MAGICLINKS  a /proc/pid/fd-style link: ELOOP
  RESOLVE_NO_SYMLINKS    any symlink followed (magic ones too): ELOOP
  RESOLVE_BENEATH        the walk stays below the start directory: an absolute path or
                         symlink, ".." from the start, a magic link: EXDEV
  RESOLVE_IN_ROOT        the start directory is the root: "/" and ".." stop there; magic
                         links EXDEV
  RESOLVE_CACHED         served from the dentry cache only: a name not in it (a cold lookup,
                         a name that does not exist, a dynamic directory such as /proc's), a
                         symlink: EAGAIN (Linux leaves its RCU walk there and answers EAGAIN)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..errors import EAGAIN, ELOOP, EXDEV, Errno
from .path import MAXSYMLINKS, Parent, Walker
from .vfs import FsContext, Location, follow_mounts, parent_of

if TYPE_CHECKING:
    from ..cred import Cred
    from ..proc.task import Task

RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS = 0x01, 0x02, 0x04
RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_CACHED = 0x08, 0x10, 0x20
VALID_RESOLVE_FLAGS = (RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH
                       | RESOLVE_IN_ROOT | RESOLVE_CACHED)
SCOPED = RESOLVE_BENEATH | RESOLVE_IN_ROOT
_SELF = (b"", b".")            # a last component that names the directory itself


def scoped_walker(fs: FsContext, start: Location, flags: int, cred: Optional[Cred],
                  caller: Optional[Task]) -> ScopedWalker:
    """The walker for an openat2 from `start` (its dirfd or cwd): for BENEATH and IN_ROOT the
    start is also the walk's root (path_init's nd->root = nd->path)."""
    if flags & SCOPED:
        fs = FsContext(start, start, fs.umask)
    return ScopedWalker(fs, flags, cred, caller)


class ScopedWalker(Walker):
    """A Walker obeying RESOLVE_* `flags`."""

    def __init__(self, fs: FsContext, flags: int, cred: Optional[Cred] = None, caller: Optional[Task] = None):
        super().__init__(fs, cred, caller)
        self.flags = flags

    def resolve(self, start: Location, path: bytes, follow: bool = True) -> Location:
        return self._finish(self.resolve_parent(start, path), follow)

    def resolve_parent(self, start: Location, path: bytes) -> Parent:
        if path[:1] == b"/" and self.flags & RESOLVE_BENEATH:
            raise Errno(EXDEV)              # nd_jump_root
        return super().resolve_parent(start, path)

    def follow_parent(self, link: Location, dir: Location) -> Parent:
        self.links += 1
        if self.links > MAXSYMLINKS:
            raise Errno(ELOOP)
        if self.flags & RESOLVE_NO_SYMLINKS:
            raise Errno(ELOOP)              # pick_link
        if self.flags & RESOLVE_CACHED:
            raise Errno(EAGAIN)             # reading a link (and its atime) leaves the RCU walk
        target = link.inode.readlink()
        if target[:1] == b"/" and self.flags & RESOLVE_NO_XDEV and dir.mount is not self.fs.root.mount:
            raise Errno(EXDEV)              # nd_jump_root from another mount
        return self.resolve_parent(dir, target)

    def _magic_jump(self, link: Location) -> Optional[Location]:
        """nd_jump_link's refusals for a magic link, in its order; an ordinary one is None."""
        flags = self.flags
        if flags & RESOLVE_NO_SYMLINKS:
            raise Errno(ELOOP)              # pick_link, before the link is read
        jump = super()._magic_jump(link)
        if not link.inode.is_magic_link():
            return jump
        if flags & RESOLVE_NO_MAGICLINKS:
            raise Errno(ELOOP)
        if flags & RESOLVE_NO_XDEV and (jump is None or jump.mount is not link.mount):
            raise Errno(EXDEV)              # a named file: (almost) never on /proc's mount
        if flags & SCOPED:
            raise Errno(EXDEV)
        if flags & RESOLVE_CACHED:
            raise Errno(EAGAIN)
        return jump

    def _step(self, cur: Location, name: bytes) -> Location:
        self._enter(cur)
        if name == b".":
            return cur
        if name == b"..":
            return self._dotdot(cur)
        loc = self._child(cur, name)
        if loc.dentry.inode.is_symlink:
            jump = self._magic_jump(loc)
            loc = jump if jump is not None else self._finish(self.follow_parent(loc, cur), follow=True)
        return loc

    def _last(self, parent: Parent) -> Location:
        name = parent.name
        if name in _SELF:
            return parent.dir
        if name == b"..":
            return self._dotdot(parent.dir)
        return self._child(parent.dir, name)

    def _dotdot(self, cur: Location) -> Location:
        """follow_dotdot: ".." of the root stays (IN_ROOT) or is EXDEV (BENEATH); leaving a
        mount is EXDEV under NO_XDEV."""
        root = self.fs.root
        if cur == root:
            if self.flags & RESOLVE_BENEATH:
                raise Errno(EXDEV)
            return cur
        up = parent_of(cur, root)
        if self.flags & RESOLVE_NO_XDEV and up.mount is not cur.mount:
            raise Errno(EXDEV)
        return up

    def _child(self, cur: Location, name: bytes) -> Location:
        """A real child of cur; from the dentry cache only under RESOLVE_CACHED, and not into a
        mount under RESOLVE_NO_XDEV (traverse_mounts)."""
        if self.flags & RESOLVE_CACHED:
            children = cur.dentry.children
            if type(children) is not dict or name not in children:
                raise Errno(EAGAIN)
        loc = Location(cur.mount, cur.dentry.lookup(name, self.caller))
        down = follow_mounts(loc)
        if down is not loc and self.flags & RESOLVE_NO_XDEV:
            raise Errno(EXDEV)
        return down
