"""The boot sector (BIOS parameter block) and, on FAT32, the FSInfo sector.

Geometry follows Microsoft's FAT specification: the FAT type is decided by the count of
data clusters alone (< 4085 FAT12, < 65525 FAT16, else FAT32), except that a boot sector
with a zero 16-bit FAT size and a FAT32 extended BPB is FAT32 whatever its cluster count
(mkfs.fat -F 32 on a small image makes those; Linux mounts them as FAT32 too).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from ....errors import EINVAL, Errno

FSINFO_LEAD_SIG, FSINFO_STRUC_SIG, FSINFO_TRAIL_SIG = 0x41615252, 0x61417272, 0xAA550000
FSINFO_UNKNOWN = 0xFFFFFFFF
FAT_STATE_DIRTY = 0x01          # Linux's "volume dirty" bit in the boot sector's state byte


@dataclass
class BootSector:
    bytes_per_sector: int
    sectors_per_cluster: int
    reserved_sectors: int
    num_fats: int
    root_entries: int           # FAT12/16 fixed root directory; 0 on FAT32
    total_sectors: int
    fat_size: int               # sectors per FAT copy
    root_cluster: int           # FAT32 only
    fsinfo_sector: int          # FAT32 only (0 or 0xFFFF: none)
    fat_bits: int               # 12, 16 or 32
    state_offset: int           # byte offset of the state byte (Linux's dirty flag)
    volume_id: int

    @property
    def cluster_size(self) -> int:
        return self.bytes_per_sector * self.sectors_per_cluster

    @property
    def first_fat_sector(self) -> int:
        return self.reserved_sectors

    @property
    def root_dir_sector(self) -> int:
        """FAT12/16: the fixed root directory follows the FATs."""
        return self.reserved_sectors + self.num_fats * self.fat_size

    @property
    def root_dir_sectors(self) -> int:
        return (self.root_entries * 32 + self.bytes_per_sector - 1) // self.bytes_per_sector

    @property
    def first_data_sector(self) -> int:
        return self.root_dir_sector + self.root_dir_sectors

    @property
    def cluster_count(self) -> int:
        return (self.total_sectors - self.first_data_sector) // self.sectors_per_cluster

    def cluster_sector(self, cluster: int) -> int:
        return self.first_data_sector + (cluster - 2) * self.sectors_per_cluster


def parse_boot_sector(raw: bytes, where: str) -> BootSector:
    """Decode and sanity-check sector 0 (Linux's fat_read_bpb checks)."""
    if len(raw) < 512 or raw[510:512] != b"\x55\xaa" and raw[0] not in (0xEB, 0xE9):
        raise Errno(EINVAL, f"{where} has no FAT filesystem (no boot signature)")
    (bps, spc, reserved, nfats, root_entries, total16, _media, fat16) = struct.unpack_from("<HBHBHHBH", raw, 11)
    total32, = struct.unpack_from("<I", raw, 32)
    if (bps not in (512, 1024, 2048, 4096) or spc == 0 or spc & (spc - 1) or reserved == 0
            or nfats == 0 or bps * spc > 65536):
        raise Errno(EINVAL, f"{where} has no FAT filesystem (impossible boot sector geometry)")
    total = total16 or total32
    if fat16 == 0:
        fat_size, _flags, version, root_cluster, fsinfo = struct.unpack_from("<IHHIH", raw, 36)
        if version != 0:
            raise Errno(EINVAL, f"{where}: FAT32 version {version:#x} is not supported")
        bits, state_off, volid_off = 32, 0x41, 0x43
    else:
        fat_size, root_cluster, fsinfo = fat16, 0, 0
        bits, state_off, volid_off = 0, 0x25, 0x27
    bs = BootSector(bps, spc, reserved, nfats, root_entries, total, fat_size, root_cluster, fsinfo, bits,
                    state_off, struct.unpack_from("<I", raw, volid_off)[0])
    if fat_size == 0 or total <= bs.first_data_sector or bs.cluster_count < 1:
        raise Errno(EINVAL, f"{where} has no FAT filesystem (impossible boot sector geometry)")
    if bits == 0:
        n = bs.cluster_count
        bs.fat_bits = 12 if n < 4085 else 16 if n < 65525 else 32
        if bs.fat_bits == 32:
            raise Errno(EINVAL, f"{where}: too many clusters for a FAT12/16 boot sector")
    elif root_entries != 0 or root_cluster < 2:
        raise Errno(EINVAL, f"{where}: bad FAT32 boot sector (root entries or root cluster)")
    if fat_size * bps * 8 < (bs.cluster_count + 2) * bs.fat_bits:
        raise Errno(EINVAL, f"{where}: the FAT is too small for the cluster count")
    return bs


@dataclass
class FsInfo:
    free_count: int
    next_free: int


def parse_fsinfo(raw: bytes) -> FsInfo | None:
    lead, = struct.unpack_from("<I", raw, 0)
    struc, free, nxt = struct.unpack_from("<III", raw, 484)
    trail, = struct.unpack_from("<I", raw, 508)
    if (lead, struc, trail) != (FSINFO_LEAD_SIG, FSINFO_STRUC_SIG, FSINFO_TRAIL_SIG):
        return None
    return FsInfo(free, nxt)


def pack_fsinfo_counts(buf: bytearray, info: FsInfo) -> None:
    struct.pack_into("<II", buf, 488, info.free_count, info.next_free)
