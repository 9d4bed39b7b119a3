"""Mount syscalls: mount, umount2, pivot_root, statfs, fstatfs (Linux's fs/namespace.c and fs/statfs.c).

Each decodes its arguments, checks them in Linux's order and calls the mount namespace
(fs/namespace.py: bind, move, pivot, remount, detach, busy checks, the MS_* flags) or makes a
filesystem by name (fs/filesystems.py). mount(2) supports new filesystems, MS_BIND of
directories (with MS_REC, the submounts too), MS_REMOUNT (also with MS_BIND), MS_MOVE of a
mount with its submounts, and the propagation flags (accepted; there are no peers to
propagate to). MS_NOSUID, MS_NODEV, MS_NOEXEC and the atime flags are kept on the mount
and reported by statfs's f_flags; open refuses device nodes on a nodev mount and exec
programs on a noexec one; the atime flags are not enforced, and nosuid has nothing to do
(exec honours no set-ID bits yet).
"""

import logging
import struct

from moss_host.cred import capable
from moss_host.errors import EAGAIN, EBUSY, EFAULT, EINVAL, ENOENT, ENOSYS, ENOTDIR, EPERM, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.filesystems import MountContext, new_superblock
from moss_host.fs.namespace import (MNT_DETACH, MNT_EXPIRE, MNT_FORCE, MS_BIND, MS_MGC_MSK, MS_MGC_VAL, MS_MOVE,
                                    MS_NOUSER, MS_PROPAGATION, MS_RDONLY, MS_REC, MS_REMOUNT, ST_VALID,
                                    UMOUNT_NOFOLLOW, Mount, chroot_refs, is_busy, is_reachable, remount)
from moss_host.fs.options import split_options
from moss_host.fs.path import Walker
from moss_host.fs.pipe import pipefs_statfs
from moss_host.fs.vfs import PATH_MAX, Location, StatFs, Superblock
from moss_host.net.socket import sockfs_statfs

from .args import CStr, Fd, Hex, Ptr
from .fs import _fs_cred, _path_arg
from .table import syscall

log = logging.getLogger("moss.mount")

STATFS = struct.Struct("<7q2i3q32x")    # arm64 struct statfs: 7 longs, f_fsid (2 ints), 3 longs, f_spare[4]
PAGE = 4096


# ---------------------------------------------------------------- argument helpers

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
    return Walker(task.fs, _fs_cred(task), task).resolve(task.fs.cwd, path, follow=follow)


def _mount_context(task) -> MountContext:
    """What a new filesystem may need from the mounting task and the kernel."""
    from moss_host.fs.drivers.procfs import ProcFs
    from moss_host.fs.drivers.sysfs import SysFs

    kernel = task.kernel
    total_kb, _ = kernel.memory_kb()
    return MountContext(ns=task.fs.ns, resolve=lambda path: _resolve(task, path),
                        uid=task.creds.euid, gid=task.creds.egid, umask=task.fs.umask,
                        ram_bytes=total_kb * 1024 or 1 << 30,
                        new_proc=lambda: ProcFs(kernel), new_sys=lambda: SysFs(kernel),
                        mqueue=lambda: kernel.ipc.mqueue)


def _places(task):
    """The root and working directories of every process (what a mount may be busy with)."""
    return [t.fs for t in task.kernel.pids.all()]


def _open_files(task):
    return [f for t in task.kernel.pids.all() for _, f in t.files.items()]


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
        where.mount.set_flags(flags, remount=True)
        return 0
    if flags & MS_REMOUNT:
        _require_mount_root(where)
        read_only = bool(flags & MS_RDONLY) or any(k == "ro" for k, _ in split_options(data_s))
        remount(where.mount, flags, read_only)
        return 0
    if flags & MS_BIND:
        if not source_s:
            raise Errno(EINVAL)
        src = _resolve(task, source_s)
        if src.inode.is_dir != where.inode.is_dir or not src.inode.is_dir:
            raise Errno(ENOTDIR)        # file bind mounts are not supported by our mount table
        ns.bind(src.mount, src.dentry, where, recursive=bool(flags & MS_REC))
        return 0
    if flags & MS_PROPAGATION:
        kinds = flags & MS_PROPAGATION
        if kinds & (kinds - 1):
            raise Errno(EINVAL)         # exactly one propagation type
        _require_mount_root(where)
        return 0                        # a single namespace and no peers: nothing propagates
    if flags & MS_MOVE:
        if not source_s:
            raise Errno(EINVAL)
        ns.move(_resolve(task, source_s), where)
        return 0
    if fstype_s is None:
        raise Errno(EINVAL)
    source_str = None if source_s is None else source_s.decode(errors="surrogateescape")
    sb = new_superblock(fstype_s.decode(errors="replace"), source_str, data_s, flags, _mount_context(task))
    if where.dentry is where.mount.root and where.mount.sb is sb:
        raise Errno(EBUSY)              # the same filesystem on its own root
    m = ns.mount(sb, where)
    m.set_flags(flags)
    return 0


def _require_mount_root(where: Location) -> None:
    if not where.mount.is_root(where):
        raise Errno(EINVAL)


# ---------------------------------------------------------------- pivot_root(2)

@syscall("pivot_root")
async def pivot_root(task, new_root: "CStr", put_old: "CStr") -> int:
    """Make the mount at new_root the caller's root (and that of every process whose root or
    cwd was the old one), moving the old root's mount to put_old."""
    if not capable(task.creds):
        raise Errno(EPERM)
    new = _resolve_dir(task, _path_arg(task, new_root))
    old = _resolve_dir(task, _path_arg(task, put_old))
    root = task.fs.root
    if old.mount.ns is not task.fs.ns or new.mount.ns is not task.fs.ns:
        raise Errno(EINVAL)             # check_mnt
    if new.mount.parent is None:
        raise Errno(EINVAL)             # the namespace's first mount is MNT_LOCKED (seen on Linux 6.1)
    if new.dentry.unlinked:
        raise Errno(ENOENT)
    if new.mount is root.mount or old.mount is root.mount:
        raise Errno(EBUSY)              # on the same filesystem
    if not root.mount.is_root(root) or root.mount.parent is None:
        raise Errno(EINVAL)             # the root is not a mount point, or not attached (rootfs)
    if not new.mount.is_root(new) or new.mount.parent is None:
        raise Errno(EINVAL)
    if not is_reachable(old, new) or not is_reachable(new, root):
        raise Errno(EINVAL)             # put_old under new_root, new_root under the root
    task.fs.ns.pivot(root, new, old)
    chroot_refs(root, Location(new.mount, new.mount.root), _places(task))
    return 0


def _resolve_dir(task, path: bytes) -> Location:
    """user_path_at with LOOKUP_FOLLOW | LOOKUP_DIRECTORY."""
    loc = _resolve(task, path)
    if not loc.inode.is_dir:
        raise Errno(ENOTDIR)
    return loc


# ---------------------------------------------------------------- umount2(2)

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
    if not m.is_root(where):
        raise Errno(EINVAL)             # not a mount point
    if m is task.fs.root.mount and not flags & MNT_DETACH:
        if flags & MNT_EXPIRE:
            raise Errno(EINVAL)
        _umount_root(m.sb)              # do_umount: "unmounting" one's root makes it read-only
        return 0
    if m.parent is None:
        raise Errno(EINVAL)             # the namespace root cannot be detached
    ns = task.fs.ns
    if flags & MNT_EXPIRE:
        if flags & (MNT_FORCE | MNT_DETACH):
            raise Errno(EINVAL)
        if not m.expiry_mark:
            m.expiry_mark = True
            raise Errno(EAGAIN)
    if flags & MNT_DETACH:
        gone = ns.detach_tree(m)
    else:
        if ns.has_children(m) or is_busy(m, _places(task), _open_files(task)):
            raise Errno(EBUSY)
        ns.umount(m)
        gone = [m]
    for dead in gone:
        ns.release(dead.sb, {t.fs.ns for t in task.kernel.pids.all()})
    return 0


def _umount_root(sb: Superblock) -> None:
    """do_umount_root: the caller's root filesystem goes read-only, written back first (what
    BusyBox's `umount -a -r` at shutdown and `umount /` get), its mount flags unchanged."""
    if not sb.read_only:
        sb.remount_read_only()


# ---------------------------------------------------------------- statfs(2), fstatfs(2)

def pack_statfs(st: StatFs, fsid: tuple[int, int], f_flags: int) -> bytes:
    return STATFS.pack(st.f_type, st.f_bsize, st.f_blocks, st.f_bfree, st.f_bavail, st.f_files, st.f_ffree,
                       fsid[0], fsid[1], st.f_namelen, st.f_frsize or st.f_bsize, f_flags)


def _statfs_of(sb: Superblock, m: Mount) -> bytes:
    return pack_statfs(sb.statfs(), sb.fsid(), m.statfs_flags())


@syscall("statfs")
async def statfs(task, path: "CStr", buf: "Ptr") -> int:
    """Figures of the filesystem holding path: type, block size, blocks and inodes free, flags."""
    loc = _resolve(task, _path_arg(task, path))
    task.mm.write(buf, _statfs_of(loc.inode.sb, loc.mount))
    return 0


@syscall("fstatfs")
async def fstatfs(task, fd: "Fd", buf: "Ptr") -> int:
    """statfs of the filesystem holding the file open on fd (O_PATH descriptors too)."""
    f = task.files.get(fd_arg(fd))
    loc = f.location
    if loc is not None:
        data = _statfs_of(loc.inode.sb, loc.mount)
    elif f.pipe is not None:
        data = pack_statfs(pipefs_statfs(), (0, 0), ST_VALID)
    elif f.is_socket:
        data = pack_statfs(sockfs_statfs(), (0, 0), ST_VALID)
    else:
        data = _devfs_statfs(task)
    task.mm.write(buf, data)
    return 0


def _devfs_statfs(task) -> bytes:
    """A file with no place in our tree (the console): Linux would find it on devtmpfs."""
    from moss_host.fs.drivers.devfs import Devfs

    for m in task.fs.ns.mounts():
        if isinstance(m.sb, Devfs):
            return _statfs_of(m.sb, m)
    raise Errno(ENOSYS)
