"""tmpfs through the VFS: namespace operations, file contents, directory listing."""
import asyncio
import errno
import stat as S
import struct

import pytest

from moss_host.errors import Errno
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.file import O_RDONLY, O_RDWR, InodeFile
from moss_host.fs.path import lookup
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import (RENAME_NOREPLACE, Cred, FsContext, Location, vfs_create, vfs_link, vfs_mkdir,
                              vfs_rename, vfs_rmdir, vfs_symlink, vfs_unlink)


def new_fs(**kw):
    return FsContext(MountTable(Tmpfs(**kw)).root_location())


def errno_of(fn, *args, **kw):
    with pytest.raises(Errno) as info:
        fn(*args, **kw)
    return info.value.code


def run(coro):
    return asyncio.run(coro)


def listing(loc, pos=0):
    return [e.name for e in loc.inode.readdir(pos)]


def parse_dirents(buf):
    out, off = [], 0
    while off < len(buf):
        ino, d_off, reclen, dtype = struct.unpack_from("<QqHB", buf, off)
        name = buf[off + 19:off + reclen].split(b"\0", 1)[0]
        out.append((name, ino, d_off, dtype, reclen))
        off += reclen
    return out


# ---------------------------------------------------------------- contents

def test_write_then_read_returns_the_data():
    fs = new_fs()
    f = vfs_create(fs.root, b"f", 0o644, None).inode
    assert f.write(0, b"hello world") == 11
    assert f.read(0, 100) == b"hello world"
    assert f.read(6, 3) == b"wor"
    assert f.read(11, 10) == b""


def test_write_past_the_end_leaves_a_zero_filled_gap():
    f = vfs_create(new_fs().root, b"f", 0o644, None).inode
    f.write(10, b"x")
    assert f.size == 11 and f.read(0, 11) == bytes(10) + b"x"


def test_truncate_shrinks_and_extends_with_zeros():
    f = vfs_create(new_fs().root, b"f", 0o644, None).inode
    f.write(0, b"abcdef")
    f.truncate(3)
    assert f.read(0, 10) == b"abc"
    f.truncate(6)
    assert f.read(0, 10) == b"abc\0\0\0"


def test_truncate_to_a_huge_size_costs_no_memory():
    fs = new_fs(size_limit=1 << 20)
    f = vfs_create(fs.root, b"f", 0o644, None).inode
    f.truncate(1 << 40)
    assert f.size == 1 << 40 and f.read((1 << 40) - 4, 100) == bytes(4)
    assert fs.root.mount.sb.used == 0


def test_a_write_far_past_the_end_holds_only_its_pages():
    """shmem allocates the pages written: a write at 300 MB charges (and st_blocks counts)
    one page, the hole reads as zeros, and the prefix growing over the page keeps its bytes."""
    fs = new_fs(size_limit=1 << 20)
    f = vfs_create(fs.root, b"f", 0o644, None).inode
    f.write(0, b"head")
    f.write(300 << 20, b"far")
    assert f.size == (300 << 20) + 3 and fs.root.mount.sb.used == 4 + 4096
    assert f.getattr().st_blocks == 16
    assert f.read((300 << 20) - 2, 10) == b"\0\0far" and f.read(4, 8) == bytes(8)
    g = vfs_create(fs.root, b"g", 0o644, None).inode
    g.write(20 * 4096 + 5, b"page")
    g.write(0, bytes(20 * 4096 + 7))                # over the page: its last bytes stay
    assert g.read(20 * 4096 + 5, 4) == b"\0\0ge" and g.pages_held() == 21
    g.truncate(20 * 4096 + 6)
    g.truncate(20 * 4096 + 9)
    assert g.read(20 * 4096, 16) == bytes(9)


def test_single_pages_behave_as_a_dense_file_would():
    import random
    rng = random.Random(7)
    fs = new_fs()
    f = vfs_create(fs.root, b"f", 0o644, None).inode
    model = bytearray()
    for _ in range(400):
        op = rng.random()
        if op < 0.7:
            offset = rng.choice([rng.randrange(0, 200_000), len(model) + rng.randrange(0, 200_000)])
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9000)))
            f.write(offset, data)
            if offset > len(model):
                model.extend(bytes(offset - len(model)))
            model[offset:offset + len(data)] = data
        else:
            size = rng.randrange(0, len(model) + 50_000)
            f.truncate(size)
            del model[size:]
            model.extend(bytes(size - len(model)))
        assert f.size == len(model)
        lo = rng.randrange(0, len(model) + 1)
        assert f.read(lo, 70_000) == bytes(model[lo:lo + 70_000])
    assert f.read(0, len(model)) == bytes(model)
    assert fs.root.mount.sb.used == len(f.data) + 4096 * (len(f.pages) - len(f.holes))


def _seek_model(held, size, offset, data):
    """SEEK_DATA/SEEK_HOLE of a file whose pages `held` exist (None: ENXIO)."""
    if offset >= size:
        return None
    page = offset // 4096
    if data:
        later = [i for i in held if i >= page]
        return None if not later or min(later) * 4096 >= size else max(min(later) * 4096, offset)
    while page in held:
        page += 1
    return min(max(page * 4096, offset), size)


def test_pages_are_held_as_shmem_holds_them_written_pages_only():
    """st_blocks, the charge and SEEK_DATA/SEEK_HOLE at page granularity, gaps of a page
    included, against a model of the pages written (a truncate keeps a partial page)."""
    import random
    rng = random.Random(11)
    fs = new_fs()
    f = vfs_create(fs.root, b"f", 0o644, None).inode
    held: set[int] = set()
    size = 0
    for _ in range(600):
        if rng.random() < 0.8:
            offset = rng.choice([rng.randrange(0, 40 * 4096), size + rng.randrange(0, 20 * 4096),
                                 (size // 4096 + rng.randrange(1, 4)) * 4096])
            n = rng.randrange(1, 3 * 4096)
            f.write(offset, b"x" * n)
            held.update(range(offset // 4096, (offset + n - 1) // 4096 + 1))
            size = max(size, offset + n)
        else:
            size = rng.randrange(0, size + 8 * 4096)
            f.truncate(size)
            held = {i for i in held if i * 4096 < size}
        assert f.pages_held() == len(held), (sorted(held), len(f.data), sorted(f.holes), sorted(f.pages))
        assert f.getattr().st_blocks == 8 * len(held)
        for offset in [rng.randrange(0, size) for _ in range(4) if size]:   # (lseek: ENXIO at or past the end)
            for data in (True, False):
                try:
                    got = f.seek_data(offset, data)
                except Errno:
                    got = None
                assert got == _seek_model(held, size, offset, data), (offset, data)
    f.truncate(0)
    assert fs.root.mount.sb.used == 0


def test_writes_beyond_the_size_limit_are_enospc():
    fs = new_fs(size_limit=100)
    f = vfs_create(fs.root, b"f", 0o644, None).inode
    f.write(0, bytes(100))
    assert errno_of(f.write, 100, b"x") == errno.ENOSPC


def test_unlinking_gives_the_space_back():
    fs = new_fs(size_limit=100)
    vfs_create(fs.root, b"f", 0o644, None).inode.write(0, bytes(100))
    vfs_unlink(fs.root, b"f", None)
    vfs_create(fs.root, b"g", 0o644, None).inode.write(0, bytes(100))


def test_an_open_file_stays_readable_after_unlink():
    fs = new_fs()
    loc = vfs_create(fs.root, b"f", 0o644, None)
    loc.inode.write(0, b"still here")
    f = InodeFile(loc, O_RDONLY)
    vfs_unlink(fs.root, b"f", None)
    assert run(f.read(100)) == b"still here"
    assert f.stat().st_nlink == 0


def test_stat_reports_type_size_and_device():
    fs = new_fs()
    loc = vfs_create(fs.root, b"f", 0o640, Cred(7, 8))
    loc.inode.write(0, b"12345")
    st = loc.inode.getattr()
    assert S.S_ISREG(st.st_mode) and S.S_IMODE(st.st_mode) == 0o640
    assert (st.st_size, st.st_uid, st.st_gid, st.st_nlink) == (5, 7, 8, 1)
    assert st.st_dev == fs.root.mount.sb.dev and st.st_blocks == 8


def test_write_updates_mtime():
    f = vfs_create(new_fs().root, b"f", 0o644, None).inode
    f.mtime_ns = 0
    f.write(0, b"x")
    assert f.mtime_ns > 0


# ---------------------------------------------------------------- namespace

def test_create_of_an_existing_name_is_eexist():
    fs = new_fs()
    vfs_create(fs.root, b"f", 0o644, None)
    assert errno_of(vfs_create, fs.root, b"f", 0o644, None) == errno.EEXIST
    assert errno_of(vfs_mkdir, fs.root, b"f", 0o755, None) == errno.EEXIST


def test_mkdir_of_dot_is_eexist():
    fs = new_fs()
    assert errno_of(vfs_mkdir, fs.root, b".", 0o755, None) == errno.EEXIST


def test_directory_link_counts_follow_subdirectories():
    fs = new_fs()
    a = vfs_mkdir(fs.root, b"a", 0o755, None)
    assert (fs.root.inode.nlink, a.inode.nlink) == (3, 2)
    vfs_mkdir(a, b"b", 0o755, None)
    assert a.inode.nlink == 3
    vfs_rmdir(a, b"b", None)
    assert a.inode.nlink == 2


def test_rmdir_of_a_non_empty_directory_is_enotempty():
    fs = new_fs()
    a = vfs_mkdir(fs.root, b"a", 0o755, None)
    vfs_create(a, b"f", 0o644, None)
    assert errno_of(vfs_rmdir, fs.root, b"a", None) == errno.ENOTEMPTY


def test_rmdir_of_a_file_is_enotdir_and_unlink_of_a_directory_is_eisdir():
    fs = new_fs()
    vfs_create(fs.root, b"f", 0o644, None)
    vfs_mkdir(fs.root, b"d", 0o755, None)
    assert errno_of(vfs_rmdir, fs.root, b"f", None) == errno.ENOTDIR
    assert errno_of(vfs_unlink, fs.root, b"d", None) == errno.EISDIR


def test_rmdir_dot_is_einval_and_dotdot_is_enotempty():
    fs = new_fs()
    assert errno_of(vfs_rmdir, fs.root, b".", None) == errno.EINVAL
    assert errno_of(vfs_rmdir, fs.root, b"..", None) == errno.ENOTEMPTY


def test_unlink_of_a_missing_name_is_enoent():
    assert errno_of(vfs_unlink, new_fs().root, b"nope", None) == errno.ENOENT


def test_hard_link_shares_the_inode_and_counts_names():
    fs = new_fs()
    f = vfs_create(fs.root, b"f", 0o644, None)
    g = vfs_link(f, fs.root, b"g", None)
    assert g.inode is f.inode and f.inode.nlink == 2
    vfs_unlink(fs.root, b"f", None)
    assert f.inode.nlink == 1 and lookup(fs, b"/g").inode is f.inode


def test_hard_link_to_a_directory_is_eperm():
    fs = new_fs()
    d = vfs_mkdir(fs.root, b"d", 0o755, None)
    assert errno_of(vfs_link, d, fs.root, b"d2", None) == errno.EPERM


def test_rename_moves_a_file_and_replaces_the_target():
    fs = new_fs()
    vfs_create(fs.root, b"a", 0o644, None).inode.write(0, b"A")
    old_b = vfs_create(fs.root, b"b", 0o644, None).inode
    vfs_rename(fs.root, b"a", fs.root, b"b", None)
    assert lookup(fs, b"/b").inode.read(0, 9) == b"A"
    assert errno_of(lookup, fs, b"/a") == errno.ENOENT
    assert old_b.nlink == 0


def test_rename_with_noreplace_onto_an_existing_name_is_eexist():
    fs = new_fs()
    vfs_create(fs.root, b"a", 0o644, None)
    vfs_create(fs.root, b"b", 0o644, None)
    assert errno_of(vfs_rename, fs.root, b"a", fs.root, b"b", None, RENAME_NOREPLACE) == errno.EEXIST


def test_rename_a_directory_over_an_empty_one_and_not_over_a_full_one():
    fs = new_fs()
    a = vfs_mkdir(fs.root, b"a", 0o755, None)
    vfs_mkdir(fs.root, b"empty", 0o755, None)
    full = vfs_mkdir(fs.root, b"full", 0o755, None)
    vfs_create(full, b"x", 0o644, None)
    assert errno_of(vfs_rename, fs.root, b"a", fs.root, b"full", None) == errno.ENOTEMPTY
    vfs_rename(fs.root, b"a", fs.root, b"empty", None)
    assert lookup(fs, b"/empty").inode is a.inode
    assert fs.root.inode.nlink == 4       # ".", "..", empty(=a), full


def test_rename_a_directory_into_itself_is_einval():
    fs = new_fs()
    a = vfs_mkdir(fs.root, b"a", 0o755, None)
    sub = vfs_mkdir(a, b"sub", 0o755, None)
    assert errno_of(vfs_rename, fs.root, b"a", sub, b"x", None) == errno.EINVAL


def test_rename_onto_an_ancestor_of_the_source_is_enotempty():
    fs = new_fs()
    a = vfs_mkdir(fs.root, b"a", 0o755, None)
    b = vfs_mkdir(a, b"b", 0o755, None)
    assert errno_of(vfs_rename, b, b".", fs.root, b"a", None) == errno.EBUSY
    c = vfs_mkdir(b, b"c", 0o755, None)
    assert c is not None
    assert errno_of(vfs_rename, b, b"c", fs.root, b"a", None) == errno.ENOTEMPTY


def test_rename_file_over_directory_is_eisdir_and_directory_over_file_is_enotdir():
    fs = new_fs()
    vfs_create(fs.root, b"f", 0o644, None)
    vfs_mkdir(fs.root, b"d", 0o755, None)
    assert errno_of(vfs_rename, fs.root, b"f", fs.root, b"d", None) == errno.EISDIR
    assert errno_of(vfs_rename, fs.root, b"d", fs.root, b"f", None) == errno.ENOTDIR


def test_rename_between_two_names_of_one_inode_does_nothing():
    fs = new_fs()
    f = vfs_create(fs.root, b"f", 0o644, None)
    vfs_link(f, fs.root, b"g", None)
    vfs_rename(fs.root, b"f", fs.root, b"g", None)
    assert lookup(fs, b"/f").inode is lookup(fs, b"/g").inode


def test_rename_across_mounts_is_exdev():
    fs = new_fs()
    mnt = vfs_mkdir(fs.root, b"mnt", 0o755, None)
    m = fs.ns.mount(Tmpfs(), mnt)
    vfs_create(fs.root, b"f", 0o644, None)
    assert errno_of(vfs_rename, fs.root, b"f", Location(m, m.root), b"f", None) == errno.EXDEV


def test_moved_directory_reports_its_new_parent_as_dotdot():
    fs = new_fs()
    a = vfs_mkdir(fs.root, b"a", 0o755, None)
    b = vfs_mkdir(fs.root, b"b", 0o755, None)
    vfs_rename(fs.root, b"b", a, b"b", None)
    dotdot = [e for e in b.inode.readdir(0) if e.name == b".."][0]
    assert dotdot.ino == a.inode.ino and a.inode.nlink == 3


def test_removing_a_mountpoint_is_ebusy():
    fs = new_fs()
    mnt = vfs_mkdir(fs.root, b"mnt", 0o755, None)
    fs.ns.mount(Tmpfs(), mnt)
    assert errno_of(vfs_rmdir, fs.root, b"mnt", None) == errno.EBUSY


def test_read_only_mount_refuses_changes_with_erofs():
    ns = MountTable(Tmpfs(read_only=True))
    root = ns.root_location()
    assert errno_of(vfs_create, root, b"f", 0o644, None) == errno.EROFS
    assert errno_of(vfs_mkdir, root, b"d", 0o755, None) == errno.EROFS


def test_creating_needs_write_permission_on_the_directory():
    fs = new_fs(mode=0o755)
    assert errno_of(vfs_create, fs.root, b"f", 0o644, Cred(1000, 1000)) == errno.EACCES
    vfs_create(fs.root, b"f", 0o644, Cred(0, 0))


def test_sticky_directory_only_lets_owners_delete():
    fs = new_fs(mode=0o1777)
    vfs_create(fs.root, b"theirs", 0o644, Cred(1000, 1000))
    assert errno_of(vfs_unlink, fs.root, b"theirs", Cred(2000, 2000)) == errno.EPERM
    vfs_unlink(fs.root, b"theirs", Cred(1000, 1000))


def test_setgid_directory_passes_its_group_on():
    fs = new_fs()
    d = vfs_mkdir(fs.root, b"d", 0o2777, None)
    assert not d.inode.mode & S.S_ISGID         # mkdir(2) drops S_ISGID from the mode argument
    d.inode.setattr(mode=0o2777, gid=50)
    f = vfs_create(d, b"f", 0o644, Cred(1000, 1000))
    sub = vfs_mkdir(d, b"sub", 0o755, Cred(1000, 1000))
    assert f.inode.gid == 50 and sub.inode.gid == 50 and sub.inode.mode & S.S_ISGID


def test_symlink_stores_its_target_verbatim():
    fs = new_fs()
    link = vfs_symlink(fs.root, b"l", b"../some/where", None)
    assert link.inode.readlink() == b"../some/where" and link.inode.size == 13
    assert S.S_ISLNK(link.inode.getattr().st_mode)


def test_device_nodes_keep_their_rdev():
    fs = new_fs()
    dev = vfs_create(fs.root, b"null", S.S_IFCHR | 0o666, None, rdev=(1 << 8) | 3)
    st = dev.inode.getattr()
    assert S.S_ISCHR(st.st_mode) and st.st_rdev == 0x103


# ---------------------------------------------------------------- directory listing

def test_readdir_lists_dot_dotdot_and_entries_in_creation_order():
    fs = new_fs()
    for name in (b"c", b"a", b"b"):
        vfs_create(fs.root, name, 0o644, None)
    assert listing(fs.root) == [b".", b"..", b"c", b"a", b"b"]


def test_readdir_resumes_from_a_position_despite_removals():
    fs = new_fs()
    for name in (b"a", b"b", b"c", b"d"):
        vfs_create(fs.root, name, 0o644, None)
    entries = list(fs.root.inode.readdir(0))
    resume = entries[3].next_pos             # after "b"
    vfs_unlink(fs.root, b"a", None)
    vfs_unlink(fs.root, b"b", None)
    assert listing(fs.root, resume) == [b"c", b"d"]


def test_getdents64_packs_linux_dirent64_records():
    fs = new_fs()
    f = vfs_create(fs.root, b"file", 0o644, None)
    vfs_mkdir(fs.root, b"dir", 0o755, None)
    d = InodeFile(fs.root, O_RDONLY)
    recs = parse_dirents(d.getdents64(4096))
    assert [(n, t) for n, _, _, t, _ in recs] == [(b".", 4), (b"..", 4), (b"file", 8), (b"dir", 4)]
    assert recs[2][1] == f.inode.ino
    assert all(r[4] % 8 == 0 for r in recs)
    assert recs[2][4] == 24                   # 19 + len("file") + NUL = 24
    assert d.getdents64(4096) == b""


def test_getdents64_continues_where_a_small_buffer_stopped():
    fs = new_fs()
    names = [b"entry%02d" % i for i in range(20)]
    for name in names:
        vfs_create(fs.root, name, 0o644, None)
    d = InodeFile(fs.root, O_RDONLY)
    seen = []
    while chunk := d.getdents64(100):
        seen += [r[0] for r in parse_dirents(chunk)]
    assert seen == [b".", b".."] + names


def test_getdents64_with_a_buffer_too_small_for_one_record_is_einval():
    d = InodeFile(new_fs().root, O_RDONLY)
    assert errno_of(d.getdents64, 10) == errno.EINVAL


def test_getdents64_after_lseek_to_a_returned_offset_resumes_there():
    fs = new_fs()
    for name in (b"a", b"b", b"c"):
        vfs_create(fs.root, name, 0o644, None)
    d = InodeFile(fs.root, O_RDONLY)
    recs = parse_dirents(d.getdents64(4096))
    d.lseek(recs[2][2], 0)                     # d_off of "a": the position after it
    assert [r[0] for r in parse_dirents(d.getdents64(4096))] == [b"b", b"c"]


def test_inode_file_appends_with_o_append():
    fs = new_fs()
    loc = vfs_create(fs.root, b"f", 0o644, None)
    loc.inode.write(0, b"abc")
    f = InodeFile(loc, O_RDWR | 0o2000)
    run(f.write(b"def"))
    assert loc.inode.read(0, 10) == b"abcdef"


def test_getdents64_in_small_steps_after_removals_lists_each_entry_once():
    fs = new_fs()
    names = [b"n%d" % i for i in range(10)]
    for name in names:
        vfs_create(fs.root, name, 0o644, None)
    for name in names[:5]:
        vfs_unlink(fs.root, name, None)
    d = InodeFile(fs.root, O_RDONLY)
    seen = []
    while chunk := d.getdents64(24):          # one record per call
        seen += [r[0] for r in parse_dirents(chunk)]
    assert seen == [b".", b".."] + names[5:]
