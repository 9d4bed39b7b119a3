"""statfs(2) figures of an ext4 filesystem, as Linux's ext4_statfs gives them (default bsddf).

f_blocks leaves out the filesystem's own overhead (ext4_calculate_overhead, fixed at mount):
the blocks before s_first_data_block; in every group its superblock copy, group-descriptor
blocks and reserved GDT blocks (only in groups that carry a backup), its two bitmaps and its
inode table (counted for the group they describe, wherever flex_bg put them); and the blocks
of an internal journal. Without bigalloc Linux always recomputes it; with bigalloc it trusts a
sane s_overhead_clusters (counting clusters group by group is what this driver cannot do).

f_bavail keeps back the root reserve (s_r_blocks_count) and the clusters every extent-mapped
filesystem holds back for metadata (ext4_calculate_resv_clusters: 2%, at most 4096).
"""
from __future__ import annotations

from ...vfs import StatFs
from .superblock import EXT4_SUPER_MAGIC, INCOMPAT_EXTENTS, RO_COMPAT_BIGALLOC, SuperBlockData, has_super_backup

EXT4_NAME_LEN = 255
RESV_CLUSTERS_MAX = 4096


def overhead_blocks(sbd: SuperBlockData, gdt_blocks: int, journal_blocks: int) -> int:
    """The blocks ext4_statfs takes out of f_blocks. gdt_blocks is the size of the descriptor
    table (s_gdb_count); journal_blocks the internal journal's length (0 without one)."""
    if sbd.has_ro_compat(RO_COMPAT_BIGALLOC) and 0 < sbd.s_overhead_clusters <= sbd.blocks_count:
        return sbd.s_overhead_clusters << sbd.cluster_bits
    itable_blocks = sbd.s_inodes_per_group // (sbd.block_size // sbd.inode_size)   # s_itb_per_group
    overhead = sbd.s_first_data_block
    for g in range(sbd.group_count):
        if has_super_backup(sbd, g):
            overhead += 1 + gdt_blocks + sbd.s_reserved_gdt_blocks
        overhead += itable_blocks + 2
    return overhead + journal_blocks


def reserved_clusters(sbd: SuperBlockData) -> int:
    """ext4_calculate_resv_clusters: nothing without extents (ext2/3 estimates are exact)."""
    if not sbd.has_incompat(INCOMPAT_EXTENTS):
        return 0
    return min((sbd.blocks_count >> sbd.cluster_bits) // 50, RESV_CLUSTERS_MAX)


def ext4_statfs(sbd: SuperBlockData, overhead: int) -> StatFs:
    """The figures from the superblock's counters (kept in step with the groups' by the driver)."""
    bfree = max(sbd.free_blocks_count, 0)
    held_back = sbd.r_blocks_count + (reserved_clusters(sbd) << sbd.cluster_bits)
    bs = sbd.block_size
    return StatFs(f_type=EXT4_SUPER_MAGIC, f_bsize=bs, f_blocks=sbd.blocks_count - overhead,
                  f_bfree=bfree, f_bavail=max(bfree - held_back, 0), f_files=sbd.s_inodes_count,
                  f_ffree=sbd.s_free_inodes_count, f_namelen=EXT4_NAME_LEN, f_frsize=bs)
