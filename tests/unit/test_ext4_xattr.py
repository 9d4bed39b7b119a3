"""ext4 extended attributes: the entry hash, the block hash and checksum as e2fsprogs computes
them, in-inode and block storage written by moss-py and read back by debugfs (and the other
way round), shared blocks, and e2fsck finding every image clean."""
import errno
import random
import stat as S
import struct

import pytest

from moss_host.errors import Errno
from moss_host.fs.drivers.ext4.xattr import (XATTR_BLOCK_CHECKSUM, XATTR_HEADER_SIZE, XEntry, block_entries,
                                             block_hash, encode_block, entry_hash, ibody_entries,
                                             xattr_block_checksum)
from moss_host.fs.vfs import vfs_create
from moss_host.fs.xattr import XATTR_CREATE, XATTR_REPLACE

from .test_ext4_support import at, debugfs, debugfs_write, make_tree, mkfs, mount, unmount_and_check, vfs


def test_entry_hash_folds_the_name_then_the_value_words():
    # ext4_xattr_hash_entry by hand: name bytes with a 5-bit rotate, value words with 16.
    h = 0
    for c in b"ab":
        h = ((h << 5) ^ (h >> 27) ^ c) & 0xFFFFFFFF
    w = struct.unpack("<I", b"xyz\0")[0]
    h = ((h << 16) ^ (h >> 16) ^ w) & 0xFFFFFFFF
    assert entry_hash(XEntry(1, b"ab", b"xyz")) == h
    assert entry_hash(XEntry(1, b"", b"")) == 0


def test_block_encoding_round_trips_with_its_header_and_hash():
    entries = [XEntry(1, b"a", b"1"), XEntry(6, b"selinux", b"ctx" * 10)]
    buf = encode_block(entries, 1024)
    assert buf is not None
    magic, refs, blocks, h = struct.unpack_from("<IIII", buf, 0)
    assert (magic, refs, blocks) == (0xEA020000, 1, 1)
    assert h == block_hash(entries) != 0
    assert block_entries(buf) == entries
    assert encode_block([XEntry(1, b"big", bytes(1024 - XATTR_HEADER_SIZE))], 1024) is None


@pytest.fixture(params=["256", "128"])
def image(request, tmp_path):
    src = make_tree(tmp_path / "src", {"f": b"data\n"})
    return mkfs(tmp_path / "img", src, "8M", "ext4", "-b", "4096", "-I", request.param)


def _new(ctx, name: bytes):
    return vfs_create(at(ctx, b"/"), name, S.S_IFREG | 0o644, None).inode


def test_attributes_written_by_moss_read_back_by_debugfs_and_fsck_is_clean(image):
    fs = mount(image)
    ctx = vfs(fs)
    f = _new(ctx, b"x")
    assert f.xattr_list() == []
    f.xattr_set(b"user.small", b"tiny", 0)
    f.xattr_set(b"security.empty", b"", 0)
    f.xattr_set(b"trusted.big", bytes(range(256)) * 8, 0)      # 2 KiB: only a block holds it
    assert f.xattr_get(b"user.small") == b"tiny"
    assert f.xattr_get(b"trusted.big") == bytes(range(256)) * 8
    assert set(f.xattr_list()) == {b"user.small", b"security.empty", b"trusted.big"}
    with pytest.raises(Errno) as e:
        f.xattr_set(b"user.small", b"again", XATTR_CREATE)
    assert e.value.code == errno.EEXIST
    with pytest.raises(Errno) as e:
        f.xattr_set(b"user.none", b"x", XATTR_REPLACE)
    assert e.value.code == errno.ENODATA
    with pytest.raises(Errno) as e:
        f.xattr_set(b"user.huge", bytes(5000), 0)
    assert e.value.code == errno.ENOSPC
    assert f.disk.file_acl and f.getattr().st_blocks == 8
    if len(f.disk.raw) > 128:
        assert [e.name for e in ibody_entries(f.disk)] == [b"small", b"empty"]
    unmount_and_check(fs, image)
    out = debugfs(image, "ea_list /x")
    assert 'user.small (4) = "tiny"' in out
    assert "trusted.big (2048)" in out
    assert "security.empty (0)" in out


def test_removing_every_attribute_frees_the_block(image):
    fs = mount(image)
    f = _new(vfs(fs), b"y")
    f.xattr_set(b"user.v", bytes(3000), 0)
    blk = f.disk.file_acl
    assert blk
    f.xattr_set(b"user.v", None, XATTR_REPLACE)
    assert f.disk.file_acl == 0 and f.getattr().st_blocks == 0
    assert f.xattr_list() == []
    unmount_and_check(fs, image)


def test_attributes_debugfs_wrote_are_read_and_a_shared_block_is_copied_before_a_change(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"a": b"a", "b": b"b"}), "8M", "ext4",
               "-b", "1024", "-I", "128")
    debugfs_write(img, "ea_set /a user.one first", "ea_set /a security.two second")
    fs = mount(img)
    ctx = vfs(fs)
    a, b = at(ctx, b"/a").inode, at(ctx, b"/b").inode
    assert a.xattr_get(b"user.one") == b"first"
    assert a.xattr_list() == [b"user.one", b"security.two"]
    # Share a's block with b, as Linux's mbcache does for identical attribute sets.
    blk = a.disk.file_acl
    buf = fs.blockdev.block(blk)
    struct.pack_into("<I", buf, 4, 2)
    struct.pack_into("<I", buf, XATTR_BLOCK_CHECKSUM, xattr_block_checksum(fs.sbd.csum_seed, blk, bytes(buf)))
    fs.blockdev.mark_dirty(blk)
    b.disk.i_file_acl_lo = blk
    b.disk.set_blocks_512(b.disk.blocks_512(1024) + 2, 1024)
    b.save()
    b.xattr_set(b"user.one", b"changed", XATTR_REPLACE)
    assert b.disk.file_acl != blk
    assert a.xattr_get(b"user.one") == b"first" and b.xattr_get(b"user.one") == b"changed"
    assert struct.unpack_from("<I", fs.blockdev.block(blk), 4)[0] == 1
    unmount_and_check(fs, img)
    assert 'user.one (7) = "changed"' in debugfs(img, "ea_list /b")
    assert 'user.one (5) = "first"' in debugfs(img, "ea_list /a")


def test_a_filesystem_without_ext_attr_gains_the_feature(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"a": b"a"}), "8M", "ext4", "-O", "^ext_attr")
    fs = mount(img)
    at(vfs(fs), b"/a").inode.xattr_set(b"user.k", b"v" * 300, 0)
    unmount_and_check(fs, img)
    assert "ext_attr" in debugfs(img, "features")
    assert 'user.k (300)' in debugfs(img, "ea_list /a")


def test_a_posix_acl_debugfs_stored_reads_back_in_the_user_format(tmp_path):
    # version 2; USER_OBJ rw-, USER 1000 r--, GROUP_OBJ r--, MASK r--, OTHER r-- (tag, perm, id)
    acl = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", tag, perm, ident) for tag, perm, ident in
                                          [(1, 6, 0xFFFFFFFF), (2, 4, 1000), (4, 4, 0xFFFFFFFF),
                                           (0x10, 4, 0xFFFFFFFF), (0x20, 4, 0xFFFFFFFF)])
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"a": b"a"}), "8M", "ext4")
    (tmp_path / "acl.bin").write_bytes(acl)
    debugfs_write(img, f"ea_set -f {tmp_path / 'acl.bin'} /a system.posix_acl_access")
    fs = mount(img, read_only=True)
    a = at(vfs(fs), b"/a").inode
    assert a.xattr_list() == [b"system.posix_acl_access"]
    stored = [e for e in ibody_entries(a.disk) if e.name_index == 2][0].value
    assert struct.unpack_from("<I", stored)[0] == 1 and len(stored) == 4 + 4 * 4 + 8    # ext4's own format
    assert a.xattr_get(b"system.posix_acl_access") == acl


@pytest.mark.parametrize("inode_size", ["256", "128", "1024"])
def test_random_sets_and_removes_agree_with_a_model_and_fsck(tmp_path, inode_size):
    rng = random.Random(int(inode_size))
    img = mkfs(tmp_path / "img", None, "8M", "ext4", "-b", "1024", "-I", inode_size)
    fs = mount(img)
    ctx = vfs(fs)
    files = [_new(ctx, b"f%d" % i) for i in range(3)]
    model: list[dict[bytes, bytes]] = [{} for _ in files]
    for _ in range(300):
        k = rng.randrange(len(files))
        name = rng.choice([b"user.", b"trusted.", b"security."]) + b"n%d" % rng.randrange(6)
        if rng.random() < 0.3:
            if name in model[k]:
                files[k].xattr_set(name, None, XATTR_REPLACE)
                del model[k][name]
            continue
        value = rng.randbytes(rng.choice([0, 1, 7, 40, 120, 400]))
        try:
            files[k].xattr_set(name, value, 0)
            model[k][name] = value
        except Errno as e:
            assert e.code == errno.ENOSPC
        assert {n: files[k].xattr_get(n) for n in files[k].xattr_list()} == model[k]
    unmount_and_check(fs, img)
    fs = mount(img, read_only=True)
    for i, want in enumerate(model):
        f = at(vfs(fs), b"/f%d" % i).inode
        assert {n: f.xattr_get(n) for n in f.xattr_list()} == want
