"""ext2/3/4 driver, reading: images made by mkfs.ext4 -d (and debugfs) read back through
the driver and compared with their source tree; mount-time checks and refusals."""
import errno
import os
import random
import stat as S

import pytest

from moss_host.errors import Errno
from moss_host.fs.blockdev import BlockDevice
from moss_host.fs.drivers.ext4 import mount_ext4
from moss_host.fs.drivers.ext4.inode import EXT4_EXTENTS_FL, EXT4_INDEX_FL, EXT4_INLINE_DATA_FL
from moss_host.fs.stat import major, minor

from .test_ext4_support import (at, debugfs, debugfs_write, dumpe2fs_header, fsck, make_tree, mkfs, mount,
                                read_all, run, vfs)

RNG = random.Random(5)


def rand(n):
    return RNG.randbytes(n)


SOURCE = {
    "empty": b"",
    "one": b"x",
    "block": rand(1024),
    "block_plus": rand(1025),
    "medium.bin": rand(70_000),
    "big.bin": rand(1_500_000),
    "dir/nested/deep.txt": b"deep\n",
    "dir/nested/empty_dir": ("dir",),
    "fast_link": ("symlink", "dir/nested/deep.txt"),
    "slow_link": ("symlink", "t/" * 60 + "target"),
    "hard_a": b"shared contents\n",
    "dir/hard_b": ("hardlink", "hard_a"),
    "sparse": ("sparse", 3_000_000, {0: b"head", 1_000_000: b"middle", 2_999_990: b"tail"}),
}


def compare_tree(ctx, src):
    """Every file, link and directory under src reads back identically through the driver."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        base = b"/" if rel == "." else b"/" + rel.encode()
        d = at(ctx, base)
        names = {e.name for e in d.inode.readdir(0)} - {b".", b"..", b"lost+found"}
        assert names == {n.encode() for n in dirnames + filenames}, base
        for name in filenames:
            p = os.path.join(dirpath, name)
            inode = at(ctx, base.rstrip(b"/") + b"/" + name.encode()).inode
            st = os.lstat(p)
            assert inode.mode == st.st_mode and inode.size == st.st_size, p
            if S.S_ISLNK(st.st_mode):
                assert inode.readlink() == os.readlink(p).encode()
            else:
                assert read_all(inode) == open(p, "rb").read(), p


@pytest.fixture(scope="module")
def default_image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ext4read")
    src = make_tree(tmp / "src", SOURCE)
    return src, mkfs(tmp / "img", src, "8M")


def test_mkfs_default_image_reads_back_identical_to_its_source(default_image):
    src, img = default_image
    compare_tree(vfs(mount(img, read_only=True)), src)


def test_default_image_has_the_features_this_machine_uses(default_image):
    feats = dumpe2fs_header(default_image[1])["Filesystem features"].split()
    for f in ("has_journal", "extent", "flex_bg", "64bit", "huge_file", "metadata_csum", "dir_nlink",
              "extra_isize", "sparse_super"):
        assert f in feats


def test_hard_links_share_one_inode(default_image):
    ctx = vfs(mount(default_image[1], read_only=True))
    a, b = at(ctx, b"/hard_a").inode, at(ctx, b"/dir/hard_b").inode
    assert a is b and a.nlink == 2


def test_sparse_file_holes_read_as_zeros_and_take_no_blocks(default_image):
    ctx = vfs(mount(default_image[1], read_only=True))
    f = at(ctx, b"/sparse").inode
    assert f.read(1_000_000 - 10, 20) == bytes(10) + b"middle" + bytes(4)
    assert f.getattr().st_blocks < 100


def test_symlinks_fast_in_inode_and_slow_in_a_block(default_image):
    ctx = vfs(mount(default_image[1], read_only=True))
    fast, slow = at(ctx, b"/fast_link").inode, at(ctx, b"/slow_link").inode
    assert fast.is_fast and not slow.is_fast
    assert slow.readlink() == ("t/" * 60 + "target").encode()


def test_readdir_resumes_from_a_returned_position(default_image):
    root = mount(default_image[1], read_only=True).root
    full = list(root.readdir(0))
    resumed = list(root.readdir(full[3].next_pos))
    assert [e.name for e in resumed] == [e.name for e in full[4:]]
    assert full[0].name == b"." and full[1].name == b".."


def test_stat_reports_blocks_and_device_number(default_image):
    fs = mount(default_image[1], read_only=True)
    st = at(vfs(fs), b"/big.bin").inode.getattr()
    assert st.st_size == 1_500_000 and st.st_blocks >= 1_500_000 // 512 and st.st_dev == fs.dev
    assert major(fs.dev) == 254


def test_fragmented_file_with_a_deep_extent_tree_reads_back(tmp_path):
    """debugfs writes a file into every other free block: hundreds of extents, tree depth >= 1."""
    img = mkfs(tmp_path / "img", None, "4M")
    fillers = [f"write /etc/hostname f{i}" for i in range(400)]
    debugfs_write(img, *fillers)
    debugfs_write(img, *[f"rm f{i}" for i in range(0, 400, 2)])
    data = rand(600_000)
    (tmp_path / "frag.bin").write_bytes(data)
    debugfs_write(img, f"write {tmp_path / 'frag.bin'} frag")
    fs = mount(img, read_only=True)
    f = fs.root.lookup(b"frag")
    assert f.disk.i_flags & EXT4_EXTENTS_FL and len(f.runs()) > 100 and f._tree
    assert read_all(f) == data


def test_htree_directory_reads_every_entry(tmp_path):
    names = [f"a_rather_long_file_name_to_fill_directory_blocks_{i:04d}" for i in range(400)]
    src = make_tree(tmp_path / "src", {f"big/{n}": n.encode() for n in names})
    img = mkfs(tmp_path / "img", src, "8M")
    run("e2fsck", "-fyD", str(img), check=False)          # build the hash index
    fs = mount(img, read_only=True)
    d = fs.root.lookup(b"big")
    assert d.disk.i_flags & EXT4_INDEX_FL
    assert {e.name for e in d.readdir(0)} - {b".", b".."} == {n.encode() for n in names}
    assert read_all(d.lookup(names[123].encode())) == names[123].encode()


def test_ext2_image_with_indirect_blocks_reads_back(tmp_path):
    src = make_tree(tmp_path / "src", {"double_indirect.bin": rand(400_000), "small": b"s",
                                       "sparse": ("sparse", 600_000, {300_000: b"mid"}),
                                       "d/link": ("symlink", "../small")})
    img = mkfs(tmp_path / "img", src, "4M", "ext2")
    ctx = vfs(mount(img, read_only=True))
    assert not at(ctx, b"/small").inode.disk.i_flags & EXT4_EXTENTS_FL
    compare_tree(ctx, src)


def test_ext2_with_4k_blocks_reads_back(tmp_path):
    src = make_tree(tmp_path / "src", {"f": rand(5_000_000), "g": b"x" * 5000})
    img = mkfs(tmp_path / "img", src, "16M", "ext2", "-b", "4096")
    compare_tree(vfs(mount(img, read_only=True)), src)


def test_inline_data_files_and_directories_are_readable(tmp_path):
    src = make_tree(tmp_path / "src", {"tiny": b"tiny file", "small": b"s" * 100, "large": rand(5000),
                                       "d/x": b"1", "d/y": b"2", "d/sub/z": b"3",
                                       **{f"wide/name_{i:02d}": b"w" for i in range(8)}})
    img = mkfs(tmp_path / "img", src, "8M", "ext4", "-O", "inline_data")
    ctx = vfs(mount(img, read_only=True))
    assert at(ctx, b"/small").inode.disk.i_flags & EXT4_INLINE_DATA_FL
    assert at(ctx, b"/d").inode.disk.i_flags & EXT4_INLINE_DATA_FL
    assert at(ctx, b"/d/sub/..").inode is at(ctx, b"/d").inode
    compare_tree(ctx, src)


def test_inline_data_filesystem_mounts_only_read_only(tmp_path):
    img = mkfs(tmp_path / "img", None, "8M", "ext4", "-O", "inline_data")
    with pytest.raises(Errno) as e:
        mount(img)
    assert e.value.code == errno.EROFS


def test_device_nodes_and_fifos_report_type_and_rdev(tmp_path):
    img = mkfs(tmp_path / "img", None, "4M")
    debugfs_write(img, "mknod tty c 4 5", "mknod disk b 8 1", "mknod pipe p")
    root = mount(img, read_only=True).root
    tty, disk, pipe = (root.lookup(n) for n in (b"tty", b"disk", b"pipe"))
    assert S.S_ISCHR(tty.mode) and (major(tty.rdev), minor(tty.rdev)) == (4, 5)
    assert S.S_ISBLK(disk.mode) and (major(disk.rdev), minor(disk.rdev)) == (8, 1)
    assert S.S_ISFIFO(pipe.mode) and pipe.rdev == 0


# ---------------------------------------------------------------- mount checks

def test_mount_of_a_non_ext4_image_is_einval(tmp_path):
    p = tmp_path / "zero.img"
    p.write_bytes(bytes(1 << 20))
    with pytest.raises(Errno) as e:
        mount(p)
    assert e.value.code == errno.EINVAL and "magic" in str(e.value)


def test_truncated_image_is_refused_with_a_message(tmp_path):
    img = mkfs(tmp_path / "img", None, "4M")
    os.truncate(img, 2 << 20)
    with pytest.raises(Errno) as e:
        mount(img, read_only=True)
    assert e.value.code == errno.EIO and "truncated" in str(e.value)


def test_corrupt_superblock_checksum_is_refused(tmp_path):
    img = mkfs(tmp_path / "img", None, "4M")
    with open(img, "r+b") as f:
        f.seek(1024 + 0x78)              # s_volume_name: not covered by anything but the checksum
        f.write(b"X")
    with pytest.raises(Errno) as e:
        mount(img, read_only=True)
    assert "checksum" in str(e.value)


def test_needs_recovery_with_an_empty_log_mounts_read_write_and_read_only(tmp_path):
    """Replay itself is tested in test_jbd2.py."""
    src = make_tree(tmp_path / "src", {"f": b"data"})
    img = mkfs(tmp_path / "img", src, "8M")
    debugfs_write(img, "feature needs_recovery")
    assert read_all(mount(img, read_only=True).root.lookup(b"f")) == b"data"
    assert read_all(mount(img).root.lookup(b"f")) == b"data"


def test_read_only_mount_never_writes_the_image(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"x"}), "4M")
    before = img.read_bytes()
    fs = mount(img, read_only=True)
    read_all(fs.root.lookup(b"f"))
    fs.sync()
    fs.unmount()
    assert img.read_bytes() == before


def test_mount_on_a_read_only_device_is_read_only(tmp_path):
    img = mkfs(tmp_path / "img", None, "4M")
    fs = mount_ext4(BlockDevice(str(img), read_only=True))
    assert fs.read_only


def test_read_write_mount_marks_the_fs_in_use_and_unmount_marks_it_clean(tmp_path):
    img = mkfs(tmp_path / "img", None, "4M")
    count = int(dumpe2fs_header(img)["Mount count"])
    fs = mount(img)
    assert dumpe2fs_header(img)["Filesystem state"] == "not clean"
    fs.unmount()
    hdr = dumpe2fs_header(img)
    assert hdr["Filesystem state"] == "clean" and int(hdr["Mount count"]) == count + 1
    fsck(img)


def test_debugfs_sees_what_the_driver_reads(default_image):
    out = debugfs(default_image[1], "ls -l /dir")
    assert "hard_b" in out and "nested" in out


def test_read_only_mount_refuses_every_change_with_erofs(default_image):
    fs = mount(default_image[1], read_only=True)
    f = fs.root.lookup(b"one")
    for change in (lambda: f.write(0, b"y"), lambda: f.truncate(0), lambda: f.setattr(mode=0o600),
                   lambda: fs.root.create(b"new", S.S_IFREG | 0o644, 0, 0),
                   lambda: fs.root.mkdir(b"d", 0o755, 0, 0), lambda: fs.root.unlink(b"one")):
        with pytest.raises(Errno) as e:
            change()
        assert e.value.code == errno.EROFS


def _corrupt(img, fs_block, offset, block_size=1024):
    with open(img, "r+b") as f:
        f.seek(fs_block * block_size + offset)
        byte = f.read(1)
        f.seek(fs_block * block_size + offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_corrupt_inode_checksum_is_eio(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"x"}), "4M")
    fs = mount(img, read_only=True)
    ino = fs.root.lookup(b"f").ino
    blk, off = fs._inode_location(ino)
    fs.blockdev.close()
    _corrupt(img, blk, off + 0x08)               # i_atime
    with pytest.raises(Errno) as e:
        mount(img, read_only=True).root.lookup(b"f")
    assert e.value.code == errno.EIO and "checksum" in str(e.value)


def test_corrupt_directory_block_checksum_is_eio(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"d/f": b"x"}), "4M")
    fs = mount(img, read_only=True)
    pblk = fs.root.lookup(b"d").runs().lookup(0)[0]
    fs.blockdev.close()
    _corrupt(img, pblk, 30)                      # inside the name of an entry
    with pytest.raises(Errno) as e:
        list(mount(img, read_only=True).root.lookup(b"d").readdir(0))
    assert e.value.code == errno.EIO


def test_statfs_agrees_with_dumpe2fs(default_image):
    st = mount(default_image[1], read_only=True).statfs()
    hdr = dumpe2fs_header(default_image[1])
    blocks = int(hdr["Block count"])
    assert (st.f_blocks, st.f_bfree, st.f_files, st.f_ffree) == (
        blocks - int(hdr["Overhead clusters"]), int(hdr["Free blocks"]), int(hdr["Inode count"]),
        int(hdr["Free inodes"]))
    # the root reserve and ext4's metadata reserve (2% of the blocks, at most 4096) are held back
    assert st.f_bavail == st.f_bfree - int(hdr["Reserved block count"]) - min(blocks // 50, 4096)
    assert st.f_type == 0xEF53
