"""The file-descriptor mount API (Linux 6.1's fs/fsopen.c and fs/namespace.c): fsopen, fspick,
fsconfig on a filesystem context (fs/fs_context.py), fsmount making a detached mount,
open_tree opening or cloning a tree (detached: an anonymous namespace), move_mount attaching
or moving one, mount_setattr changing mount attributes (recursively with AT_RECURSIVE).

Each checks its arguments in Linux's order. What differs: a detached mount whose last
descriptor closes is not unmounted (its filesystem stays until the run ends); idmapped
mounts (MOUNT_ATTR_IDMAP) need a user namespace file, which moss-py has none of (EBADF for
a bad fd, EINVAL for any other, as Linux for a file that is no namespace);
MOVE_MOUNT_SET_GROUP has no peer groups to join (EINVAL).
"""
import struct

from moss_host.cred import capable
from moss_host.errors import E2BIG, EBUSY, EINVAL, ELOOP, ENAMETOOLONG, ENODEV, EOPNOTSUPP, EPERM, Errno
from moss_host.fs.file import O_CLOEXEC, O_PATH, open_location
from moss_host.fs.filesystems import FILESYSTEMS
from moss_host.fs.fs_context import FsConfig, FsContextFile, Phase
from moss_host.fs.namespace import (FSMOUNT_VALID_FLAGS, MOUNT_ATTR__ATIME, MOUNT_ATTR_IDMAP, MOUNT_ATTR_NOATIME,
                                    MOUNT_ATTR_RELATIME, MOUNT_ATTR_STRICTATIME, MS_NOATIME, MS_PRIVATE,
                                    MS_RDONLY, MS_RELATIME, MS_SHARED, MS_SLAVE, MS_UNBINDABLE, Mount, MountTable,
                                    ms_of_attr)
from moss_host.fs.vfs import Location, follow_mounts

from .args import CStr, Fd, Hex, Int, Ptr, Size, UInt
from .fs import _path_arg, _resolve_at
from .mount import _mount_context
from .table import syscall

FSOPEN_CLOEXEC = 0x1
FSCONFIG_SET_FLAG, FSCONFIG_SET_STRING, FSCONFIG_SET_BINARY, FSCONFIG_SET_PATH = 0, 1, 2, 3
FSCONFIG_SET_PATH_EMPTY, FSCONFIG_SET_FD, FSCONFIG_CMD_CREATE, FSCONFIG_CMD_RECONFIGURE = 4, 5, 6, 7
FSMOUNT_CLOEXEC = 0x1
MOVE_MOUNT_F_SYMLINKS, MOVE_MOUNT_F_AUTOMOUNTS, MOVE_MOUNT_F_EMPTY_PATH = 0x01, 0x02, 0x04
MOVE_MOUNT_T_SYMLINKS, MOVE_MOUNT_T_AUTOMOUNTS, MOVE_MOUNT_T_EMPTY_PATH = 0x10, 0x20, 0x40
MOVE_MOUNT_SET_GROUP = 0x100
MOVE_MOUNT__MASK = 0x177
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC = 1, O_CLOEXEC
AT_SYMLINK_NOFOLLOW, AT_NO_AUTOMOUNT, AT_EMPTY_PATH, AT_RECURSIVE = 0x100, 0x800, 0x1000, 0x8000
FSPICK_CLOEXEC, FSPICK_SYMLINK_NOFOLLOW, FSPICK_NO_AUTOMOUNT, FSPICK_EMPTY_PATH = 0x1, 0x2, 0x4, 0x8
MOUNT_ATTR = struct.Struct("<QQQQ")     # attr_set, attr_clr, propagation, userns_fd
MOUNT_ATTR_SIZE_VER0 = 32
PAGE_SIZE = 4096
INT_MAX = 0x7FFF_FFFF


def _may_mount(task) -> None:
    if not capable(task.creds):
        raise Errno(EPERM)


def _user_string(task, ua: int, limit: int) -> str:
    """strndup_user: EFAULT, EINVAL when longer than limit."""
    try:
        return task.mm.read_cstring(ua, limit).decode(errors="surrogateescape")
    except Errno as e:
        raise Errno(EINVAL if e.code == ENAMETOOLONG else e.code) from None


def _lookup(task, dirfd: int, path: int, follow: bool, empty: bool) -> Location:
    """user_path_at with LOOKUP_FOLLOW / LOOKUP_EMPTY as asked."""
    name = _path_arg(task, path, empty_ok=empty)
    loc = _resolve_at(task, dirfd, name, follow)
    if not isinstance(loc, Location):
        raise Errno(EINVAL)             # an fd with no place in the tree (a pipe)
    return loc


async def _path_fd(task, loc: Location, cloexec: bool) -> int:
    """An O_PATH descriptor on loc (what fsmount and open_tree return)."""
    f = await open_location(loc, O_PATH)
    return task.files.install(f, cloexec=cloexec)


def _in_ns(task, m: Mount) -> bool:
    """check_mnt: m is in the caller's mount namespace."""
    return m.ns is task.fs.ns


def _context(task, fd: int) -> FsConfig:
    f = task.files.get(fd)
    if not isinstance(f, FsContextFile):
        raise Errno(EINVAL)
    return f.config


# ---------------------------------------------------------------- fsopen, fspick

@syscall("fsopen")
async def fsopen(task, fs_name: "CStr", flags: "Hex") -> int:
    """A filesystem context for a new superblock of type fs_name."""
    _may_mount(task)
    if flags & 0xFFFF_FFFF & ~FSOPEN_CLOEXEC:
        raise Errno(EINVAL)
    name = _user_string(task, fs_name, PAGE_SIZE)
    if name not in {t for t, _ in FILESYSTEMS}:
        raise Errno(ENODEV)
    return task.files.install(FsContextFile(FsConfig(name)), cloexec=bool(flags & FSOPEN_CLOEXEC))


@syscall("fspick")
async def fspick(task, dirfd: "Fd", path: "CStr", flags: "Hex") -> int:
    """A filesystem context for reconfiguring the superblock mounted at path."""
    _may_mount(task)
    flags &= 0xFFFF_FFFF
    if flags & ~(FSPICK_CLOEXEC | FSPICK_SYMLINK_NOFOLLOW | FSPICK_NO_AUTOMOUNT | FSPICK_EMPTY_PATH):
        raise Errno(EINVAL)
    loc = _lookup(task, dirfd, path, not flags & FSPICK_SYMLINK_NOFOLLOW, bool(flags & FSPICK_EMPTY_PATH))
    if not loc.mount.is_root(loc):
        raise Errno(EINVAL)
    sb = loc.mount.sb
    config = FsConfig(sb.fstype, phase=Phase.RECONF_PARAMS, sb=sb, mount=loc.mount)
    return task.files.install(FsContextFile(config), cloexec=bool(flags & FSPICK_CLOEXEC))


# ---------------------------------------------------------------- fsconfig

@syscall("fsconfig")
async def fsconfig(task, fd: "Fd", cmd: "UInt", key: "CStr", value: "Ptr", aux: "Int") -> int:
    """Set one parameter of a filesystem context, or create / reconfigure its superblock."""
    fd, cmd, aux = _s32(fd), cmd & 0xFFFF_FFFF, _s32(aux)
    if fd < 0:
        raise Errno(EINVAL)
    _check_fsconfig_args(cmd, key, value, aux)
    config = _context(task, fd)
    if config.legacy and cmd in (FSCONFIG_SET_BINARY, FSCONFIG_SET_PATH, FSCONFIG_SET_PATH_EMPTY, FSCONFIG_SET_FD):
        raise Errno(EOPNOTSUPP)
    key_s = _user_string(task, key, 256) if key else None
    if cmd == FSCONFIG_SET_STRING:
        value_s = _user_string(task, value, 256)
    elif cmd == FSCONFIG_SET_FD:
        task.files.get(aux)             # EBADF
    elif cmd == FSCONFIG_SET_BINARY:
        task.mm.read(value, aux)        # EFAULT
    elif cmd in (FSCONFIG_SET_PATH, FSCONFIG_SET_PATH_EMPTY):
        _path_arg(task, value, empty_ok=cmd == FSCONFIG_SET_PATH_EMPTY)     # getname: EFAULT, ENOENT
    if cmd == FSCONFIG_CMD_CREATE:
        _may_mount(task)
        config.create(_mount_context(task))
    elif cmd == FSCONFIG_CMD_RECONFIGURE:
        config.reconfigure()
    elif cmd == FSCONFIG_SET_FLAG:
        assert key_s is not None
        config.set_param(key_s, None, _ram(task))
    elif cmd == FSCONFIG_SET_STRING:
        assert key_s is not None
        config.set_param(key_s, value_s, _ram(task))
    else:
        assert key_s is not None
        config.set_other(key_s)         # a binary, path or fd value
    return 0


def _check_fsconfig_args(cmd: int, key: int, value: int, aux: int) -> None:
    """The argument shape each command needs (EINVAL); an unknown command EOPNOTSUPP."""
    if cmd == FSCONFIG_SET_FLAG:
        bad = not key or value or aux
    elif cmd == FSCONFIG_SET_STRING:
        bad = not key or not value or aux
    elif cmd == FSCONFIG_SET_BINARY:
        bad = not key or not value or aux <= 0 or aux > 1 << 20
    elif cmd in (FSCONFIG_SET_PATH, FSCONFIG_SET_PATH_EMPTY):
        bad = not key or not value or (aux != -100 and aux < 0)
    elif cmd == FSCONFIG_SET_FD:
        bad = not key or value or aux < 0
    elif cmd in (FSCONFIG_CMD_CREATE, FSCONFIG_CMD_RECONFIGURE):
        bad = key or value or aux
    else:
        raise Errno(EOPNOTSUPP)
    if bad:
        raise Errno(EINVAL)


def _s32(raw: int) -> int:
    raw &= 0xFFFF_FFFF
    return raw - (1 << 32) if raw >> 31 else raw


def _ram(task) -> int:
    total_kb, _ = task.kernel.memory_kb()
    return total_kb * 1024 or 1 << 30


# ---------------------------------------------------------------- fsmount

@syscall("fsmount")
async def fsmount(task, fs_fd: "Fd", flags: "Hex", attr_flags: "Hex") -> int:
    """A detached mount of the context's superblock; an O_PATH descriptor on its root."""
    _may_mount(task)
    flags, attr_flags = flags & 0xFFFF_FFFF, attr_flags & 0xFFFF_FFFF
    if flags & ~FSMOUNT_CLOEXEC or attr_flags & ~FSMOUNT_VALID_FLAGS:
        raise Errno(EINVAL)
    ms = ms_of_attr(attr_flags) | _ms_of_atime(attr_flags)
    f = task.files.get(_s32(fs_fd))
    if not isinstance(f, FsContextFile):
        raise Errno(EINVAL)
    config = f.config
    if config.sb is None:
        raise Errno(EINVAL)             # nothing created yet (fc->root)
    if config.phase is not Phase.AWAITING_MOUNT:
        raise Errno(EBUSY)
    tree = MountTable(config.sb, ms & ~MS_RDONLY, anon=True)
    tree.root.read_only = bool(ms & MS_RDONLY)
    config.mounted()
    return await _path_fd(task, tree.root_location(), bool(flags & FSMOUNT_CLOEXEC))


# ---------------------------------------------------------------- open_tree, move_mount

@syscall("open_tree")
async def open_tree(task, dirfd: "Fd", path: "CStr", flags: "Hex") -> int:
    """An O_PATH descriptor on path, or (OPEN_TREE_CLONE) on a detached copy of the tree there."""
    flags &= 0xFFFF_FFFF
    if flags & ~(AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW | OPEN_TREE_CLONE
                 | OPEN_TREE_CLOEXEC):
        raise Errno(EINVAL)
    if flags & (AT_RECURSIVE | OPEN_TREE_CLONE) == AT_RECURSIVE:
        raise Errno(EINVAL)
    clone = bool(flags & OPEN_TREE_CLONE)
    if clone:
        _may_mount(task)
    fd = task.files.alloc_fd()
    try:
        loc = _lookup(task, dirfd, path, not flags & AT_SYMLINK_NOFOLLOW, bool(flags & AT_EMPTY_PATH))
        if clone:
            if not _in_ns(task, loc.mount):
                raise Errno(EINVAL)
            tree = MountTable.detached(loc.mount, loc.dentry, recursive=bool(flags & AT_RECURSIVE))
            loc = Location(tree.root, loc.dentry)
        f = await open_location(loc, O_PATH)
    except BaseException:
        task.files.release_reserved(fd)
        raise
    return task.files.install_at_reserved(fd, f, cloexec=bool(flags & OPEN_TREE_CLOEXEC))


@syscall("move_mount")
async def move_mount(task, from_dirfd: "Fd", from_path: "CStr", to_dirfd: "Fd", to_path: "CStr",
                     flags: "Hex") -> int:
    """Attach a detached tree at to_path, or move an attached mount there (as MS_MOVE)."""
    _may_mount(task)
    flags &= 0xFFFF_FFFF
    if flags & ~MOVE_MOUNT__MASK:
        raise Errno(EINVAL)
    src = _lookup(task, from_dirfd, from_path, bool(flags & MOVE_MOUNT_F_SYMLINKS),
                  bool(flags & MOVE_MOUNT_F_EMPTY_PATH))
    where = _lookup(task, to_dirfd, to_path, bool(flags & MOVE_MOUNT_T_SYMLINKS),
                    bool(flags & MOVE_MOUNT_T_EMPTY_PATH))
    if flags & MOVE_MOUNT_SET_GROUP:
        raise Errno(EINVAL)             # no peer groups
    where = follow_mounts(where)        # lock_mount: onto whatever is mounted there
    old = src.mount
    attached = old.parent is not None
    if not _in_ns(task, where.mount):
        raise Errno(EINVAL)
    if not (_in_ns(task, old) if attached else old.ns.anon and old is old.ns.root):
        raise Errno(EINVAL)
    if not old.is_root(src) or src.inode.is_dir != where.inode.is_dir:
        raise Errno(EINVAL)
    ns = task.fs.ns
    if attached:
        if ns.is_below(where, old):
            raise Errno(ELOOP)
        ns.move(src, where)
    else:
        ns.graft(old.ns, where)
    return 0


# ---------------------------------------------------------------- mount_setattr

@syscall("mount_setattr")
async def mount_setattr(task, dirfd: "Fd", path: "CStr", flags: "Hex", uattr: "Ptr", size: "Size") -> int:
    """Set and clear MOUNT_ATTR_* on the mount at path (AT_RECURSIVE: and every mount below)."""
    flags &= 0xFFFF_FFFF
    if flags & ~(AT_EMPTY_PATH | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT):
        raise Errno(EINVAL)
    if size > PAGE_SIZE:
        raise Errno(E2BIG)
    if size < MOUNT_ATTR_SIZE_VER0:
        raise Errno(EINVAL)
    _may_mount(task)
    raw = task.mm.read(uattr, size)
    if any(raw[MOUNT_ATTR.size:]):
        raise Errno(E2BIG)
    attr_set, attr_clr, propagation, userns_fd = MOUNT_ATTR.unpack(raw[:MOUNT_ATTR.size])
    if not attr_set and not attr_clr and not propagation:
        return 0                        # a no-op: not even the path is looked up
    set_ms, clr_ms = _build_mount_kattr(task, attr_set, attr_clr, propagation, userns_fd)
    loc = _lookup(task, dirfd, path, not flags & AT_SYMLINK_NOFOLLOW, bool(flags & AT_EMPTY_PATH))
    m = loc.mount
    if not m.is_root(loc):
        raise Errno(EINVAL)
    if m.parent is not None and not _in_ns(task, m):
        raise Errno(EINVAL)             # Linux 6.1 lets the namespace's root mount be changed too
    targets = [m] + (_below(m) if flags & AT_RECURSIVE else [])
    for t in targets:
        flags_now = (t.ms_flags() & ~clr_ms) | set_ms
        t.read_only = bool(flags_now & MS_RDONLY)
        t.flags = flags_now & ~MS_RDONLY
    return 0


def _ms_of_atime(attr: int) -> int:
    """The MS_* bit of MOUNT_ATTR's atime field (an enum, not bits): EINVAL for a value it lacks."""
    atime = attr & MOUNT_ATTR__ATIME
    if atime == MOUNT_ATTR_NOATIME:
        return MS_NOATIME
    if atime == MOUNT_ATTR_RELATIME:
        return MS_RELATIME
    if atime != MOUNT_ATTR_STRICTATIME:
        raise Errno(EINVAL)
    return 0


def _build_mount_kattr(task, attr_set: int, attr_clr: int, propagation: int, userns_fd: int) -> tuple[int, int]:
    """build_mount_kattr: the MS_* bits to set and to clear; EINVAL (EBADF) as Linux checks."""
    if propagation not in (0, MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED):
        raise Errno(EINVAL)
    valid = FSMOUNT_VALID_FLAGS | MOUNT_ATTR_IDMAP
    if attr_set >> 32 or attr_set & ~valid or attr_clr >> 32 or attr_clr & ~valid:
        raise Errno(EINVAL)
    set_ms, clr_ms = ms_of_attr(attr_set), ms_of_attr(attr_clr)
    if attr_clr & MOUNT_ATTR__ATIME:
        if attr_clr & MOUNT_ATTR__ATIME != MOUNT_ATTR__ATIME:
            raise Errno(EINVAL)
        clr_ms |= MS_RELATIME | MS_NOATIME
        set_ms |= _ms_of_atime(attr_set)
    elif attr_set & MOUNT_ATTR__ATIME:
        raise Errno(EINVAL)
    if (attr_set | attr_clr) & MOUNT_ATTR_IDMAP:
        if attr_clr & MOUNT_ATTR_IDMAP or userns_fd > INT_MAX:
            raise Errno(EINVAL)
        task.files.get(userns_fd)       # EBADF
        raise Errno(EINVAL)             # not a user namespace file: moss-py has none
    return set_ms, clr_ms


def _below(m: Mount) -> list[Mount]:
    """Every mount under m in its namespace, depth first."""
    out = []
    for c in m.ns.mounts():
        if c.parent is m:
            out += [c] + _below(c)
    return out
