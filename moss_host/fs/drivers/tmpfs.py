"""tmpfs: a filesystem that lives in host memory (the initramfs root, /tmp, /dev/shm).

Regular files are a bytearray holding the written prefix, a logical size (a file
truncated to a large size costs nothing until it is written: the tail reads as zeros),
and single pages written far past the prefix, so a write at a large offset holds only its
pages, as shmem allocates only the pages written (st_blocks says so). A short gap the
prefix grew over is zeros in it, its whole pages kept as holes: not charged, not counted
in st_blocks, found by SEEK_HOLE, as shmem's pages that were never written. Space is charged
per superblock against a limit, as tmpfs's size= option does, so a runaway guest
gets ENOSPC instead of exhausting the host.
Directory positions (getdents offsets) are per-directory insertion cookies:
they stay valid while entries are added and removed.
"""
from __future__ import annotations

import itertools
import random
import stat as S
from typing import Iterator, Optional

from ...errors import EFBIG, EINVAL, ENOENT, ENOSPC, ENOTEMPTY, ENXIO, EOPNOTSUPP, Errno
from ..fhandle import ExportOps
from ..options import SB_FLAG_OPTIONS, memparse, octal, split_options
from ..stat import Stat
from ..vfs import DirEntry, Inode, StatFs, Superblock, dtype_of, now_ns
from .tmpfs_export import SHMEM_EXPORT
from ..xattr import POSIX_ACL_ACCESS, POSIX_ACL_DEFAULT, SECURITY, SYSTEM, TRUSTED, SimpleXattrs

MAX_FILE_SIZE = (1 << 63) - 1       # MAX_LFS_FILESIZE on 64-bit
DEFAULT_SIZE_LIMIT = 1 << 30
DEFAULT_MAX_INODES = DEFAULT_SIZE_LIMIT // 4096
BOGO_DIRENT_SIZE = 20               # Linux tmpfs reports a directory's size as 20 bytes per entry
PAGE = 4096
SHORT_SYMLINK_LEN = 128            # shmem keeps a symlink target this long (with its NUL) in the inode
TMPFS_MAGIC = 0x01021994
RAMFS_MAGIC = 0x858458F6
UNLIMITED = 1 << 62                 # a size_limit or max_inodes this large means size=0 / nr_inodes=0
UNBOUNDED_FILE_MAX = DEFAULT_SIZE_LIMIT    # the most data a file no size= limit bounds may hold (_store)
DENSE_GAP = 16 * PAGE       # a write past the prefix by more than this goes to single pages (a hole)


class Tmpfs(Superblock):
    fstype = "tmpfs"
    export_op: Optional[ExportOps] = SHMEM_EXPORT
    # Linux 6.1's shmem_xattr_handlers: the POSIX ACLs, security.* and trusted.* (user.* came in 6.6)
    xattr_namespaces: tuple[bytes, ...] = (POSIX_ACL_ACCESS, POSIX_ACL_DEFAULT, SECURITY, TRUSTED)

    def __init__(self, mode: int = 0o1777, uid: int = 0, gid: int = 0,
                 size_limit: int = DEFAULT_SIZE_LIMIT, read_only: bool = False, dev: Optional[int] = None):
        super().__init__(dev=dev, read_only=read_only)
        self.size_limit = size_limit
        self.used = 0
        self.max_inodes = DEFAULT_MAX_INODES           # nr_inodes=; mount(2) sets Linux's default
        self.inodes = 0                                # live inodes, for statfs's f_ffree
        self.root = TmpDir(self, S.S_IFDIR | (mode & 0o7777), uid, gid, parent=None)
        # A tmpfs the kernel makes itself (the rootfs) shows its limits: they are not the
        # defaults a mount(2) would give. mount(2) and devfs set their own (show_options).
        self.mount_options = self.show_options()

    def show_options(self, mode: int = 0o1777, uid: int = 0, gid: int = 0,
                     defaults: Optional[tuple[int, int]] = None) -> str:
        """What shmem_show_options prints after rw: size= and nr_inodes= where they differ from
        `defaults` (what a mount(2) without them gets; None: always), mode=, uid=, gid= where
        they are not 1777, 0, 0, then inode64 (64-bit inode numbers, 64-bit Linux's default)."""
        size = self.size_limit if self.size_limit < UNLIMITED else 0            # size=0: no limit
        inodes = self.max_inodes if self.max_inodes < UNLIMITED else 0
        shown = []
        if defaults is None or size != defaults[0]:
            shown.append(f"size={size // 1024}k")
        if defaults is None or inodes != defaults[1]:
            shown.append(f"nr_inodes={inodes}")
        if mode != 0o1777:
            shown.append(f"mode={mode:03o}")
        if uid:
            shown.append(f"uid={uid}")
        if gid:
            shown.append(f"gid={gid}")
        shown.append("inode64")
        return ",".join(shown)

    def alloc_ino(self) -> int:
        """Every new inode comes through here: ENOSPC past nr_inodes, as shmem_reserve_inode."""
        if self.inodes >= self.max_inodes:
            raise Errno(ENOSPC)
        self.inodes += 1
        return super().alloc_ino()

    def statfs(self) -> StatFs:
        """shmem_statfs: page-sized blocks up to the size limit, inodes up to nr_inodes."""
        blocks = self.size_limit // PAGE if self.size_limit < UNLIMITED else 0       # size=0: no limit
        free = max(0, blocks - (self.used + PAGE - 1) // PAGE)
        files = self.max_inodes if self.max_inodes < UNLIMITED else 0                  # nr_inodes=0
        return StatFs(TMPFS_MAGIC, PAGE, blocks, free, free, files, max(0, files - self.inodes), 255, PAGE)

    def charge(self, nbytes: int) -> None:
        """Account nbytes of file data (negative to release); ENOSPC past the limit."""
        if nbytes > 0 and self.used + nbytes > self.size_limit:
            raise Errno(ENOSPC)
        self.used += nbytes


def tmpfs_from_options(source: str, data: bytes, ram_bytes: int) -> Tmpfs:
    """mount -t tmpfs: Linux's defaults are size = half of RAM, nr_inodes = half of RAM's pages,
    mode 1777; the options (shmem_parse_one) change them."""
    ram = ram_bytes
    size, inodes, mode, uid, gid = ram // 2, ram // PAGE // 2, 0o1777, 0, 0
    for key, value in split_options(data):
        if key in SB_FLAG_OPTIONS:
            continue
        if value is None:
            raise Errno(EINVAL)
        if key == "size":
            size = ram * memparse(value[:-1]) // 100 if value.endswith("%") else memparse(value)
            size = (size + PAGE - 1) // PAGE * PAGE
        elif key == "nr_inodes":
            inodes = memparse(value)
        elif key == "mode":
            mode = octal(value) & 0o7777
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
    sb.mount_options = sb.show_options(mode, uid, gid, defaults=(ram // 2, ram // PAGE // 2))
    return sb


class Ramfs(Tmpfs):
    """ramfs: a tmpfs without limits or figures, and without extended attributes."""
    fstype = "ramfs"
    xattr_namespaces = ()
    export_op = None                        # ramfs has no file handles

    def __init__(self, mode: int = 0o755):
        super().__init__(mode=mode, size_limit=UNLIMITED)
        self.max_inodes = UNLIMITED
        self.mount_options = ""

    def statfs(self) -> StatFs:
        return StatFs(RAMFS_MAGIC, PAGE, 0, 0, 0, 0, 0, 255, PAGE)


def ramfs_from_options(source: str, data: bytes) -> Ramfs:
    """mount -t ramfs: it ignores every option but mode=, as Linux's does."""
    mode = 0o755
    for key, value in split_options(data):
        if key == "mode" and value is not None:
            mode = octal(value) & 0o7777
    sb = Ramfs(mode)
    sb.source = source or "none"
    return sb


class TmpInode(Inode):
    """What every tmpfs inode has: its extended attributes, in memory (simple_xattrs)."""

    def __init__(self, sb: Tmpfs, mode: int, uid: int, gid: int, rdev: int = 0):
        super().__init__(sb, mode, uid, gid, rdev=rdev)
        self.xattrs = SimpleXattrs()
        self.generation: int = random.getrandbits(32)     # i_generation, for file handles (shmem_get_inode)

    def xattr_get(self, name: bytes) -> bytes:
        return self.xattrs.get(name)

    def xattr_set(self, name: bytes, value: Optional[bytes], flags: int) -> None:
        if name.startswith(SYSTEM):
            raise Errno(EOPNOTSUPP)         # POSIX ACLs are not kept: reading one finds none
        self.xattrs.set(name, value, flags)
        self.ctime_ns = now_ns()            # shmem_xattr_handler_set

    def xattr_list(self) -> list[bytes]:
        return self.xattrs.names()

    def getattr(self) -> Stat:
        st = super().getattr()
        st.st_blocks = self.pages_held() * (PAGE // 512)     # shmem's i_blocks: pages charged
        return st

    def pages_held(self) -> int:
        """Pages this inode holds: none for a directory or a device (TmpFile, TmpSymlink say more)."""
        return 0


class TmpDir(TmpInode):
    sb: Tmpfs

    def __init__(self, sb: Tmpfs, mode: int, uid: int, gid: int, parent: Optional["TmpDir"]):
        super().__init__(sb, mode, uid, gid)
        self.entries: dict[bytes, tuple[int, Inode]] = {}    # name -> (cookie, inode), in cookie order
        self.parent = parent if parent is not None else self
        self.nlink = 2
        self._cookies = itertools.count(2)                   # 0 and 1 are "." and ".."

    @property
    def size(self) -> int:
        return (len(self.entries) + 2) * BOGO_DIRENT_SIZE

    def _add(self, name: bytes, inode: Inode) -> Inode:
        self.entries[name] = (next(self._cookies), inode)
        self.touch()
        return inode

    def _remove(self, name: bytes) -> Inode:
        _, inode = self.entries.pop(name)
        self.touch()
        inode.ctime_ns = now_ns()
        return inode

    def lookup(self, name: bytes) -> Inode:
        entry = self.entries.get(name)
        if entry is None:
            raise Errno(ENOENT)
        return entry[1]

    def create(self, name: bytes, mode: int, uid: int, gid: int, rdev: int = 0) -> Inode:
        if S.S_ISREG(mode):
            return self._add(name, TmpFile(self.sb, mode, uid, gid))
        return self._add(name, TmpSpecial(self.sb, mode, uid, gid, rdev))

    def mkdir(self, name: bytes, mode: int, uid: int, gid: int) -> Inode:
        self.nlink += 1                                      # the child's ".."
        return self._add(name, TmpDir(self.sb, mode, uid, gid, parent=self))

    def symlink(self, name: bytes, target: bytes, uid: int, gid: int) -> Inode:
        return self._add(name, TmpSymlink(self.sb, target, uid, gid))

    def link(self, name: bytes, inode: Inode) -> None:
        if inode.nlink == 0 and isinstance(inode, TmpFile):
            self.sb.inodes += 1                 # an O_TMPFILE file gets its first name
            inode.remember()
        inode.nlink += 1
        self._add(name, inode)

    def tmpfile(self, mode: int, uid: int, gid: int) -> Inode:
        """shmem_tmpfile: a file with no name, counted as an unlinked open file is."""
        inode = TmpFile(self.sb, mode, uid, gid)
        inode.nlink = 0
        self.sb.inodes -= 1
        inode.forget()
        return inode

    def unlink(self, name: bytes) -> None:
        inode = self._remove(name)
        inode.nlink -= 1
        if inode.nlink == 0:
            self.sb.inodes -= 1
            if isinstance(inode, TmpFile):
                inode.forget()

    def rmdir(self, name: bytes) -> None:
        victim = self.lookup(name)
        assert isinstance(victim, TmpDir)       # the VFS checked it is a directory
        if victim.entries:
            raise Errno(ENOTEMPTY)
        self._remove(name)
        victim.nlink = 0
        self.nlink -= 1
        self.sb.inodes -= 1

    def rename(self, old_name: bytes, new_dir: Inode, new_name: bytes) -> None:
        assert isinstance(new_dir, TmpDir)
        inode = self.lookup(old_name)
        victim = new_dir.entries.get(new_name, (0, None))[1]
        if victim is not None:
            if isinstance(victim, TmpDir) and victim.entries:
                raise Errno(ENOTEMPTY)
            if victim.is_dir:
                new_dir.rmdir(new_name)
            else:
                new_dir.unlink(new_name)
        self._remove(old_name)
        new_dir._add(new_name, inode)
        if isinstance(inode, TmpDir) and new_dir is not self:
            self.nlink -= 1
            new_dir.nlink += 1
            inode.parent = new_dir

    def readdir(self, pos: int) -> Iterator[DirEntry]:
        if pos <= 0:
            yield DirEntry(b".", self.ino, dtype_of(self.mode), 1)
        if pos <= 1:
            yield DirEntry(b"..", self.parent.ino, dtype_of(self.parent.mode), 2)
        for name, (cookie, inode) in list(self.entries.items()):
            if cookie >= pos:
                yield DirEntry(name, inode.ino, dtype_of(inode.mode), cookie + 1)


class TmpFile(TmpInode):
    """A regular file: `data` holds the written prefix; `holes` the indexes of its whole pages
    that were never written (zeros in `data`, no page held); `pages` single pages written past
    it (page index -> PAGE bytes, every index at or past the prefix's last page); the rest up
    to `size` reads as zeros."""
    sb: Tmpfs

    def __init__(self, sb: Tmpfs, mode: int, uid: int, gid: int):
        super().__init__(sb, mode, uid, gid)
        self.data = bytearray()
        self.pages: dict[int, bytearray] = {}
        self.holes: set[int] = set()    # each a whole page inside `data`
        self._size = 0
        self._charged = True        # False once unlinked: its bytes no longer count against the fs

    def _charge(self, nbytes: int) -> None:
        if self._charged:
            self.sb.charge(nbytes)

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, n: int) -> bytes:
        end = min(offset + n, self._size)
        if end <= offset:
            return b""
        with memoryview(self.data) as mv:
            stored = bytes(mv[offset:end])
        missing = end - offset - len(stored)      # the unwritten tail below `size` reads as zeros
        if not missing:
            return stored
        if not self.pages:
            return stored + bytes(missing)
        return stored + self._read_pages(offset + len(stored), end)

    def _read_pages(self, start: int, end: int) -> bytes:
        """[start, end) past the prefix: the single pages written there, zeros elsewhere."""
        out = bytearray()
        while start < end:
            index, within = divmod(start, PAGE)
            n = min(PAGE - within, end - start)
            page = self.pages.get(index)
            out += page[within:within + n] if page is not None else bytes(n)
            start += n
        return bytes(out)

    def read_view(self, offset: int, n: int) -> Optional[memoryview]:
        """The file's own bytes [offset, offset + n) cut at the size, lent without a copy;
        None if part of that range is the unwritten tail (then use read()).

        For read(2) to copy straight into user memory: the caller must release the view
        before anything can write to this file (while it exists, growing `data` would
        raise BufferError), so it never outlives the syscall step that took it.
        """
        end = min(offset + n, self._size)
        if end > len(self.data):
            return None
        return memoryview(self.data)[offset:max(offset, end)].toreadonly()

    def write(self, offset: int, data: bytes) -> int:
        if offset + len(data) > MAX_FILE_SIZE:
            raise Errno(EFBIG)
        if not data:
            return 0
        self._store(offset, data)
        self._size = max(self._size, offset + len(data))
        self.touch()
        return len(data)

    def _store(self, offset: int, data: bytes) -> None:
        if offset > len(self.data) + DENSE_GAP:
            self._store_pages(offset, data)
            return
        end = offset + len(data)
        if end > len(self.data):
            if end > UNBOUNDED_FILE_MAX and not (self._charged and self.sb.size_limit < UNLIMITED):
                # An unlinked file or a memfd counts against no size= limit: past this the
                # host's memory, not the guest's, would run out.
                raise Errno(ENOSPC)
            if self.pages:
                self._absorb_below(end)
            if offset > len(self.data):
                self._extend(offset, end - len(self.data))
            elif end > len(self.data):
                self._charge(end - len(self.data))      # (appending: no gap)
        if self.holes:
            self._fill_holes(offset, end)
        self.data[offset:end] = data

    def _extend(self, start: int, charged: int) -> None:
        """The prefix grows to `start` with zeros (its whole pages holes), and `charged` bytes
        from its end are charged, less the holes."""
        old = len(self.data)
        gap = range(-(-old // PAGE), start // PAGE) if start > old else range(0)
        self._charge(charged - PAGE * len(gap))
        if gap:
            self.holes.update(gap)
        if start > old:
            self.data.extend(bytes(start - old))

    def _fill_holes(self, start: int, end: int) -> None:
        """A write to [start, end): the holes it reaches become pages (charged one each)."""
        holes = self.holes
        span = range(start // PAGE, (end - 1) // PAGE + 1)
        hit = [i for i in span if i in holes] if len(span) < len(holes) else [i for i in holes if i in span]
        if hit:
            self._charge(PAGE * len(hit))
            holes.difference_update(hit)

    def _store_pages(self, offset: int, data: bytes) -> None:
        """A write far past the prefix: into single pages (charged a page each), leaving a hole."""
        done = 0
        while done < len(data):
            index, within = divmod(offset + done, PAGE)
            n = min(PAGE - within, len(data) - done)
            page = self.pages.get(index)
            if page is None:
                self._charge(PAGE)
                page = self.pages[index] = bytearray(PAGE)
            page[within:within + n] = data[done:done + n]
            done += n

    def _absorb_below(self, end: int) -> None:
        """The prefix is about to grow to `end`: the single pages it reaches join it first, in
        order (each starts at or past the prefix's end: they were written beyond it)."""
        for index in sorted(i for i in self.pages if i * PAGE < end):
            start = index * PAGE
            self._extend(start, start - len(self.data))     # the gap; the page was charged already
            self.data += self.pages.pop(index)

    def truncate(self, size: int) -> None:
        if size > MAX_FILE_SIZE:
            raise Errno(EFBIG)
        if size < len(self.data):
            held = self._held_bytes()
            if size % PAGE and size // PAGE in self.holes:
                size_in_data = size - size % PAGE   # (a hole stays whole: its part reads as the tail)
            else:
                size_in_data = size
            del self.data[size_in_data:]
            if self.holes:
                self.holes.difference_update([i for i in self.holes if i * PAGE >= size_in_data])
            self._charge(self._held_bytes() - held)
        for index in [i for i in self.pages if i * PAGE >= size]:
            del self.pages[index]
            self._charge(-PAGE)
        last = self.pages.get(size // PAGE)
        if last is not None:                        # a shrink inside a single page: its tail is gone
            last[size % PAGE:] = bytes(PAGE - size % PAGE)
        self._size = size
        self.touch()

    def seek_data(self, offset: int, data: bool) -> int:
        """mapping_seek_hole_data: pages held are data, the rest holes (ENXIO: no data after)."""
        dense = -(-len(self.data) // PAGE)
        holes = self.holes
        index = offset // PAGE
        held = (index < dense and index not in holes) or index in self.pages
        if data:
            if held:
                return offset
            index += 1
            while index < dense and index in holes:
                index += 1
            if index < dense:
                return index * PAGE
            later = [i for i in self.pages if i >= index]
            if not later:
                raise Errno(ENXIO)
            return min(later) * PAGE
        if not held:
            return offset
        if index < dense:
            index = min([i for i in holes if i > index], default=dense)
        if index >= dense:
            while index in self.pages:
                index += 1
        return min(max(index * PAGE, offset), self._size)

    def _held_bytes(self) -> int:
        return len(self.data) + PAGE * (len(self.pages) - len(self.holes))

    def forget(self) -> None:
        """Last name gone: give the space back now. Open descriptors keep reading and writing the
        data (as in Linux); it is simply no longer counted, and Python frees it with the last reference."""
        self._charge(-self._held_bytes())
        self._charged = False

    def remember(self) -> None:
        """A name again (linkat of an O_TMPFILE file): its bytes count against the fs once more."""
        self._charged = True
        self._charge(self._held_bytes())

    def pages_held(self) -> int:
        return (len(self.data) + PAGE - 1) // PAGE + len(self.pages) - len(self.holes)


class TmpSymlink(TmpInode):
    def __init__(self, sb: Tmpfs, target: bytes, uid: int, gid: int):
        super().__init__(sb, S.S_IFLNK | 0o777, uid, gid)
        self.target = bytes(target)

    @property
    def size(self) -> int:
        return len(self.target)

    def readlink(self) -> bytes:
        return self.target

    def pages_held(self) -> int:
        """shmem_symlink keeps a target of up to SHORT_SYMLINK_LEN bytes (with its NUL) in the
        inode, a longer one in a page."""
        return 0 if len(self.target) + 1 <= SHORT_SYMLINK_LEN else 1


class TmpSpecial(TmpInode):
    """A device node, FIFO or socket: only attributes; opening it is the VFS's business."""

    def __init__(self, sb: Tmpfs, mode: int, uid: int, gid: int, rdev: int):
        super().__init__(sb, mode, uid, gid, rdev=rdev if (S.S_ISCHR(mode) or S.S_ISBLK(mode)) else 0)
