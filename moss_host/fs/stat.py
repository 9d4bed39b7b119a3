"""File attributes (Stat) and their arm64 user-space encodings.

`Stat` is what every inode reports; `pack()` turns it into the arm64 `struct stat`
of <asm-generic/stat.h> (128 bytes, the layout fstat/newfstatat copy out), and
`pack_statx()` into `struct statx` for the statx syscall.
Mode bits and S_IF* values are the same on every Linux, so Python's `stat` module
provides them.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

# struct stat, <asm-generic/stat.h> on a 64-bit architecture:
#   st_dev u64, st_ino u64, st_mode u32, st_nlink u32, st_uid u32, st_gid u32,
#   st_rdev u64, __pad1 u64, st_size i64, st_blksize i32, __pad2 i32, st_blocks i64,
#   st_atime i64, st_atime_nsec u64, st_mtime i64, st_mtime_nsec u64,
#   st_ctime i64, st_ctime_nsec u64, __unused4 u32, __unused5 u32
STAT_FORMAT = struct.Struct("<QQIIIIQQqiiqqQqQqQII")
STAT_SIZE = STAT_FORMAT.size
assert STAT_SIZE == 128

# struct statx, <linux/stat.h>: 256 bytes.
STATX_FORMAT = struct.Struct("<IIQIIIHHQQQQ" + "qIi" * 4 + "IIII" + "QQ" + "Q" * 12)
STATX_SIZE = STATX_FORMAT.size
assert STATX_SIZE == 256
STATX_BASIC_STATS = 0x7FF
STATX_BTIME = 0x800

NSEC = 1_000_000_000


def makedev(major: int, minor: int) -> int:
    """Linux's user-visible dev_t encoding (new_encode_dev; glibc's makedev agrees)."""
    return (minor & 0xFF) | ((major & 0xFFF) << 8) | ((minor & ~0xFF) << 12) | ((major & ~0xFFF) << 32)


def major(dev: int) -> int:
    return ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFF)


def minor(dev: int) -> int:
    return (dev & 0xFF) | ((dev >> 12) & ~0xFF)


@dataclass(slots=True)
class Stat:
    """An inode's attributes as stat(2) reports them (field names as in os.stat_result);
    times are nanoseconds since the epoch."""
    st_dev: int
    st_ino: int
    st_mode: int
    st_nlink: int = 1
    st_uid: int = 0
    st_gid: int = 0
    st_rdev: int = 0
    st_size: int = 0
    st_blksize: int = 4096
    st_blocks: int = 0
    st_atime_ns: int = 0
    st_mtime_ns: int = 0
    st_ctime_ns: int = 0

    def pack(self) -> bytes:
        """The arm64 `struct stat` (128 bytes)."""
        a_s, a_ns = divmod(self.st_atime_ns, NSEC)
        m_s, m_ns = divmod(self.st_mtime_ns, NSEC)
        c_s, c_ns = divmod(self.st_ctime_ns, NSEC)
        return STAT_FORMAT.pack(self.st_dev, self.st_ino, self.st_mode, self.st_nlink, self.st_uid, self.st_gid,
                                self.st_rdev, 0, self.st_size, self.st_blksize, 0, self.st_blocks,
                                a_s, a_ns, m_s, m_ns, c_s, c_ns, 0, 0)

    def pack_into(self, buf, offset: int) -> None:
        """pack(), stored straight into `buf` at `offset` (guest RAM: one write, no bytes object)."""
        a, m, c = self.st_atime_ns, self.st_mtime_ns, self.st_ctime_ns
        STAT_FORMAT.pack_into(buf, offset, self.st_dev, self.st_ino, self.st_mode, self.st_nlink, self.st_uid,
                              self.st_gid, self.st_rdev, 0, self.st_size, self.st_blksize, 0, self.st_blocks,
                              a // NSEC, a % NSEC, m // NSEC, m % NSEC, c // NSEC, c % NSEC, 0, 0)

    def pack_statx(self, mask: int = STATX_BASIC_STATS) -> bytes:
        """`struct statx` (256 bytes); we always fill the basic stats, whatever was asked."""
        del mask  # Linux may return more than requested; we return exactly the basic set
        times = []
        for ns in (self.st_atime_ns, 0, self.st_ctime_ns, self.st_mtime_ns):   # atime, btime, ctime, mtime
            sec, nsec = divmod(ns, NSEC)
            times += [sec, nsec, 0]
        return STATX_FORMAT.pack(
            STATX_BASIC_STATS, self.st_blksize, 0, self.st_nlink, self.st_uid, self.st_gid,
            self.st_mode & 0xFFFF, 0, self.st_ino, self.st_size, self.st_blocks, 0,
            *times,
            major(self.st_rdev), minor(self.st_rdev), major(self.st_dev), minor(self.st_dev),
            0, 0, *([0] * 12))
