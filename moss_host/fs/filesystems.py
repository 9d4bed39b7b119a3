"""Filesystem types by name: what mount(2) makes of a type, a source and an option string
(Linux's get_fs_type and each type's get_tree).

tmpfs, ramfs, proc, sysfs and devtmpfs (one instance of each of the last two, shared by
all their mounts), ext2/ext3/ext4 through the ext4 driver, vfat and msdos through the FAT
driver (uid=, gid=, umask=, fmask=, dmask= are vfat's).
A disk filesystem's source is a block device node -- there are no block device
drivers, so opening one is ENXIO, as in Linux without the driver -- or, a moss extension
since there are no loop devices, with the option "loop" in data, a regular file holding an
image (fs/loopdev.py; without "loop" a regular file is ENOTBLK, as in Linux). Mounting the
same image twice shares one superblock, as in Linux.
"""
from __future__ import annotations

import logging
import stat as S
from dataclasses import dataclass
from typing import Callable, Optional

from ..errors import EACCES, EBUSY, EINVAL, EIO, ENODEV, ENOTBLK, ENXIO, EPERM, Errno
from .namespace import MS_RDONLY, MountTable
from .options import SB_FLAG_OPTIONS, split_options
from .stat import major, minor
from .vfs import Location, Superblock

log = logging.getLogger("moss.mount")

# The types the kernel knows, for /proc/filesystems: (type, needs a block device), in
# Linux's registration order (devpts is mounted at boot, not by name).
FILESYSTEMS: list[tuple[str, bool]] = [
    ("sysfs", False),
    ("ramfs", False), ("tmpfs", False), ("devtmpfs", False), ("proc", False), ("devpts", False), ("mqueue", False),
    ("ext3", True), ("ext2", True), ("ext4", True), ("vfat", True), ("msdos", True)]
EXT_TYPES = ("ext2", "ext3", "ext4")
FAT_TYPES = ("vfat", "msdos")       # both through the vfat driver (msdos: long names are still read)
FAT_OWNER_OPTIONS = ("uid", "gid", "umask", "fmask", "dmask")
EXT_OPTIONS = ("errors", "noload", "norecovery", "data", "barrier", "nobarrier", "user_xattr", "acl",
               "noacl", "discard")


@dataclass
class MountContext:
    """What making a filesystem needs besides its type, source and options: the namespace it
    joins, who mounts (vfat's default owner), and what the rest of the kernel hands in."""
    ns: MountTable
    resolve: Callable[[bytes], Location]    # a source path, walked as the mounting process
    uid: int                                # the mounter's effective ids and umask
    gid: int
    umask: int
    ram_bytes: int                          # the machine's memory (tmpfs's default size)
    new_proc: Callable[[], Superblock]      # a procfs instance
    new_sys: Optional[Callable[[], Superblock]] = None     # a sysfs instance; None: no sysfs
    # the IPC namespace's mqueue filesystem (moss_host/ipc sits above fs/); None: no mqueue
    mqueue: Optional[Callable[[], Superblock]] = None


def new_superblock(fstype: str, source: Optional[str], data: bytes, flags: int,
                   ctx: MountContext) -> Superblock:
    """The filesystem mount(2) asks for; ENODEV for an unknown type. source None: no source given."""
    from .drivers.tmpfs import ramfs_from_options, tmpfs_from_options

    if fstype == "tmpfs":
        return tmpfs_from_options(source or "", data, ctx.ram_bytes)
    if fstype == "ramfs":
        return ramfs_from_options(source or "", data)
    if fstype == "proc":
        sb = ctx.new_proc()
        sb.source = source or "none"
        return sb
    if fstype == "devtmpfs":
        return _devtmpfs(ctx.ns)
    if fstype == "sysfs" and ctx.new_sys is not None:
        return _sysfs(ctx.ns, ctx.new_sys)
    if fstype == "mqueue" and ctx.mqueue is not None:
        sb = ctx.mqueue()                   # one per IPC namespace, however often it is mounted
        sb.source = source or "none"
        return sb
    if fstype in EXT_TYPES or fstype in FAT_TYPES:
        return _disk(fstype, source, data, bool(flags & MS_RDONLY), ctx)
    log.info("mount: filesystem type %r is not supported (ENODEV)", fstype)
    raise Errno(ENODEV)


def _devtmpfs(ns: MountTable) -> Superblock:
    """devtmpfs has one instance, shared by every mount of it."""
    from .drivers.devfs import Devfs

    for sb in ns.superblocks():
        if isinstance(sb, Devfs):
            return sb
    return Devfs()


def _sysfs(ns: MountTable, new_sys: Callable[[], Superblock]) -> Superblock:
    """sysfs has one instance per network namespace (there is one), shared by every mount."""
    from .drivers.sysfs import SysFs

    for sb in ns.superblocks():
        if isinstance(sb, SysFs):
            return sb
    return new_sys()


def _disk(fstype: str, source: Optional[str], data: bytes, read_only: bool, ctx: MountContext) -> Superblock:
    """ext2/3/4 or vfat from a block device node or (moss extension) an image file: get_tree_bdev's checks."""
    from .drivers.ext4 import mount_ext4
    from .drivers.fat import mount_fat, owner_options
    from .loopdev import InodeBlockDevice

    if source is None:
        raise Errno(EINVAL)             # "No source specified"
    loop = False
    for key, value in split_options(data):
        if key == "ro":
            read_only = True
        elif key == "loop":
            loop = True                 # moss: the source is an image file (Linux: ENOTBLK)
        elif fstype in FAT_TYPES and key in FAT_OWNER_OPTIONS and value is not None:
            pass                        # read by owner_options below
        elif key not in SB_FLAG_OPTIONS and key not in EXT_OPTIONS:
            log.info("mount: ext4 option %r ignored", key)
    loc = ctx.resolve(source.encode(errors="surrogateescape"))
    inode = loc.inode
    if S.S_ISBLK(inode.mode):
        log.info("mount: no block device %d:%d behind %s", major(inode.rdev), minor(inode.rdev), source)
        raise Errno(ENXIO)
    if not (S.S_ISREG(inode.mode) and loop):
        raise Errno(ENOTBLK)
    for sb in ctx.ns.superblocks():              # the same image again: its superblock (sget)
        if sb.device_key is inode:
            if read_only != sb.read_only:
                raise Errno(EBUSY)
            return sb
    if not read_only and loc.mount.is_read_only:
        read_only = True                # Linux's loop driver makes the device read-only then
    dev = InodeBlockDevice(inode, source, read_only)
    try:
        if fstype in FAT_TYPES:
            sb = mount_fat(dev, read_only=read_only, **owner_options(data, ctx.uid, ctx.gid, ctx.umask))
        else:
            sb = mount_ext4(dev, read_only=read_only)
    except Errno as e:
        log.warning("mount: %s on %s refused: %s", fstype, source, e)
        raise Errno(EINVAL if e.code not in (EIO, EACCES, EPERM, ENXIO) else e.code) from None
    sb.device_key = inode
    sb.source = source
    sb.fstype = fstype
    return sb
