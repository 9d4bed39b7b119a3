"""FAT driver, reading: images made by mkfs.fat and filled by mtools read back through the
driver and compared with their source tree; names, attributes, times, refusals."""
import errno
import os
import random
import stat as S

import pytest

from moss_host.errors import Errno
from moss_host.fs.blockdev import BlockDevice
from moss_host.fs.drivers.fat import mount_fat

from .test_fat_support import at, fsck, mcopy, mkfs, mount, names, read_all, run, vfs

RNG = random.Random(7)
MTIME = 1_700_000_000          # even seconds: FAT keeps 2-second resolution

TREE = {
    "empty": b"",
    "one": b"x",
    "UPPER.TXT": b"upper\n",
    "lower.txt": b"lower\n",
    "Mixed Case Name.Text": b"mixed\n",
    "a very long file name that needs several long-name entries.data": RNG.randbytes(3000),
    "grüße.txt": "unicode\n".encode(),
    "cluster": RNG.randbytes(512),
    "big.bin": RNG.randbytes(300_000),
    "Dir One/nested/deep.txt": b"deep\n",
    "Dir One/nested/more/leaf": b"leaf\n",
    "Dir One/sibling.txt": b"sib\n",
}


def make_tree(root, files):
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        os.utime(p, (MTIME, MTIME))
    return root


@pytest.fixture
def image(tmp_path):
    src = make_tree(tmp_path / "src", TREE)
    img = mkfs(tmp_path / "fat.img")
    for child in sorted(src.iterdir()):
        mcopy(img, child)
    fsck(img)
    return img, src


def compare_tree(ctx, src):
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        base = b"/" if rel == "." else b"/" + rel.encode()
        d = at(ctx, base)
        assert names(d.inode) == {n.encode() for n in dirnames + filenames}, base
        for name in filenames:
            inode = at(ctx, base.rstrip(b"/") + b"/" + name.encode()).inode
            data = open(os.path.join(dirpath, name), "rb").read()
            assert inode.size == len(data) and read_all(inode) == data, name


def test_a_tree_written_by_mtools_reads_back_identically(image):
    img, src = image
    fs = mount(img, read_only=True)
    compare_tree(vfs(fs), src)


def test_lookup_ignores_case_and_also_finds_the_short_name(image):
    fs = mount(image[0], read_only=True)
    ctx = vfs(fs)
    assert read_all(at(ctx, b"/upper.txt").inode) == b"upper\n"
    assert read_all(at(ctx, b"/MIXED CASE NAME.TEXT").inode) == b"mixed\n"
    assert read_all(at(ctx, b"/MIXEDC~1.TEX").inode) == b"mixed\n"
    assert at(ctx, b"/dir one/NESTED").inode is at(ctx, b"/Dir One/nested").inode
    with pytest.raises(Errno) as e:
        at(ctx, b"/nope")
    assert e.value.code == errno.ENOENT


def test_mtimes_modes_and_directory_links_match_what_was_copied(image):
    fs = mount(image[0], read_only=True)
    ctx = vfs(fs)
    st = at(ctx, b"/lower.txt").inode.getattr()
    assert st.st_mtime_ns == MTIME * 10 ** 9 and st.st_ctime_ns == st.st_mtime_ns
    assert st.st_mode == S.S_IFREG | 0o755 and st.st_uid == 0 and st.st_nlink == 1
    d = at(ctx, b"/Dir One").inode.getattr()
    assert d.st_mode == S.S_IFDIR | 0o755 and d.st_nlink == 3       # ".", its name, nested/..
    assert fs.root.getattr().st_nlink == 3
    big = at(ctx, b"/big.bin").inode.getattr()
    assert big.st_blocks == 300_000 // 512 + 1 and big.st_blksize == 512


def test_read_only_attribute_clears_write_bits_and_hidden_files_are_listed(tmp_path, image):
    img = image[0]
    run("mattrib", "-i", str(img), "+r", "::/one")
    run("mattrib", "-i", str(img), "+h", "+s", "::/empty")
    fs = mount(img, read_only=True, uid=1000, gid=100, fmask=0o133)
    ctx = vfs(fs)
    assert at(ctx, b"/one").inode.mode == S.S_IFREG | 0o444
    st = at(ctx, b"/empty").inode.getattr()
    assert st.st_mode == S.S_IFREG | 0o644 and (st.st_uid, st.st_gid) == (1000, 100)
    assert b"empty" in names(fs.root)


def test_readdir_resumes_from_any_position_and_inode_numbers_are_stable(image):
    fs = mount(image[0], read_only=True)
    all_entries = list(fs.root.readdir(0))
    for i, e in enumerate(all_entries):
        assert list(fs.root.readdir(e.next_pos)) == all_entries[i + 1:]
    inos = {e.name: e.ino for e in all_entries}
    assert len(set(inos.values())) == len(inos) - 1          # "." and ".." of the root are both the root
    ctx = vfs(fs)
    assert at(ctx, b"/big.bin").inode.ino == inos[b"big.bin"]


def test_a_fragmented_file_reads_back_through_its_whole_chain(tmp_path):
    img = mkfs(tmp_path / "frag.img", "8M", 16)
    small = tmp_path / "small"
    small.mkdir()
    for i in range(40):
        (small / f"s{i:02}").write_bytes(bytes([i]) * 1500)
    mcopy(img, small)
    used, total = map(int, fsck(img).split()[-2].split("/"))
    filler = tmp_path / "filler"
    filler.write_bytes(bytes((total - used - 30) * 512))
    mcopy(img, filler)                                       # the disk is full but for 30 clusters
    for i in range(0, 40, 2):
        run("mdel", "-i", str(img), f"::/small/s{i:02}")     # 20 holes of 3 clusters
    big = tmp_path / "frag.bin"
    big.write_bytes(RNG.randbytes(40_000))                   # 79 clusters: only fits in pieces
    mcopy(img, big)
    fsck(img)
    fs = mount(img, read_only=True)
    inode = at(vfs(fs), b"/frag.bin").inode
    chain = inode.chain()
    assert sum(b != a + 1 for a, b in zip(chain, chain[1:])) > 5, "the file should be fragmented"
    assert read_all(inode) == big.read_bytes()
    assert inode.read(39_990, 100) == big.read_bytes()[39_990:]
    assert read_all(at(vfs(fs), b"/small/s01").inode) == bytes([1]) * 1500


def test_statfs_reports_clusters_and_the_free_count(image):
    img = image[0]
    fs = mount(img, read_only=True)
    st = fs.statfs()
    summary = fsck(img).split(": ")[-1]                      # "N files, used/total clusters"
    used, total = summary.split()[2].split("/")
    assert (st.f_type, st.f_bsize, st.f_namelen) == (0x4D44, 512, 1530)
    assert st.f_blocks == int(total) and st.f_bfree == int(total) - int(used) == st.f_bavail


@pytest.mark.parametrize("bits,size", [(16, "8M"), (12, "2M")])
def test_fat12_and_fat16_images_read_back(tmp_path, bits, size):
    src = make_tree(tmp_path / "src", {"A Long Name.txt": b"long\n", "d/x.bin": RNG.randbytes(20_000)})
    img = mkfs(tmp_path / "small.img", size, bits)
    for child in sorted(src.iterdir()):
        mcopy(img, child)
    fs = mount(img, read_only=True)
    assert fs.bs.fat_bits == bits
    compare_tree(vfs(fs), src)


def test_an_image_without_fat_is_refused_with_a_reason(tmp_path):
    img = tmp_path / "junk.img"
    img.write_bytes(bytes(1 << 20))
    with pytest.raises(Errno) as e:
        mount_fat(BlockDevice(str(img)))
    assert e.value.code == errno.EINVAL and "no FAT filesystem" in str(e.value)


def test_a_truncated_image_is_refused(tmp_path):
    img = mkfs(tmp_path / "t.img")
    os.truncate(img, 4 << 20)
    with pytest.raises(Errno) as e:
        mount_fat(BlockDevice(str(img)))
    assert e.value.code == errno.EINVAL and "shorter" in str(e.value)


def _patch(img, offset: int, data: bytes) -> None:
    with open(img, "r+b") as f:
        f.seek(offset)
        f.write(data)


def test_a_corrupt_size_or_a_looping_chain_is_eio_not_a_crash(image):
    img = image[0]
    raw = img.read_bytes()
    entry = raw.index(b"CLUSTER    ")                      # the 512-byte file: one cluster
    _patch(img, entry + 28, (10_000).to_bytes(4, "little"))
    fs = mount(img, read_only=True)
    inode = at(vfs(fs), b"/cluster").inode
    with pytest.raises(Errno) as e:
        inode.read(0, 10_000)
    assert e.value.code == errno.EIO
    big = raw.index(b"BIG     BIN")
    first = int.from_bytes(raw[big + 26:big + 28], "little") | int.from_bytes(raw[big + 20:big + 22], "little") << 16
    fat_offset = fs.bs.first_fat_sector * 512
    _patch(img, fat_offset + 4 * (first + 3), first.to_bytes(4, "little"))   # the chain loops back
    fs = mount(img, read_only=True)
    with pytest.raises(Errno) as e:
        at(vfs(fs), b"/big.bin").inode.read(0, 10)
    assert e.value.code == errno.EIO


def test_mount_options_set_the_owner_and_masks():
    from moss_host.fs.drivers.fat import owner_options
    assert owner_options(b"", 7, 8, 0o002) == {"uid": 7, "gid": 8, "fmask": 0o002, "dmask": 0o002}
    assert owner_options(b"loop,uid=1000,gid=100,umask=077,fmask=133", 7, 8, 0o002) == \
        {"uid": 1000, "gid": 100, "fmask": 0o133, "dmask": 0o077}
    with pytest.raises(Errno) as e:
        owner_options(b"uid=me", 7, 8, 0o002)
    assert e.value.code == errno.EINVAL
