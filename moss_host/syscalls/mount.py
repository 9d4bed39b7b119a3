"""Mount syscalls: mount, umount2, statfs, fstatfs (Linux's fs/namespace.c and fs/statfs.c).

mount(2) creates filesystems by name: tmpfs, ramfs, proc, devtmpfs (the one instance /dev has),
and ext2/ext3/ext4 through the ext4 driver (vfat and msdos through the FAT driver, the same
way: uid=, gid=, umask=, fmask=, dmask= are vfat's). An ext* source is a block device node whose
device number the kernel knows (`kernel.block_devices`: rdev -> BlockDevice), or -- a
moss extension, since there are no loop devices -- with the option "loop" in data, a
regular file holding an image, read and written through its inode (without "loop" a
regular file is ENOTBLK, as in Linux; BusyBox strips "-o loop" itself, so only a direct
mount(2) call can ask for it). Mounting the same device twice shares one
superblock, as in Linux. MS_BIND of directories (with MS_REC, the submounts too),
MS_REMOUNT (also with MS_BIND), MS_MOVE of a mount without submounts, and the propagation
flags (accepted; there are no peers to propagate to) are supported. MS_NOSUID, MS_NODEV,
MS_NOEXEC and the atime flags are stored on the mount and reported by statfs's f_flags;
enforcing them is exec's and open's business (not done yet).

Per-mount state beyond Mount's own fields lives in attributes set here:
`mnt_flags` (the MS_* bits kept), `expiry_mark` (MNT_EXPIRE).
"""

import logging
import os
import stat as S
import struct

from moss_host.cred import capable
from moss_host.errors import (EACCES, EAGAIN, EBUSY, EFAULT, EINVAL, EIO, ELOOP, ENODEV, ENOSYS, ENOTBLK, ENOTDIR, ENXIO,
                              EPERM, Errno)
from moss_host.fs.blockdev import BlockDevice, BlockDeviceError
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.path import Walker
from moss_host.fs.stat import major, minor
from moss_host.fs.vfs import Location, Mount, PATH_MAX

from .args import CStr, Fd, Hex, Ptr
from .fs import _fs_cred, _path_arg
from .table import syscall

log = logging.getLogger("moss.mount")

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

MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW = 1, 2, 4, 8

# statfs f_flags (ST_*)
ST_RDONLY, ST_NOSUID, ST_NODEV, ST_NOEXEC, ST_SYNCHRONOUS, ST_VALID = 1, 2, 4, 8, 16, 0x20
ST_MANDLOCK, ST_NOATIME, ST_NODIRATIME, ST_RELATIME, ST_NOSYMFOLLOW = 0x40, 0x400, 0x800, 0x1000, 0x2000
_ST_OF_MS = ((MS_RDONLY, ST_RDONLY), (MS_NOSUID, ST_NOSUID), (MS_NODEV, ST_NODEV), (MS_NOEXEC, ST_NOEXEC),
             (MS_NOATIME, ST_NOATIME), (MS_NODIRATIME, ST_NODIRATIME), (MS_RELATIME, ST_RELATIME),
             (MS_NOSYMFOLLOW, ST_NOSYMFOLLOW))

STATFS = struct.Struct("<7q2i3q32x")    # arm64 struct statfs: 7 longs, f_fsid (2 ints), 3 longs, f_spare[4]
PIPEFS_MAGIC = 0x50495045
RAMFS_MAGIC = 0x858458F6
PAGE = 4096

EXT_TYPES = ("ext2", "ext3", "ext4")
FAT_TYPES = ("vfat", "msdos")       # both through the vfat driver (msdos: long names are still read)
SB_FLAG_OPTIONS = {"ro", "rw", "sync", "async", "dirsync", "mand", "nomand", "lazytime", "nolazytime",
                   "silent", "posixacl", "noposixacl", "i_version", "noi_version"}


# ---------------------------------------------------------------- helpers

def _string_arg(task, ua: int, limit: int = PATH_MAX) -> bytes | None:
    """copy_mount_string: NULL stays None; EFAULT for a bad pointer."""
    return None if ua == 0 else task.mm.read_cstring(ua, limit)


def _data_arg(task, ua: int) -> bytes:
    """copy_mount_options: up to a page, NUL-terminated (tmpfs, proc and ext4 all take strings)."""
    if ua == 0:
        return b""
    try:
        return task.mm.read_cstring(ua, PAGE - 1)
    except Errno as e:
        if e.code == EFAULT:
            raise
        return task.mm.read(ua, PAGE - 1)       # no NUL in the page: Linux cuts it there


def _resolve(task, path: bytes, follow: bool = True) -> Location:
    return Walker(task.fs, _fs_cred(task)).resolve(task.fs.cwd, path, follow=follow)


def mnt_flags(m: Mount) -> int:
    """The MS_* bits a mount carries (boot mounts: read_only plus relatime)."""
    flags = getattr(m, "mnt_flags", DEFAULT_MNT_FLAGS)
    return (flags | MS_RDONLY) if m.is_read_only else (flags & ~MS_RDONLY)


def _set_mnt_flags(m: Mount, flags: int, remount: bool = False) -> None:
    """Store a mount's flags; without an atime flag a new mount gets relatime, a remount keeps its own."""
    if not flags & (ATIME_FLAGS | MS_NODIRATIME):
        flags |= (mnt_flags(m) & (ATIME_FLAGS | MS_NODIRATIME)) if remount else DEFAULT_MNT_FLAGS
    flags &= ~MS_STRICTATIME
    m.mnt_flags = flags & MNT_FLAGS
    m.read_only = bool(flags & MS_RDONLY)


def _options(data: bytes) -> list[tuple[str, str | None]]:
    """`key=value,key,...` as (key, value) pairs; empty items are skipped."""
    out = []
    for item in data.decode(errors="surrogateescape").split(","):
        if item:
            key, eq, value = item.partition("=")
            out.append((key, value if eq else None))
    return out


def _memparse(text: str) -> int:
    """Linux's memparse: a number (any base C accepts) with an optional k/m/g/t/p/e suffix."""
    shift = {"k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}
    mult = 1
    if text and text[-1].lower() in shift:
        mult, text = 1 << shift[text[-1].lower()], text[:-1]
    try:
        return int(text, 0) * mult
    except ValueError:
        raise Errno(EINVAL) from None


def _ram_bytes(task) -> int:
    from moss_host.fs.drivers.procfs.system import memory_figures
    total_kb, _ = memory_figures(task.kernel)
    return total_kb * 1024 or 1 << 30


# ---------------------------------------------------------------- filesystems by name

def _new_tmpfs(task, source: str, data: bytes):
    """tmpfs with Linux's defaults: size = half of RAM, nr_inodes = half of RAM's pages, mode 1777."""
    from moss_host.fs.drivers.tmpfs import UNLIMITED, Tmpfs

    ram = _ram_bytes(task)
    size, inodes, mode, uid, gid = ram // 2, ram // PAGE // 2, 0o1777, 0, 0
    for key, value in _options(data):
        if key in SB_FLAG_OPTIONS:
            continue
        if value is None:
            raise Errno(EINVAL)
        if key == "size":
            size = ram * _memparse(value[:-1]) // 100 if value.endswith("%") else _memparse(value)
            size = (size + PAGE - 1) // PAGE * PAGE
        elif key == "nr_inodes":
            inodes = _memparse(value)
        elif key == "mode":
            try:
                mode = int(value, 8) & 0o7777
            except ValueError:
                raise Errno(EINVAL) from None
        elif key in ("uid", "gid"):
            try:
                n = int(value, 10)
            except ValueError:
                raise Errno(EINVAL) from None
            if key == "uid":
                uid = n
            else:
                gid = n
        elif key not in ("huge", "mpol", "inode32", "inode64", "noswap"):
            raise Errno(EINVAL)
    sb = Tmpfs(mode=mode, uid=uid, gid=gid, size_limit=size or UNLIMITED)
    sb.max_inodes = inodes or UNLIMITED
    sb.source = source or "none"
    shown = []                          # what shmem_show_options prints: what differs from the default
    if size != ram // 2:
        shown.append(f"size={size // 1024}k")
    if inodes != ram // PAGE // 2:
        shown.append(f"nr_inodes={inodes}")
    if mode != 0o1777:
        shown.append(f"mode={mode:03o}")
    if uid:
        shown.append(f"uid={uid}")
    if gid:
        shown.append(f"gid={gid}")
    shown.append("inode64")             # 64-bit inode numbers: the default on 64-bit Linux
    sb.mount_options = ",".join(shown)
    return sb


def _new_ramfs(task, source: str, data: bytes):
    """ramfs: a tmpfs without limits or figures; it ignores every option but mode=, as Linux's does."""
    from moss_host.fs.drivers.tmpfs import UNLIMITED, Tmpfs
    from moss_host.fs.vfs import StatFs

    class Ramfs(Tmpfs):
        fstype = "ramfs"

        def statfs(self) -> StatFs:
            return StatFs(RAMFS_MAGIC, PAGE, 0, 0, 0, 0, 0, 255, PAGE)

    mode = 0o755
    for key, value in _options(data):
        if key == "mode" and value is not None:
            try:
                mode = int(value, 8) & 0o7777
            except ValueError:
                raise Errno(EINVAL) from None
    sb = Ramfs(mode=mode, size_limit=UNLIMITED)
    sb.max_inodes = UNLIMITED
    sb.source = source or "none"
    return sb


def _new_proc(task, source: str, data: bytes):
    from moss_host.fs.drivers.procfs import ProcFs

    kernel = task.kernel
    sb = ProcFs(kernel, current=lambda: kernel.syscall_task)     # as the boot mount of /proc
    sb.source = source or "none"
    return sb


def _devtmpfs(task, source: str, data: bytes):
    """devtmpfs has one instance, shared by every mount of it."""
    from moss_host.fs.drivers.devfs import Devfs

    for m in task.fs.ns.mounts():
        if isinstance(m.sb, Devfs):
            return m.sb
    return Devfs()


class InodeBlockDevice(BlockDevice):
    """A BlockDevice whose image is a regular file of our own VFS (the host never sees it)."""

    def __init__(self, inode, name: str, read_only: bool):
        super().__init__(os.devnull, read_only=True)     # sets up the cache state, whatever it holds
        os.close(self._fd)
        self._fd = -1
        self.inode = inode
        self.path = name
        self.read_only = read_only
        self.size = inode.size

    def pread(self, offset: int, n: int) -> bytes:
        data = self.inode.read(offset, n)
        if len(data) != n:
            raise BlockDeviceError(EIO, f"image {self.path!r} is too short at offset {offset}")
        return data

    def flush(self) -> None:
        for blk in sorted(self.dirty):
            self.inode.write(blk * self.block_size, bytes(self.cache[blk]))
        self.dirty.clear()
        super().flush()                 # nothing dirty is left: only the base class's bookkeeping

    def close(self) -> None:
        self.flush()


def _ext(task, source: str, data: bytes, fstype: str, flags: int, source_ua: int):
    """ext2/3/4 from a block device node or (moss extension) an image file: get_tree_bdev's checks."""
    from moss_host.fs.drivers.ext4 import mount_ext4

    if source_ua == 0:
        raise Errno(EINVAL)             # "No source specified"
    read_only = bool(flags & MS_RDONLY)
    loop = False
    for key, value in _options(data):
        if key == "ro":
            read_only = True
        elif key == "loop":
            loop = True                 # moss: the source is an image file (Linux: ENOTBLK)
        elif fstype in FAT_TYPES and key in ("uid", "gid", "umask", "fmask", "dmask") and value is not None:
            pass                        # read by _fat_owner below
        elif key not in SB_FLAG_OPTIONS and key not in ("errors", "noload", "norecovery", "data", "barrier",
                                                        "nobarrier", "user_xattr", "acl", "noacl", "discard"):
            log.info("mount: ext4 option %r ignored", key)
    loc = _resolve(task, source.encode(errors="surrogateescape"))
    inode = loc.inode
    devices = getattr(task.kernel, "block_devices", None) or {}
    key = devices.get(inode.rdev) if S.S_ISBLK(inode.mode) else inode if S.S_ISREG(inode.mode) and loop else None
    for m in task.fs.ns.mounts():                     # the same device again: its superblock (sget)
        if key is not None and getattr(m.sb, "device_key", None) is key:
            if read_only != m.sb.read_only:
                raise Errno(EBUSY)
            return m.sb
    if S.S_ISBLK(inode.mode):
        dev = key
        if dev is None:
            log.info("mount: no block device %d:%d behind %s", major(inode.rdev), minor(inode.rdev), source)
            raise Errno(ENXIO)
        read_only = read_only or dev.read_only
    elif S.S_ISREG(inode.mode) and loop:
        if not read_only and loc.mount.is_read_only:
            read_only = True            # Linux's loop driver makes the device read-only then
        dev = InodeBlockDevice(inode, source, read_only)
    else:
        raise Errno(ENOTBLK)
    try:
        if fstype in FAT_TYPES:
            from moss_host.fs.drivers.fat import mount_fat
            sb = mount_fat(dev, read_only=read_only, **_fat_owner(task, data))
        else:
            sb = mount_ext4(dev, read_only=read_only)
    except Errno as e:
        log.warning("mount: %s on %s refused: %s", fstype, source, e)
        raise Errno(EINVAL if e.code not in (EIO, EACCES, EPERM, ENXIO) else e.code) from None
    sb.device_key = dev if S.S_ISBLK(inode.mode) else inode
    sb.source = source
    sb.fstype = fstype
    return sb


def _fat_owner(task, data: bytes) -> dict:
    """vfat's uid=, gid=, umask=, fmask=, dmask= (octal masks); defaults: the mounter's ids and umask."""
    c = task.creds
    out = {"uid": c.euid, "gid": c.egid, "fmask": task.fs.umask, "dmask": task.fs.umask}
    try:
        for key, value in _options(data):
            if key in ("uid", "gid") and value is not None:
                out[key] = int(value)
            elif key in ("umask", "fmask", "dmask") and value is not None:
                for k in (("fmask", "dmask") if key == "umask" else (key,)):
                    out[k] = int(value, 8) & 0o777
    except ValueError:
        raise Errno(EINVAL) from None
    return out


def _new_superblock(task, fstype: bytes, source: bytes | None, data: bytes, flags: int, source_ua: int):
    name = fstype.decode(errors="replace")
    src = (source or b"").decode(errors="surrogateescape")
    if name == "tmpfs":
        return _new_tmpfs(task, src, data)
    if name == "ramfs":
        return _new_ramfs(task, src, data)
    if name == "proc":
        return _new_proc(task, src, data)
    if name == "devtmpfs":
        return _devtmpfs(task, src, data)
    if name in EXT_TYPES or name in FAT_TYPES:
        return _ext(task, src, data, name, flags, source_ua)
    log.info("mount: filesystem type %r is not supported (ENODEV)", name)
    raise Errno(ENODEV)


# ---------------------------------------------------------------- mount(2)

@syscall("mount")
async def mount(task, source: "CStr", target: "CStr", fstype: "CStr", flags: "Hex", data: "Ptr") -> int:
    """Attach a filesystem (new, bind, moved) at target, or change a mount's flags (MS_REMOUNT)."""
    fstype_s = _string_arg(task, fstype)
    source_s = _string_arg(task, source)
    data_s = _data_arg(task, data)
    where = _resolve(task, _path_arg(task, target))
    flags &= 0xFFFF_FFFF_FFFF_FFFF
    if flags & MS_MGC_MSK == MS_MGC_VAL:
        flags &= ~MS_MGC_MSK
    if flags & MS_NOUSER:
        raise Errno(EINVAL)
    if not capable(task.creds):
        raise Errno(EPERM)
    ns = task.fs.ns
    if flags & (MS_REMOUNT | MS_BIND) == MS_REMOUNT | MS_BIND:
        _require_mount_root(where)
        _set_mnt_flags(where.mount, flags, remount=True)
        return 0
    if flags & MS_REMOUNT:
        _require_mount_root(where)
        _remount(where.mount, flags, data_s)
        return 0
    if flags & MS_BIND:
        if not source_s:
            raise Errno(EINVAL)
        src = _resolve(task, source_s)
        if src.inode.is_dir != where.inode.is_dir or not src.inode.is_dir:
            raise Errno(ENOTDIR)        # file bind mounts are not supported by our mount table
        _bind(ns, src.mount, src.dentry, where, recursive=bool(flags & MS_REC))
        return 0
    if flags & MS_PROPAGATION:
        kinds = flags & MS_PROPAGATION
        if kinds & (kinds - 1):
            raise Errno(EINVAL)         # exactly one propagation type
        _require_mount_root(where)
        return 0                        # a single namespace and no peers: nothing propagates
    if flags & MS_MOVE:
        return _move(task, source_s, where)
    if fstype_s is None:
        raise Errno(EINVAL)
    sb = _new_superblock(task, fstype_s, source_s, data_s, flags, source)
    if where.dentry is where.mount.root and where.mount.sb is sb:
        raise Errno(EBUSY)              # the same filesystem on its own root
    m = ns.mount(sb, where)
    _set_mnt_flags(m, flags)
    return 0


def _bind(ns, src: Mount, root, where: Location, recursive: bool) -> Mount:
    """A new mount showing src's tree from dentry `root`, at `where`; with MS_REC the mounts
    below `root` are copied onto the same dentries of the new mount (mount --rbind)."""
    m = ns.mount(src.sb, where, read_only=src.read_only)
    m.root = root
    m.mnt_flags = mnt_flags(src) & ~MS_RDONLY
    if recursive:
        for child in [c for c in ns.mounts() if c.parent is src and root.is_ancestor_of(c.mountpoint)]:
            _bind(ns, child, child.root, Location(m, child.mountpoint), recursive)
    return m


def _require_mount_root(where: Location) -> None:
    if where.dentry is not where.mount.root:
        raise Errno(EINVAL)


def _remount(m: Mount, flags: int, data: bytes) -> None:
    """MS_REMOUNT: new superblock flags (ro/rw) and mount flags. Going read-only writes back first."""
    sb = m.sb
    ro = bool(flags & MS_RDONLY) or any(k == "ro" for k, _ in _options(data))
    if ro and not sb.read_only:
        sb.sync()
        sb.read_only = True
    elif not ro and sb.read_only:
        blockdev = getattr(sb, "blockdev", None)
        if blockdev is not None and blockdev.read_only:
            raise Errno(EACCES)
        sb.read_only = False
        mark = getattr(sb, "mark_mounted", None)
        if mark is not None:
            mark()
    _set_mnt_flags(m, flags, remount=True)


def _move(task, source: bytes | None, where: Location) -> int:
    """MS_MOVE of a mount without submounts: detach it and attach the same filesystem view at target."""
    if not source:
        raise Errno(EINVAL)
    old = _resolve(task, source)
    m = old.mount
    ns = task.fs.ns
    if old.dentry is not m.root or m.parent is None:
        raise Errno(EINVAL)
    if _has_children(ns, m):
        raise Errno(EINVAL)
    here = where
    while True:                          # a mount cannot move below itself
        if here.mount is m:
            raise Errno(ELOOP)
        if here.mount.parent is None:
            break
        here = Location(here.mount.parent, here.mount.mountpoint)
    flags = mnt_flags(m)
    ns.umount(m)
    moved = ns.mount(m.sb, where, read_only=m.read_only)
    moved.root = m.root
    moved.mnt_flags = flags & ~MS_RDONLY
    _retarget(task, m, moved)
    return 0


def _retarget(task, old: Mount, new: Mount) -> None:
    """Processes that stood in the moved mount now stand in its new place."""
    kernel = getattr(task, "kernel", None)
    for t in (getattr(kernel, "tasks", {}) or {}).values():
        fs = t.fs
        if fs is None:
            continue
        if fs.cwd.mount is old:
            fs.cwd = Location(new, fs.cwd.dentry)
        if fs.root.mount is old:
            fs.root = Location(new, fs.root.dentry)


def _has_children(ns, m: Mount) -> bool:
    return any(c.parent is m for c in ns.mounts())


# ---------------------------------------------------------------- umount2(2)

def _busy(task, m: Mount) -> bool:
    """Is anything using mount m: a working or root directory, or an open file, of any process?"""
    kernel = getattr(task, "kernel", None)
    tasks = list((getattr(kernel, "tasks", {}) or {}).values()) or [task]
    for t in tasks:
        fs = getattr(t, "fs", None)
        if fs is not None and (fs.cwd.mount is m or fs.root.mount is m):
            return True
        files = getattr(t, "files", None)
        if files is None:
            continue
        for _, f in files.items():
            loc = getattr(f, "location", None)
            if loc is not None and loc.mount is m:
                return True
    return False


def _detach_tree(ns, m: Mount) -> list[Mount]:
    """Unmount m and everything mounted below it, deepest first; the mounts removed."""
    gone = []
    for child in [c for c in ns.mounts() if c.parent is m]:
        gone += _detach_tree(ns, child)
    ns.umount(m)
    return gone + [m]


@syscall("umount2")
async def umount2(task, target: "CStr", flags: "Hex") -> int:
    """Detach the filesystem mounted at target: EBUSY while in use (unless MNT_DETACH)."""
    flags &= 0xFFFF_FFFF
    if flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW):
        raise Errno(EINVAL)
    where = _resolve(task, _path_arg(task, target), follow=not flags & UMOUNT_NOFOLLOW)
    if not capable(task.creds):
        raise Errno(EPERM)
    m = where.mount
    if where.dentry is not m.root or m.parent is None:
        raise Errno(EINVAL)             # not a mount point (the namespace root counts as none)
    ns = task.fs.ns
    if flags & MNT_EXPIRE:
        if flags & (MNT_FORCE | MNT_DETACH):
            raise Errno(EINVAL)
        if not getattr(m, "expiry_mark", False):
            m.expiry_mark = True
            raise Errno(EAGAIN)
    if flags & MNT_DETACH:
        gone = _detach_tree(ns, m)
    else:
        if _has_children(ns, m) or _busy(task, m):
            raise Errno(EBUSY)
        ns.umount(m)
        gone = [m]
    for dead in gone:
        _release_sb(ns, dead.sb)
    return 0


def _release_sb(ns, sb) -> None:
    """The last mount of sb is gone: let the filesystem finish (ext4 writes itself back clean)."""
    if any(m.sb is sb for m in ns.mounts()):
        return
    unmount = getattr(sb, "unmount", None)
    if unmount is not None:
        unmount()
    else:
        sb.sync()


# ---------------------------------------------------------------- statfs(2), fstatfs(2)

def _fsid(sb) -> tuple[int, int]:
    """f_fsid: ext4 folds its UUID (uuid_to_fsid); memory filesystems report 0."""
    uuid = getattr(getattr(sb, "sbd", None), "s_uuid", None)
    if isinstance(uuid, (bytes, bytearray)) and len(uuid) == 16:
        lo, hi = struct.unpack("<QQ", bytes(uuid))
        v = lo ^ hi
        return _s32(v & 0xFFFF_FFFF), _s32(v >> 32)
    return 0, 0


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x8000_0000 else v


def _f_flags(m: Mount | None) -> int:
    if m is None:
        return ST_VALID
    flags = mnt_flags(m)
    out = ST_VALID
    for ms, st in _ST_OF_MS:
        if flags & ms:
            out |= st
    return out


def pack_statfs(sb, m: Mount | None) -> bytes:
    st = sb.statfs()
    f0, f1 = _fsid(sb)
    return STATFS.pack(st.f_type, st.f_bsize, st.f_blocks, st.f_bfree, st.f_bavail, st.f_files, st.f_ffree,
                       f0, f1, st.f_namelen, st.f_frsize or st.f_bsize, _f_flags(m))


@syscall("statfs")
async def statfs(task, path: "CStr", buf: "Ptr") -> int:
    """Figures of the filesystem holding path: type, block size, blocks and inodes free, flags."""
    loc = _resolve(task, _path_arg(task, path))
    task.mm.write(buf, pack_statfs(loc.inode.sb, loc.mount))
    return 0


class _PipeFs:
    """pipefs's figures (pipes and FIFOs opened anonymously live there in Linux)."""

    @staticmethod
    def statfs():
        from moss_host.fs.vfs import StatFs
        return StatFs(PIPEFS_MAGIC, PAGE, 0, 0, 0, 0, 0, 255, PAGE)


@syscall("fstatfs")
async def fstatfs(task, fd: "Fd", buf: "Ptr") -> int:
    """statfs of the filesystem holding the file open on fd (O_PATH descriptors too)."""
    f = task.files.get(fd_arg(fd))
    loc = f.location
    if loc is not None:
        data = pack_statfs(loc.inode.sb, loc.mount)
    elif hasattr(f, "pipe"):
        data = pack_statfs(_PipeFs, None)
    else:
        data = _devfs_statfs(task)
    task.mm.write(buf, data)
    return 0


def _devfs_statfs(task) -> bytes:
    """A file with no place in our tree (the console): Linux would find it on devtmpfs."""
    from moss_host.fs.drivers.devfs import Devfs

    for m in task.fs.ns.mounts():
        if isinstance(m.sb, Devfs):
            return pack_statfs(m.sb, m)
    raise Errno(ENOSYS)
