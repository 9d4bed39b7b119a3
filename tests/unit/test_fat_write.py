"""FAT driver, writing: every operation is followed by an unmount, `fsck.fat -n` (clean, exit 0)
and a read-back with mtools, so another implementation sees what the driver wrote."""
import errno
import stat as S

import pytest

from moss_host.errors import Errno
from moss_host.fs.drivers.fat.bpb import FAT_STATE_DIRTY
from moss_host.fs.vfs import (Cred, vfs_create, vfs_link, vfs_mkdir, vfs_rename, vfs_rmdir, vfs_symlink,
                              vfs_unlink)

from .test_fat_support import at, fsck, mcopy, mkfs, mlist, mount, mtype, names, run, unmount_and_check, vfs

ROOT = Cred(0, 0)


@pytest.fixture
def img(tmp_path):
    return mkfs(tmp_path / "fat.img")


def create(ctx, path: bytes, data: bytes = b""):
    parent, _, name = path.rpartition(b"/")
    loc = vfs_create(at(ctx, parent or b"/"), name, 0o644, ROOT)
    if data:
        assert loc.inode.write(0, data) == len(data)
    return loc.inode


def err(fn, *a) -> int:
    with pytest.raises(Errno) as e:
        fn(*a)
    return e.value.code


def test_created_files_are_seen_by_mtools_with_their_names_and_data(img):
    fs = mount(img)
    ctx = vfs(fs)
    big = bytes(range(256)) * 1200
    create(ctx, b"/small.txt", b"hello\n")
    create(ctx, b"/UPPER.TXT", b"up\n")
    create(ctx, b"/A Long Mixed-Case Name.markdown", big)
    create(ctx, "/naïve café.txt".encode(), b"unicode\n")
    create(ctx, b"/" + b"n" * 255, b"longest\n")
    create(ctx, b"/empty")
    create(ctx, b"/ReadMe.Txt", b"mixed case\n")
    unmount_and_check(fs, img)
    assert mtype(img, "/small.txt") == b"hello\n"
    assert mtype(img, "/A Long Mixed-Case Name.markdown") == big
    assert mtype(img, "/" + "n" * 255) == b"longest\n"
    assert mlist(img) == sorted(["/small.txt", "/UPPER.TXT", "/A Long Mixed-Case Name.markdown",
                                 "/naïve café.txt", "/" + "n" * 255, "/empty", "/ReadMe.Txt"])
    short = run("mdir", "-i", str(img), "::/").stdout.decode()
    assert "small    txt" in short and "UPPER    TXT" in short     # 8.3 names: no long entries
    assert "ALONGM~1 MAR" in short
    assert "README   TXT        11" in short and "ReadMe.Txt" in short     # 8.3 but mixed case: + LFN


def test_names_that_clash_in_8_3_get_numbered_short_names(img):
    fs = mount(img)
    ctx = vfs(fs)
    for i in range(12):
        create(ctx, b"/Report for quarter %d.txt" % i, b"%d" % i)
    unmount_and_check(fs, img)
    for i in range(12):
        assert mtype(img, f"/Report for quarter {i}.txt") == b"%d" % i
    short = run("mdir", "-i", str(img), "::/").stdout.decode()
    assert "REPORT~1 TXT" in short and "REPOR~10 TXT" in short


def test_bad_names_are_refused_like_linux_vfat(img):
    fs = mount(img)
    ctx = vfs(fs)
    root = at(ctx, b"/")
    assert err(vfs_create, root, b"a*b", 0o644, ROOT) == errno.EINVAL
    assert err(vfs_create, root, b"a:b", 0o644, ROOT) == errno.EINVAL
    assert err(vfs_create, root, b"bad\x01", 0o644, ROOT) == errno.EINVAL
    assert err(vfs_create, root, b"\xff\xfe", 0o644, ROOT) == errno.EINVAL
    assert err(vfs_create, root, b"x" * 256, 0o644, ROOT) == errno.ENAMETOOLONG
    create(ctx, b"/Same")
    assert err(vfs_create, root, b"SAME", 0o644, ROOT) == errno.EEXIST
    assert err(vfs_symlink, root, b"link", b"Same", ROOT) == errno.EPERM
    assert err(vfs_link, at(ctx, b"/Same"), root, b"hard", ROOT) == errno.EPERM
    assert err(vfs_create, root, b"fifo", S.S_IFIFO | 0o644, ROOT) == errno.EPERM
    unmount_and_check(fs, img)
    assert mlist(img) == ["/Same"]


def test_writes_past_the_end_and_truncates_zero_fill_and_free_clusters(img):
    fs = mount(img)
    ctx = vfs(fs)
    f = create(ctx, b"/f.bin", b"A" * 1000)
    free0 = fs.statfs().f_bfree
    f.write(5000, b"tail")
    assert f.size == 5004 and f.read(0, 6000) == b"A" * 1000 + bytes(4000) + b"tail"
    f.truncate(600)
    assert fs.statfs().f_bfree == free0 + 0      # 600 bytes still take 2 clusters (as 1000 did)
    f.truncate(3000)
    assert f.read(0, 4000) == b"A" * 600 + bytes(2400)
    g = create(ctx, b"/g.bin", b"x" * 10_000)
    g.truncate(0)
    assert g.start == 0
    unmount_and_check(fs, img)
    assert mtype(img, "/f.bin") == b"A" * 600 + bytes(2400)
    assert mtype(img, "/g.bin") == b""
    fs = mount(img)
    assert fs.statfs().f_bfree == free0 - 4       # f has 6 clusters now (3000 bytes)
    unmount_and_check(fs, img)


def test_overwriting_inside_a_file_written_by_mtools(img, tmp_path):
    src = tmp_path / "data.bin"
    src.write_bytes(bytes(3000))
    mcopy(img, src)
    fs = mount(img)
    f = at(vfs(fs), b"/data.bin").inode
    f.write(510, b"spanning two sectors")
    unmount_and_check(fs, img)
    want = bytearray(3000)
    want[510:530] = b"spanning two sectors"
    assert mtype(img, "/data.bin") == bytes(want)


def test_unlink_frees_the_chain_but_an_open_file_lives_until_closed(img):
    fs = mount(img)
    ctx = vfs(fs)
    free0 = fs.statfs().f_bfree
    create(ctx, b"/gone.txt", b"g" * 5000)
    kept = create(ctx, b"/open.txt", b"still here")
    kept.opened()
    vfs_unlink(at(ctx, b"/"), b"gone.txt", ROOT)
    vfs_unlink(at(ctx, b"/"), b"open.txt", ROOT)
    assert names(fs.root) == set()
    assert kept.read(0, 100) == b"still here"
    assert fs.statfs().f_bfree == free0 - 1
    kept.closed()
    assert fs.statfs().f_bfree == free0
    unmount_and_check(fs, img)
    assert mlist(img) == []


def test_mkdir_nests_and_rmdir_wants_an_empty_directory(img):
    fs = mount(img)
    ctx = vfs(fs)
    vfs_mkdir(at(ctx, b"/"), b"Top Level", 0o755, ROOT)
    vfs_mkdir(at(ctx, b"/Top Level"), b"sub", 0o755, ROOT)
    create(ctx, b"/Top Level/sub/file.txt", b"in sub\n")
    vfs_mkdir(at(ctx, b"/"), b"empty", 0o755, ROOT)
    assert err(vfs_rmdir, at(ctx, b"/"), b"Top Level", ROOT) == errno.ENOTEMPTY
    vfs_rmdir(at(ctx, b"/"), b"empty", ROOT)
    assert at(ctx, b"/Top Level").inode.getattr().st_nlink == 3
    unmount_and_check(fs, img)
    assert mlist(img) == ["/Top Level/", "/Top Level/sub/", "/Top Level/sub/file.txt"]
    assert mtype(img, "/Top Level/sub/file.txt") == b"in sub\n"


def test_a_directory_grows_past_many_clusters(img):
    fs = mount(img)
    ctx = vfs(fs)
    vfs_mkdir(at(ctx, b"/"), b"many", 0o755, ROOT)
    for i in range(150):
        create(ctx, b"/many/a file with a long name number %03d" % i, b"%d\n" % i)
    d = at(ctx, b"/many").inode
    assert len(d.chain()) > 20
    for i in range(0, 150, 3):
        vfs_unlink(at(ctx, b"/many"), b"a file with a long name number %03d" % i, ROOT)
    unmount_and_check(fs, img)
    listed = [p for p in mlist(img) if p.startswith("/many/") and p != "/many/"]
    assert len(listed) == 100
    assert mtype(img, "/many/a file with a long name number 149") == b"149\n"


def test_rename_within_and_across_directories_and_over_a_file(img):
    fs = mount(img)
    ctx = vfs(fs)
    root = at(ctx, b"/")
    create(ctx, b"/a.txt", b"a\n")
    create(ctx, b"/victim.txt", b"v" * 4000)
    vfs_mkdir(root, b"d1", 0o755, ROOT)
    vfs_mkdir(root, b"d2", 0o755, ROOT)
    create(ctx, b"/d1/inner.txt", b"inner\n")
    free = fs.statfs().f_bfree
    ino = at(ctx, b"/a.txt").inode.ino
    vfs_rename(root, b"a.txt", root, b"A Renamed File.txt", ROOT)
    vfs_rename(root, b"A Renamed File.txt", root, b"victim.txt", ROOT)     # replaces victim
    assert fs.statfs().f_bfree == free + 8
    assert at(ctx, b"/victim.txt").inode.ino == ino
    vfs_rename(root, b"victim.txt", at(ctx, b"/d2"), b"moved.txt", ROOT)
    vfs_rename(root, b"d1", at(ctx, b"/d2"), b"Sub Dir", ROOT)             # fixes its ".."
    unmount_and_check(fs, img)
    assert mlist(img) == ["/d2/", "/d2/Sub Dir/", "/d2/Sub Dir/inner.txt", "/d2/moved.txt"]
    assert mtype(img, "/d2/moved.txt") == b"a\n"
    fs = mount(img)
    ctx = vfs(fs)
    sub = at(ctx, b"/d2/Sub Dir").inode
    raw = fs.read_entry(fs.bs.cluster_sector(sub.start) * 512 + 32)
    assert raw[:11] == b"..         " and int.from_bytes(raw[26:28], "little") == at(ctx, b"/d2").inode.start
    vfs_rename(at(ctx, b"/d2"), b"Sub Dir", at(ctx, b"/"), b"back", ROOT)   # '..' of a root child: 0
    raw = fs.read_entry(fs.bs.cluster_sector(sub.start) * 512 + 32)
    assert int.from_bytes(raw[26:28], "little") == 0
    unmount_and_check(fs, img)


def test_rename_of_a_directory_over_an_empty_one_and_refusal_over_a_full_one(img):
    fs = mount(img)
    ctx = vfs(fs)
    root = at(ctx, b"/")
    for d in (b"src", b"empty", b"full"):
        vfs_mkdir(root, d, 0o755, ROOT)
    create(ctx, b"/full/x", b"x")
    create(ctx, b"/src/y", b"y")
    assert err(vfs_rename, root, b"src", root, b"full", ROOT) == errno.ENOTEMPTY
    vfs_rename(root, b"src", root, b"empty", ROOT)
    unmount_and_check(fs, img)
    assert mlist(img) == ["/empty/", "/empty/y", "/full/", "/full/x"]


def test_chmod_maps_to_the_read_only_attribute_and_chown_is_refused(img):
    fs = mount(img)
    ctx = vfs(fs)
    f = create(ctx, b"/ro.txt", b"ro")
    f.setattr(mode=0o555)
    assert f.mode == S.S_IFREG | 0o555
    f.setattr(mode=0o700)                    # r/x bits cannot change: ignored, as in Linux
    assert f.mode == S.S_IFREG | 0o555
    assert err(f.setattr, None, 1000) == errno.EPERM
    assert err(f.setattr, 0o4755) == errno.EPERM
    f.setattr(uid=0, gid=0)
    f.setattr(mtime_ns=1_600_000_001_500_000_000)
    assert f.mtime_ns == 1_600_000_000_000_000_000      # 2-second resolution
    unmount_and_check(fs, img)
    assert "R" in run("mattrib", "-i", str(img), "::/ro.txt").stdout.decode().split("::")[0]
    fs = mount(img)
    g = at(vfs(fs), b"/ro.txt").inode
    assert g.mode == S.S_IFREG | 0o555 and g.mtime_ns == 1_600_000_000_000_000_000
    g.setattr(mode=0o755)
    unmount_and_check(fs, img)
    assert "R" not in run("mattrib", "-i", str(img), "::/ro.txt").stdout.decode().split("::")[0]


def test_the_volume_is_marked_dirty_while_mounted_and_clean_after(img):
    fs = mount(img)
    create(vfs(fs), b"/x", b"x")
    fs.sync()
    state = img.read_bytes()[0x41]
    assert state & FAT_STATE_DIRTY
    r = run("fsck.fat", "-n", str(img), check=False)
    assert r.returncode != 0                 # fsck sees the volume in use
    unmount_and_check(fs, img)
    assert not img.read_bytes()[0x41] & FAT_STATE_DIRTY


def test_a_read_only_mount_refuses_writes(img):
    fs = mount(img, read_only=True)
    assert err(fs.root.create, b"x", S.S_IFREG | 0o644, 0, 0) == errno.EROFS
    fs.unmount()
    fsck(img)


def test_a_full_volume_is_enospc_and_stays_consistent(tmp_path):
    img = mkfs(tmp_path / "small.img", "2M", 12)
    fs = mount(img)
    ctx = vfs(fs)
    f = create(ctx, b"/fill.bin")
    free = fs.statfs().f_bfree
    f.write(0, bytes(free * 512))
    assert fs.statfs().f_bfree == 0
    assert err(f.write, free * 512, b"more") == errno.ENOSPC
    assert err(vfs_mkdir, at(ctx, b"/"), b"d", 0o755, ROOT) == errno.ENOSPC
    f.truncate(1024)
    vfs_mkdir(at(ctx, b"/"), b"d", 0o755, ROOT)
    unmount_and_check(fs, img)
    assert len(mtype(img, "/fill.bin")) == 1024


@pytest.mark.parametrize("bits,size", [(16, "8M"), (12, "2M")])
def test_fat12_and_fat16_are_written_cleanly(tmp_path, bits, size):
    img = mkfs(tmp_path / "small.img", size, bits)
    fs = mount(img)
    ctx = vfs(fs)
    vfs_mkdir(at(ctx, b"/"), b"Some Dir", 0o755, ROOT)
    for i in range(30):
        create(ctx, b"/Some Dir/file number %d" % i, bytes([i]) * (700 * i))
    create(ctx, b"/root file.txt", b"root\n")
    vfs_unlink(at(ctx, b"/Some Dir"), b"file number 3", ROOT)
    unmount_and_check(fs, img)
    assert mtype(img, "/Some Dir/file number 29") == bytes([29]) * 700 * 29
    assert len(mlist(img)) == 31


def test_a_file_still_open_at_unmount_is_freed_then(img):
    fs = mount(img)
    ctx = vfs(fs)
    f = create(ctx, b"/open.bin", bytes(5000))
    f.opened()
    vfs_unlink(at(ctx, b"/"), b"open.bin", ROOT)
    unmount_and_check(fs, img)                  # no lost clusters for fsck to reclaim
    assert mlist(img) == []
