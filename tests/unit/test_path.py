"""Path walk (moss_host/fs/path.py) over tmpfs: Linux's path_resolution(7) rules."""
import errno

import pytest

from moss_host.errors import Errno
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.path import MAXSYMLINKS, Walker, lookup, lookup_parent
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import (Cred, FsContext, Location, child_of, vfs_create, vfs_mkdir, vfs_rename,
                              vfs_rmdir, vfs_symlink)


def make_tree():
    """/bin/sh (file), /etc (dir), /etc/passwd (file), /home/user (dir), /lnk-etc -> /etc, /rel -> etc/passwd"""
    ns = MountTable(Tmpfs(mode=0o755))
    fs = FsContext(ns.root_location())
    root = fs.root
    bin_ = vfs_mkdir(root, b"bin", 0o755, None)
    vfs_create(bin_, b"sh", 0o755, None)
    etc = vfs_mkdir(root, b"etc", 0o755, None)
    vfs_create(etc, b"passwd", 0o644, None)
    home = vfs_mkdir(root, b"home", 0o755, None)
    vfs_mkdir(home, b"user", 0o700, None).inode.setattr(uid=1000, gid=1000)
    vfs_symlink(root, b"lnk-etc", b"/etc", None)
    vfs_symlink(root, b"rel", b"etc/passwd", None)
    return fs


def errno_of(fn, *args, **kw):
    with pytest.raises(Errno) as info:
        fn(*args, **kw)
    return info.value.code


def test_absolute_and_relative_paths_reach_the_same_inode():
    fs = make_tree()
    etc = lookup(fs, b"/etc")
    assert lookup(fs, b"passwd", start=etc).inode is lookup(fs, b"/etc/passwd").inode


def test_repeated_slashes_and_dots_are_ignored():
    fs = make_tree()
    assert lookup(fs, b"//etc/././/passwd").inode is lookup(fs, b"/etc/passwd").inode


def test_dotdot_at_root_stays_at_root():
    fs = make_tree()
    assert lookup(fs, b"/..") == fs.root
    assert lookup(fs, b"/../../etc/../..").inode is fs.root.inode


def test_dotdot_never_escapes_a_process_root_below_the_real_root():
    fs = make_tree()
    jail = FsContext(lookup(fs, b"/home"))
    assert lookup(jail, b"/../../..") == jail.root
    assert errno_of(lookup, jail, b"/../etc") == errno.ENOENT


def test_empty_path_is_enoent():
    assert errno_of(lookup, make_tree(), b"") == errno.ENOENT


def test_missing_component_is_enoent():
    fs = make_tree()
    assert errno_of(lookup, fs, b"/nope/passwd") == errno.ENOENT
    assert errno_of(lookup, fs, b"/etc/nope") == errno.ENOENT


def test_file_in_the_middle_is_enotdir():
    assert errno_of(lookup, make_tree(), b"/etc/passwd/x") == errno.ENOTDIR


def test_trailing_slash_on_a_file_is_enotdir():
    fs = make_tree()
    assert errno_of(lookup, fs, b"/etc/passwd/") == errno.ENOTDIR
    assert errno_of(lookup, fs, b"/etc/passwd/.") == errno.ENOTDIR


def test_trailing_slash_on_a_directory_is_fine():
    fs = make_tree()
    assert lookup(fs, b"/etc/").inode.is_dir


def test_trailing_slash_follows_a_final_symlink_even_without_follow():
    fs = make_tree()
    assert lookup(fs, b"/lnk-etc", follow=False).inode.is_symlink
    assert lookup(fs, b"/lnk-etc/", follow=False).inode is lookup(fs, b"/etc").inode


def test_trailing_slash_on_a_symlink_to_a_file_is_enotdir():
    assert errno_of(lookup, make_tree(), b"/rel/") == errno.ENOTDIR


def test_relative_symlink_resolves_from_its_own_directory():
    fs = make_tree()
    etc = lookup(fs, b"/etc")
    vfs_symlink(etc, b"up", b"../bin/sh", None)
    assert lookup(fs, b"/etc/up").inode is lookup(fs, b"/bin/sh").inode
    assert lookup(fs, b"/rel").inode is lookup(fs, b"/etc/passwd").inode


def test_absolute_symlink_restarts_at_the_process_root():
    fs = make_tree()
    home = lookup(fs, b"/home")
    vfs_mkdir(home, b"etc", 0o755, None)
    jail = FsContext(home)
    # /lnk-etc is outside the jail; inside, /etc is /home/etc
    vfs_symlink(home, b"abs", b"/etc", None)
    assert lookup(jail, b"/abs").inode is lookup(fs, b"/home/etc").inode


def test_intermediate_symlinks_are_followed():
    fs = make_tree()
    assert lookup(fs, b"/lnk-etc/passwd", follow=False).inode is lookup(fs, b"/etc/passwd").inode


def test_dangling_symlink_is_enoent_when_followed_and_itself_when_not():
    fs = make_tree()
    vfs_symlink(fs.root, b"dangling", b"/nowhere", None)
    assert errno_of(lookup, fs, b"/dangling") == errno.ENOENT
    assert lookup(fs, b"/dangling", follow=False).inode.readlink() == b"/nowhere"


def test_empty_symlink_target_is_enoent():
    fs = make_tree()
    vfs_symlink(fs.root, b"empty", b"", None)
    assert errno_of(lookup, fs, b"/empty") == errno.ENOENT


def test_symlink_loop_is_eloop():
    fs = make_tree()
    vfs_symlink(fs.root, b"a", b"b", None)
    vfs_symlink(fs.root, b"b", b"a", None)
    vfs_symlink(fs.root, b"self", b"self/x", None)
    assert errno_of(lookup, fs, b"/a") == errno.ELOOP
    assert errno_of(lookup, fs, b"/self") == errno.ELOOP


def chain(fs, n):
    """/l0 -> l1 -> ... -> l{n-1} -> /etc : n links to follow."""
    for i in range(n):
        vfs_symlink(fs.root, b"l%d" % i, b"l%d" % (i + 1) if i + 1 < n else b"/etc", None)


def test_forty_symlinks_are_followed():
    fs = make_tree()
    chain(fs, MAXSYMLINKS)
    assert lookup(fs, b"/l0").inode.is_dir


def test_forty_one_symlinks_are_eloop():
    fs = make_tree()
    chain(fs, MAXSYMLINKS + 1)
    assert errno_of(lookup, fs, b"/l0") == errno.ELOOP


def test_component_of_256_bytes_is_enametoolong_and_255_is_looked_up():
    fs = make_tree()
    assert errno_of(lookup, fs, b"/etc/" + b"x" * 256) == errno.ENAMETOOLONG
    assert errno_of(lookup, fs, b"/etc/" + b"x" * 255) == errno.ENOENT


def test_path_of_4096_bytes_is_enametoolong_and_4095_is_walked():
    fs = make_tree()
    long_path = b"/" + b"./" * 2047                        # 4095 bytes, names the root
    assert len(long_path) == 4095 and lookup(fs, long_path) == fs.root
    assert errno_of(lookup, fs, long_path + b".") == errno.ENAMETOOLONG


def test_search_permission_is_needed_on_every_directory():
    fs = make_tree()
    user = Cred(uid=2000, gid=2000)
    assert errno_of(lookup, fs, b"/home/user/x", cred=user) == errno.EACCES
    assert errno_of(lookup, fs, b"/home/user/x", cred=Cred(0, 0)) == errno.ENOENT
    assert errno_of(lookup, fs, b"/home/user/x", cred=Cred(1000, 1000)) == errno.ENOENT


def test_parent_lookup_returns_the_last_component_unresolved():
    fs = make_tree()
    p = lookup_parent(fs, b"/etc/newfile/")
    assert p.dir.inode is lookup(fs, b"/etc").inode and p.name == b"newfile" and p.slash
    root = lookup_parent(fs, b"///")
    assert root.dir == fs.root and root.name == b""


def test_mount_covers_a_directory_and_dotdot_climbs_back_out():
    fs = make_tree()
    mnt = vfs_mkdir(fs.root, b"mnt", 0o755, None)
    vfs_create(mnt, b"hidden", 0o644, None)
    tmp = Tmpfs()
    fs.ns.mount(tmp, mnt)
    assert lookup(fs, b"/mnt").inode is tmp.root
    assert errno_of(lookup, fs, b"/mnt/hidden") == errno.ENOENT
    assert lookup(fs, b"/mnt/../etc").inode is lookup(fs, b"/etc").inode


def test_getcwd_follows_a_renamed_ancestor():
    fs = make_tree()
    fs.cwd = lookup(fs, b"/home/user")
    vfs_rename(fs.root, b"home", fs.root, b"house", None)
    assert fs.getcwd() == b"/house/user"


def test_getcwd_crosses_mounts():
    fs = make_tree()
    mnt = vfs_mkdir(fs.root, b"mnt", 0o755, None)
    m = fs.ns.mount(Tmpfs(), mnt)
    inner = vfs_mkdir(Location(m, m.root), b"deep", 0o755, None)
    fs.cwd = inner
    assert fs.getcwd() == b"/mnt/deep"


def test_getcwd_of_a_removed_directory_is_enoent():
    fs = make_tree()
    gone = vfs_mkdir(fs.root, b"gone", 0o755, None)
    fs.cwd = gone
    vfs_rmdir(fs.root, b"gone", None)
    assert errno_of(fs.getcwd) == errno.ENOENT


def test_links_are_counted_across_one_resolution():
    fs = make_tree()
    chain(fs, 30)
    w = Walker(fs)
    w.resolve(fs.root, b"/l0")
    assert w.links == 30
    assert errno_of(w.resolve, fs.root, b"/l0") == errno.ELOOP   # same walker: 60 > 40


def test_child_of_crosses_into_stacked_mounts():
    fs = make_tree()
    mnt = vfs_mkdir(fs.root, b"mnt", 0o755, None)
    first = fs.ns.mount(Tmpfs(), mnt)
    second = fs.ns.mount(Tmpfs(), Location(first, first.root))
    assert child_of(fs.root, b"mnt").mount is second
