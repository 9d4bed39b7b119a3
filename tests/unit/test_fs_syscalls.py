"""File syscalls through a fake task (no QEMU): results, errnos and their precedence, as Linux gives them."""
import asyncio
import errno
import fcntl as host_fcntl
import os
import shutil
import stat as S
import struct
import subprocess
import termios
import time
from types import SimpleNamespace

import pytest

from moss_host.errors import Errno
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.fdtable import FdTable, fd_arg
from moss_host.fs.file import (O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_EXCL, O_LARGEFILE,
                               O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
                               OpenFile)
from moss_host.fs.hostfile import TCGETS, TIOCGWINSZ, TIOCSWINSZ, HostFile, make_console_files
from moss_host.fs.stat import STAT_FORMAT, STATX_FORMAT, Stat
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import FsContext, vfs_create, vfs_mkdir, vfs_symlink
from moss_host.syscalls import fs as sysfs  # noqa: F401  (registers the handlers)
from moss_host.syscalls.numbers import SYSCALL_NUMBERS
from moss_host.syscalls.table import SYSCALLS
from moss_host.cred import Creds
from moss_host.proc.rlimits import DEFAULT_RLIMITS
from tests.covers import covers
from tests.unit.fakes import FakeMm

AT_FDCWD = 0xFFFF_FF9C                  # -100 as the low 32 bits of x0
AT_FDCWD_64 = (1 << 64) - 100           # -100 sign-extended to 64 bits
AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_EACCESS, AT_EMPTY_PATH = 0x100, 0x200, 0x200, 0x1000
BAD = 0xDEAD_0000                       # an address the fake mm does not map
SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE = 0, 1, 2, 3, 4
F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_DUPFD_CLOEXEC = 0, 1, 2, 3, 4, 5, 1030
FIOCLEX, FIONREAD = 0x5451, 0x541B


# ---------------------------------------------------------------- the fake task

def make_task(uid=0, euid=None):
    ns = MountTable(Tmpfs(mode=0o755))
    fs = FsContext(ns.root_location())
    etc = vfs_mkdir(fs.root, b"etc", 0o755, None)
    vfs_create(etc, b"passwd", 0o644, None).inode.write(0, b"root:x:0:0::/root:/bin/sh\n")
    vfs_mkdir(fs.root, b"tmp", 0o1777, None)
    vfs_symlink(fs.root, b"link", b"/etc/passwd", None)
    vfs_symlink(fs.root, b"dangling", b"/tmp/created", None)
    euid = uid if euid is None else euid
    creds = Creds(uid=uid, euid=euid, suid=uid, gid=uid, egid=euid, sgid=uid)
    return SimpleNamespace(mm=FakeMm(0x10000, 0x100000), fs=fs, files=FdTable(), creds=creds, tgid=1,
                           rlimits=list(DEFAULT_RLIMITS))


def call(task, name, *args):
    """Run a handler like the kernel does: its result, or -errno."""
    handler = SYSCALLS[SYSCALL_NUMBERS[name]].handler
    try:
        result = handler(task, *args)
        return asyncio.run(result) if asyncio.iscoroutine(result) else result   # plain handlers never sleep
    except Errno as e:
        return -e.code


def open_(task, path: bytes, flags=O_RDONLY, mode=0o644, dirfd=AT_FDCWD):
    return call(task, "openat", dirfd, task.mm.cstr(path), flags, mode)


def read_all(task, fd, n=4096):
    buf = task.mm.alloc(n)
    got = call(task, "read", fd, buf, n)
    return task.mm.read(buf, got) if got >= 0 else got


def write_(task, fd, data: bytes):
    return call(task, "write", fd, task.mm.put(data), len(data))


def stat_at(task, path: bytes, flags=0, dirfd=AT_FDCWD):
    buf = task.mm.alloc(128)
    r = call(task, "newfstatat", dirfd, task.mm.cstr(path), buf, flags)
    return unpack_stat(task.mm.read(buf, 128)) if r == 0 else r


def unpack_stat(raw: bytes) -> dict:
    f = STAT_FORMAT.unpack(raw)
    return dict(dev=f[0], ino=f[1], mode=f[2], nlink=f[3], uid=f[4], gid=f[5], rdev=f[6], size=f[8],
                blksize=f[9], blocks=f[11], mtime=f[14])


# ---------------------------------------------------------------- argument decoding

def test_fd_arg_sign_extends_the_low_32_bits():
    assert fd_arg(AT_FDCWD) == -100 and fd_arg(AT_FDCWD_64) == -100
    assert fd_arg(3) == 3 and fd_arg(0x1_0000_0003) == 3


@covers("openat")
def test_at_fdcwd_works_in_both_register_encodings():
    task = make_task()
    assert open_(task, b"etc/passwd", dirfd=AT_FDCWD) == 0
    assert open_(task, b"etc/passwd", dirfd=AT_FDCWD_64) == 1


# ---------------------------------------------------------------- openat

@covers("umask", "openat", "newfstatat")
def test_openat_creates_a_file_with_mode_masked_by_umask():
    task = make_task()
    call(task, "umask", 0o027)
    fd = open_(task, b"/tmp/new", O_CREAT | O_WRONLY, 0o777)
    assert fd == 0
    assert stat_at(task, b"/tmp/new")["mode"] == S.S_IFREG | 0o750


@covers("close", "openat")
def test_openat_returns_the_lowest_free_descriptor():
    task = make_task()
    assert [open_(task, b"/etc/passwd") for _ in range(3)] == [0, 1, 2]
    call(task, "close", 1)
    assert open_(task, b"/etc/passwd") == 1


@covers("openat")
def test_openat_o_excl_on_an_existing_file_is_eexist():
    task = make_task()
    assert open_(task, b"/etc/passwd", O_CREAT | O_EXCL | O_WRONLY) == -errno.EEXIST


@covers("openat")
def test_openat_o_excl_does_not_follow_a_dangling_symlink():
    task = make_task()
    assert open_(task, b"/dangling", O_CREAT | O_EXCL | O_WRONLY) == -errno.EEXIST


@covers("openat", "newfstatat")
def test_openat_o_creat_through_a_dangling_symlink_creates_its_target():
    task = make_task()
    assert open_(task, b"/dangling", O_CREAT | O_WRONLY) >= 0
    assert S.S_ISREG(stat_at(task, b"/tmp/created")["mode"])


@covers("openat")
def test_openat_missing_file_without_o_creat_is_enoent():
    assert open_(make_task(), b"/etc/shadow") == -errno.ENOENT


@covers("openat")
def test_openat_empty_path_is_enoent():
    assert open_(make_task(), b"") == -errno.ENOENT


@covers("openat")
def test_openat_bad_path_pointer_is_efault():
    task = make_task()
    assert call(task, "openat", AT_FDCWD, BAD, O_RDONLY, 0) == -errno.EFAULT


@covers("openat")
def test_openat_arm64_o_directory_on_a_file_is_enotdir():
    assert O_DIRECTORY == 0o40000
    assert open_(make_task(), b"/etc/passwd", O_DIRECTORY) == -errno.ENOTDIR


@covers("openat")
def test_openat_x86_o_directory_value_means_o_direct_on_arm64():
    assert O_DIRECT == 0o200000                       # x86's O_DIRECTORY
    assert open_(make_task(), b"/etc/passwd", 0o200000) >= 0


@covers("openat")
def test_openat_o_nofollow_on_a_symlink_is_eloop():
    assert open_(make_task(), b"/link", O_NOFOLLOW) == -errno.ELOOP


@covers("openat")
def test_openat_o_creat_on_a_directory_is_eisdir():
    task = make_task()
    assert open_(task, b"/tmp", O_CREAT | O_RDONLY) == -errno.EISDIR
    assert open_(task, b"/tmp/newdir/", O_CREAT | O_WRONLY) == -errno.EISDIR


@covers("openat")
def test_openat_directory_for_writing_is_eisdir():
    assert open_(make_task(), b"/etc", O_WRONLY) == -errno.EISDIR


@covers("openat", "newfstatat")
def test_openat_o_trunc_empties_the_file():
    task = make_task()
    fd = open_(task, b"/etc/passwd", O_WRONLY | O_TRUNC)
    assert fd >= 0 and stat_at(task, b"/etc/passwd")["size"] == 0


@covers("openat")
def test_openat_without_permission_is_eacces_and_a_new_file_opens_regardless_of_its_mode():
    task = make_task(uid=1000)
    assert open_(task, b"/etc/passwd", O_WRONLY) == -errno.EACCES
    assert open_(task, b"/tmp/mine", O_CREAT | O_RDWR, 0o000) >= 0


@covers("openat", "read")
def test_openat_relative_to_a_directory_fd():
    task = make_task()
    etc = open_(task, b"/etc", O_DIRECTORY)
    fd = open_(task, b"passwd", dirfd=etc)
    assert read_all(task, fd).startswith(b"root:")


@covers("openat")
def test_openat_relative_to_a_file_fd_is_enotdir_and_to_a_bad_fd_is_ebadf():
    task = make_task()
    file_fd = open_(task, b"/etc/passwd")
    assert open_(task, b"x", dirfd=file_fd) == -errno.ENOTDIR
    assert open_(task, b"x", dirfd=77) == -errno.EBADF


@covers("openat")
def test_openat_absolute_path_ignores_a_bad_dirfd():
    assert open_(make_task(), b"/etc/passwd", dirfd=77) == 0


@covers("openat")
def test_openat_at_the_descriptor_limit_is_emfile_even_for_a_missing_file():
    task = make_task()
    task.files.limit = 3
    for _ in range(3):
        assert open_(task, b"/etc/passwd") >= 0
    assert open_(task, b"/etc/passwd") == -errno.EMFILE
    assert open_(task, b"/nope") == -errno.EMFILE


@covers("openat")
def test_failed_openat_does_not_leak_its_reserved_descriptor():
    task = make_task()
    assert open_(task, b"/nope") == -errno.ENOENT
    assert open_(task, b"/etc/passwd") == 0


@covers("fcntl", "openat")
def test_f_getfl_shows_access_mode_and_o_largefile_but_not_open_only_flags():
    task = make_task()
    fd = open_(task, b"/tmp/f", O_CREAT | O_EXCL | O_RDWR | O_APPEND | O_CLOEXEC)
    assert call(task, "fcntl", fd, F_GETFL, 0) == O_RDWR | O_APPEND | O_LARGEFILE


@covers("fcntl", "openat")
def test_o_cloexec_sets_the_descriptor_flag():
    task = make_task()
    fd = open_(task, b"/etc/passwd", O_CLOEXEC)
    assert call(task, "fcntl", fd, F_GETFD, 0) == 1


# ---------------------------------------------------------------- read / write

@covers("lseek", "openat", "read", "write")
def test_write_then_read_back_through_lseek():
    task = make_task()
    fd = open_(task, b"/tmp/f", O_CREAT | O_RDWR)
    assert write_(task, fd, b"hello, world") == 12
    assert call(task, "lseek", fd, 7, SEEK_SET) == 7
    assert read_all(task, fd) == b"world"
    assert read_all(task, fd) == b""


def test_read_with_a_bad_fd_and_a_bad_buffer_is_ebadf():
    assert call(make_task(), "read", 99, BAD, 10) == -errno.EBADF


@covers("read", "lseek", "openat")
def test_read_into_a_bad_buffer_is_efault_and_consumes_nothing():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    assert call(task, "read", fd, BAD, 10) == -errno.EFAULT
    assert call(task, "lseek", fd, 0, SEEK_CUR) == 0


@covers("read", "openat")
def test_read_with_a_count_past_the_user_address_space_is_efault():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    assert call(task, "read", fd, task.mm.alloc(16), (1 << 64) - 1) == -errno.EFAULT


@covers("write", "openat")
def test_write_from_a_bad_buffer_is_efault():
    task = make_task()
    fd = open_(task, b"/tmp/f", O_CREAT | O_WRONLY)
    assert call(task, "write", fd, BAD, 4) == -errno.EFAULT


@covers("read", "openat", "write")
def test_read_on_a_write_only_fd_and_write_on_a_read_only_fd_are_ebadf():
    task = make_task()
    wfd = open_(task, b"/tmp/f", O_CREAT | O_WRONLY)
    rfd = open_(task, b"/etc/passwd")
    assert call(task, "read", wfd, task.mm.alloc(4), 4) == -errno.EBADF
    assert write_(task, rfd, b"x") == -errno.EBADF


@covers("openat", "read")
def test_read_on_a_directory_is_eisdir():
    task = make_task()
    assert read_all(task, open_(task, b"/etc", O_DIRECTORY)) == -errno.EISDIR


@covers("lseek", "openat", "read", "write")
def test_o_append_writes_at_the_end_whatever_the_offset():
    task = make_task()
    fd = open_(task, b"/etc/passwd", O_WRONLY | O_APPEND)
    call(task, "lseek", fd, 0, SEEK_SET)
    write_(task, fd, b"tail\n")
    assert read_all(task, open_(task, b"/etc/passwd")).endswith(b"/bin/sh\ntail\n")


@covers("readv", "openat")
def test_readv_scatters_into_each_buffer_in_turn():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    a, b = task.mm.alloc(4), task.mm.alloc(6)
    iov = task.mm.put(struct.pack("<QQQQ", a, 4, b, 6))
    assert call(task, "readv", fd, iov, 2) == 10
    assert task.mm.read(a, 4) + task.mm.read(b, 6) == b"root:x:0:0"


@covers("writev", "openat", "read")
def test_writev_gathers_the_buffers_into_one_write():
    task = make_task()
    fd = open_(task, b"/tmp/v", O_CREAT | O_RDWR)
    iov = task.mm.put(struct.pack("<QQQQ", task.mm.put(b"abc"), 3, task.mm.put(b"defg"), 4))
    assert call(task, "writev", fd, iov, 2) == 7
    assert read_all(task, open_(task, b"/tmp/v")) == b"abcdefg"


@covers("readv", "writev", "openat")
def test_iovcnt_above_1024_is_einval_and_zero_is_nothing():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    assert call(task, "readv", fd, task.mm.alloc(16), 1025) == -errno.EINVAL
    assert call(task, "writev", open_(task, b"/tmp/z", O_CREAT | O_WRONLY), BAD, 0) == 0


@covers("readv", "openat")
def test_readv_with_a_bad_iovec_array_is_efault():
    task = make_task()
    assert call(task, "readv", open_(task, b"/etc/passwd"), BAD, 2) == -errno.EFAULT


@covers("readv", "openat")
def test_readv_iovec_precedes_access_mode_check():
    # Linux imports the iovec array before checking FMODE_READ: EINVAL beats EBADF here.
    task = make_task()
    wfd = open_(task, b"/tmp/f", O_CREAT | O_WRONLY)
    assert call(task, "readv", wfd, BAD, 1025) == -errno.EINVAL


@covers("pread64", "pwrite64", "lseek", "openat", "read")
def test_pread_and_pwrite_leave_the_offset_alone():
    task = make_task()
    fd = open_(task, b"/etc/passwd", O_RDWR)
    buf = task.mm.alloc(4)
    assert call(task, "pread64", fd, buf, 4, 5) == 4 and task.mm.read(buf, 4) == b"x:0:"
    assert call(task, "pwrite64", fd, task.mm.put(b"ROOT"), 4, 0) == 4
    assert call(task, "lseek", fd, 0, SEEK_CUR) == 0
    assert read_all(task, fd).startswith(b"ROOT:")


def test_pread_with_a_negative_offset_is_einval_even_for_a_bad_fd():
    assert call(make_task(), "pread64", 99, BAD, 4, (1 << 64) - 1) == -errno.EINVAL


@covers("pread64")
def test_pread_on_a_pipe_is_espipe():
    task = make_task()
    r, w = os.pipe()
    try:
        fd = task.files.install(HostFile(r, O_RDONLY))
        assert call(task, "pread64", fd, task.mm.alloc(4), 4, 0) == -errno.ESPIPE
    finally:
        os.close(r)
        os.close(w)


# ---------------------------------------------------------------- lseek

@covers("lseek", "openat", "newfstatat")
def test_lseek_from_the_end_and_past_it():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    size = stat_at(task, b"/etc/passwd")["size"]
    assert call(task, "lseek", fd, -2, SEEK_END) == size - 2
    assert call(task, "lseek", fd, 100, SEEK_END) == size + 100


@covers("lseek", "openat")
def test_lseek_to_a_negative_offset_or_with_a_bad_whence_is_einval():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    assert call(task, "lseek", fd, (1 << 64) - 1, SEEK_SET) == -errno.EINVAL
    assert call(task, "lseek", fd, 0, 5) == -errno.EINVAL


@covers("lseek", "openat", "newfstatat")
def test_seek_data_and_hole_treat_the_file_as_all_data():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    size = stat_at(task, b"/etc/passwd")["size"]
    assert call(task, "lseek", fd, 3, SEEK_DATA) == 3
    assert call(task, "lseek", fd, 3, SEEK_HOLE) == size
    assert call(task, "lseek", fd, size, SEEK_DATA) == -errno.ENXIO


# ---------------------------------------------------------------- stat

@covers("fstat", "openat")
def test_fstat_fills_the_arm64_struct_stat():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    buf = task.mm.alloc(128)
    assert call(task, "fstat", fd, buf) == 0
    st = unpack_stat(task.mm.read(buf, 128))
    assert st["mode"] == S.S_IFREG | 0o644 and st["size"] == 26 and st["nlink"] == 1
    assert st["blksize"] == 4096 and st["dev"] == task.fs.root.mount.sb.dev


@covers("fstat", "openat")
def test_fstat_into_a_bad_buffer_is_efault_and_of_a_bad_fd_is_ebadf():
    task = make_task()
    assert call(task, "fstat", open_(task, b"/etc/passwd"), BAD) == -errno.EFAULT
    assert call(task, "fstat", 42, BAD) == -errno.EBADF


@covers("newfstatat")
def test_newfstatat_follows_symlinks_unless_at_symlink_nofollow():
    task = make_task()
    assert S.S_ISREG(stat_at(task, b"/link")["mode"])
    lst = stat_at(task, b"/link", AT_SYMLINK_NOFOLLOW)
    assert S.S_ISLNK(lst["mode"]) and lst["size"] == len(b"/etc/passwd")


@covers("openat", "newfstatat")
def test_newfstatat_at_empty_path_stats_the_fd_itself():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    assert stat_at(task, b"", AT_EMPTY_PATH, dirfd=fd)["size"] == 26
    assert stat_at(task, b"", 0, dirfd=fd) == -errno.ENOENT


@covers("newfstatat")
def test_newfstatat_unknown_flag_is_einval():
    assert stat_at(make_task(), b"/etc", 0x1) == -errno.EINVAL


@covers("newfstatat")
def test_newfstatat_trailing_slash_on_a_file_is_enotdir():
    assert stat_at(make_task(), b"/etc/passwd/") == -errno.ENOTDIR


@covers("statx")
def test_statx_fills_the_basic_fields():
    task = make_task()
    buf = task.mm.alloc(256)
    assert call(task, "statx", AT_FDCWD, task.mm.cstr(b"/etc/passwd"), 0, 0x7FF, buf) == 0
    raw = STATX_FORMAT.unpack(task.mm.read(buf, 256))
    mask, nlink, mode, ino, size = raw[0], raw[3], raw[6], raw[8], raw[9]
    assert mask & 0x7FF == 0x7FF and (mode, nlink, size) == (S.S_IFREG | 0o644, 1, 26)
    assert ino == task.fs.root.inode.lookup(b"etc").lookup(b"passwd").ino


@covers("statx")
def test_statx_with_a_reserved_mask_bit_or_both_sync_flags_is_einval():
    task = make_task()
    path, buf = task.mm.cstr(b"/etc/passwd"), task.mm.alloc(256)
    assert call(task, "statx", AT_FDCWD, path, 0, 0x8000_0000, buf) == -errno.EINVAL
    assert call(task, "statx", AT_FDCWD, path, 0x6000, 0x7FF, buf) == -errno.EINVAL


@covers("fstat", "openat", "read")
def test_o_path_descriptor_can_be_fstat_but_not_read():
    task = make_task()
    fd = open_(task, b"/link", O_PATH | O_NOFOLLOW)
    assert read_all(task, fd) == -errno.EBADF
    buf = task.mm.alloc(128)
    assert call(task, "fstat", fd, buf) == 0 and S.S_ISLNK(unpack_stat(task.mm.read(buf, 128))["mode"])


# ---------------------------------------------------------------- directories

def parse_dirents(buf):
    out, off = [], 0
    while off < len(buf):
        ino, d_off, reclen, dtype = struct.unpack_from("<QqHB", buf, off)
        out.append((buf[off + 19:off + reclen].rstrip(b"\0"), dtype))
        off += reclen
    return out


@covers("getdents64", "openat")
def test_getdents64_lists_the_directory_then_returns_zero():
    task = make_task()
    fd = open_(task, b"/", O_DIRECTORY)
    buf = task.mm.alloc(4096)
    n = call(task, "getdents64", fd, buf, 4096)
    assert parse_dirents(task.mm.read(buf, n)) == [(b".", 4), (b"..", 4), (b"etc", 4), (b"tmp", 4),
                                                    (b"link", 10), (b"dangling", 10)]
    assert call(task, "getdents64", fd, buf, 4096) == 0


@covers("getdents64", "openat")
def test_getdents64_on_a_file_is_enotdir_and_with_a_tiny_buffer_einval():
    task = make_task()
    assert call(task, "getdents64", open_(task, b"/etc/passwd"), task.mm.alloc(64), 64) == -errno.ENOTDIR
    assert call(task, "getdents64", open_(task, b"/etc"), task.mm.alloc(64), 8) == -errno.EINVAL


@covers("getdents64", "openat")
def test_getdents64_into_a_bad_buffer_is_efault_and_loses_no_entries():
    task = make_task()
    fd = open_(task, b"/", O_DIRECTORY)
    assert call(task, "getdents64", fd, BAD, 4096) == -errno.EFAULT
    buf = task.mm.alloc(4096)
    assert parse_dirents(task.mm.read(buf, call(task, "getdents64", fd, buf, 4096)))[0] == (b".", 4)


@covers("chdir", "getcwd")
def test_getcwd_returns_the_length_including_the_nul():
    task = make_task()
    buf = task.mm.alloc(64)
    assert call(task, "chdir", task.mm.cstr(b"/etc")) == 0
    assert call(task, "getcwd", buf, 64) == 5 and task.mm.read(buf, 5) == b"/etc\0"


@covers("chdir", "getcwd")
def test_getcwd_with_a_too_small_buffer_is_erange():
    task = make_task()
    call(task, "chdir", task.mm.cstr(b"/etc"))
    assert call(task, "getcwd", task.mm.alloc(4), 4) == -errno.ERANGE


@covers("mkdirat", "chdir", "unlinkat", "getcwd")
def test_getcwd_after_the_cwd_was_removed_is_enoent():
    task = make_task()
    call(task, "mkdirat", AT_FDCWD, task.mm.cstr(b"/tmp/d"), 0o755)
    call(task, "chdir", task.mm.cstr(b"/tmp/d"))
    assert call(task, "unlinkat", AT_FDCWD, task.mm.cstr(b"/tmp/d"), AT_REMOVEDIR) == 0
    assert call(task, "getcwd", task.mm.alloc(64), 64) == -errno.ENOENT


@covers("chdir", "openat")
def test_chdir_to_a_file_is_enotdir_and_relative_paths_then_use_the_new_cwd():
    task = make_task()
    assert call(task, "chdir", task.mm.cstr(b"/etc/passwd")) == -errno.ENOTDIR
    assert call(task, "chdir", task.mm.cstr(b"etc")) == 0
    assert open_(task, b"passwd") >= 0


@covers("mkdirat", "chdir")
def test_chdir_into_an_unsearchable_directory_is_eacces():
    task = make_task(uid=1000)
    root_task = make_task()
    root_task.fs = task.fs
    call(root_task, "mkdirat", AT_FDCWD, root_task.mm.cstr(b"/secret"), 0o700)
    assert call(task, "chdir", task.mm.cstr(b"/secret")) == -errno.EACCES


@covers("fchdir", "openat")
def test_fchdir_changes_to_the_fds_directory():
    task = make_task()
    fd = open_(task, b"/etc", O_PATH)
    assert call(task, "fchdir", fd) == 0 and task.fs.getcwd() == b"/etc"
    assert call(task, "fchdir", open_(task, b"/etc/passwd")) == -errno.ENOTDIR


@covers("mkdirat", "newfstatat")
def test_mkdirat_applies_the_umask_and_an_existing_name_is_eexist():
    task = make_task()
    assert call(task, "mkdirat", AT_FDCWD, task.mm.cstr(b"/tmp/d"), 0o777) == 0
    assert stat_at(task, b"/tmp/d")["mode"] == S.S_IFDIR | 0o755
    assert call(task, "mkdirat", AT_FDCWD, task.mm.cstr(b"/tmp/d"), 0o777) == -errno.EEXIST


@covers("unlinkat", "newfstatat")
def test_unlinkat_removes_files_and_with_at_removedir_directories():
    task = make_task()
    assert call(task, "unlinkat", AT_FDCWD, task.mm.cstr(b"/etc/passwd"), 0) == 0
    assert stat_at(task, b"/etc/passwd") == -errno.ENOENT
    assert call(task, "unlinkat", AT_FDCWD, task.mm.cstr(b"/etc"), 0) == -errno.EISDIR
    assert call(task, "unlinkat", AT_FDCWD, task.mm.cstr(b"/etc"), AT_REMOVEDIR) == 0


@covers("unlinkat")
def test_unlinkat_with_unknown_flags_is_einval():
    task = make_task()
    assert call(task, "unlinkat", AT_FDCWD, task.mm.cstr(b"/etc/passwd"), 0x1) == -errno.EINVAL


@covers("unlinkat")
def test_unlinkat_of_a_file_with_a_trailing_slash_is_enotdir():
    task = make_task()
    assert call(task, "unlinkat", AT_FDCWD, task.mm.cstr(b"/etc/passwd/"), 0) == -errno.ENOTDIR


@covers("symlinkat", "readlinkat")
def test_symlinkat_creates_a_link_readlinkat_reads_back():
    task = make_task()
    assert call(task, "symlinkat", task.mm.cstr(b"../etc"), AT_FDCWD, task.mm.cstr(b"/tmp/l")) == 0
    buf = task.mm.alloc(64)
    assert call(task, "readlinkat", AT_FDCWD, task.mm.cstr(b"/tmp/l"), buf, 64) == 6
    assert task.mm.read(buf, 6) == b"../etc"


@covers("symlinkat")
def test_symlinkat_onto_an_existing_name_is_eexist():
    task = make_task()
    assert call(task, "symlinkat", task.mm.cstr(b"x"), AT_FDCWD, task.mm.cstr(b"/etc")) == -errno.EEXIST


@covers("readlinkat")
def test_readlinkat_on_regular_file_is_einval():
    task = make_task()
    assert call(task, "readlinkat", AT_FDCWD, task.mm.cstr(b"/etc/passwd"), task.mm.alloc(64), 64) \
        == -errno.EINVAL


@covers("readlinkat")
def test_readlinkat_truncates_and_adds_no_nul():
    task = make_task()
    buf = task.mm.put(b"\xff" * 8)
    assert call(task, "readlinkat", AT_FDCWD, task.mm.cstr(b"/link"), buf, 4) == 4
    assert task.mm.read(buf, 8) == b"/etc" + b"\xff" * 4


@covers("readlinkat")
def test_readlinkat_with_a_non_positive_size_is_einval():
    task = make_task()
    assert call(task, "readlinkat", AT_FDCWD, task.mm.cstr(b"/link"), task.mm.alloc(4), 0) == -errno.EINVAL


@covers("readlinkat", "openat")
def test_readlinkat_empty_path_reads_an_o_path_symlink_fd():
    task = make_task()
    fd = open_(task, b"/link", O_PATH | O_NOFOLLOW)
    buf = task.mm.alloc(64)
    assert call(task, "readlinkat", fd, task.mm.cstr(b""), buf, 64) == 11
    assert call(task, "readlinkat", open_(task, b"/etc", O_PATH), task.mm.cstr(b""), buf, 64) == -errno.ENOENT


@covers("renameat", "renameat2", "newfstatat")
def test_renameat_moves_and_renameat2_noreplace_refuses_to_replace():
    task = make_task()
    assert call(task, "renameat", AT_FDCWD, task.mm.cstr(b"/etc/passwd"), AT_FDCWD, task.mm.cstr(b"/tmp/p")) == 0
    assert stat_at(task, b"/tmp/p")["size"] == 26
    assert call(task, "renameat2", AT_FDCWD, task.mm.cstr(b"/tmp/p"), AT_FDCWD, task.mm.cstr(b"/link"), 1) \
        == -errno.EEXIST


@covers("renameat2")
def test_renameat2_exchange_is_einval_for_now_and_with_noreplace_always():
    task = make_task()
    old, new = task.mm.cstr(b"/etc/passwd"), task.mm.cstr(b"/link")
    assert call(task, "renameat2", AT_FDCWD, old, AT_FDCWD, new, 3) == -errno.EINVAL
    assert call(task, "renameat2", AT_FDCWD, old, AT_FDCWD, new, 0x80) == -errno.EINVAL


# ---------------------------------------------------------------- access

@covers("faccessat")
def test_faccessat_f_ok_tells_existence():
    task = make_task()
    assert call(task, "faccessat", AT_FDCWD, task.mm.cstr(b"/etc/passwd"), 0) == 0
    assert call(task, "faccessat", AT_FDCWD, task.mm.cstr(b"/etc/nope"), 0) == -errno.ENOENT


@covers("faccessat")
def test_faccessat_checks_mode_bits_for_a_normal_user():
    task = make_task(uid=1000)
    path = task.mm.cstr(b"/etc/passwd")
    assert call(task, "faccessat", AT_FDCWD, path, 4) == 0
    assert call(task, "faccessat", AT_FDCWD, path, 2) == -errno.EACCES


@covers("faccessat")
def test_faccessat_lets_root_write_anything_but_execute_only_with_an_x_bit():
    task = make_task()
    path = task.mm.cstr(b"/etc/passwd")
    assert call(task, "faccessat", AT_FDCWD, path, 2) == 0
    assert call(task, "faccessat", AT_FDCWD, path, 1) == -errno.EACCES


@covers("faccessat", "faccessat2")
def test_faccessat_uses_the_real_uid_and_faccessat2_at_eaccess_the_effective_one():
    task = make_task(uid=1000, euid=0)              # a set-user-ID-root program
    path = task.mm.cstr(b"/etc/passwd")
    assert call(task, "faccessat", AT_FDCWD, path, 2) == -errno.EACCES
    assert call(task, "faccessat2", AT_FDCWD, path, 2, AT_EACCESS) == 0


@covers("faccessat", "faccessat2")
def test_faccessat_with_a_bad_mode_or_flag_is_einval():
    task = make_task()
    path = task.mm.cstr(b"/etc/passwd")
    assert call(task, "faccessat", AT_FDCWD, path, 8) == -errno.EINVAL
    assert call(task, "faccessat2", AT_FDCWD, path, 0, 0x4) == -errno.EINVAL


# ---------------------------------------------------------------- descriptors

@covers("close", "openat")
def test_close_of_a_closed_fd_is_ebadf():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    assert call(task, "close", fd) == 0
    assert call(task, "close", fd) == -errno.EBADF


@covers("dup", "lseek", "openat", "read")
def test_dup_shares_the_file_offset():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    copy = call(task, "dup", fd)
    assert copy == fd + 1
    read_all(task, fd, 5)
    assert call(task, "lseek", copy, 0, SEEK_CUR) == 5


def test_dup_of_a_bad_fd_is_ebadf():
    assert call(make_task(), "dup", 5) == -errno.EBADF


@covers("dup3", "fcntl", "openat", "read")
def test_dup3_replaces_the_target_and_sets_cloexec_on_request():
    task = make_task()
    a = open_(task, b"/etc/passwd")
    b = open_(task, b"/tmp/f", O_CREAT | O_WRONLY)
    assert call(task, "dup3", a, b, O_CLOEXEC) == b
    assert read_all(task, b).startswith(b"root")
    assert call(task, "fcntl", b, F_GETFD, 0) == 1


@covers("dup3", "openat")
def test_dup3_onto_itself_or_with_unknown_flags_is_einval_and_past_the_limit_ebadf():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    assert call(task, "dup3", fd, fd, 0) == -errno.EINVAL
    assert call(task, "dup3", fd, fd + 1, O_NONBLOCK) == -errno.EINVAL
    assert call(task, "dup3", fd, 1024, 0) == -errno.EBADF
    assert call(task, "dup3", 77, 5, 0) == -errno.EBADF


@covers("fcntl", "openat")
def test_fcntl_dupfd_uses_the_lowest_fd_at_or_above_the_floor():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    assert call(task, "fcntl", fd, F_DUPFD, 10) == 10
    assert call(task, "fcntl", fd, F_DUPFD, 10) == 11
    assert call(task, "fcntl", fd, F_DUPFD_CLOEXEC, 3) == 3
    assert call(task, "fcntl", 3, F_GETFD, 0) == 1 and call(task, "fcntl", 10, F_GETFD, 0) == 0
    assert call(task, "fcntl", fd, F_DUPFD, 1024) == -errno.EINVAL


@covers("fcntl", "openat")
def test_fcntl_setfd_and_setfl_change_only_what_they_may():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    assert call(task, "fcntl", fd, F_SETFD, 1) == 0 and call(task, "fcntl", fd, F_GETFD, 0) == 1
    assert call(task, "fcntl", fd, F_SETFL, O_APPEND | O_NONBLOCK | O_RDWR) == 0
    assert call(task, "fcntl", fd, F_GETFL, 0) == O_RDONLY | O_APPEND | O_NONBLOCK | O_LARGEFILE


@covers("fcntl", "openat")
def test_fcntl_getlk_reports_unlocked():
    task = make_task()
    fd = open_(task, b"/etc/passwd", O_RDWR)
    lock = task.mm.put(struct.pack("<hhxxxxqqi4x", 1, 0, 0, 10, 0))
    assert call(task, "fcntl", fd, F_GETLK, lock) == 0
    assert struct.unpack_from("<h", task.mm.read(lock, 2))[0] == 2       # F_UNLCK


@covers("fcntl", "openat")
def test_fcntl_on_an_o_path_fd_only_allows_the_descriptor_commands():
    task = make_task()
    fd = open_(task, b"/etc", O_PATH)
    assert call(task, "fcntl", fd, F_GETFL, 0) & O_PATH
    assert call(task, "fcntl", fd, F_SETFL, 0) == -errno.EBADF


@covers("ioctl", "fcntl", "openat")
def test_ioctl_on_a_regular_file_is_enotty_but_fioclex_and_fionread_work():
    task = make_task()
    fd = open_(task, b"/etc/passwd")
    assert call(task, "ioctl", fd, TCGETS, task.mm.alloc(64)) == -errno.ENOTTY
    assert call(task, "ioctl", fd, FIOCLEX, 0) == 0 and call(task, "fcntl", fd, F_GETFD, 0) == 1
    buf = task.mm.alloc(4)
    assert call(task, "ioctl", fd, FIONREAD, buf) == 0 and task.mm.read(buf, 4) == struct.pack("<i", 26)


@covers("ioctl", "openat")
def test_ioctl_on_an_o_path_fd_is_ebadf():
    task = make_task()
    assert call(task, "ioctl", open_(task, b"/etc", O_PATH), FIOCLEX, 0) == -errno.EBADF


@covers("umask")
def test_umask_returns_the_previous_mask():
    task = make_task()
    assert call(task, "umask", 0o077) == 0o022
    assert call(task, "umask", 0o1777) == 0o077
    assert task.fs.umask == 0o777


# ---------------------------------------------------------------- the fd table itself

class CountingFile(OpenFile):
    def __init__(self):
        super().__init__(O_RDONLY)
        self.released = 0

    def release(self):
        self.released += 1


def test_fd_table_releases_a_file_when_its_last_descriptor_closes():
    files, f = FdTable(), CountingFile()
    a = files.install(f)
    b = files.dup(a)
    files.close(a)
    assert f.released == 0
    files.close(b)
    assert f.released == 1


def test_fd_table_clone_shares_files_and_cloexec_flags():
    files, f = FdTable(), CountingFile()
    files.install(f, cloexec=True)
    child = files.clone()
    assert child.get(0) is f and child.cloexec(0) and f.refs == 2
    child.close_on_exec()
    assert 0 not in child and f.released == 0 and files.get(0) is f


def test_fd_table_install_past_the_limit_is_emfile():
    files = FdTable(limit=2)
    files.install(CountingFile())
    files.install(CountingFile())
    with pytest.raises(Errno) as info:
        files.install(CountingFile())
    assert info.value.code == errno.EMFILE


def test_fd_table_install_at_closes_what_was_there():
    files, old, new = FdTable(), CountingFile(), CountingFile()
    files.install_at(5, old)
    files.install_at(5, new)
    assert old.released == 1 and files.get(5) is new
    assert files.install(CountingFile()) == 0


def test_fd_table_negative_or_unused_fd_is_ebadf():
    files = FdTable()
    for fd in (-1, 0, 3000):
        with pytest.raises(Errno) as info:
            files.get(fd)
        assert info.value.code == errno.EBADF


# ---------------------------------------------------------------- struct layouts

def _field_offsets(fmt: struct.Struct, names):
    """Offsets of the named fields of a little-endian struct format (explicit pads named None)."""
    codes = [c for c in fmt.format.lstrip("<")]
    out, off = {}, 0
    for name, code in zip(names, codes):
        if name:
            out[name] = off
        off += struct.calcsize("<" + code)
    return out


@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None, reason="no arm64 cross compiler")
def test_struct_stat_and_statx_layouts_match_the_arm64_headers(tmp_path):
    stat_names = ["st_dev", "st_ino", "st_mode", "st_nlink", "st_uid", "st_gid", "st_rdev", "__pad1",
                  "st_size", "st_blksize", "__pad2", "st_blocks", "st_atime", "st_atime_nsec",
                  "st_mtime", "st_mtime_nsec", "st_ctime", "st_ctime_nsec", "__unused4", "__unused5"]
    statx_names = ["stx_mask", "stx_blksize", "stx_attributes", "stx_nlink", "stx_uid", "stx_gid",
                   "stx_mode", None, "stx_ino", "stx_size", "stx_blocks", "stx_attributes_mask",
                   "stx_atime.tv_sec", "stx_atime.tv_nsec", None, "stx_btime.tv_sec", None, None,
                   "stx_ctime.tv_sec", None, None, "stx_mtime.tv_sec", "stx_mtime.tv_nsec", None,
                   "stx_rdev_major", "stx_rdev_minor", "stx_dev_major", "stx_dev_minor"]
    checks = [f"_Static_assert(sizeof(struct stat) == {STAT_FORMAT.size}, \"size\");",
              f"_Static_assert(sizeof(struct statx) == {STATX_FORMAT.size}, \"size\");"]
    checks += [f"_Static_assert(offsetof(struct stat, {n}) == {o}, \"{n}\");"
               for n, o in _field_offsets(STAT_FORMAT, stat_names).items()]
    checks += [f"_Static_assert(offsetof(struct statx, {n}) == {o}, \"{n}\");"
               for n, o in _field_offsets(STATX_FORMAT, statx_names).items()]
    src = tmp_path / "layout.c"
    src.write_text("#include <stddef.h>\n#include <asm/stat.h>\n#include <linux/stat.h>\n" + "\n".join(checks) + "\n")
    result = subprocess.run(["aarch64-linux-gnu-gcc", "-fsyntax-only", str(src)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_stat_pack_puts_times_in_seconds_and_nanoseconds():
    raw = Stat(st_dev=1, st_ino=2, st_mode=0o100644, st_size=-1 & 0x7FFF, st_mtime_ns=5 * 10**9 + 7).pack()
    fields = STAT_FORMAT.unpack(raw)
    assert len(raw) == 128 and fields[14:16] == (5, 7) and fields[8] == 0x7FFF


# ---------------------------------------------------------------- host console files

def test_hostfile_read_waits_for_data_without_blocking_the_event_loop():
    r, w = os.pipe()
    try:
        f = HostFile(r, O_RDONLY)

        async def scenario():
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.005)

            t = asyncio.ensure_future(ticker())
            asyncio.get_running_loop().call_later(0.1, os.write, w, b"typed")
            data = await f.read(100)
            t.cancel()
            return data, ticks

        data, ticks = asyncio.run(scenario())
        assert data == b"typed" and ticks >= 5
    finally:
        os.close(r)
        os.close(w)


def test_hostfile_nonblocking_read_with_nothing_there_is_eagain():
    r, w = os.pipe()
    try:
        f = HostFile(r, O_RDONLY | O_NONBLOCK)
        with pytest.raises(Errno) as info:
            asyncio.run(f.read(10))
        assert info.value.code == errno.EAGAIN
    finally:
        os.close(r)
        os.close(w)


def test_hostfile_read_is_cancellable_and_stops_watching_the_fd():
    r, w = os.pipe()
    try:
        f = HostFile(r, O_RDONLY)

        async def scenario():
            reader = asyncio.ensure_future(f.read(10))
            await asyncio.sleep(0.02)
            reader.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reader
            return asyncio.get_running_loop()._selector.get_map().get(r)   # noqa: SLF001

        assert asyncio.run(scenario()) is None
    finally:
        os.close(r)
        os.close(w)


@covers("ioctl", "lseek", "fstat", "write")
def test_console_write_goes_to_the_host_fd_and_pipes_are_not_ttys():
    task = make_task()
    r, w = os.pipe()
    try:
        stdin, stdout, stderr = make_console_files(r, w, w)
        for fd, f in enumerate((stdin, stdout, stderr)):
            task.files.install_at(fd, f)
        assert write_(task, 1, b"to the host\n") == 12
        assert os.read(r, 100) == b"to the host\n"
        assert call(task, "ioctl", 1, TCGETS, task.mm.alloc(64)) == -errno.ENOTTY
        assert call(task, "lseek", 1, 0, SEEK_SET) == -errno.ESPIPE
        assert write_(task, 0, b"x") == -errno.EBADF          # the host's read end is read-only
        buf = task.mm.alloc(128)
        assert call(task, "fstat", 1, buf) == 0 and S.S_ISFIFO(unpack_stat(task.mm.read(buf, 128))["mode"])
    finally:
        os.close(r)
        os.close(w)


def test_console_large_write_to_a_pipe_all_arrives():
    r, w = os.pipe()
    try:
        f = HostFile(w, O_WRONLY)
        data = bytes(range(256)) * 1024                      # 256 KiB: more than a pipe holds

        async def scenario():
            got = bytearray()
            loop = asyncio.get_running_loop()
            loop.add_reader(r, lambda: got.extend(os.read(r, 65536)))
            n = await f.write(data)
            while len(got) < len(data):
                await asyncio.sleep(0.001)
            loop.remove_reader(r)
            return n, bytes(got)

        n, got = asyncio.run(scenario())
        assert n == len(data) and got == data
    finally:
        os.close(r)
        os.close(w)


@pytest.fixture
def pty():
    master, slave = os.openpty()
    yield master, slave
    os.close(master)
    os.close(slave)


@covers("ioctl")
def test_tty_tcgets_passes_the_host_termios_through(pty):
    _, slave = pty
    task = make_task()
    fd = task.files.install(HostFile(slave, O_RDWR))
    buf = task.mm.alloc(64)
    assert call(task, "ioctl", fd, TCGETS, buf) == 0
    raw = task.mm.read(buf, 36)
    iflag, oflag, cflag, lflag = struct.unpack_from("<IIII", raw)
    host = termios.tcgetattr(slave)
    assert (iflag, oflag, cflag, lflag) == tuple(host[:4])


@covers("ioctl")
def test_tty_winsize_set_by_the_guest_is_seen_by_the_host(pty):
    _, slave = pty
    task = make_task()
    fd = task.files.install(HostFile(slave, O_RDWR))
    assert call(task, "ioctl", fd, TIOCSWINSZ, task.mm.put(struct.pack("<HHHH", 40, 132, 0, 0))) == 0
    host = host_fcntl.ioctl(slave, TIOCGWINSZ, bytes(8))
    assert struct.unpack("<HHHH", host)[:2] == (40, 132)
    buf = task.mm.alloc(8)
    assert call(task, "ioctl", fd, TIOCGWINSZ, buf) == 0 and struct.unpack("<HH", task.mm.read(buf, 4)) == (40, 132)


@covers("ioctl")
def test_tty_tcsets_from_a_bad_pointer_is_efault(pty):
    _, slave = pty
    task = make_task()
    fd = task.files.install(HostFile(slave, O_RDWR))
    assert call(task, "ioctl", fd, 0x5402, BAD) == -errno.EFAULT


@covers("fstat")
def test_tty_fstat_reports_a_character_device(pty):
    _, slave = pty
    task = make_task()
    fd = task.files.install(HostFile(slave, O_RDWR))
    buf = task.mm.alloc(128)
    assert call(task, "fstat", fd, buf) == 0
    st = unpack_stat(task.mm.read(buf, 128))
    host_rdev = os.fstat(slave).st_rdev
    assert S.S_ISCHR(st["mode"]) and st["rdev"] == os.makedev(os.major(host_rdev), os.minor(host_rdev))


def test_tty_read_returns_what_the_terminal_sent(pty):
    master, slave = pty
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~(termios.ICANON | termios.ECHO)
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    f = HostFile(slave, O_RDWR)

    async def scenario():
        asyncio.get_running_loop().call_later(0.05, os.write, master, b"k")
        start = time.monotonic()
        data = await f.read(10)
        return data, time.monotonic() - start

    data, waited = asyncio.run(scenario())
    assert data == b"k" and waited >= 0.04


def test_a_closed_host_descriptor_becomes_dev_null_for_the_guest():
    r, w = os.pipe()
    closed = os.dup(r)
    os.close(closed)
    try:
        stdin, stdout, _ = make_console_files(closed, w, w)
        assert asyncio.run(stdin.read(10)) == b"" and stdin.readable and stdin.writable
        assert stdout.writable and not stdout.readable
    finally:
        os.close(r)
        os.close(w)
        os.close(stdin.fd)


def test_poll_events_of_a_host_pipe_follow_its_contents_and_files_are_always_ready():
    r, w = os.pipe()
    try:
        reader = HostFile(r, O_RDONLY)
        assert reader.poll_events(0x1) == 0
        os.write(w, b"x")
        assert reader.poll_events(0x1 | 0x4) == 0x1
        task = make_task()
        regular = task.files.get(open_(task, b"/etc/passwd"))
        assert regular.poll_events(0x1 | 0x4) == 0x5
    finally:
        os.close(r)
        os.close(w)
