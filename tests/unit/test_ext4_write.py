"""ext2/3/4 driver, writing: every operation goes through the VFS, then the filesystem is
unmounted, e2fsck -fn must find it clean, and debugfs must see the same data."""
import asyncio
import errno
import random
import stat as S

import pytest

from moss_host.errors import Errno
from moss_host.fs.blockdev import BlockDevice
from moss_host.fs.drivers.ext4 import dir as D
from moss_host.fs.drivers.ext4 import htree as H
from moss_host.fs.drivers.ext4 import mount_ext4
from moss_host.fs.drivers.ext4.inode import EXT4_EXTENTS_FL, EXT4_INDEX_FL
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.file import O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, open_file
from moss_host.fs.stat import major, makedev, minor
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import (FsContext, vfs_create, vfs_link, vfs_mkdir, vfs_rename, vfs_rmdir, vfs_symlink,
                              vfs_unlink)

from .test_ext4_support import (at, debugfs, debugfs_cat, debugfs_write, dumpe2fs_header, make_tree, mkfs,
                                mount, read_all, run, unmount_and_check, vfs)

RNG = random.Random(7)


def rand(n):
    return RNG.randbytes(n)


@pytest.fixture(params=["ext4-1k", "ext4-4k", "ext4-gdt_csum", "ext3", "ext2"])
def image(request, tmp_path):
    """A small image of each kind: ext4 with 1 KiB and 4 KiB blocks, ext4 with the older crc16
    group checksums (uninit_bg instead of metadata_csum), ext3 (journal, block maps), ext2."""
    src = make_tree(tmp_path / "src", {"existing": b"old contents\n", "sub/inner": b"inner\n"})
    kind = request.param
    if kind == "ext4-4k":
        return mkfs(tmp_path / "img", src, "16M", "ext4", "-b", "4096")
    if kind == "ext4-gdt_csum":
        return mkfs(tmp_path / "img", src, "8M", "ext4", "-O", "^metadata_csum,uninit_bg")
    return mkfs(tmp_path / "img", src, "8M", kind.split("-")[0])


def create(ctx, path, data=b"", mode=0o644):
    parent, _, name = path.rpartition(b"/")
    f = vfs_create(at(ctx, parent or b"/"), name, S.S_IFREG | mode, None).inode
    if data:
        assert f.write(0, data) == len(data)
    return f


def free_blocks(img):
    return int(dumpe2fs_header(img)["Free blocks"])


def test_create_and_write_files_of_many_sizes(image):
    fs = mount(image)
    ctx = vfs(fs)
    files = {b"/zero": b"", b"/small": b"hello\n", b"/two_blocks": rand(5000), b"/large": rand(700_000),
             b"/sub/nested": rand(3000)}
    for path, data in files.items():
        create(ctx, path, data)
    unmount_and_check(fs, image)
    for path, data in files.items():
        assert debugfs_cat(image, path.decode()) == data
    ctx = vfs(mount(image, read_only=True))
    for path, data in files.items():
        assert read_all(at(ctx, path).inode) == data


def test_overwrite_and_append_in_place(image):
    fs = mount(image)
    f = at(vfs(fs), b"/existing").inode
    f.write(4, b"NEW")
    f.write(f.size, b"appended" * 300)
    expect = b"old NEWtents\n" + b"appended" * 300
    assert read_all(f) == expect
    unmount_and_check(fs, image)
    assert debugfs_cat(image, "/existing") == expect


def test_sparse_writes_leave_holes_that_read_as_zeros(image):
    fs = mount(image)
    f = create(vfs(fs), b"/sparse")
    f.write(2_000_000, b"far")
    f.write(10, b"near")
    expect = bytes(10) + b"near" + bytes(2_000_000 - 14) + b"far"
    assert read_all(f) == expect
    assert f.getattr().st_blocks <= 8 * 8 * 4        # two data blocks plus mapping blocks, not 2 MB
    unmount_and_check(fs, image)
    assert debugfs_cat(image, "/sparse") == expect


def test_many_extents_grow_the_tree_beyond_the_inode(tmp_path):
    """Writing every other block makes one extent per block: the root's 4 slots fill, the tree
    grows to depth 1 and then 2 (84 extents per 1 KiB leaf)."""
    img = mkfs(tmp_path / "img", None, "8M")
    fs = mount(img)
    f = create(vfs(fs), b"/striped")
    expect = bytearray(1199 * 1024)
    for i in range(0, 1200, 2):
        chunk = rand(1024)
        f.write(i * 1024, chunk)
        expect[i * 1024:(i + 1) * 1024] = chunk
    data = read_all(f)
    assert data == expect
    assert len(f.runs()) == 600 and len(f._tree) > 4
    unmount_and_check(fs, img)
    assert debugfs_cat(img, "/striped") == data
    assert "Level Entries" in debugfs(img, "ex /striped") and " 2/ 2 " in debugfs(img, "ex /striped")


def test_truncate_shrink_frees_blocks_and_grow_leaves_a_hole(image):
    fs = mount(image)
    f = create(vfs(fs), b"/t", rand(300_000))
    f.truncate(5000)
    tail_kept = read_all(f)
    f.truncate(20_000)
    assert read_all(f) == tail_kept + bytes(15_000)
    f.write(30_000, b"end")
    expect = tail_kept + bytes(15_000) + bytes(10_000) + b"end"
    unmount_and_check(fs, image)
    assert debugfs_cat(image, "/t") == expect


def test_unlink_frees_the_inode_and_its_blocks(image):
    before = free_blocks(image)
    fs = mount(image)
    ctx = vfs(fs)
    create(ctx, b"/doomed", rand(400_000))
    vfs_unlink(at(ctx, b"/"), b"doomed", None)
    unmount_and_check(fs, image)
    assert free_blocks(image) == before
    assert "doomed" not in debugfs(image, "ls /")


def test_hard_link_then_unlink_one_name_keeps_the_data(image):
    fs = mount(image)
    ctx = vfs(fs)
    vfs_link(at(ctx, b"/existing"), at(ctx, b"/sub"), b"alias", None)
    assert at(ctx, b"/existing").inode.nlink == 2
    vfs_unlink(at(ctx, b"/"), b"existing", None)
    unmount_and_check(fs, image)
    assert debugfs_cat(image, "/sub/alias") == b"old contents\n"
    assert "Links: 1" in debugfs(image, "stat /sub/alias")


def test_mkdir_rmdir_and_enotempty(image):
    fs = mount(image)
    ctx = vfs(fs)
    root_links = fs.root.nlink
    vfs_mkdir(at(ctx, b"/"), b"a", 0o750, None)
    vfs_mkdir(at(ctx, b"/a"), b"b", 0o755, None)
    create(ctx, b"/a/b/file", b"x")
    assert fs.root.nlink == root_links + 1 and at(ctx, b"/a").inode.nlink == 3
    with pytest.raises(Errno) as e:
        vfs_rmdir(at(ctx, b"/a"), b"b", None)
    assert e.value.code == errno.ENOTEMPTY
    vfs_mkdir(at(ctx, b"/"), b"gone", 0o755, None)
    vfs_rmdir(at(ctx, b"/"), b"gone", None)
    assert fs.root.nlink == root_links + 1
    unmount_and_check(fs, image)
    assert debugfs_cat(image, "/a/b/file") == b"x"
    assert "gone" not in debugfs(image, "ls /")


def test_rename_within_and_across_directories_and_over_existing(image):
    fs = mount(image)
    ctx = vfs(fs)
    create(ctx, b"/f1", b"one")
    create(ctx, b"/f2", b"two")
    vfs_rename(at(ctx, b"/"), b"f1", at(ctx, b"/"), b"f2", None)          # over an existing file
    vfs_mkdir(at(ctx, b"/"), b"d1", 0o755, None)
    vfs_mkdir(at(ctx, b"/"), b"d2", 0o755, None)
    create(ctx, b"/d1/inside", b"in")
    vfs_rename(at(ctx, b"/"), b"d1", at(ctx, b"/sub"), b"moved", None)    # a directory across
    vfs_mkdir(at(ctx, b"/"), b"empty", 0o755, None)
    vfs_rename(at(ctx, b"/"), b"d2", at(ctx, b"/"), b"empty", None)       # a directory over an empty one
    vfs_rename(at(ctx, b"/"), b"f2", at(ctx, b"/sub/moved"), b"f", None)  # a file across
    unmount_and_check(fs, image)
    assert debugfs_cat(image, "/sub/moved/f") == b"one"
    assert debugfs_cat(image, "/sub/moved/inside") == b"in"
    ls = debugfs(image, "ls /")
    assert "f1" not in ls and "d1" not in ls and "d2" not in ls and "empty" in ls
    ctx = vfs(mount(image, read_only=True))
    moved = at(ctx, b"/sub/moved").inode
    assert moved.lookup(b"..") is at(ctx, b"/sub").inode


def test_symlinks_fast_and_slow(image):
    fs = mount(image)
    ctx = vfs(fs)
    long_target = b"x/" * 100 + b"end"
    vfs_symlink(at(ctx, b"/"), b"fast", b"existing", None)
    vfs_symlink(at(ctx, b"/"), b"slow", long_target, None)
    unmount_and_check(fs, image)
    assert 'Fast link dest: "existing"' in debugfs(image, "stat /fast")
    ctx = vfs(mount(image, read_only=True))
    assert at(ctx, b"/slow").inode.readlink() == long_target
    assert at(ctx, b"/fast").inode.readlink() == b"existing"


def test_mknod_stores_device_numbers(image):
    fs = mount(image)
    ctx = vfs(fs)
    root = at(ctx, b"/")
    vfs_create(root, b"null", S.S_IFCHR | 0o666, None, rdev=makedev(1, 3))
    vfs_create(root, b"nvme", S.S_IFBLK | 0o660, None, rdev=makedev(259, 70000))
    vfs_create(root, b"fifo", S.S_IFIFO | 0o644, None)
    vfs_create(root, b"sock", S.S_IFSOCK | 0o755, None)
    unmount_and_check(fs, image)
    assert "Device major/minor number: 01:03" in debugfs(image, "stat /null")
    nvme = mount(image, read_only=True).root.lookup(b"nvme")
    assert S.S_ISBLK(nvme.mode) and (major(nvme.rdev), minor(nvme.rdev)) == (259, 70000)


def test_setattr_chmod_chown_utimens(image):
    fs = mount(image)
    f = at(vfs(fs), b"/existing").inode
    f.setattr(mode=0o4711, uid=1234, gid=70000, atime_ns=1_000_000_123, mtime_ns=2_000_000_456)
    unmount_and_check(fs, image)
    st = debugfs(image, "stat /existing")
    assert "Mode:  04711" in st and "User:  1234" in st and "Group: 70000" in st
    g = mount(image, read_only=True).root.lookup(b"existing").getattr()
    assert g.st_mode == S.S_IFREG | 0o4711 and g.st_uid == 1234 and g.st_gid == 70000
    if fs.sbd.inode_size > 128:
        assert (g.st_atime_ns, g.st_mtime_ns) == (1_000_000_123, 2_000_000_456)


def test_directory_grows_by_blocks_as_entries_are_added(image):
    fs = mount(image)
    ctx = vfs(fs)
    vfs_mkdir(at(ctx, b"/"), b"many", 0o755, None)
    names = [b"entry_with_a_long_name_%04d" % i for i in range(300)]
    for n in names:
        create(ctx, b"/many/" + n)
    d = at(ctx, b"/many").inode
    assert d.size > 4 * fs.block_size or fs.block_size == 4096
    for n in names[::3]:
        vfs_unlink(at(ctx, b"/many"), n, None)
    unmount_and_check(fs, image)
    live = {line.split("/")[5] for line in debugfs(image, "ls -p /many").splitlines()
            if line.startswith("/") and not line.startswith("/0/")}   # inode 0: a freed first record
    assert live == {".", ".."} | {n.decode() for i, n in enumerate(names) if i % 3}


def indexed_dir_image(tmp_path, count, hash_alg=None, s_flags=None,
                      name="a_rather_long_file_name_to_fill_directory_blocks_{:04d}", fstype="ext4"):
    """An image whose /big holds `count` files and was hash-indexed by e2fsck -D
    (with the hash algorithm and s_flags signedness given, else mkfs's defaults)."""
    names = [name.format(i) for i in range(count)]
    src = make_tree(tmp_path / "src", {f"big/{n}": b"" for n in names})
    img = mkfs(tmp_path / "img", src, "8M", fstype)
    if hash_alg:
        run("tune2fs", "-E", f"hash_alg={hash_alg}", str(img))
    if s_flags is not None:
        debugfs_write(img, f"ssv flags {s_flags}")
    run("e2fsck", "-fyD", str(img), check=False)
    return img, names


def live_names(img, path):
    return {line.split("/")[5] for line in debugfs(img, f"ls -p {path}").splitlines()
            if line.startswith("/") and not line.startswith("/0/")}


@pytest.mark.parametrize("hash_alg", ["half_md4", "tea", "legacy"])
@pytest.mark.parametrize("s_flags", [1, 2], ids=["signed", "unsigned"])
def test_htree_probe_finds_the_leaf_of_every_name(tmp_path, hash_alg, s_flags):
    """Our dx_hash and probe agree with the index e2fsck built, for each hash algorithm,
    signed and unsigned, with names holding bytes >= 0x80 (where the two differ)."""
    img, names = indexed_dir_image(tmp_path, 250, hash_alg, s_flags,
                                   name="name_\xe9\xff_with_some_length_{:04d}")
    fs = mount(img, read_only=True)
    d = fs.root.lookup(b"big")
    assert d.disk.i_flags & EXT4_INDEX_FL
    io = H.DirIO(fs.block_size, None, lambda lblk: fs.blockdev.block(d.runs().lookup(lblk)[0]),
                 None, None, None)
    version = H.hash_version(io.block(0), fs.sbd.s_flags)
    for n in names:
        raw = n.encode()                 # UTF-8 on disk: bytes >= 0x80
        _, leaf = H.probe(io, H.dx_hash(raw, version, fs.sbd.s_hash_seed))
        assert raw in {e.name for e in D.entries(bytes(io.block(leaf))) if e.inode}, n


@pytest.mark.parametrize("fstype", ["ext4", "ext3"])     # with and without metadata_csum tails
def test_adding_to_an_htree_directory_keeps_the_index_through_splits_and_a_new_level(tmp_path, fstype):
    """1 KiB blocks and 200-byte names: 4 entries per leaf, so 900 additions split leaves
    over and over, fill the root (limit 123 with metadata_csum), which grows a level, and
    then fill that level's node (limit 126), which splits (ext4; ext3 stops after the new level)."""
    img, names = indexed_dir_image(tmp_path, 40, fstype=fstype)
    fs = mount(img)
    ctx = vfs(fs)
    d = at(ctx, b"/big").inode
    added = [b"%04d_" % i + b"n" * 195 for i in range(900 if fstype == "ext4" else 500)]
    for n in added:
        create(ctx, b"/big/" + n, b"")
        assert d.disk.i_flags & EXT4_INDEX_FL
    root = fs.blockdev.block(d.runs().lookup(0)[0])
    assert root[H.ROOT_INFO + 6] == 1                                       # indirect_levels
    if fstype == "ext4":
        assert len(H.DxNode.parse(0, root, H.ROOT_COUNT_OFFSET).entries) >= 2   # the level-1 node split
    for n in added[::7]:
        vfs_unlink(at(ctx, b"/big"), n, None)
    unmount_and_check(fs, img)
    expect = set(names) | {n.decode() for i, n in enumerate(added) if i % 7}
    assert live_names(img, "/big") == {".", ".."} | expect
    ctx = vfs(mount(img, read_only=True))
    assert all(at(ctx, b"/big/" + n.encode()).inode for n in list(expect)[:50])


def test_htree_cases_it_does_not_handle_fall_back_to_a_linear_directory(tmp_path, monkeypatch):
    img, names = indexed_dir_image(tmp_path, 300)
    monkeypatch.setattr(H, "insert", lambda *a, **k: False)
    fs = mount(img)
    ctx = vfs(fs)
    d = at(ctx, b"/big").inode
    vfs_unlink(at(ctx, b"/big"), names[7].encode(), None)        # removal keeps the index
    assert d.disk.i_flags & EXT4_INDEX_FL
    create(ctx, b"/big/newcomer", b"new")
    assert not d.disk.i_flags & EXT4_INDEX_FL
    unmount_and_check(fs, img)
    assert debugfs_cat(img, "/big/newcomer") == b"new"
    assert live_names(img, "/big") == {".", "..", "newcomer"} | set(names) - {names[7]}


def test_unlink_in_an_htree_directory_keeps_it_indexed_and_clean(tmp_path):
    names = [f"a_rather_long_file_name_to_fill_directory_blocks_{i:04d}" for i in range(300)]
    src = make_tree(tmp_path / "src", {f"big/{n}": b"" for n in names})
    img = mkfs(tmp_path / "img", src, "8M")
    run("e2fsck", "-fyD", str(img), check=False)
    fs = mount(img)
    ctx = vfs(fs)
    for n in names[:150]:
        vfs_unlink(at(ctx, b"/big"), n.encode(), None)
    assert at(ctx, b"/big").inode.disk.i_flags & EXT4_INDEX_FL
    unmount_and_check(fs, img)
    assert debugfs_cat(img, f"/big/{names[200]}") == b""


@pytest.mark.parametrize("kind", [("ext4", "-O", "^has_journal"), ("ext2",)], ids=["extents", "blockmaps"])
def test_writing_until_the_disk_is_full_is_enospc_and_stays_consistent(tmp_path, kind):
    img = mkfs(tmp_path / "img", None, "2M", *kind)
    fs = mount(img)
    ctx = vfs(fs)
    f = create(ctx, b"/filler")
    chunk = bytes(range(256)) * 256
    written = 0
    with pytest.raises(Errno) as e:
        while True:
            n = f.write(written, chunk)
            written += n
            assert n > 0
    assert e.value.code == errno.ENOSPC and written > 1_000_000
    assert f.size == written
    for make in (lambda: vfs_mkdir(at(ctx, b"/"), b"dir", 0o755, None),
                 lambda: vfs_symlink(at(ctx, b"/"), b"slow", b"t" * 200, None)):
        with pytest.raises(Errno) as e:        # the new inode needs a block there is not
            make()
        assert e.value.code == errno.ENOSPC
    unmount_and_check(fs, img)
    assert debugfs_cat(img, "/filler") == (chunk * (written // len(chunk) + 1))[:written]


def test_large_file_spills_into_uninitialised_block_groups(tmp_path):
    """Group 0 of a 1 KiB-block image holds 8 MiB: 10 MB must go on into group 1, which mkfs
    left BLOCK_UNINIT."""
    img = mkfs(tmp_path / "img", None, "32M", "ext4", "-O", "^has_journal")
    assert "BLOCK_UNINIT" in run("dumpe2fs", str(img)).stdout.split("Group 1:")[1].split("Group 2:")[0]
    fs = mount(img)
    data = rand(10_000_000)
    f = create(vfs(fs), b"/huge", data)
    assert f.disk.i_flags & EXT4_EXTENTS_FL
    unmount_and_check(fs, img)
    assert debugfs_cat(img, "/huge") == data


def test_sync_writes_a_consistent_image_while_still_mounted(image):
    fs = mount(image)
    create(vfs(fs), b"/synced", b"data")
    fs.sync()
    assert debugfs_cat(image, "/synced") == b"data"
    unmount_and_check(fs, image)


def test_unlink_frees_an_external_xattr_block(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"data"}), "4M")
    (tmp_path / "val").write_bytes(b"v" * 600)         # too big for the inode: goes to a block
    debugfs_write(img, f"ea_set -f {tmp_path / 'val'} /f user.big")
    assert "File ACL: 0" not in debugfs(img, "stat /f")
    before = free_blocks(img)
    fs = mount(img)
    ctx = vfs(fs)
    vfs_unlink(at(ctx, b"/"), b"f", None)
    unmount_and_check(fs, img)
    assert free_blocks(img) == before + 2                # the data block and the xattr block


def test_an_open_file_outlives_its_last_name_and_goes_at_last_close(tmp_path):
    img = mkfs(tmp_path / "img", None, "4M")
    before = free_blocks(img)
    fs = mount(img)
    ctx = vfs(fs)
    f = create(ctx, b"/tmpfile", rand(50_000))
    f.opened()
    vfs_unlink(at(ctx, b"/"), b"tmpfile", None)
    f.write(50_000, b"still writable")
    assert f.read(50_000, 100) == b"still writable" and f.nlink == 0
    fs.sync()
    assert dumpe2fs_header(img)["First orphan inode"] == str(f.ino)
    f.closed()
    assert f.dead
    unmount_and_check(fs, img)
    assert free_blocks(img) == before and "First orphan inode" not in dumpe2fs_header(img)


def test_unmount_frees_orphans_still_open(tmp_path):
    img = mkfs(tmp_path / "img", None, "4M")
    before = free_blocks(img)
    fs = mount(img)
    ctx = vfs(fs)
    for name in (b"a", b"b", b"c"):
        create(ctx, b"/" + name, rand(5000)).opened()
    for name in (b"b", b"a", b"c"):
        vfs_unlink(at(ctx, b"/"), name, None)
    unmount_and_check(fs, img)
    assert free_blocks(img) == before


def test_orphans_left_by_a_crash_are_cleaned_up_at_the_next_mount(tmp_path):
    img = mkfs(tmp_path / "img", None, "4M")
    before = free_blocks(img)
    fs = mount(img)
    ctx = vfs(fs)
    for name in (b"x", b"y"):
        create(ctx, b"/" + name, rand(20_000)).opened()
        vfs_unlink(at(ctx, b"/"), name, None)
    fs.sync()
    fs.blockdev.close()                                  # "crash": no unmount, orphans on disk
    assert run("e2fsck", "-fn", str(img), check=False).returncode != 0
    unmount_and_check(mount(img), img)                   # the mount finishes the deletions
    assert free_blocks(img) == before


def test_open_files_read_write_and_list_an_ext4_directory(tmp_path):
    """The ext4 inodes work unchanged under the file layer (open(2), read/write, getdents64)."""
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"etc/hosts": b"127.0.0.1 localhost\n"}), "4M")
    fs = mount(img)
    ctx = vfs(fs)

    async def scenario():
        f = await open_file(ctx, ctx.root, b"/etc/new", O_CREAT | O_RDWR, 0o640, None)
        assert await f.write(b"abc" * 2000) == 6000
        assert await f.pread(5998, 10) == b"bc"
        d = await open_file(ctx, ctx.root, b"/etc", O_RDONLY | O_DIRECTORY, 0, None)
        names = []
        while True:
            chunk = d.getdents64(64)
            if not chunk:
                break
            off = 0
            while off < len(chunk):
                reclen = int.from_bytes(chunk[off + 16:off + 18], "little")
                names.append(chunk[off + 19:off + reclen].split(b"\0")[0])
                off += reclen
        return names, f.stat()

    names, st = asyncio.run(scenario())
    assert sorted(names) == [b".", b"..", b"hosts", b"new"]
    assert st.st_size == 6000 and st.st_mode == S.S_IFREG | 0o640
    unmount_and_check(fs, img)
    assert debugfs_cat(img, "/etc/new") == b"abc" * 2000


def test_a_tiny_page_cache_still_leaves_a_clean_filesystem(tmp_path):
    """With 16 cached blocks, eviction runs all the time under the driver's edits."""
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"d/x": b"x"}), "8M")
    fs = mount_ext4(BlockDevice(str(img), cache_blocks=16))
    ctx = vfs(fs)
    files = {b"/d/f%03d" % i: rand(RNG.randrange(0, 9000)) for i in range(120)}
    for path, data in files.items():
        create(ctx, path, data)
    for path in list(files)[::4]:
        vfs_unlink(at(ctx, b"/d"), path.rsplit(b"/", 1)[1], None)
        del files[path]
    unmount_and_check(fs, img)
    ctx = vfs(mount(img, read_only=True))
    for path, data in files.items():
        assert read_all(at(ctx, path).inode) == data


FEATURE_VARIANTS = {
    "inode128": ("ext4", "-I", "128"), "no_flex_bg": ("ext4", "-O", "^flex_bg"), "no_64bit": ("ext4", "-O", "^64bit"),
    "csum_seed": ("ext4", "-O", "metadata_csum_seed"), "no_dir_index": ("ext4", "-O", "^dir_index"),
    "block2k": ("ext4", "-b", "2048"), "no_huge_file": ("ext4", "-O", "^huge_file"),
    "no_sparse_super": ("ext4", "-O", "^sparse_super,^resize_inode"), "orphan_file": ("ext4", "-O", "orphan_file"),
    "ext2_no_filetype": ("ext2", "-O", "^filetype"), "ext2_rev0": ("ext2", "-r", "0"), "ext2_4k": ("ext2", "-b", "4096"),
}


@pytest.mark.parametrize("variant", sorted(FEATURE_VARIANTS))
def test_a_mixed_workload_on_other_feature_sets_stays_clean(tmp_path, variant):
    src = make_tree(tmp_path / "src", {"a": rand(20000), "d/b": b"bb", "l": ("symlink", "a" * 80)})
    img = mkfs(tmp_path / "img", src, "16M", *FEATURE_VARIANTS[variant])
    fs = mount(img)
    ctx = vfs(fs)
    rng = random.Random(variant)
    expect = {}
    for i in range(40):
        off, data = rng.randrange(0, 50000), rng.randbytes(rng.randrange(1, 5000))
        create(ctx, b"/d/f%d" % i).write(off, data)
        expect[b"/d/f%d" % i] = bytes(off) + data
    vfs_mkdir(at(ctx, b"/"), b"m", 0o755, None)
    vfs_rename(at(ctx, b"/d"), b"f3", at(ctx, b"/m"), b"g", None)
    expect[b"/m/g"] = expect.pop(b"/d/f3")
    vfs_symlink(at(ctx, b"/m"), b"s", b"x" * 70, None)
    for i in range(0, 40, 2):
        if i != 3:
            vfs_unlink(at(ctx, b"/d"), b"f%d" % i, None)
            del expect[b"/d/f%d" % i]
    at(ctx, b"/a").inode.truncate(5000)
    unmount_and_check(fs, img)
    ctx = vfs(mount(img, read_only=True))
    for path, data in expect.items():
        assert read_all(at(ctx, path).inode) == data
    assert read_all(at(ctx, b"/a").inode) == (src / "a").read_bytes()[:5000]
    assert at(ctx, b"/m/s").inode.readlink() == b"x" * 70


def test_a_full_disk_while_splitting_an_htree_leaf_leaves_a_clean_directory(tmp_path):
    img, names = indexed_dir_image(tmp_path, 300)
    fs = mount(img)
    ctx = vfs(fs)
    filler = create(ctx, b"/filler")
    with pytest.raises(Errno):
        while True:
            filler.write(filler.size, bytes(1 << 16))
    with pytest.raises(Errno) as e:
        for i in range(2000):
            create(ctx, b"/big/" + b"x%04d_" % i + b"n" * 150)
    assert e.value.code == errno.ENOSPC
    unmount_and_check(fs, img)


def test_ext4_mounted_on_a_tmpfs_root_works_through_path_lookup(tmp_path):
    """How the kernel will use it: a tmpfs root with the disk mounted on /mnt."""
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"etc/motd": b"hi\n"}), "4M")
    fs = mount(img)
    ns = MountTable(Tmpfs(mode=0o755))
    ctx = FsContext(ns.root_location())
    vfs_mkdir(ctx.root, b"mnt", 0o755, None)
    ns.mount(fs, at(ctx, b"/mnt"))
    assert read_all(at(ctx, b"/mnt/etc/motd").inode) == b"hi\n"
    f = vfs_create(at(ctx, b"/mnt/etc"), b"new", S.S_IFREG | 0o644, None).inode
    f.write(0, b"through the mount")
    assert at(ctx, b"/mnt/etc/..").inode is fs.root
    assert at(ctx, b"/mnt/..").inode is ctx.root.inode
    assert at(ctx, b"/mnt/etc/new").inode.getattr().st_dev == fs.dev
    unmount_and_check(fs, img)
    assert debugfs_cat(img, "/etc/new") == b"through the mount"
