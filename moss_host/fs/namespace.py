"""Mounts and the mount namespace (Linux's fs/namespace.c): the mount table, the flags each
mount keeps, and the changes of the tree that mount(2) and umount2(2) make.

  Mount       a superblock attached at a dentry of another mount (Linux's vfsmount), with its
              per-mount MS_* flags (nosuid, nodev, noexec, the atime flags, ro).
  MountTable  a mount namespace: which mount covers which (mount, dentry).

The tree operations check Linux's rules and change the table: bind (with MS_REC, the
submounts too), move (with its submounts), pivot_root's swap, remount, detach (MNT_DETACH: a whole
subtree), busy checks, and letting a filesystem finish when its last mount goes. Enforcing a
mount's flags is the business of those who use the mount: open (nodev), exec (noexec),
the VFS (ro).

MS_* values are the mount(2) flags of <linux/mount.h>; this is their one home.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional

from ..errors import EACCES, EBUSY, EINVAL, ELOOP, ENOTDIR, Errno
from . import dcache, fsnotify
from .ns_inum import alloc_inum
from .vfs import Dentry, Location, Superblock

if TYPE_CHECKING:
    from .file import OpenFile
    from .vfs import FsContext

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_SYNCHRONOUS, MS_REMOUNT, MS_MANDLOCK, MS_DIRSYNC = 16, 32, 64, 128
MS_NOSYMFOLLOW, MS_NOATIME, MS_NODIRATIME = 256, 1024, 2048
MS_BIND, MS_MOVE, MS_REC, MS_SILENT = 4096, 8192, 16384, 32768
MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED = 1 << 17, 1 << 18, 1 << 19, 1 << 20
MS_RELATIME, MS_STRICTATIME, MS_LAZYTIME = 1 << 21, 1 << 24, 1 << 25
MS_NOUSER = 1 << 31
MS_MGC_VAL, MS_MGC_MSK = 0xC0ED0000, 0xFFFF0000
MS_PROPAGATION = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE
# What a mount keeps (Linux's MNT_* flags, in MS_* terms).
MNT_FLAGS = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_NOSYMFOLLOW
ATIME_FLAGS = MS_NOATIME | MS_RELATIME | MS_STRICTATIME
DEFAULT_MNT_FLAGS = MS_RELATIME                 # what a mount gets without an atime flag

# The fd mount API's MOUNT_ATTR_* (fsmount, mount_setattr); the atime ones are a 3-bit enum
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC = 0x1, 0x2, 0x4, 0x8
MOUNT_ATTR__ATIME, MOUNT_ATTR_RELATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_STRICTATIME = 0x70, 0x0, 0x10, 0x20
MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_IDMAP, MOUNT_ATTR_NOSYMFOLLOW = 0x80, 0x100000, 0x200000
FSMOUNT_VALID_FLAGS = (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC
                       | MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW)
_MS_OF_ATTR = ((MOUNT_ATTR_RDONLY, MS_RDONLY), (MOUNT_ATTR_NOSUID, MS_NOSUID), (MOUNT_ATTR_NODEV, MS_NODEV),
               (MOUNT_ATTR_NOEXEC, MS_NOEXEC), (MOUNT_ATTR_NODIRATIME, MS_NODIRATIME),
               (MOUNT_ATTR_NOSYMFOLLOW, MS_NOSYMFOLLOW))


def ms_of_attr(attr: int) -> int:
    """The MS_* twins of MOUNT_ATTR_* bits (the atime enum aside)."""
    out = 0
    for a, ms in _MS_OF_ATTR:
        if attr & a:
            out |= ms
    return out


# umount2(2) flags
MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW = 1, 2, 4, 8

# statfs f_flags (ST_*), from a mount's MS_* flags
ST_RDONLY, ST_NOSUID, ST_NODEV, ST_NOEXEC, ST_SYNCHRONOUS, ST_VALID = 1, 2, 4, 8, 16, 0x20
ST_MANDLOCK, ST_NOATIME, ST_NODIRATIME, ST_RELATIME, ST_NOSYMFOLLOW = 0x40, 0x400, 0x800, 0x1000, 0x2000
_ST_OF_MS = ((MS_RDONLY, ST_RDONLY), (MS_NOSUID, ST_NOSUID), (MS_NODEV, ST_NODEV), (MS_NOEXEC, ST_NOEXEC),
             (MS_NOATIME, ST_NOATIME), (MS_NODIRATIME, ST_NODIRATIME), (MS_RELATIME, ST_RELATIME),
             (MS_NOSYMFOLLOW, ST_NOSYMFOLLOW))


# ---------------------------------------------------------------- mounts

class Mount:
    """A superblock attached to the tree; parent/mountpoint are None for the namespace root."""

    def __init__(self, ns: MountTable, sb: Superblock, parent: Optional[Mount],
                 mountpoint: Optional[Dentry], read_only: bool = False, flags: int = DEFAULT_MNT_FLAGS):
        self.ns = ns
        self.sb = sb
        self.root: Dentry = sb.root_dentry
        self.parent = parent
        self.mountpoint = mountpoint
        self.read_only = read_only
        self.flags = flags              # the MS_* bits kept (MNT_FLAGS; ms_flags() has the live MS_RDONLY)
        self.expiry_mark = False        # umount2(MNT_EXPIRE) asked once: the next ask unmounts

    @property
    def is_read_only(self) -> bool:
        return self.read_only or self.sb.read_only

    def ms_flags(self) -> int:
        """The MS_* bits this mount carries, MS_RDONLY as it is now."""
        return (self.flags | MS_RDONLY) if self.is_read_only else (self.flags & ~MS_RDONLY)

    def set_flags(self, flags: int, remount: bool = False) -> None:
        """Store mount(2)'s flags; without an atime flag a new mount gets relatime, a remount keeps its own."""
        if not flags & (ATIME_FLAGS | MS_NODIRATIME):
            flags |= (self.ms_flags() & (ATIME_FLAGS | MS_NODIRATIME)) if remount else DEFAULT_MNT_FLAGS
        flags &= ~MS_STRICTATIME
        self.flags = flags & MNT_FLAGS
        self.read_only = bool(flags & MS_RDONLY)

    def statfs_flags(self) -> int:
        """statfs's f_flags: ST_VALID and the ST_* twin of each MS_* flag the mount carries."""
        flags = self.ms_flags()
        out = ST_VALID
        for ms, st in _ST_OF_MS:
            if flags & ms:
                out |= st
        return out

    def is_root(self, where: Location) -> bool:
        """Whether `where` is this mount's root (what mount/umount of a mount point require)."""
        return where.mount is self and where.dentry is self.root


class MountTable:
    """A mount namespace: which mount covers which (mount, dentry).

    `root_flags` are the root mount's MS_* flags: none for Linux's rootfs (a kernel mount,
    made without MNT_RELATIME), DEFAULT_MNT_FLAGS for a root the kernel mounts from a disk
    as init_mount does (path_mount's relatime)."""

    def __init__(self, root_sb: Superblock, root_flags: int = 0, anon: bool = False):
        self.root = Mount(self, root_sb, None, None, flags=root_flags)
        self._covered: dict[tuple[Mount, Dentry], Mount] = {}
        self.anon = anon                # a detached tree of fsmount/open_tree (an anonymous namespace)
        self.inum = 0 if anon else alloc_inum()     # its nsfs inode (alloc_mnt_ns: none for an anonymous one)

    @classmethod
    def detached(cls, src: Mount, root: Dentry, recursive: bool) -> MountTable:
        """A detached copy of src seen from `root` (open_tree's OPEN_TREE_CLONE; with AT_RECURSIVE
        the mounts below too): an anonymous namespace whose root mount is the copy."""
        t = cls(src.sb, src.ms_flags() & ~MS_RDONLY, anon=True)
        t.root.root = root
        t.root.read_only = src.read_only
        if recursive:
            t._copy_children(src, t.root, root)
        return t

    def copy(self) -> tuple[MountTable, dict[Mount, Mount]]:
        """copy_mnt_ns: a new namespace with a copy of every mount (same superblocks, flags and
        places); the map from each mount to its copy, for the caller's root and cwd."""
        new = MountTable(self.root.sb, self.root.flags)
        new.root.root, new.root.read_only = self.root.root, self.root.read_only
        copies = {self.root: new.root}
        todo = [self.root]
        while todo:
            m = todo.pop()
            for c in [c for c in self._covered.values() if c.parent is m]:
                assert c.mountpoint is not None
                twin = Mount(new, c.sb, copies[m], c.mountpoint, c.read_only, c.flags)
                twin.root = c.root
                new._covered[(copies[m], c.mountpoint)] = twin
                copies[c] = twin
                todo.append(c)
        return new, copies

    def _copy_children(self, src: Mount, dst: Mount, below: Dentry) -> None:
        for child in [c for c in src.ns.mounts() if c.parent is src and c.mountpoint is not None
                      and below.is_ancestor_of(c.mountpoint)]:
            assert child.mountpoint is not None
            m = Mount(self, child.sb, dst, child.mountpoint, child.read_only, child.flags)
            m.root = child.root
            self._covered[(dst, child.mountpoint)] = m
            self._copy_children(child, m, child.root)

    def graft(self, tree: MountTable, where: Location) -> Mount:
        """move_mount of a detached tree: its mounts join this namespace, its root at `where`."""
        m = tree.root
        for mount in tree.mounts():
            mount.ns = self
        self._covered.update(tree._covered)
        tree._covered.clear()
        self._attach(m, where.mount, where.dentry)
        return m

    def root_location(self) -> Location:
        return Location(self.root, self.root.root)

    def mount(self, sb: Superblock, at: Location, read_only: bool = False) -> Mount:
        """Attach sb on top of `at` (the caller resolved it, so it is already the topmost mount there)."""
        if not at.inode.is_dir:
            raise Errno(ENOTDIR)
        m = Mount(self, sb, at.mount, at.dentry, read_only)
        self._covered[(at.mount, at.dentry)] = m
        dcache.invalidate()
        return m

    def umount(self, m: Mount) -> None:
        if m.parent is None or m.mountpoint is None or self.has_children(m):
            raise Errno(EBUSY)
        del self._covered[(m.parent, m.mountpoint)]
        dcache.invalidate()

    def covering(self, loc: Location) -> Optional[Mount]:
        return self._covered.get((loc.mount, loc.dentry))

    def is_mountpoint(self, mount: Mount, dentry: Dentry) -> bool:
        return (mount, dentry) in self._covered

    def mounts(self) -> list[Mount]:
        return [self.root, *self._covered.values()]

    def superblocks(self) -> list[Superblock]:
        """Each mounted filesystem once, in mount order."""
        return list({id(m.sb): m.sb for m in self.mounts()}.values())

    def has_children(self, m: Mount) -> bool:
        return any(c.parent is m for c in self._covered.values())

    # -- the changes mount(2) makes

    def bind(self, src: Mount, root: Dentry, where: Location, recursive: bool) -> Mount:
        """A new mount showing src's tree from dentry `root`, at `where`; with MS_REC the mounts
        below `root` are copied onto the same dentries of the new mount (mount --rbind).
        The mounts to copy are taken before the new one exists (copy_tree): a tree bound onto a
        place inside itself copies what was there, not itself over and over."""
        children = [c for c in self.mounts() if c.parent is src and c.mountpoint is not None
                    and root.is_ancestor_of(c.mountpoint)] if recursive else []
        m = self.mount(src.sb, where, read_only=src.read_only)
        m.root = root
        m.flags = src.ms_flags() & ~MS_RDONLY
        for child in children:
            assert child.mountpoint is not None
            self.bind(child, child.root, Location(m, child.mountpoint), recursive)
        return m

    def move(self, old: Location, where: Location) -> Mount:
        """MS_MOVE of the mount whose root is `old`, with its submounts, to `where`: the same
        Mount is detached and attached there (so who stands in it stays there)."""
        m = old.mount
        if not m.is_root(old) or m.parent is None:
            raise Errno(EINVAL)
        if self.is_below(where, m):
            raise Errno(ELOOP)               # a mount cannot move below itself
        self._detach(m)
        self._attach(m, where.mount, where.dentry)
        return m

    def is_below(self, where: Location, m: Mount) -> bool:
        """Whether `where` lies in m or in a mount below it."""
        here: Optional[Mount] = where.mount
        while here is not None:
            if here is m:
                return True
            here = here.parent
        return False

    def pivot(self, root: Location, new: Location, old: Location) -> None:
        """pivot_root(2)'s tree change (the caller checked Linux's rules): the root's mount goes
        to `old`, the mount at `new` (with its submounts) to where the root's mount was."""
        root_mnt, new_mnt = root.mount, new.mount
        assert root_mnt.parent is not None and root_mnt.mountpoint is not None
        root_parent, root_mp = root_mnt.parent, root_mnt.mountpoint
        self._detach(new_mnt)
        self._detach(root_mnt)
        self._attach(root_mnt, old.mount, old.dentry)
        self._attach(new_mnt, root_parent, root_mp)

    def _detach(self, m: Mount) -> None:
        assert m.parent is not None and m.mountpoint is not None
        del self._covered[(m.parent, m.mountpoint)]
        dcache.invalidate()

    def _attach(self, m: Mount, parent: Mount, mountpoint: Dentry) -> None:
        m.parent, m.mountpoint = parent, mountpoint
        self._covered[(parent, mountpoint)] = m
        dcache.invalidate()

    # -- what umount2(2) removes

    def detach_tree(self, m: Mount) -> list[Mount]:
        """Unmount m and everything mounted below it, deepest first; the mounts removed."""
        gone = []
        for child in [c for c in self.mounts() if c.parent is m]:
            gone += self.detach_tree(child)
        self.umount(m)
        return gone + [m]

    def release(self, sb: Superblock, others: Iterable[MountTable] = ()) -> None:
        """A mount of sb is gone; if it was the last here and in the `others` namespaces still
        in use, the filesystem finishes (ext4 writes itself back clean)."""
        if not any(m.sb is sb for t in (self, *others) for m in t.mounts()):
            fsnotify.unmounted(sb)
            sb.unmount()


def remount(m: Mount, flags: int, read_only: bool) -> None:
    """MS_REMOUNT: new superblock flags (ro/rw) and mount flags. Going read-only writes back first."""
    sb = m.sb
    if read_only and not sb.read_only:
        sb.remount_read_only()
    elif not read_only and sb.read_only:
        if sb.blockdev is not None and sb.blockdev.read_only:
            raise Errno(EACCES)
        sb.read_only = False
        sb.mark_mounted()
    m.set_flags(flags, remount=True)


def is_busy(m: Mount, places: Iterable[FsContext], files: Iterable[OpenFile]) -> bool:
    """Is anything using mount m: a working or root directory (places), or an open file?"""
    for fs in places:
        if fs.cwd.mount is m or fs.root.mount is m:
            return True
    for f in files:
        if f.location is not None and f.location.mount is m:
            return True
    return False


def is_reachable(loc: Location, root: Location) -> bool:
    """is_path_reachable: whether loc lies at or below root, following mounts up."""
    m, d = loc.mount, loc.dentry
    while m is not root.mount:
        parent, mountpoint = m.parent, m.mountpoint
        if parent is None or mountpoint is None:
            return False
        m, d = parent, mountpoint
    return root.dentry.is_ancestor_of(d)


def chroot_refs(old_root: Location, new_root: Location, places: Iterable[FsContext]) -> None:
    """After pivot_root: processes whose root or working directory was the old root get the new one."""
    for fs in places:
        if fs.root == old_root:
            fs.root = new_root
        if fs.cwd == old_root:
            fs.cwd = new_root


def enter_copy(fs: FsContext, copies: dict[Mount, Mount]) -> None:
    """After unshare(CLONE_NEWNS): the caller's root and cwd are the same places in the copies."""
    if fs.root.mount in copies:
        fs.root = Location(copies[fs.root.mount], fs.root.dentry)
    if fs.cwd.mount in copies:
        fs.cwd = Location(copies[fs.cwd.mount], fs.cwd.dentry)
