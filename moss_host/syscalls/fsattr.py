"""File attribute syscalls: chmod, chown, utimensat, truncate, fallocate, link, and the
sync family.

Each follows Linux's fs/open.c, fs/attr.c, fs/utimes.c and fs/namei.c: arguments are
checked in the same order, so the same errno wins. The common shape is
  look the file up -> mnt_want_write (EROFS) -> setattr_prepare (EPERM/EACCES) -> change.
CAP_CHOWN, CAP_FOWNER, CAP_FSETID and CAP_DAC_* are checked in the effective set (cred.capable()).
"""

import stat as S

from moss_host.cred import CAP_CHOWN, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, capable
from moss_host.errors import (EBADF, EEXIST, EFBIG, EINVAL, EISDIR, ENODEV, ENOENT, EOPNOTSUPP, EPERM,
                              ESPIPE, EXDEV, Errno)
from moss_host.fs import fsnotify
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import InodeFile, OpenFile
from moss_host.fs.path import Walker
from moss_host.fs.vfs import MAY_WRITE, Location, now_ns, permission, vfs_link, want_write
from moss_host.mm.page_cache import after_write, truncate_file
from moss_host.proc import fsize
from moss_host.uapi import TIMESPEC_PAIR

from .args import CStr, Fd, Hex, Int, Ptr, UInt, c_int
from .fs import (AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, _dir_start, _fs_cred, _path_arg, _resolve_at,
                 _s64, _u32)
from .table import syscall

AT_SYMLINK_FOLLOW = 0x400

UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2

FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_NO_HIDE_STALE = 0x04
FALLOC_FL_COLLAPSE_RANGE = 0x08
FALLOC_FL_ZERO_RANGE = 0x10
FALLOC_FL_INSERT_RANGE = 0x20
FALLOC_FL_UNSHARE_RANGE = 0x40
FALLOC_FL_SUPPORTED_MASK = 0x7F

MAX_LFS_FILESIZE = (1 << 63) - 1
NO_CHANGE = 0xFFFF_FFFF                     # (uid_t)-1 / (gid_t)-1: leave it as it is


# ---------------------------------------------------------------- helpers

def _owner_or_capable(task, inode) -> bool:
    """inode_owner_or_capable: the file's owner (by fsuid) or CAP_FOWNER."""
    return capable(task.creds, CAP_FOWNER) or _fs_cred(task).uid == inode.uid


def _fd_file(task, fd: int) -> OpenFile:
    """fdget: the file behind fd; EBADF if none or if it is an O_PATH descriptor."""
    f = task.files.get(fd_arg(fd))
    if f.is_path:
        raise Errno(EBADF)
    return f


def _path_target(task, dirfd: int, path: int, follow: bool, empty_ok: bool):
    """user_path_at: a Location, or an OpenFile with no place in a filesystem (AT_EMPTY_PATH on a pipe)."""
    name = _path_arg(task, path, empty_ok=empty_ok)
    return _resolve_at(task, dirfd, name, follow=follow)


# ---------------------------------------------------------------- chmod

def _chmod(task, target, mode: int) -> None:
    """chmod_common: EROFS, then owner-or-CAP_FOWNER (EPERM); the set-group-ID bit is dropped
    when the caller is not in the file's group and lacks CAP_FSETID."""
    if not isinstance(target, Location):
        st = target.stat()
        if not capable(task.creds, CAP_FOWNER) and _fs_cred(task).uid != st.st_uid:
            raise Errno(EPERM)
        return                          # pipes and sockets: nothing kept to change
    want_write(target)
    inode = target.inode
    if not _owner_or_capable(task, inode):
        raise Errno(EPERM)
    mode &= 0o7777
    if mode & S.S_ISGID and not capable(task.creds, CAP_FSETID) and not _fs_cred(task).in_group(inode.gid):
        mode &= ~S.S_ISGID
    inode.setattr(mode=mode)
    fsnotify.on_file(target.dentry, fsnotify.IN_ATTRIB)


@syscall("fchmodat")
async def fchmodat(task, dirfd: "Fd", path: "CStr", mode: "Hex") -> int:
    """Change the permission bits of path (a symlink is followed) relative to dirfd."""
    _chmod(task, _path_target(task, dirfd, path, follow=True, empty_ok=False), _u32(mode))
    return 0


@syscall("fchmod")
async def fchmod(task, fd: "Fd", mode: "Hex") -> int:
    """Change the permission bits of the file open on fd."""
    f = _fd_file(task, fd)
    _chmod(task, f.location if f.location is not None else f, _u32(mode))
    return 0


# ---------------------------------------------------------------- chown

def _chown(task, target, uid: int, gid: int) -> None:
    """chown_common + setattr_prepare's chown_ok/chgrp_ok + notify_change's set-ID clearing."""
    if not isinstance(target, Location):
        st = target.stat()
        owner, group, mode = st.st_uid, st.st_gid, st.st_mode
    else:
        want_write(target)
        inode = target.inode
        owner, group, mode = inode.uid, inode.gid, inode.mode
    cred = _fs_cred(task)
    privileged = capable(task.creds, CAP_CHOWN)
    if uid != NO_CHANGE and not privileged and not (cred.uid == owner and uid == owner):
        raise Errno(EPERM)
    if gid != NO_CHANGE and not privileged and not (cred.uid == owner and (gid == group or cred.in_group(gid))):
        raise Errno(EPERM)
    if not isinstance(target, Location):
        return
    new_mode = None
    if not S.S_ISDIR(mode):
        # ATTR_KILL_SUID|ATTR_KILL_SGID: even root's chown clears set-user-ID; set-group-ID goes
        # only with group execute (without it, the bit marks mandatory locking).
        kill = mode & S.S_ISUID
        if mode & S.S_ISGID and mode & S.S_IXGRP:
            kill |= S.S_ISGID
        if kill:
            new_mode = mode & 0o7777 & ~kill
    inode.setattr(mode=new_mode, uid=None if uid == NO_CHANGE else uid, gid=None if gid == NO_CHANGE else gid)
    fsnotify.on_file(target.dentry, fsnotify.IN_ATTRIB)


@syscall("fchownat")
async def fchownat(task, dirfd: "Fd", path: "CStr", owner: "UInt", group: "UInt", flags: "Hex") -> int:
    """chown/lchown relative to dirfd: -1 keeps an id; AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH."""
    flags = c_int(flags)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise Errno(EINVAL)
    target = _path_target(task, dirfd, path, follow=not flags & AT_SYMLINK_NOFOLLOW,
                          empty_ok=bool(flags & AT_EMPTY_PATH))
    _chown(task, target, _u32(owner), _u32(group))
    return 0


@syscall("fchown")
async def fchown(task, fd: "Fd", owner: "UInt", group: "UInt") -> int:
    """Change the owner and/or group of the file open on fd."""
    f = _fd_file(task, fd)
    _chown(task, f.location if f.location is not None else f, _u32(owner), _u32(group))
    return 0


# ---------------------------------------------------------------- utimensat

def _nsec_valid(nsec: int) -> bool:
    return nsec in (UTIME_NOW, UTIME_OMIT) or 0 <= nsec < 1_000_000_000


def _utimes(task, target, times) -> None:
    """vfs_utimes: EROFS; explicit times need the owner (EPERM), "now" also allows a writer (EACCES)."""
    if times is not None and times[0][1] == UTIME_NOW and times[1][1] == UTIME_NOW:
        times = None
    if not isinstance(target, Location):
        return                          # a pipe or socket: its times are not kept
    want_write(target)
    inode = target.inode
    if times is None:
        if not _owner_or_capable(task, inode):
            permission(inode, _fs_cred(task), MAY_WRITE)
        now = now_ns()
        inode.setattr(atime_ns=now, mtime_ns=now)
        fsnotify.on_file(target.dentry, fsnotify.IN_ATTRIB)
        return
    if not _owner_or_capable(task, inode):
        raise Errno(EPERM)
    now = now_ns()
    stamps = []
    for sec, nsec in times:
        stamps.append(None if nsec == UTIME_OMIT else now if nsec == UTIME_NOW else sec * 1_000_000_000 + nsec)
    inode.setattr(atime_ns=stamps[0], mtime_ns=stamps[1])
    fsnotify.on_file(target.dentry, _utimes_event(stamps[0] is not None, stamps[1] is not None))


def _utimes_event(atime: bool, mtime: bool) -> int:
    """fsnotify_change: both times are IN_ATTRIB, the access time alone IN_ACCESS, the
    modification time alone IN_MODIFY."""
    if atime and mtime:
        return fsnotify.IN_ATTRIB
    return fsnotify.IN_ACCESS if atime else fsnotify.IN_MODIFY if mtime else 0


@syscall("utimensat")
async def utimensat(task, dirfd: "Fd", path: "CStr", times: "Ptr", flags: "Hex") -> int:
    """Set the access and modification times of path (or, with path NULL, of the file open on dirfd)."""
    pair = None
    if times:
        a_sec, a_nsec, m_sec, m_nsec = TIMESPEC_PAIR.unpack(task.mm.read(times, TIMESPEC_PAIR.size))
        if a_nsec == UTIME_OMIT and m_nsec == UTIME_OMIT:
            return 0                    # nothing to do: the path is not even looked at
        pair = ((a_sec, a_nsec), (m_sec, m_nsec))
        if not _nsec_valid(a_nsec) or not _nsec_valid(m_nsec):
            raise Errno(EINVAL)
    flags = c_int(flags)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise Errno(EINVAL)
    if path == 0 and fd_arg(dirfd) != AT_FDCWD:
        if flags:
            raise Errno(EINVAL)         # futimens: no flags
        f = _fd_file(task, dirfd)
        target = f.location if f.location is not None else f
    else:
        target = _path_target(task, dirfd, path, follow=not flags & AT_SYMLINK_NOFOLLOW,
                              empty_ok=bool(flags & AT_EMPTY_PATH) and path != 0)
    _utimes(task, target, pair)
    return 0


# ---------------------------------------------------------------- truncate and fallocate

def _kill_suid_on_write(task, inode) -> None:
    """file_remove_privs for a size change by someone without CAP_FSETID."""
    if capable(task.creds, CAP_FSETID) or not inode.is_reg:
        return
    kill = inode.mode & S.S_ISUID
    if inode.mode & S.S_ISGID and inode.mode & S.S_IXGRP:
        kill |= S.S_ISGID
    if kill:
        inode.setattr(mode=inode.mode & 0o7777 & ~kill)


@syscall("truncate")
async def truncate(task, path: "CStr", length: "Int") -> int:
    """Set the size of the regular file path to length (zero-filling when it grows)."""
    size = _s64(length)
    if size < 0:
        raise Errno(EINVAL)
    name = _path_arg(task, path)
    loc = Walker(task.fs, _fs_cred(task), task).resolve(task.fs.cwd, name, follow=True)
    inode = loc.inode
    if inode.is_dir:
        raise Errno(EISDIR)
    if not inode.is_reg:
        raise Errno(EINVAL)
    want_write(loc)
    permission(inode, _fs_cred(task), MAY_WRITE)
    fsize.check_new_size(task, size)
    _kill_suid_on_write(task, inode)
    truncate_file(inode, size)
    fsnotify.on_file(loc.dentry, fsnotify.IN_MODIFY)
    return 0


@syscall("ftruncate")
async def ftruncate(task, fd: "Fd", length: "Int") -> int:
    """Set the size of the regular file open for writing on fd."""
    size = _s64(length)
    if size < 0:
        raise Errno(EINVAL)
    f = _fd_file(task, fd)
    if not isinstance(f, InodeFile) or not f.inode.is_reg or not f.writable:
        raise Errno(EINVAL)
    fsize.check_new_size(task, size)
    _kill_suid_on_write(task, f.inode)
    truncate_file(f.inode, size)
    fsnotify.on_file(f.location.dentry, fsnotify.IN_MODIFY)
    return 0


@syscall("fallocate")
async def fallocate(task, fd: "Fd", mode: "Hex", offset: "Int", length: "Int") -> int:
    """Reserve space: mode 0 extends the file to offset+len; FALLOC_FL_KEEP_SIZE reserves
    without growing (a no-op here: no filesystem of ours preallocates); PUNCH_HOLE|KEEP_SIZE
    zeroes the range. Other modes: EOPNOTSUPP, as on tmpfs."""
    f = _fd_file(task, fd)
    mode, off, n = c_int(mode), _s64(offset), _s64(length)
    if off < 0 or n <= 0:
        raise Errno(EINVAL)
    if mode & ~FALLOC_FL_SUPPORTED_MASK:
        raise Errno(EOPNOTSUPP)
    if mode & FALLOC_FL_PUNCH_HOLE and mode & FALLOC_FL_ZERO_RANGE:
        raise Errno(EOPNOTSUPP)
    if mode & FALLOC_FL_PUNCH_HOLE and not mode & FALLOC_FL_KEEP_SIZE:
        raise Errno(EOPNOTSUPP)
    for exclusive, allowed in ((FALLOC_FL_COLLAPSE_RANGE, 0), (FALLOC_FL_INSERT_RANGE, 0),
                               (FALLOC_FL_UNSHARE_RANGE, FALLOC_FL_KEEP_SIZE)):
        if mode & exclusive and mode & ~(exclusive | allowed):
            raise Errno(EINVAL)
    if not f.writable:
        raise Errno(EBADF)
    loc = f.location
    kind = S.S_IFMT(loc.inode.mode) if loc is not None else S.S_IFIFO if f.pipe is not None else 0
    if kind == S.S_IFIFO:
        raise Errno(ESPIPE)
    if kind == S.S_IFDIR:
        raise Errno(EISDIR)
    if kind != S.S_IFREG or loc is None:
        raise Errno(ENODEV)
    if off + n > MAX_LFS_FILESIZE:
        raise Errno(EFBIG)
    inode = loc.inode
    if mode in (0, FALLOC_FL_KEEP_SIZE):
        if mode == 0 and off + n > inode.size:
            truncate_file(inode, off + n)
        return 0
    if mode == FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
        inode.write_limit(0, 0)         # a write-sealed memfd: EPERM (shmem_fallocate)
        end = min(off + n, inode.size)
        pos = off
        while pos < end:                # in slices, so a huge hole does not need one huge buffer
            chunk = min(end - pos, 1 << 20)
            zeros = bytes(chunk)
            inode.write(pos, zeros)
            after_write(inode, pos, zeros, chunk)
            pos += chunk
        return 0
    raise Errno(EOPNOTSUPP)


# ---------------------------------------------------------------- link

@syscall("linkat")
async def linkat(task, olddirfd: "Fd", oldpath: "CStr", newdirfd: "Fd", newpath: "CStr", flags: "Hex") -> int:
    """Make newpath a new name of the non-directory oldpath; AT_SYMLINK_FOLLOW, AT_EMPTY_PATH."""
    flags = c_int(flags)
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        raise Errno(EINVAL)
    old_name = _path_arg(task, oldpath, empty_ok=bool(flags & AT_EMPTY_PATH))
    new_name = _path_arg(task, newpath)
    if flags & AT_EMPTY_PATH and not capable(task.creds, CAP_DAC_READ_SEARCH):
        raise Errno(ENOENT)             # linking an fd by "" needs CAP_DAC_READ_SEARCH
    old = _resolve_at(task, olddirfd, old_name, follow=bool(flags & AT_SYMLINK_FOLLOW))
    if not isinstance(old, Location):
        raise Errno(EXDEV)              # a pipe or socket by AT_EMPTY_PATH: Linux's pipefs is another mount
    cred = _fs_cred(task)
    parent = Walker(task.fs, cred, task).resolve_parent(_dir_start(task, newdirfd, new_name), new_name)
    if parent.name in (b"", b".", b"..") or parent.dir.dentry.lookup_or_none(parent.name) is not None:
        raise Errno(EEXIST)             # filename_create fails before the mounts are compared
    if old.mount is not parent.dir.mount:
        raise Errno(EXDEV)              # do_linkat compares the mounts before vfs_link looks at nlink
    if old.inode.nlink == 0 and not old.inode.is_dir and not old.inode.linkable:
        raise Errno(ENOENT)             # an unlinked file cannot get a name back; an O_TMPFILE one can
    vfs_link(old, parent.dir, parent.name, cred, slash=parent.slash)
    return 0


# ---------------------------------------------------------------- sync

def _fsync_file(task, fd: int) -> None:
    sync_file(_fd_file(task, fd))


def sync_file(f: OpenFile) -> None:
    """vfs_fsync of an open file (fsync, fdatasync, AIO's IOCB_CMD_FSYNC and FDSYNC)."""
    loc = f.location
    if loc is None or not (loc.inode.is_reg or loc.inode.is_dir) or loc.inode.sb.fstype == "proc":
        raise Errno(EINVAL)             # no ->fsync: pipes, sockets, ttys, devices, proc files
    loc.inode.sb.sync()                 # the whole filesystem: ext4 flushes its block device


@syscall("fsync")
async def fsync(task, fd: "Fd") -> int:
    """Flush the file open on fd (we write back its whole filesystem) to its device."""
    _fsync_file(task, fd)
    return 0


@syscall("fdatasync")
async def fdatasync(task, fd: "Fd") -> int:
    """fsync without the metadata that reading the data does not need (here: the same)."""
    _fsync_file(task, fd)
    return 0


@syscall("sync")
async def sync(task) -> int:
    """Write back every mounted filesystem."""
    for sb in task.fs.ns.superblocks():
        sb.sync()
    return 0


@syscall("syncfs")
async def syncfs(task, fd: "Fd") -> int:
    """Write back the filesystem holding the file open on fd."""
    f = _fd_file(task, fd)
    if f.location is not None:
        f.location.inode.sb.sync()
    return 0
