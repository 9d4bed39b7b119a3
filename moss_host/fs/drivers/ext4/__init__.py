"""ext2/ext3/ext4 filesystem driver (read-write, journaled with jbd2). See docs/ext4.md.

Modules, one concept each:
  crc32c      checksums (crc32c for metadata_csum, crc16 for gdt_csum)
  superblock  the on-disk superblock and feature flags
  groups      group descriptors and their checksums; group geometry
  alloc       block and inode bitmaps: allocation and free counts
  inode       the on-disk inode record
  runs        a file's block mapping in memory
  extents     extent trees <-> runs;  blockmap  ext2 indirect maps <-> runs
  xattr       in-inode xattrs: inline data (read); xattr block reference counts
  dir         directory blocks: entries, checksum tails
  htree       hash-indexed directories: name hashes, probe, insertion with splits
  node, file, directory   the VFS inodes
  orphan      the orphan list: unlinked inodes still open
  journal_format  jbd2 on-disk blocks;  journal  the running log (commit, checkpoint)
  journal_replay  recovery of a log left dirty
  fs          Ext4Superblock and mount_ext4()
"""
from .fs import Ext4Superblock, mount_ext4

__all__ = ["Ext4Superblock", "mount_ext4"]
