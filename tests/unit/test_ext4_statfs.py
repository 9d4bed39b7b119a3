"""ext4 statfs as Linux's ext4_statfs: f_blocks without the filesystem's overhead, f_bavail
without the root reserve and the metadata reserve, free counts summed from the groups."""
from __future__ import annotations

from pathlib import Path

import pytest

from .test_ext4_support import debugfs_write, dumpe2fs_header, mkfs, mount

# mkfs variants: one group and an internal journal; several groups (backups in 1 and 3);
# 4 KiB blocks in many small groups; ext2 (no journal, no extents); no resize inode nor
# flex_bg; no journal and no root reserve; ext3.
LAYOUTS = {
    "2m-one-group": ("ext4", "2M"),
    "1k-blocks-three-groups": ("ext4", "24M"),
    "4k-blocks-small-groups": ("ext4", "24M", "-b", "4096", "-g", "1024"),
    "ext2": ("ext2", "8M"),
    "no-resize-inode-no-flex-bg": ("ext4", "16M", "-O", "^resize_inode,^flex_bg"),
    "no-journal-no-reserve": ("ext4", "16M", "-m", "0", "-O", "^has_journal"),
    "ext3": ("ext3", "12M"),
}


def _mkfs(tmp_path: Path, layout: str) -> Path:
    fstype, size, *opts = LAYOUTS[layout]
    return mkfs(tmp_path / "img", None, size, fstype, *opts)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_ext4_statfs_blocks_leave_out_the_overhead_mkfs_recorded(tmp_path, layout):
    """mke2fs records the overhead it laid out in s_overhead_clusters; Linux recomputes the same
    figure at mount (without bigalloc it never trusts the field), so the driver must as well."""
    img = _mkfs(tmp_path, layout)
    header = dumpe2fs_header(img)
    recorded = int(header["Overhead clusters"])
    debugfs_write(img, "ssv overhead_clusters 0")
    st = mount(img, read_only=True).statfs()
    assert st.f_blocks == int(header["Block count"]) - recorded
    assert st.f_files == int(header["Inode count"])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_ext4_statfs_bavail_keeps_back_root_and_metadata_reserves(tmp_path, layout):
    img = _mkfs(tmp_path, layout)
    header = dumpe2fs_header(img)
    blocks, root_reserve = int(header["Block count"]), int(header["Reserved block count"])
    extents = "extent" in header["Filesystem features"].split()
    st = mount(img, read_only=True).statfs()
    metadata_reserve = min(blocks // 50, 4096) if extents else 0
    assert st.f_bfree == int(header["Free blocks"])
    assert st.f_bavail == st.f_bfree - root_reserve - metadata_reserve


def test_ext4_free_counts_come_from_the_group_descriptors_not_a_stale_superblock(tmp_path):
    img = _mkfs(tmp_path, "2m-one-group")
    header = dumpe2fs_header(img)
    debugfs_write(img, "ssv free_blocks_count 7", "ssv free_inodes_count 3")
    fs = mount(img)
    st = fs.statfs()
    assert (st.f_bfree, st.f_ffree) == (int(header["Free blocks"]), int(header["Free inodes"]))
    fs.unmount()
    fixed = dumpe2fs_header(img)
    assert (fixed["Free blocks"], fixed["Free inodes"]) == (header["Free blocks"], header["Free inodes"])
