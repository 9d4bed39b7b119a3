"""FatInode, FatFile, FatDir: the VFS inodes of a FAT filesystem.

A FAT file has no inode of its own: its attributes live in its short directory entry.
A FatInode keeps a decoded copy (`entry`) and the byte position of that entry on the
device (`pos`, None for the root and for a name already unlinked); every change is
written through to the cached sector (`store`). Inode numbers are handed out when an
entry is first seen and kept for the mount's lifetime (FatSuperblock.inode_for).

Files have no holes: writing past the end or growing with truncate allocates and zeroes.
"""
from __future__ import annotations

import stat as S
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Optional

from ....errors import EEXIST, EFBIG, EINVAL, EIO, ENOENT, ENOSPC, ENOTEMPTY, EPERM, Errno
from ...stat import Stat
from ...vfs import DirEntry, Inode, dtype_of, now_ns
from . import names as N
from .dirent import ATTR_ARCH, ATTR_DIR, ATTR_LFN, ATTR_RO, ATTR_VOLUME, DELETED, ShortEntry, fat_time_ns, \
    pack_datetime, unpack_datetime

if TYPE_CHECKING:
    from .fs import FatSuperblock

MAX_FILE_SIZE = 0xFFFFFFFF
MAX_DIR_SLOTS = 65536           # a directory is at most 2 MiB (FAT spec; Linux's FAT_MAX_DIR_SIZE)


@dataclass
class Rec:
    """One name in a directory: its slots (LFN entries then the short entry)."""
    text: str                   # the name readdir shows
    short: bytes
    first_slot: int
    short_slot: int
    entry: ShortEntry


class FatInode(Inode):
    def __init__(self, fs: "FatSuperblock", entry: ShortEntry, pos: Optional[int],
                 parent: Optional["FatDir"], ino: Optional[int] = None):
        self.fs = fs
        self.entry = entry
        self.pos = pos
        self.parent = parent
        self.open_count = 0
        self.unlinked = False
        self._chain: Optional[list[int]] = None
        super().__init__(fs, self._make_mode(), fs.uid, fs.gid, ino=ino)
        self.mtime_ns = self.ctime_ns = unpack_datetime(entry.mdate, entry.mtime)
        self.atime_ns = unpack_datetime(entry.adate, 0)

    def _make_mode(self) -> int:
        fs = self.fs
        if self.entry.attr & ATTR_DIR:
            return S.S_IFDIR | (0o777 & ~fs.dmask)
        mode = S.S_IFREG | (0o777 & ~fs.fmask)
        if self.entry.attr & ATTR_RO:
            mode &= ~0o222
        return mode

    # -- clusters
    @property
    def start(self) -> int:
        return self.entry.cluster

    def chain(self) -> list[int]:
        if self._chain is None:
            self._chain = self.fs.fat.chain(self.start)
        return self._chain

    def grow_to(self, nclusters: int, zero: bool) -> None:
        """Make the chain nclusters long (allocating; zeroing the new clusters if asked)."""
        chain = self.chain()
        need = nclusters - len(chain)
        if need <= 0:
            return
        got = self.fs.fat.alloc(need, chain[-1] if chain else 0)
        if not chain:
            self.entry.cluster = got[0]
        chain.extend(got)
        if zero:
            for c in got:
                self.fs.zero_cluster(c)

    def shrink_to(self, nclusters: int) -> None:
        chain = self.chain()
        if nclusters >= len(chain):
            return
        if nclusters == 0:
            self.fs.fat.free_chain(chain[0])
            self.entry.cluster = 0
        else:
            self.fs.fat.cut_after(chain[nclusters - 1])
        del chain[nclusters:]

    # -- the directory entry
    def store(self) -> None:
        """Write the short entry back into its directory sector (nothing once unlinked)."""
        if self.pos is None or self.fs.read_only:
            return
        self.fs.write_entry(self.pos, self.entry.pack())

    def opened(self) -> None:
        self.open_count += 1

    def closed(self) -> None:
        self.open_count -= 1
        if self.open_count == 0 and self.unlinked and not self.fs.read_only:
            self.release()

    def release(self) -> None:
        """The last name and the last open file are gone: free the clusters."""
        self.fs.orphans.discard(self)
        if self.start:
            self.shrink_to(0)

    # -- attributes
    @property
    def size(self) -> int:
        if self.entry.attr & ATTR_DIR:
            return len(self.chain()) * self.fs.cluster_size
        return self.entry.size

    def getattr(self) -> Stat:
        st = super().getattr()
        st.st_blocks = len(self.chain()) * self.fs.cluster_size // 512
        st.st_blksize = self.fs.cluster_size
        return st

    def setattr(self, mode=None, uid=None, gid=None, atime_ns=None, mtime_ns=None) -> None:
        """fat_setattr: owners cannot change; of chmod only the write bits of a file mean
        something (the read-only attribute); other mode changes are ignored, as Linux does."""
        self.fs.check_writable()
        if (uid is not None and uid != self.fs.uid) or (gid is not None and gid != self.fs.gid):
            raise Errno(EPERM)
        if mode is not None and mode & ~0o777 & 0o7777:
            raise Errno(EPERM)
        if mode is not None:
            self._chmod(mode & 0o777)
        if atime_ns is not None:
            self.atime_ns = unpack_datetime(pack_datetime(atime_ns)[0], 0)
            self.entry.adate = pack_datetime(atime_ns)[0]
        if mtime_ns is not None:
            self.mtime_ns = self.ctime_ns = fat_time_ns(mtime_ns)
            self.entry.mdate, self.entry.mtime, _ = pack_datetime(mtime_ns)
        self.store()

    def _chmod(self, mode: int) -> None:
        is_dir = self.is_dir
        mask = self.fs.dmask if is_dir else self.fs.fmask
        perm = mode & ~mask
        if perm & 0o555 != self.mode & 0o555:
            return
        full_w = 0o222 & ~mask
        if is_dir:
            return                              # directories cannot hold the read-only bit
        if perm & 0o222 and perm & 0o222 != full_w:
            return
        if perm & 0o222:
            self.entry.attr &= ~ATTR_RO
        else:
            self.entry.attr |= ATTR_RO
        self.mode = self._make_mode()

    def touch(self) -> None:
        now = now_ns()
        self.mtime_ns = self.ctime_ns = fat_time_ns(now)
        self.entry.mdate, self.entry.mtime, _ = pack_datetime(now)
        self.entry.attr |= ATTR_ARCH if not self.is_dir else 0
        self.store()


class FatFile(FatInode):
    def read(self, offset: int, n: int) -> bytes:
        size = self.entry.size
        if offset >= size or n <= 0:
            return b""
        n = min(n, size - offset)
        return self.fs.read_chain(self.chain(), offset, n)

    def write(self, offset: int, data: bytes) -> int:
        self.fs.check_writable()
        if not data:
            return 0
        end = offset + len(data)
        if end > MAX_FILE_SIZE:
            if offset >= MAX_FILE_SIZE:
                raise Errno(EFBIG)
            data = data[:MAX_FILE_SIZE - offset]
            end = MAX_FILE_SIZE
        if offset > self.entry.size:
            self._extend(offset)
        cs = self.fs.cluster_size
        self.grow_to((end + cs - 1) // cs, zero=False)
        self.fs.write_chain(self.chain(), offset, data)
        if end > self.entry.size:
            self.entry.size = end
        self.touch()
        return len(data)

    def _extend(self, size: int) -> None:
        """Grow to `size` with zeros (FAT has no holes)."""
        cs = self.fs.cluster_size
        old = self.entry.size
        have = len(self.chain()) * cs
        if have > old:                          # the tail of the last cluster may hold old data
            self.fs.write_chain(self.chain(), old, bytes(min(have, size) - old))
        self.grow_to((size + cs - 1) // cs, zero=True)
        self.entry.size = size

    def truncate(self, size: int) -> None:
        self.fs.check_writable()
        if size < 0:
            raise Errno(EINVAL)
        if size > MAX_FILE_SIZE:
            raise Errno(EFBIG)
        if size > self.entry.size:
            self._extend(size)
        else:
            cs = self.fs.cluster_size
            self.shrink_to((size + cs - 1) // cs)
            self.entry.size = size
        self.touch()


class FatDir(FatInode):
    """A directory: a cluster chain of 32-byte slots, or the fixed root of FAT12/16."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        # Loaded on first use (_load) and then kept up to date by every change:
        self._sec: Optional[list[int]] = None        # the sectors holding the slots, in order
        self._used = bytearray()                     # per slot: 1 in use, 0 free
        self._recs: Optional[dict[int, Rec]] = None  # short-entry slot -> name
        self._by_long: dict[str, Rec] = {}           # case-folded name -> Rec
        self._by_short: dict[str, Rec] = {}          # case-folded 8.3 name -> Rec
        self._sorted: Optional[list[Rec]] = None

    @property
    def is_fixed_root(self) -> bool:
        return self.pos is None and self.parent is None and self.fs.bs.fat_bits != 32

    def _sectors(self) -> list[int]:
        if self._sec is None:
            bs = self.fs.bs
            if self.is_fixed_root:
                self._sec = list(range(bs.root_dir_sector, bs.root_dir_sector + bs.root_dir_sectors))
            else:
                spc = bs.sectors_per_cluster
                self._sec = [s for c in self.chain() for s in range(bs.cluster_sector(c), bs.cluster_sector(c) + spc)]
        return self._sec

    def _slot_pos(self, slot: int) -> int:
        sps = self.fs.slots_per_sector
        return self._sectors()[slot // sps] * self.fs.sector_size + (slot % sps) * 32

    def size_of_root(self) -> int:
        return self.fs.bs.root_dir_sectors * self.fs.sector_size

    @property
    def size(self) -> int:
        return self.size_of_root() if self.is_fixed_root else super().size

    # -- reading the slots
    def _slots(self) -> Iterator[bytes]:
        read = self.fs.blockdev.read_block
        for s in self._sectors():
            raw = read(s)
            for off in range(0, len(raw), 32):
                yield raw[off:off + 32]

    def _load(self) -> dict[int, Rec]:
        """Parse the slots once: names (long ones joined from their LFN entries when the
        sequence and checksum agree; orphaned LFN entries are ignored but stay in place)."""
        if self._recs is not None:
            return self._recs
        self._recs = {}
        self._by_long, self._by_short, self._sorted = {}, {}, None
        self._used = bytearray(len(self._sectors()) * self.fs.slots_per_sector)
        used = self._used
        parts: list[bytes] = []
        lfn_start, expect, csum = -1, 0, -1
        for i, raw in enumerate(self._slots()):
            first = raw[0]
            if first == 0:
                break                                # the end: every later slot is free
            if first == DELETED:
                expect = 0
                continue
            used[i] = 1
            attr = raw[11]
            if attr & 0x3F == ATTR_LFN:
                seq = first & 0x1F
                if first & N.LFN_LAST:
                    parts, lfn_start, expect, csum = [N.lfn_part(raw)], i, seq - 1, raw[13]
                elif expect and seq == expect and raw[13] == csum:
                    parts.insert(0, N.lfn_part(raw))
                    expect -= 1
                else:
                    expect, parts, lfn_start = 0, [], -1
                continue
            if attr & ATTR_VOLUME:
                parts, lfn_start = [], -1
                continue
            e = ShortEntry.unpack(raw)
            if e.name in (b".          ", b"..         "):
                parts, lfn_start = [], -1
                continue
            text = None
            if parts and expect == 0 and lfn_start >= 0 and csum == N.checksum(e.name):
                text = N.lfn_text(parts)
            start = lfn_start if text is not None else i
            self._insert(Rec(text or N.short_display(e.name, e.case), e.name, start, i, e))
            parts, lfn_start, expect = [], -1, 0
        return self._recs

    def _insert(self, rec: Rec) -> None:
        self._load()[rec.short_slot] = rec
        self._by_long.setdefault(N.key(rec.text), rec)
        self._by_short.setdefault(N.key(N.short_display(rec.short, 0)), rec)
        self._sorted = None

    def _drop(self, rec: Rec) -> None:
        recs = self._load()
        del recs[rec.short_slot]
        for index, k in ((self._by_long, N.key(rec.text)), (self._by_short, N.key(N.short_display(rec.short, 0)))):
            if index.get(k) is rec:
                del index[k]
                other = next((r for r in recs.values()
                              if N.key(r.text if index is self._by_long else N.short_display(r.short, 0)) == k),
                             None) if len(index) < len(recs) else None
                if other is not None:
                    index[k] = other
        self._sorted = None

    def recs(self) -> list[Rec]:
        """The names in this directory, in slot order."""
        if self._sorted is None:
            self._sorted = [r for _, r in sorted(self._load().items())]
        return self._sorted

    def find(self, text: str) -> Optional[Rec]:
        self._load()
        k = N.key(text)
        return self._by_long.get(k) or self._by_short.get(k)

    def _find_name(self, name: bytes) -> Rec:
        try:
            text = N.decode_name(name)
        except Errno:
            raise Errno(ENOENT) from None
        rec = self.find(text)
        if rec is None:
            raise Errno(ENOENT)
        return rec

    def is_empty(self) -> bool:
        return not self._load()

    def subdirs(self) -> int:
        return sum(1 for r in self._load().values() if r.entry.attr & ATTR_DIR)

    def getattr(self) -> Stat:
        st = super().getattr()
        st.st_nlink = 2 + self.subdirs()
        return st

    # -- VFS directory operations
    def lookup(self, name: bytes) -> Inode:
        rec = self._find_name(name)
        return self.fs.inode_for(self, rec)

    def readdir(self, pos: int) -> Iterator[DirEntry]:
        if pos == 0:
            yield DirEntry(b".", self.ino, dtype_of(self.mode), 1)
            pos = 1
        if pos == 1:
            parent = self.parent or self
            yield DirEntry(b"..", parent.ino, dtype_of(parent.mode), 2)
            pos = 2
        for rec in list(self.recs()):
            if rec.short_slot + 2 < pos:
                continue
            inode = self.fs.inode_for(self, rec)
            yield DirEntry(rec.text.encode("utf-8", "surrogateescape"), inode.ino, dtype_of(inode.mode),
                           rec.short_slot + 3)

    def create(self, name: bytes, mode: int, uid: int, gid: int, rdev: int = 0) -> Inode:
        self.fs.check_writable()
        if not S.S_ISREG(mode):
            raise Errno(EPERM)                  # vfat has no device nodes, FIFOs or sockets
        text = self._new_name(name)
        entry = ShortEntry.new(b"", ATTR_ARCH, 0, now_ns())
        pos = self._add_entry(text, entry)
        self._touch_dir()
        return self.fs.inode_for_new(self, pos, entry)

    def mkdir(self, name: bytes, mode: int, uid: int, gid: int) -> Inode:
        self.fs.check_writable()
        text = self._new_name(name)
        now = now_ns()
        cluster = self.fs.fat.alloc(1)[0]
        self.fs.zero_cluster(cluster)
        dot = ShortEntry.new(b".          ", ATTR_DIR, 0, now)
        dot.cluster = cluster
        dotdot = ShortEntry.new(b"..         ", ATTR_DIR, 0, now)
        dotdot.cluster = self.dotdot_cluster()
        base = self.fs.bs.cluster_sector(cluster) * self.fs.sector_size
        self.fs.write_entry(base, dot.pack())
        self.fs.write_entry(base + 32, dotdot.pack())
        entry = ShortEntry.new(b"", ATTR_DIR, 0, now)
        entry.cluster = cluster
        try:
            pos = self._add_entry(text, entry)
        except Errno:
            self.fs.fat.free_chain(cluster)
            raise
        self._touch_dir()
        return self.fs.inode_for_new(self, pos, entry)

    def dotdot_cluster(self) -> int:
        """What '..' of a child of this directory points at: 0 for the root (FAT spec)."""
        return 0 if self.parent is None else self.start

    def unlink(self, name: bytes) -> None:
        self.fs.check_writable()
        rec = self._find_name(name)
        inode = self.fs.inode_for(self, rec)
        self._remove(rec)
        self.fs.forget(inode)
        if inode.open_count == 0:
            inode.release()
        self._touch_dir()

    def rmdir(self, name: bytes) -> None:
        self.fs.check_writable()
        rec = self._find_name(name)
        inode = self.fs.inode_for(self, rec)
        if not isinstance(inode, FatDir):
            raise Errno(EINVAL)
        if not inode.is_empty():
            raise Errno(ENOTEMPTY)
        self._remove(rec)
        self.fs.forget(inode)
        inode.release()
        self._touch_dir()

    def rename(self, old_name: bytes, new_dir: Inode, new_name: bytes) -> None:
        self.fs.check_writable()
        assert isinstance(new_dir, FatDir)
        rec = self._find_name(old_name)
        inode = self.fs.inode_for(self, rec)
        text = N.decode_name(new_name)
        target = new_dir.find(text)
        if target is not None and not (new_dir is self and target.short_slot == rec.short_slot):
            victim = self.fs.inode_for(new_dir, target)
            if isinstance(victim, FatDir) and not victim.is_empty():
                raise Errno(ENOTEMPTY)
            new_dir._remove(target)
            self.fs.forget(victim)
            if victim.open_count == 0:
                victim.release()
        old_pos = inode.pos
        assert old_pos is not None              # found by name, so it has a slot
        entry = inode.entry
        keep = (entry.name, entry.case)
        try:
            pos = new_dir._add_entry(text, entry, avoid=rec.short if new_dir is self else None)
        except Errno:
            entry.name, entry.case = keep
            raise
        self._remove(rec)               # adding never moves existing slots
        self.fs.moved(inode, old_pos, pos, new_dir)
        if isinstance(inode, FatDir) and new_dir is not self:
            inode.set_dotdot(new_dir.dotdot_cluster())
        self._touch_dir()
        if new_dir is not self:
            new_dir._touch_dir()

    def set_dotdot(self, cluster: int) -> None:
        chain = self.chain()
        if not chain:
            return
        pos = self.fs.bs.cluster_sector(chain[0]) * self.fs.sector_size + 32
        raw = bytearray(self.fs.read_entry(pos))
        if bytes(raw[:11]) != b"..         ":
            raise Errno(EIO, "fat: a directory without '..' in its second slot")
        e = ShortEntry.unpack(bytes(raw))
        e.cluster = cluster
        self.fs.write_entry(pos, e.pack())

    # -- changing the slots
    def _touch_dir(self) -> None:
        if self.pos is not None:
            self.touch()
        else:
            self.mtime_ns = self.ctime_ns = fat_time_ns(now_ns())

    def _new_name(self, name: bytes) -> str:
        text = N.decode_name(name)
        if text in (".", "..") or self.find(text) is not None:
            raise Errno(EEXIST)
        return text

    def _add_entry(self, text: str, entry: ShortEntry, avoid: Optional[bytes] = None) -> int:
        """Store `text` with the attributes of `entry` (whose name and case it sets);
        returns the byte position of the short entry."""
        recs = self._load()
        exact = N.exact_short(text)
        if exact is not None and (exact[0] == avoid or self._by_short.get(N.key(N.short_display(exact[0], 0))) is None):
            entry.name, entry.case = exact
            slots = [entry.pack()]
        else:
            upper = N.exact_short(text, mixed_ok=True)
            if upper is not None and (upper[0] == avoid
                                      or self._by_short.get(N.key(N.short_display(upper[0], 0))) is None):
                entry.name, entry.case = upper
            else:
                taken = {r.short for r in recs.values()}
                entry.name, entry.case = N.generate_short(text, taken), 0
            slots = N.lfn_entries(text, entry.name) + [entry.pack()]
        start = self._free_run(len(slots))
        for i, raw in enumerate(slots):
            self.fs.write_entry(self._slot_pos(start + i), raw)
            self._used[start + i] = 1
        short_slot = start + len(slots) - 1
        self._insert(Rec(text, entry.name, start, short_slot, entry))
        return self._slot_pos(short_slot)

    def _free_run(self, k: int) -> int:
        """The first slot of k consecutive free slots, growing the directory if needed."""
        self._load()
        while True:
            i = self._used.find(bytes(k))
            if i >= 0:
                return i
            if self.is_fixed_root:
                raise Errno(ENOSPC)
            per = self.fs.cluster_size // 32
            if len(self._used) + per > MAX_DIR_SLOTS:
                raise Errno(ENOSPC)
            self.grow_to(len(self.chain()) + 1, zero=True)
            self._sec = None
            self._used.extend(bytes(per))

    def _remove(self, rec: Rec) -> None:
        for s in range(rec.first_slot, rec.short_slot + 1):
            pos = self._slot_pos(s)
            raw = bytearray(self.fs.read_entry(pos))
            raw[0] = DELETED
            self.fs.write_entry(pos, bytes(raw))
            self._used[s] = 0
        self._drop(rec)
