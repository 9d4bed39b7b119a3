"""name_to_handle_at(2) and open_by_handle_at(2) (Linux 6.1's fs/fhandle.c, CONFIG_FHANDLE):
a file named by a handle its filesystem made (moss_host/fs/fhandle.py), not by a path.

struct file_handle { u32 handle_bytes; int handle_type; unsigned char f_handle[]; }: the
caller says in handle_bytes how much room f_handle has; a handle that does not fit is
EOVERFLOW with handle_bytes set to the size it needs (how callers ask for the size).
"""
import struct

from moss_host.cred import CAP_DAC_READ_SEARCH, capable
from moss_host.errors import EBADF, EINVAL, EOPNOTSUPP, EOVERFLOW, EPERM, ESTALE, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.fhandle import MAX_HANDLE_SZ, handle_to_location, name_to_handle
from moss_host.fs.file import O_CLOEXEC, O_LARGEFILE, O_PATH, O_PATH_FLAGS, open_location
from moss_host.fs.vfs import Location

from .args import CStr, Fd, Hex, Ptr
from .fs import AT_EMPTY_PATH, AT_FDCWD, _fs_cred, _path_arg, _resolve_at
from .openat2 import VALID_OPEN_FLAGS, build_open_flags
from .table import syscall

AT_SYMLINK_FOLLOW = 0x400
FILE_HANDLE = struct.Struct("<Ii")      # handle_bytes, handle_type


@syscall("name_to_handle_at")
def name_to_handle_at(task, dirfd: "Fd", path: "CStr", handle: "Ptr", mount_id: "Ptr", flags: "Hex") -> int:
    """Store a handle of the file at path (dirfd, AT_EMPTY_PATH, AT_SYMLINK_FOLLOW) and the
    id of the mount it was found through (as /proc/self/mountinfo numbers it)."""
    flags &= 0xFFFF_FFFF
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        raise Errno(EINVAL)
    # Linux 6.1 reads a NULL path as a fault even with AT_EMPTY_PATH
    name = _path_arg(task, path, empty_ok=bool(flags & AT_EMPTY_PATH) and path != 0)
    target = _resolve_at(task, dirfd, name, follow=bool(flags & AT_SYMLINK_FOLLOW))
    if not isinstance(target, Location):
        raise Errno(EOPNOTSUPP)         # a pipe or socket: pipefs and sockfs have no handles
    if target.mount.sb.export_op is None:
        raise Errno(EOPNOTSUPP)
    room, _ = FILE_HANDLE.unpack(task.mm.read(handle, FILE_HANDLE.size))
    if room > MAX_HANDLE_SZ:
        raise Errno(EINVAL)
    fh_type, raw, size, mnt = name_to_handle(target, room)
    task.mm.write(mount_id, struct.pack("<i", mnt))
    task.mm.write(handle, FILE_HANDLE.pack(size, fh_type) + raw)
    return 0 if raw else -EOVERFLOW


@syscall("open_by_handle_at")
async def open_by_handle_at(task, mount_fd: "Fd", handle: "Ptr", flags: "Hex") -> int:
    """Open the file a handle names on the filesystem mounted where mount_fd is (AT_FDCWD: the
    working directory's); needs CAP_DAC_READ_SEARCH, as it skips every directory's search check."""
    flags = (flags & 0xFFFF_FFFF) | O_LARGEFILE          # force_o_largefile
    if not capable(task.creds, CAP_DAC_READ_SEARCH):
        raise Errno(EPERM)
    size, fh_type = FILE_HANDLE.unpack(task.mm.read(handle, FILE_HANDLE.size))
    if size > MAX_HANDLE_SZ or size == 0:
        raise Errno(EINVAL)
    raw = task.mm.read(handle + FILE_HANDLE.size, size)
    loc = handle_to_location(_mount_of(task, mount_fd), fh_type, raw)
    fd = task.files.alloc_fd()
    try:
        f = await open_location(loc, _open_how_flags(flags), _fs_cred(task))
    except BaseException:
        task.files.release_reserved(fd)
        raise
    return task.files.install_at_reserved(fd, f, cloexec=bool(flags & O_CLOEXEC))


def _mount_of(task, mount_fd: int) -> Location:
    """get_vfsmount_from_fd: the cwd for AT_FDCWD, else mount_fd's file (fdget: not O_PATH)."""
    fd = fd_arg(mount_fd)
    if fd == AT_FDCWD:
        return task.fs.cwd
    f = task.files.get(fd)
    if f.is_path:
        raise Errno(EBADF)
    if f.location is None:
        raise Errno(ESTALE)            # pipefs, sockfs, anon inodes: no export operations
    return f.location


def _open_how_flags(flags: int) -> int:
    """file_open_root's build_open_how and build_open_flags: unknown bits dropped, O_PATH
    keeping only the flags it permits, then openat2's checks (O_TMPFILE without O_DIRECTORY...)."""
    flags &= VALID_OPEN_FLAGS & ~O_CLOEXEC
    if flags & O_PATH:
        flags &= O_PATH_FLAGS
    return build_open_flags(flags, 0, 0)
