"""The initramfs format: cpio "newc" archives, read and unpacked into a filesystem.

A newc entry is a 110-byte ASCII header ("070701" then 13 eight-digit hex fields:
ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor
namesize check), the NUL-terminated name padded to 4 bytes, then the data padded
to 4 bytes. "TRAILER!!!" ends an archive. Like Linux's initramfs, several archives
may follow each other (with NUL padding between), and each may be gzip- or
xz-compressed. Hard links are entries with nlink >= 2 sharing (dev, ino): GNU cpio
writes the data only with the last of them.
"""
from __future__ import annotations

import lzma
import stat as S
import zlib
from dataclasses import dataclass
from typing import Iterator, Optional

from ..errors import ENOENT, Errno
from .stat import makedev
from .vfs import FsContext, Location, child_of, vfs_create, vfs_link, vfs_mkdir, vfs_rmdir, vfs_symlink, vfs_unlink

NEWC_MAGIC = b"070701"
CRC_MAGIC = b"070702"
HEADER_SIZE = 110
TRAILER = b"TRAILER!!!"
GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"
NSEC = 1_000_000_000


class CpioError(ValueError):
    """The archive is malformed: the kernel cannot build its root from it."""


@dataclass
class CpioEntry:
    name: bytes
    mode: int
    uid: int = 0
    gid: int = 0
    nlink: int = 1
    mtime: int = 0
    ino: int = 0
    dev_major: int = 0
    dev_minor: int = 0
    rdev_major: int = 0
    rdev_minor: int = 0
    data: bytes = b""

    @property
    def rdev(self) -> int:
        return makedev(self.rdev_major, self.rdev_minor)

    @property
    def link_key(self) -> tuple:
        return (self.dev_major, self.dev_minor, self.ino, self.mode)


def _align4(n: int) -> int:
    return (n + 3) & ~3


# ---------------------------------------------------------------- reading

def read_cpio(data: bytes) -> Iterator[CpioEntry]:
    """Every entry of every (possibly compressed) archive in data, trailers excluded."""
    pos = 0
    while pos < len(data):
        if data[pos] == 0:
            pos += 1                        # padding between archives
        elif data.startswith(GZIP_MAGIC, pos):
            inflater = zlib.decompressobj(wbits=31)
            yield from read_cpio(inflater.decompress(data[pos:]))
            pos = len(data) - len(inflater.unused_data)
        elif data.startswith(XZ_MAGIC, pos):
            unxz = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
            yield from read_cpio(unxz.decompress(data[pos:]))
            pos = len(data) - len(unxz.unused_data)
        else:
            pos = yield from _read_archive(data, pos)


def _read_archive(data: bytes, pos: int):
    """Entries of one uncompressed archive starting at pos; returns the position after its trailer."""
    while True:
        entry, pos = _read_entry(data, pos)
        if entry.name == TRAILER:
            return pos
        yield entry


def _read_entry(data: bytes, pos: int) -> tuple[CpioEntry, int]:
    header = data[pos:pos + HEADER_SIZE]
    if len(header) < HEADER_SIZE:
        raise CpioError(f"truncated header at offset {pos}")
    if header[:6] not in (NEWC_MAGIC, CRC_MAGIC):
        raise CpioError(f"not a newc cpio header at offset {pos}: {header[:6]!r}")
    try:
        fields = [int(header[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
    except ValueError:
        raise CpioError(f"bad hex field in header at offset {pos}") from None
    ino, mode, uid, gid, nlink, mtime, filesize, dmaj, dmin, rmaj, rmin, namesize, _check = fields
    name_end = pos + HEADER_SIZE + namesize
    data_start = _align4(name_end)
    data_end = data_start + filesize
    if namesize == 0 or data_end > len(data):
        raise CpioError(f"entry at offset {pos} runs past the end of the archive")
    name = data[pos + HEADER_SIZE:name_end - 1]          # namesize counts the NUL
    entry = CpioEntry(name, mode, uid, gid, nlink, mtime, ino, dmaj, dmin, rmaj, rmin,
                      bytes(data[data_start:data_end]))
    return entry, _align4(data_end)


# ---------------------------------------------------------------- unpacking

class _Unpacker:
    """Creates each entry under root with the kernel's rights (no permission checks)."""

    def __init__(self, root: Location):
        self.fs = FsContext(root)
        self.links: dict[tuple, Location] = {}          # hard-link key -> first name's location
        self.dir_mtimes: list[tuple[Location, int]] = []

    def unpack(self, entry: CpioEntry) -> None:
        names = [n for n in entry.name.split(b"/") if n and n != b"."]
        if not names:                                    # "." : the root directory itself
            if S.S_ISDIR(entry.mode):
                self._set_attrs(self.fs.root, entry)
            return
        parent = self._make_parents(names[:-1])
        if parent is None:
            return
        loc = self._create(parent, names[-1], entry)
        if loc is not None:
            self._set_attrs(loc, entry)

    def _make_parents(self, names: list[bytes]) -> Optional[Location]:
        """The directory an entry goes in; missing ones are created (GNU cpio lists them first anyway)."""
        cur = self.fs.root
        for name in names:
            if name == b"..":
                return None                              # never unpack outside the root
            try:
                cur = child_of(cur, name)
            except Errno as e:
                if e.code != ENOENT:
                    raise
                cur = vfs_mkdir(cur, name, 0o755, None)
            if not cur.inode.is_dir:
                return None
        return cur

    def _create(self, dir: Location, name: bytes, e: CpioEntry) -> Optional[Location]:
        if name == b"..":
            return None
        existing = self._existing(dir, name, e.mode)
        if S.S_ISDIR(e.mode):
            return existing or vfs_mkdir(dir, name, e.mode & 0o7777, None)
        if S.S_ISLNK(e.mode):
            return vfs_symlink(dir, name, e.data, None)
        if S.S_ISREG(e.mode):
            return self._create_file(dir, name, e)
        return vfs_create(dir, name, e.mode, None, rdev=e.rdev)

    def _existing(self, dir: Location, name: bytes, mode: int) -> Optional[Location]:
        """Later entries replace earlier ones; an existing directory is kept for a directory entry."""
        old = dir.dentry.lookup_or_none(name)
        if old is None:
            return None
        if old.inode.is_dir and S.S_ISDIR(mode):
            return Location(dir.mount, old)
        if old.inode.is_dir:
            vfs_rmdir(dir, name, None)
        else:
            vfs_unlink(dir, name, None)
        return None

    def _create_file(self, dir: Location, name: bytes, e: CpioEntry) -> Location:
        first = self.links.get(e.link_key) if e.nlink >= 2 else None
        if first is not None:
            loc = vfs_link(first, dir, name, None)
        else:
            loc = vfs_create(dir, name, e.mode, None)
            if e.nlink >= 2:
                self.links[e.link_key] = loc
        if e.data:
            loc.inode.truncate(0)
            loc.inode.write(0, e.data)
        return loc

    def _set_attrs(self, loc: Location, e: CpioEntry) -> None:
        inode = loc.inode
        mode = None if inode.is_symlink else e.mode & 0o7777
        inode.setattr(mode=mode, uid=e.uid, gid=e.gid, mtime_ns=e.mtime * NSEC, atime_ns=e.mtime * NSEC)
        if inode.is_dir:
            self.dir_mtimes.append((loc, e.mtime * NSEC))   # creating children would bump it again

    def finish(self) -> None:
        for loc, mtime in self.dir_mtimes:
            loc.inode.setattr(mtime_ns=mtime, atime_ns=mtime)


def unpack_cpio(data: bytes, root: Location) -> int:
    """Unpack every entry of data under root; returns how many entries were read."""
    unpacker = _Unpacker(root)
    count = 0
    for entry in read_cpio(data):
        unpacker.unpack(entry)
        count += 1
    unpacker.finish()
    return count
