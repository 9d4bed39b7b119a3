"""copy_file_range: copy bytes between two regular files inside the kernel (coreutils' cp).

Linux 6.1's fs/read_write.c, in its order: both fds (EBADF), the offset words (EFAULT), flags
(EINVAL), then generic_copy_file_checks: directories EISDIR, other non-regular files EINVAL,
an fd not open for reading / writing or an O_APPEND destination EBADF, two filesystems
EXDEV (no filesystem here has its own ->copy_file_range, and the generic copy stays within
one superblock), offsets that wrap EOVERFLOW, the count cut at the source's end, and an
overlapping range of one file EINVAL; then rw_verify_area (a negative offset EINVAL). The
copy itself is the splice fallback: read the source's pages, write them to the destination.
"""
from __future__ import annotations

from moss_host.errors import EBADF, EINVAL, EISDIR, EOVERFLOW, EXDEV, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import O_APPEND, InodeFile, OpenFile, file_needs

from .args import Fd, Hex, Ptr, Size
from .fs import MAX_RW_COUNT, _s64
from .table import syscall

U64 = (1 << 64) - 1
S64_MAX = (1 << 63) - 1


@syscall("copy_file_range")
async def copy_file_range(task, fd_in: "Fd", off_in: "Ptr", fd_out: "Fd", off_out: "Ptr", length: "Size",
                          flags: "Hex") -> int:
    """Copy up to length bytes from fd_in to fd_out; each side at *off (which moves) or at its
    file position (which moves). Returns the bytes copied, 0 at the source's end."""
    src = file_needs(task.files.get(fd_arg(fd_in)))      # fdget: EBADF, O_PATH included
    dst = file_needs(task.files.get(fd_arg(fd_out)))
    pos_in = _s64(task.mm.read_u64(off_in)) if off_in else src.pos
    pos_out = _s64(task.mm.read_u64(off_out)) if off_out else dst.pos
    if flags & 0xFFFF_FFFF:
        raise Errno(EINVAL)
    src_file, dst_file = regular_pair(src, dst)
    count = checked_count(src_file, pos_in, dst_file, pos_out, length & U64)
    if pos_in < 0 or pos_out < 0 or pos_out + count > S64_MAX:       # rw_verify_area
        raise Errno(EINVAL)
    if count == 0:
        return 0
    data = await src_file.pread(pos_in, min(count, MAX_RW_COUNT))
    done = await dst_file.pwrite(pos_out, data) if data else 0
    if done > 0:
        if off_in:
            task.mm.write_u64(off_in, pos_in + done)
        else:
            src.pos = pos_in + done
        if off_out:
            task.mm.write_u64(off_out, pos_out + done)
        else:
            dst.pos = pos_out + done
    return done


def regular_pair(src: OpenFile, dst: OpenFile) -> tuple[InodeFile, InodeFile]:
    """generic_file_rw_checks and the superblock check: two regular files of one filesystem,
    the first open for reading, the second for writing without O_APPEND."""
    if not isinstance(src, InodeFile) or not isinstance(dst, InodeFile):
        raise Errno(EINVAL)                         # pipes, sockets, ttys, anonymous files
    if src.inode.is_dir or dst.inode.is_dir:
        raise Errno(EISDIR)
    if not src.inode.is_reg or not dst.inode.is_reg:
        raise Errno(EINVAL)
    if not src.readable or not dst.writable or dst.flags & O_APPEND:
        raise Errno(EBADF)
    if src.inode.sb is not dst.inode.sb:
        raise Errno(EXDEV)
    return src, dst


def checked_count(src: InodeFile, pos_in: int, dst: InodeFile, pos_out: int, count: int) -> int:
    """generic_copy_file_checks' arithmetic: offsets that wrap (as u64) EOVERFLOW, the count cut
    at the source's size, an overlap of one file with itself EINVAL."""
    if (pos_in & U64) + count > U64 or (pos_out & U64) + count > U64:
        raise Errno(EOVERFLOW)
    size_in = src.inode.size
    count = 0 if pos_in >= size_in else min(count, (size_in - pos_in) & U64)
    if src.inode is dst.inode and pos_out + count > pos_in and pos_out < pos_in + count:
        raise Errno(EINVAL)
    return count
