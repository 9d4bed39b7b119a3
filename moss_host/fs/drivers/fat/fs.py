"""The mounted filesystem: FatSuperblock and mount_fat().

Mount state follows Linux's fat driver: a read-write mount sets the "dirty" bit of the
boot sector's state byte at once (fat_set_state), unmount restores the byte it found, so
a clean volume unmounted cleanly is clean again. sync() writes the changed FAT sectors to
every FAT copy, the FSInfo free count and next-free hint (FAT32), and flushes the dirty
sectors. The block size of the device is the sector size.
"""
from __future__ import annotations

import logging
from typing import Optional

from ....errors import EINVAL, EIO, EROFS, Errno
from ....mm.page_cache import write_back_superblock
from ...blockdev import BlockDevice
from ...options import split_options
from ...stat import makedev
from ...vfs import StatFs, Superblock
from .bpb import FAT_STATE_DIRTY, FsInfo, pack_fsinfo_counts, parse_boot_sector, parse_fsinfo
from .dirent import ATTR_DIR, ShortEntry
from .node import FatDir, FatFile, FatInode, Rec
from .table import Fat

log = logging.getLogger("moss.fat")

MSDOS_SUPER_MAGIC = 0x4D44
FAT_ROOT_INO = 1



class FatSuperblock(Superblock):
    fstype = "vfat"

    def __init__(self, blockdev: BlockDevice, read_only: bool, devnum: int,
                 uid: int = 0, gid: int = 0, fmask: int = 0o022, dmask: int = 0o022):
        super().__init__(dev=devnum, read_only=read_only)
        self.blockdev: BlockDevice = blockdev           # never None on a disk filesystem
        where = f"disk image {blockdev.path!r}"
        boot = blockdev.pread(0, 512)
        self.bs = parse_boot_sector(boot, where)
        if self.bs.total_sectors * self.bs.bytes_per_sector > blockdev.size:
            raise Errno(EINVAL, f"{where} is shorter than its FAT filesystem")
        blockdev.set_block_size(self.bs.bytes_per_sector)
        # the cache counts blocks: keep ext4's 64 MiB budget with sector-sized ones
        blockdev.cache_blocks = max(blockdev.cache_blocks, (64 << 20) // self.bs.bytes_per_sector)
        self.sector_size = self.bs.bytes_per_sector
        self.slots_per_sector = self.sector_size // 32
        self.cluster_size = self.bs.cluster_size
        self.uid, self.gid, self.fmask, self.dmask = uid, gid, fmask, dmask
        self.fat = Fat(self.bs, blockdev.read_block)
        self.fsinfo: Optional[FsInfo] = None
        if self.bs.fat_bits == 32 and 0 < self.bs.fsinfo_sector < self.bs.reserved_sectors:
            self.fsinfo = parse_fsinfo(blockdev.read_block(self.bs.fsinfo_sector))
            if self.fsinfo is not None and 2 <= self.fsinfo.next_free <= self.fat.max_cluster:
                self.fat.next_free = self.fsinfo.next_free
        self._state = blockdev.read_block(0)[self.bs.state_offset]
        self._inodes: dict[int, FatInode] = {}          # entry position -> inode
        self.orphans: set[FatInode] = set()             # unlinked while open: freed at last close
        self._inos_next = FAT_ROOT_INO + 1              # the root has its own number
        root_entry = ShortEntry.new(b"           ", ATTR_DIR, 0, 0)
        root_entry.cluster = self.bs.root_cluster
        self.root = FatDir(self, root_entry, None, None, ino=FAT_ROOT_INO)

    def alloc_ino(self) -> int:
        n = self._inos_next
        self._inos_next = n + 1
        return n

    def check_writable(self) -> None:
        if self.read_only:
            raise Errno(EROFS)

    # -- inodes
    def inode_for(self, parent: FatDir, rec: Rec) -> FatInode:
        pos = parent._slot_pos(rec.short_slot)
        inode = self._inodes.get(pos)
        if inode is None:
            cls = FatDir if rec.entry.attr & ATTR_DIR else FatFile
            inode = self._inodes[pos] = cls(self, rec.entry, pos, parent)
        return inode

    def inode_for_new(self, parent: FatDir, pos: int, entry: ShortEntry) -> FatInode:
        cls = FatDir if entry.attr & ATTR_DIR else FatFile
        inode = self._inodes[pos] = cls(self, entry, pos, parent)
        return inode

    def forget(self, inode: FatInode) -> None:
        """Its directory entry is gone."""
        if inode.pos is not None:
            self._inodes.pop(inode.pos, None)
        inode.pos = None
        inode.unlinked = True
        if inode.open_count > 0:
            self.orphans.add(inode)

    def moved(self, inode: FatInode, old_pos: int, new_pos: int, new_parent: FatDir) -> None:
        self._inodes.pop(old_pos, None)
        self._inodes[new_pos] = inode
        inode.pos = new_pos
        inode.parent = new_parent
        inode.store()

    # -- sector I/O
    def read_entry(self, pos: int) -> bytes:
        sec, off = divmod(pos, self.sector_size)
        return self.blockdev.read_block(sec)[off:off + 32]

    def write_entry(self, pos: int, raw: bytes) -> None:
        sec, off = divmod(pos, self.sector_size)
        buf = self.blockdev.block(sec)
        if buf[off:off + 32] != raw:
            buf[off:off + 32] = raw
            self.blockdev.mark_dirty(sec)

    def zero_cluster(self, c: int) -> None:
        first = self.bs.cluster_sector(c)
        for s in range(first, first + self.bs.sectors_per_cluster):
            self.blockdev.write_block(s, b"")

    def read_chain(self, chain: list[int], offset: int, n: int) -> bytes:
        cs, ss, spc = self.cluster_size, self.sector_size, self.bs.sectors_per_cluster
        out = []
        end = offset + n
        read = self.blockdev.read_block
        if (end + cs - 1) // cs > len(chain):
            raise Errno(EIO, f"fat: a file of {end}+ bytes has only {len(chain)} clusters")
        while offset < end:
            ci, coff = divmod(offset, cs)
            first = self.bs.cluster_sector(chain[ci])
            take = min(cs - coff, end - offset)
            s0, s1 = coff // ss, (coff + take + ss - 1) // ss
            data = b"".join(read(first + s) for s in range(s0, min(s1, spc)))
            start = coff - s0 * ss
            out.append(data[start:start + take])
            offset += take
        return b"".join(out)

    def write_chain(self, chain: list[int], offset: int, data: bytes) -> None:
        cs, ss = self.cluster_size, self.sector_size
        dev = self.blockdev
        i = 0
        n = len(data)
        if (offset + n + cs - 1) // cs > len(chain):
            raise Errno(EIO, "fat: write past the end of a cluster chain")
        while i < n:
            pos = offset + i
            ci, coff = divmod(pos, cs)
            sec = self.bs.cluster_sector(chain[ci]) + coff // ss
            soff = coff % ss
            take = min(ss - soff, n - i)
            if take == ss:
                dev.write_block(sec, data[i:i + ss])
            else:
                buf = dev.block(sec)
                buf[soff:soff + take] = data[i:i + take]
                dev.mark_dirty(sec)
            i += take

    # -- figures and write-back
    def statfs(self) -> StatFs:
        free = self.fat.free_count
        return StatFs(f_type=MSDOS_SUPER_MAGIC, f_bsize=self.cluster_size, f_blocks=self.bs.cluster_count,
                      f_bfree=free, f_bavail=free, f_files=0, f_ffree=0, f_namelen=1530,
                      f_frsize=self.cluster_size)

    def _set_state(self, value: int) -> None:
        buf = self.blockdev.block(0)
        if buf[self.bs.state_offset] != value:
            buf[self.bs.state_offset] = value
            self.blockdev.mark_dirty(0)

    def mark_mounted(self) -> None:
        if self._state & FAT_STATE_DIRTY:
            log.warning("fat: %s was not properly unmounted; some data may be corrupt (run fsck.fat)",
                        self.blockdev.path)
        self._set_state(self._state | FAT_STATE_DIRTY)
        self.blockdev.flush()

    def write_back(self) -> None:
        write_back_superblock(self)         # stores through shared mappings reach the files first
        self.fat.write_back(self.blockdev.write_block)
        if self.fsinfo is not None:
            self.fsinfo.free_count = self.fat.free_count
            self.fsinfo.next_free = self.fat.next_free
            buf = self.blockdev.block(self.bs.fsinfo_sector)
            before = bytes(buf)
            pack_fsinfo_counts(buf, self.fsinfo)
            if bytes(buf) != before:
                self.blockdev.mark_dirty(self.bs.fsinfo_sector)
        self.blockdev.flush()

    def sync(self) -> None:
        if self.read_only:
            return
        self.write_back()

    def unmount(self) -> None:
        if self.read_only:
            return
        for inode in list(self.orphans):             # still open at unmount: nothing can use them now
            inode.release()
        self._set_state(self._state)
        self.write_back()


def mount_fat(blockdev: BlockDevice, read_only: bool = False, dev: Optional[int] = None, *,
              uid: int = 0, gid: int = 0, fmask: int = 0o022, dmask: int = 0o022) -> FatSuperblock:
    """Mount the FAT12/16/32 filesystem on blockdev (Linux's vfat: long names). Raises Errno
    with a reason when the image holds no FAT filesystem."""
    read_only = read_only or blockdev.read_only
    fs = FatSuperblock(blockdev, read_only, dev if dev is not None else _next_devnum(), uid, gid, fmask, dmask)
    if not read_only:
        fs.mark_mounted()
    return fs


def owner_options(data: bytes, uid: int, gid: int, umask: int) -> dict:
    """vfat's uid=, gid=, umask=, fmask=, dmask= (octal masks) as mount_fat's keyword arguments;
    the defaults: the mounter's ids and umask."""
    out = {"uid": uid, "gid": gid, "fmask": umask, "dmask": umask}
    try:
        for key, value in split_options(data):
            if key in ("uid", "gid") and value is not None:
                out[key] = int(value)
            elif key in ("umask", "fmask", "dmask") and value is not None:
                for k in (("fmask", "dmask") if key == "umask" else (key,)):
                    out[k] = int(value, 8) & 0o777
    except ValueError:
        raise Errno(EINVAL) from None
    return out


_minors = iter(range(0x8000, 1 << 20))


def _next_devnum() -> int:
    return makedev(254, next(_minors))
