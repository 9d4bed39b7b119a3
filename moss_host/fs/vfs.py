"""The VFS core: inodes, superblocks, dentries, positions in the tree, the per-process FsContext,
and the namespace operations (create, mkdir, unlink, rename, ...) that check
Linux's rules before asking a filesystem driver to act.

Layers, as in Linux:
  Inode       one file object of one filesystem; a driver subclasses it. Synchronous:
              nothing here sleeps (a driver that must read a disk does it inline).
  Superblock  one mounted filesystem instance; owns the device number and the root inode.
  Dentry      a name -> inode binding, cached, with a parent link; the cache makes a
              name stable so a mount can cover it and getcwd can walk back up.
  Location    (mount, dentry): a position in the tree (Linux's `struct path`); mounts and
              the mount table are namespace.py's.
  FsContext   a process's root, cwd and umask (Linux's fs_struct).

Names are bytes: Linux file names are byte strings, never decoded.
The vfs_* functions take a parent Location and a final name as the path walk
(path.py) produced it: the name may be b"." or b".." or b"" (the path named the
root), which each operation rejects with its own errno, as Linux does.
"""
from __future__ import annotations

import itertools
import stat as S
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, NamedTuple, Optional, Protocol

from ..clock import realtime_ns
from ..cred import CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, Cred
from ..errors import (EACCES, EBUSY, EEXIST, EINVAL, EISDIR, ENAMETOOLONG, ENODATA, ENOENT, ENOSYS, ENOTDIR,
                      ENOTEMPTY, ENOTTY, EOPNOTSUPP, EPERM, EROFS, EXDEV, Errno)
from . import dcache, fsnotify
from .stat import Stat, makedev

if TYPE_CHECKING:
    from ..mm.page_cache import FilePages
    from ..proc.task import Task
    from .blockdev import BlockDevice
    from .fhandle import ExportOps
    from .fsnotify import Mark
    from .locks import FileLocks
    from .namespace import Mount, MountTable
    from .pipe import Pipe

S_IFMT = 0o170000        # the file-type bits of a mode (Python's stat.S_IFMT is a function)
NAME_MAX = 255
PATH_MAX = 4096

MAY_EXEC, MAY_WRITE, MAY_READ = 1, 2, 4

RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
RENAME_WHITEOUT = 4

_SPECIAL_NAMES = (b".", b"..", b"")   # what a path's last component may be besides a real name


def now_ns() -> int:
    return realtime_ns()            # the guest's wall clock (clock_settime moves it)


# ---------------------------------------------------------------- credentials

class Owned(Protocol):
    """What permission() reads of a file: its mode and owner (an Inode, or the attributes of
    a file that lives in no filesystem)."""
    mode: int
    uid: int
    gid: int


def permission(inode: Owned, cred: Optional[Cred], mask: int) -> None:
    """Raise EACCES unless `cred` may access `inode` for `mask` (MAY_READ|MAY_WRITE|MAY_EXEC).

    cred None is the kernel itself (initramfs unpacking, boot): always allowed.
    Root bypasses read/write checks, and exec checks too unless no x bit is set on a non-directory.
    """
    if cred is None or mask == 0:
        return
    mode = inode.mode
    if cred.uid == inode.uid:
        bits = mode >> 6
    elif cred.in_group(inode.gid):
        bits = mode >> 3
    else:
        bits = mode
    if mask & ~bits & 7 and not _capable_wrt(mode, cred, mask & 7):
        raise Errno(EACCES)


def _capable_wrt(mode: int, cred: Cred, mask: int) -> bool:
    """generic_permission's capability overrides: CAP_DAC_READ_SEARCH reads and searches
    anything, CAP_DAC_OVERRIDE does everything but exec a file no x bit allows."""
    if S.S_ISDIR(mode):
        if not mask & MAY_WRITE and cred.capable(CAP_DAC_READ_SEARCH):
            return True
        return cred.capable(CAP_DAC_OVERRIDE)
    if (not mask & MAY_EXEC or mode & 0o111) and cred.capable(CAP_DAC_OVERRIDE):
        return True
    return mask == MAY_READ and cred.capable(CAP_DAC_READ_SEARCH)


# ---------------------------------------------------------------- superblock and inode

# Linux numbers anonymous devices as it needs them: 0:1 is its internal shmem mount, 0:2 the
# rootfs, then each filesystem in the order it is set up. The kernel's own pseudo filesystems
# (pipefs, host files, ttys opened without a node) count down from the top of the minor range
# instead, so the order modules happen to be imported in cannot shift the numbers that
# /proc/*/maps, mountinfo and stat show for mounted filesystems.
_anon_minor = itertools.count(2)
_internal_minor = itertools.count((1 << 20) - 1, -1)


def alloc_anon_dev() -> int:
    """A device number for a filesystem without a block device (major 0, like Linux's anon bdevs)."""
    return makedev(0, next(_anon_minor))


def alloc_internal_dev() -> int:
    """A device number for a kernel-internal pseudo filesystem, apart from the mounted ones."""
    return makedev(0, next(_internal_minor))


class StatFs(NamedTuple):
    """statfs(2)'s figures a filesystem reports (f_fsid and f_flags belong to the mount)."""
    f_type: int
    f_bsize: int
    f_blocks: int
    f_bfree: int
    f_bavail: int
    f_files: int
    f_ffree: int
    f_namelen: int
    f_frsize: int


class Superblock:
    """One filesystem instance. Drivers subclass it and set `root` to their root Inode.

    The defaults are those of a memory filesystem: no device, nothing to write back."""
    fstype = "none"             # the type name mount(2) and /proc/mounts use
    source = ""                 # the device /proc/mounts shows ("": the type name)
    mount_options = ""          # the filesystem's own options /proc/mounts shows after rw/ro
    # The extended-attribute namespaces it stores (Linux's s_xattr handlers): prefixes ending
    # in b"." and whole names; none (procfs, vfat, ramfs) makes every xattr call EOPNOTSUPP.
    xattr_namespaces: tuple[bytes, ...] = ()
    # How file handles name its inodes (Linux's s_export_op, fs/fhandle.py); None: it has none.
    export_op: Optional[ExportOps] = None

    def __init__(self, dev: Optional[int] = None, read_only: bool = False):
        self.dev = alloc_anon_dev() if dev is None else dev
        self.read_only = read_only
        self.root: Inode
        self.blockdev: Optional[BlockDevice] = None     # the device a disk filesystem lives on
        # What this instance was mounted from (the image's inode of a loop mount): mounting
        # the same again shares this superblock, as Linux's sget does. None: nothing to share.
        self.device_key: object = None
        self._root_dentry: Optional[Dentry] = None
        self._inos = itertools.count(1)

    def alloc_ino(self) -> int:
        return next(self._inos)

    def statfs(self):
        """statfs(2)'s figures: a NamedTuple with f_type, f_bsize, f_blocks, f_bfree, f_bavail,
        f_files, f_ffree, f_namelen, f_frsize. A filesystem without them: ENOSYS, as in Linux."""
        raise Errno(ENOSYS)

    def sync(self) -> None:
        """Write dirty state back to the device (sync, fsync, syncfs); memory filesystems have none."""

    def unmount(self) -> None:
        """The last mount is gone (or the machine stops): finish, leaving the device clean."""
        self.sync()

    def mark_mounted(self) -> None:
        """What a read-write mount (or a remount to read-write) writes at once (ext4's mount count)."""

    def remount_read_only(self) -> None:
        """Stop writing (a remount read-only, or an umount of one's root): written back first."""
        self.sync()
        self.read_only = True

    def fsid(self) -> tuple[int, int]:
        """statfs's f_fsid as two ints; filesystems without a UUID report 0."""
        return 0, 0

    @property
    def root_dentry(self) -> "Dentry":
        """One dentry tree per filesystem, shared by every mount of it."""
        if self._root_dentry is None:
            self._root_dentry = Dentry(b"/", self.root)
            dcache.PRUNER.track(self._root_dentry)     # pruned at drop_caches
        return self._root_dentry


class DirEntry(NamedTuple):
    """One readdir result: `next_pos` is the position to resume after this entry (getdents' d_off)."""
    name: bytes
    ino: int
    dtype: int
    next_pos: int


def dtype_of(mode: int) -> int:
    """The d_type of a getdents record: DT_* equal the S_IFMT bits shifted down."""
    return (mode >> 12) & 0xF


class Inode:
    """A file object of some filesystem.

    The defaults below are Linux's answers when a filesystem lacks an operation;
    drivers override what they support. Directory methods are only called on
    directories and after the VFS checked names, permissions and existence.
    """

    @property
    def size(self) -> int:
        """The content's length in bytes (st_size); drivers with contents override it."""
        return 0

    fifo_pipe: Optional[Pipe] = None    # a FIFO's buffer while some end is open (Linux's i_pipe)
    page_cache: Optional[FilePages] = None  # its pages in memory, once mapped (Linux's i_mapping)
    file_locks: Optional[FileLocks] = None  # its record and flock locks, once locked (i_flctx)
    fsnotify_marks: Optional[list[Mark]] = None  # inotify watches on it (i_fsnotify_marks)
    open_files: int = 0                     # InodeFiles open on it (an unlinked file lives on)
    linkable: bool = False                  # I_LINKABLE: an O_TMPFILE file (not O_EXCL) that linkat may name
    # Linux's file_operations.splice_read: sendfile(2) can read the file. procfs's
    # per-process files (seq_read without read_iter) have none, and sendfile is EINVAL.
    splice_read: bool = True

    def __init__(self, sb: Superblock, mode: int, uid: int = 0, gid: int = 0,
                 ino: Optional[int] = None, rdev: int = 0):
        self.sb = sb
        self.ino = sb.alloc_ino() if ino is None else ino
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.rdev = rdev
        self.nlink = 1
        self.atime_ns = self.mtime_ns = self.ctime_ns = now_ns()

    # -- type tests
    @property
    def is_dir(self) -> bool:
        return S.S_ISDIR(self.mode)

    @property
    def is_symlink(self) -> bool:
        return S.S_ISLNK(self.mode)

    @property
    def is_reg(self) -> bool:
        return S.S_ISREG(self.mode)

    def may_access(self, cred: Optional[Cred], mask: int) -> None:
        """EACCES unless cred may open this inode for mask (inode_permission): the mode bits
        and DAC overrides, unless the filesystem has rules of its own (procfs's /proc/sys)."""
        permission(self, cred, mask)

    # -- directories
    def lookup(self, name: bytes) -> "Inode":
        raise Errno(ENOTDIR)

    def lookup_as(self, name: bytes, caller: Optional["Task"]) -> "Inode":
        """lookup() for `caller`, the task walking the path (None: the kernel itself). Only a
        filesystem whose names depend on who asks overrides it (procfs: /proc/self)."""
        return self.lookup(name)

    def create(self, name: bytes, mode: int, uid: int, gid: int, rdev: int = 0) -> "Inode":
        """Create a non-directory, non-symlink entry; mode carries its S_IF* type."""
        raise Errno(EACCES)

    def mkdir(self, name: bytes, mode: int, uid: int, gid: int) -> "Inode":
        raise Errno(EPERM)

    def symlink(self, name: bytes, target: bytes, uid: int, gid: int) -> "Inode":
        raise Errno(EPERM)

    def link(self, name: bytes, inode: "Inode") -> None:
        raise Errno(EPERM)

    def tmpfile(self, mode: int, uid: int, gid: int) -> "Inode":
        """A new regular file in no directory, with no link (O_TMPFILE); EOPNOTSUPP where the
        filesystem has no i_op->tmpfile."""
        raise Errno(EOPNOTSUPP)

    def unlink(self, name: bytes) -> None:
        raise Errno(EPERM)

    def rmdir(self, name: bytes) -> None:
        """Remove the empty directory `name`; ENOTEMPTY otherwise."""
        raise Errno(EPERM)

    def rename(self, old_name: bytes, new_dir: "Inode", new_name: bytes) -> None:
        """Move entry old_name to new_dir/new_name, replacing what is there (already checked compatible)."""
        raise Errno(EPERM)

    def readdir(self, pos: int) -> Iterator[DirEntry]:
        """Entries from position `pos` on, including "." and ".."; positions are opaque cookies."""
        raise Errno(ENOTDIR)

    # -- open files
    def opened(self) -> None:
        """An open file now refers to this inode (ext4 and fat keep an unlinked file until its last close)."""

    def closed(self) -> None:
        """An open file of this inode was released."""

    # -- contents
    def readlink(self) -> bytes:
        raise Errno(EINVAL)

    def read_view(self, offset: int, n: int) -> Optional[memoryview]:
        """A read-only view of the bytes read(offset, n) would return, for read(2) to copy
        straight into user memory; None when the inode cannot lend them (the default)."""
        return None

    def read(self, offset: int, n: int) -> bytes:
        raise Errno(EISDIR if self.is_dir else EINVAL)

    def write(self, offset: int, data: bytes) -> int:
        raise Errno(EISDIR if self.is_dir else EINVAL)

    def truncate(self, size: int) -> None:
        raise Errno(EISDIR if self.is_dir else EINVAL)

    def seek_data(self, offset: int, data: bool) -> int:
        """SEEK_DATA (data) or SEEK_HOLE from offset, inside the file (the caller checked):
        a filesystem that keeps no holes has data everywhere, and its one hole at the end."""
        return offset if data else self.size

    def write_limit(self, offset: int, n: int) -> int:
        """How many of n bytes write(2) may put at offset: all by default; a sealed memfd
        allows fewer or none (EPERM). Stores written back from mappings do not ask."""
        return n

    def magic_jump(self) -> Optional[Location]:
        """A /proc/pid/fd link's very file, which a path walk goes to instead of reading the
        link (nd_jump_link); None for an ordinary symlink."""
        return None

    def is_magic_link(self) -> bool:
        """A /proc/pid/{fd/N,cwd,root,exe} link (Linux's nd_jump_link ones), which openat2's
        RESOLVE_NO_MAGICLINKS, BENEATH and IN_ROOT refuse."""
        return False

    def file_ioctl(self, task, cmd: int, arg: int) -> int:
        """An ioctl on a file open on this inode that the VFS did not answer itself (f_op's
        unlocked_ioctl): none by default."""
        raise Errno(ENOTTY)

    # -- attributes
    def getattr(self) -> Stat:
        return Stat(st_dev=self.sb.dev, st_ino=self.ino, st_mode=self.mode, st_nlink=self.nlink,
                    st_uid=self.uid, st_gid=self.gid, st_rdev=self.rdev, st_size=self.size,
                    st_blocks=(self.size + 511) // 512, st_atime_ns=self.atime_ns,
                    st_mtime_ns=self.mtime_ns, st_ctime_ns=self.ctime_ns)

    def setattr(self, mode: Optional[int] = None, uid: Optional[int] = None, gid: Optional[int] = None,
                atime_ns: Optional[int] = None, mtime_ns: Optional[int] = None) -> None:
        """Change attributes (chmod/chown/utimes); a disk driver overrides this to write the inode back."""
        if mode is not None:
            self.mode = (self.mode & S_IFMT) | (mode & 0o7777)
        if uid is not None:
            self.uid = uid
        if gid is not None:
            self.gid = gid
        if atime_ns is not None:
            self.atime_ns = atime_ns
        if mtime_ns is not None:
            self.mtime_ns = mtime_ns
        self.ctime_ns = now_ns()

    def touch(self) -> None:
        """Contents changed: update mtime and ctime."""
        self.mtime_ns = self.ctime_ns = now_ns()

    # -- extended attributes: full names; fs/xattr.py checked rights and the namespace first
    def xattr_get(self, name: bytes) -> bytes:
        raise Errno(ENODATA)

    def xattr_set(self, name: bytes, value: Optional[bytes], flags: int) -> None:
        """Set (value None: remove) with XATTR_CREATE/XATTR_REPLACE: EEXIST, ENODATA."""
        raise Errno(EOPNOTSUPP)

    def xattr_list(self) -> list[bytes]:
        """The stored names, in the filesystem's order."""
        return []


# ---------------------------------------------------------------- dentries

class Dentry:
    """A cached name -> inode binding. The root dentry of a filesystem is its own parent."""
    __slots__ = ("name", "inode", "parent", "children", "unlinked", "__weakref__")

    def __init__(self, name: bytes, inode: Inode, parent: Optional["Dentry"] = None):
        self.name = name
        self.inode = inode
        self.parent = parent if parent is not None else self
        self.children: dict[bytes, Dentry] = {}
        self.unlinked = False

    def lookup(self, name: bytes, caller: Optional["Task"] = None) -> "Dentry":
        """The child `name`, from the cache or the filesystem (looked up for `caller`);
        ENOENT, ENAMETOOLONG."""
        child = self.children.get(name)
        if child is not None:
            return child
        if len(name) > NAME_MAX:
            raise Errno(ENAMETOOLONG)
        return self.add(name, self.inode.lookup_as(name, caller))

    def lookup_or_none(self, name: bytes) -> Optional["Dentry"]:
        try:
            return self.lookup(name)
        except Errno as e:
            if e.code != ENOENT:
                raise
            return None

    def add(self, name: bytes, inode: Inode) -> "Dentry":
        child = Dentry(name, inode, self)
        self.children[name] = child
        return child

    def drop(self, name: bytes) -> None:
        """The name was removed: forget it and mark the dentry dead (getcwd inside it fails)."""
        child = self.children.pop(name, None)
        if child is not None:
            child.unlinked = True
            dcache.invalidate()         # a remembered walk may pass through it

    def move_to(self, new_parent: "Dentry", new_name: bytes) -> None:
        """Rename: rebind this dentry under new_parent, dropping whatever had that name."""
        del self.parent.children[self.name]
        dcache.invalidate()
        new_parent.drop(new_name)
        self.parent, self.name = new_parent, new_name
        new_parent.children[new_name] = self

    def is_ancestor_of(self, other: "Dentry") -> bool:
        """True if self is other or one of its ancestors (same filesystem)."""
        d = other
        while True:
            if d is self:
                return True
            if d.parent is d:
                return False
            d = d.parent


# ---------------------------------------------------------------- positions in the tree

@dataclass(frozen=True, slots=True, eq=False)
class Location:
    """A position in the tree: a dentry as seen through a mount (Linux's struct path)."""
    mount: Mount
    dentry: Dentry

    @property
    def inode(self) -> Inode:
        return self.dentry.inode

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and self.mount is other.mount and self.dentry is other.dentry

    def __hash__(self) -> int:
        return hash((id(self.mount), id(self.dentry)))


def follow_mounts(loc: Location) -> Location:
    """Step onto whatever is mounted on loc (repeatedly: mounts stack)."""
    m = loc.mount.ns.covering(loc)
    while m is not None:
        loc = Location(m, m.root)
        m = m.ns.covering(loc)
    return loc


def child_of(loc: Location, name: bytes, caller: Optional["Task"] = None) -> Location:
    """The real (non "."/"..") child `name` of directory loc, crossing into a mount on it
    (looked up for `caller`, the task walking the path; None: the kernel itself)."""
    return follow_mounts(Location(loc.mount, loc.dentry.lookup(name, caller)))


def parent_of(loc: Location, root: Location) -> Location:
    """'..' of loc: never above `root`, and across mount boundaries."""
    while loc != root:
        if loc.dentry is not loc.mount.root:
            return follow_mounts(Location(loc.mount, loc.dentry.parent))
        parent, mountpoint = loc.mount.parent, loc.mount.mountpoint
        if parent is None or mountpoint is None:
            break                       # the namespace root
        loc = Location(parent, mountpoint)
    return loc


def path_of(loc: Location, root: Location) -> tuple[bytes, bool]:
    """The absolute path of loc as seen from root, and whether root can reach it (Linux's d_path)."""
    parts: list[bytes] = []
    while loc != root:
        if loc.dentry is loc.mount.root:
            parent, mountpoint = loc.mount.parent, loc.mount.mountpoint
            if parent is None or mountpoint is None:
                return b"/" + b"/".join(reversed(parts)), False
            loc = Location(parent, mountpoint)
            continue
        parts.append(loc.dentry.name)
        loc = Location(loc.mount, loc.dentry.parent)
    return b"/" + b"/".join(reversed(parts)), True


# ---------------------------------------------------------------- per-process context

class FsContext:
    """A process's view of the tree: root directory, working directory, umask."""

    def __init__(self, root: Location, cwd: Optional[Location] = None, umask: int = 0o022):
        self.root = root
        self.cwd = cwd if cwd is not None else root
        self.umask = umask

    @property
    def ns(self) -> MountTable:
        return self.root.mount.ns

    def copy(self) -> "FsContext":
        """For fork without CLONE_FS: same places, independent from now on."""
        return FsContext(self.root, self.cwd, self.umask)

    def getcwd(self) -> bytes:
        """The working directory's path; ENOENT once it was removed (getcwd(2))."""
        if self.cwd.dentry.unlinked:
            raise Errno(ENOENT)
        path, reachable = path_of(self.cwd, self.root)
        return path if reachable else b"(unreachable)" + path


# ---------------------------------------------------------------- namespace operations

def want_write(loc: Location) -> None:
    """mnt_want_write: EROFS on a read-only mount (or filesystem)."""
    if loc.mount.is_read_only:
        raise Errno(EROFS)


def _may_create(dir: Location, cred: Optional[Cred]) -> None:
    if dir.dentry.unlinked:
        raise Errno(ENOENT)
    permission(dir.inode, cred, MAY_WRITE | MAY_EXEC)


def _may_delete(dir: Location, victim: Dentry, cred: Optional[Cred], isdir: bool) -> None:
    """Linux's may_delete: write+search on the parent, the sticky-bit rule, and the type match."""
    permission(dir.inode, cred, MAY_WRITE | MAY_EXEC)
    if cred is not None and not cred.capable(CAP_FOWNER) and dir.inode.mode & S.S_ISVTX:
        if cred.uid not in (victim.inode.uid, dir.inode.uid):
            raise Errno(EPERM)
    if isdir and not victim.inode.is_dir:
        raise Errno(ENOTDIR)
    if not isdir and victim.inode.is_dir:
        raise Errno(EISDIR)


def _owner_for_new(dir: Inode, cred: Optional[Cred]) -> tuple[int, int]:
    """uid/gid of a new inode: the creator's, except that a set-group-ID directory passes on its group."""
    uid, gid = (0, 0) if cred is None else (cred.uid, cred.gid)
    if dir.mode & S.S_ISGID:
        gid = dir.gid
    return uid, gid


def _prepare_new_entry(dir: Location, name: bytes, slash: bool, cred: Optional[Cred],
                       is_dir: bool = False) -> None:
    """Checks shared by every creating operation, in Linux's filename_create order."""
    if name in _SPECIAL_NAMES:
        raise Errno(EEXIST)
    if dir.dentry.lookup_or_none(name) is not None:
        raise Errno(EEXIST)
    if slash and not is_dir:
        raise Errno(ENOENT)     # "a/" names a directory that does not exist
    want_write(dir)
    _may_create(dir, cred)


def vfs_create(dir: Location, name: bytes, mode: int, cred: Optional[Cred],
               rdev: int = 0, slash: bool = False) -> Location:
    """Create a regular file, device node, FIFO or socket (mode carries the type; 0 means regular)."""
    if not mode & S_IFMT:
        mode |= S.S_IFREG
    _prepare_new_entry(dir, name, slash, cred)
    uid, gid = _owner_for_new(dir.inode, cred)
    inode = dir.inode.create(name, mode, uid, gid, rdev)
    fsnotify.created(dir.inode, name, inode)
    return Location(dir.mount, dir.dentry.add(name, inode))


def vfs_tmpfile(dir: Location, mode: int, cred: Optional[Cred], linkable: bool) -> Location:
    """open(O_TMPFILE) in dir (do_tmpfile, vfs_tmpfile): an unnamed file, its dentry "#<ino>"
    born unhashed ("(deleted)" in /proc/pid/fd), that linkat may name if `linkable`."""
    want_write(dir)
    permission(dir.inode, cred, MAY_WRITE | MAY_EXEC)
    uid, gid = _owner_for_new(dir.inode, cred)
    inode = dir.inode.tmpfile(S.S_IFREG | mode, uid, gid)
    inode.linkable = linkable
    name = b"#%d" % inode.ino
    dentry = dir.dentry.add(name, inode)
    dir.dentry.drop(name)
    return Location(dir.mount, dentry)


def vfs_mkdir(dir: Location, name: bytes, mode: int, cred: Optional[Cred]) -> Location:
    _prepare_new_entry(dir, name, False, cred, is_dir=True)
    uid, gid = _owner_for_new(dir.inode, cred)
    mode = S.S_IFDIR | (mode & 0o1777) | (dir.inode.mode & S.S_ISGID)
    inode = dir.inode.mkdir(name, mode, uid, gid)
    fsnotify.created(dir.inode, name, inode)
    return Location(dir.mount, dir.dentry.add(name, inode))


def vfs_symlink(dir: Location, name: bytes, target: bytes, cred: Optional[Cred],
                slash: bool = False) -> Location:
    _prepare_new_entry(dir, name, slash, cred)
    uid, gid = _owner_for_new(dir.inode, cred)
    inode = dir.inode.symlink(name, target, uid, gid)
    fsnotify.created(dir.inode, name, inode)
    return Location(dir.mount, dir.dentry.add(name, inode))


def vfs_link(old: Location, dir: Location, name: bytes, cred: Optional[Cred],
             slash: bool = False) -> Location:
    """A new name for an existing non-directory."""
    if old.mount is not dir.mount:
        raise Errno(EXDEV)
    _prepare_new_entry(dir, name, slash, cred)
    if old.inode.is_dir:
        raise Errno(EPERM)
    dir.inode.link(name, old.inode)
    old.inode.linkable = False
    fsnotify.linked(dir.inode, name, old.dentry)
    return Location(dir.mount, dir.dentry.add(name, old.inode))


def vfs_unlink(dir: Location, name: bytes, cred: Optional[Cred], slash: bool = False) -> None:
    """unlink(2): remove a name that is not a directory."""
    if name in _SPECIAL_NAMES:
        raise Errno(EISDIR)
    want_write(dir)
    victim = dir.dentry.lookup(name)
    if slash:
        raise Errno(EISDIR if victim.inode.is_dir else ENOTDIR)
    _may_delete(dir, victim, cred, isdir=False)
    if dir.mount.ns.is_mountpoint(dir.mount, victim):
        raise Errno(EBUSY)
    dir.inode.unlink(name)
    dir.dentry.drop(name)
    fsnotify.deleted(dir.inode, victim, still_open=victim.inode.open_files > 0)


def vfs_rmdir(dir: Location, name: bytes, cred: Optional[Cred]) -> None:
    """rmdir(2): remove an empty directory."""
    if name == b"..":
        raise Errno(ENOTEMPTY)
    if name == b".":
        raise Errno(EINVAL)
    if name == b"":
        raise Errno(EBUSY)
    want_write(dir)
    victim = dir.dentry.lookup(name)
    _may_delete(dir, victim, cred, isdir=True)
    if dir.mount.ns.is_mountpoint(dir.mount, victim):
        raise Errno(EBUSY)
    dir.inode.rmdir(name)
    dir.dentry.drop(name)
    fsnotify.deleted(dir.inode, victim, still_open=victim.inode.open_files > 0)


def vfs_rename(old_dir: Location, old_name: bytes, new_dir: Location, new_name: bytes,
               cred: Optional[Cred], flags: int = 0, old_slash: bool = False, new_slash: bool = False) -> None:
    """rename(2)/renameat2 with flags 0 or RENAME_NOREPLACE, checks in Linux's do_renameat2 order."""
    if old_dir.mount is not new_dir.mount:
        raise Errno(EXDEV)
    if old_name in _SPECIAL_NAMES:
        raise Errno(EBUSY)
    if new_name in _SPECIAL_NAMES:
        raise Errno(EEXIST if flags & RENAME_NOREPLACE else EBUSY)
    want_write(old_dir)
    old = old_dir.dentry.lookup(old_name)
    new = new_dir.dentry.lookup_or_none(new_name)
    if flags & RENAME_NOREPLACE and new is not None:
        raise Errno(EEXIST)
    if not old.inode.is_dir and (old_slash or new_slash):
        raise Errno(ENOTDIR)
    if old.is_ancestor_of(new_dir.dentry):
        raise Errno(EINVAL)            # moving a directory into itself
    if new is not None and new.is_ancestor_of(old_dir.dentry):
        raise Errno(ENOTEMPTY)         # the target contains the source
    if new is not None and new.inode is old.inode:
        return                         # two names of one inode: POSIX says do nothing
    _check_rename_permissions(old_dir, old, new_dir, new, cred)
    ns = old_dir.mount.ns
    if ns.is_mountpoint(old_dir.mount, old) or (new is not None and ns.is_mountpoint(new_dir.mount, new)):
        raise Errno(EBUSY)
    old_dir.inode.rename(old_name, new_dir.inode, new_name)
    old.move_to(new_dir.dentry, new_name)
    fsnotify.moved(old_dir.inode, old_name, new_dir.inode, new_name, old.inode, new)
    if new is not None and (new.inode.nlink == 0 or new.inode.is_dir) and not new.inode.open_files:
        fsnotify.inode_gone(new.inode)


def _check_rename_permissions(old_dir: Location, old: Dentry, new_dir: Location,
                              new: Optional[Dentry], cred: Optional[Cred]) -> None:
    is_dir = old.inode.is_dir
    _may_delete(old_dir, old, cred, isdir=is_dir)
    if new is None:
        _may_create(new_dir, cred)
    else:
        _may_delete(new_dir, new, cred, isdir=is_dir)
    if is_dir and old_dir.dentry is not new_dir.dentry:
        permission(old.inode, cred, MAY_WRITE)   # its ".." entry changes


# ---------------------------------------------------------------- boot

def build_root_from_cpio(data: bytes) -> FsContext:
    """Mount a tmpfs as / and unpack the initramfs (cpio newc, optionally gzipped) into it."""
    # Imported here: the drivers and the cpio reader are built on this module.
    from .cpio import unpack_cpio
    from .drivers.tmpfs import Tmpfs
    from .namespace import MountTable

    ns = MountTable(Tmpfs(mode=0o755))         # ramfs's root mode; a "." entry may change it
    fs = FsContext(ns.root_location())
    unpack_cpio(data, fs.root)
    return fs
