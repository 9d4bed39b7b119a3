"""FAT12/16/32 filesystem driver with VFAT long names (read-write). See docs/fat.md.

Modules, one concept each:
  bpb     the boot sector (BPB) and the FAT32 FSInfo sector
  table   the file allocation table: chains, allocation, both copies written back
  names   8.3 short names, NT case flags, long-name (LFN) entries and checksums
  dirent  the 32-byte short entry; FAT dates and times
  node    FatInode, FatFile, FatDir: the VFS inodes
  fs      FatSuperblock and mount_fat()
"""
from .fs import FatSuperblock, mount_fat, owner_options

__all__ = ["FatSuperblock", "mount_fat", "owner_options"]
