"""The path-lookup cache (moss_host/fs/dcache.py): a remembered walk is reused, and every
change that can alter what a path resolves to makes the next walk see it."""
import errno

import pytest

from moss_host.errors import Errno
from moss_host.fs.dcache import CACHE, MAX_ENTRIES
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.namespace import MountTable
from moss_host.fs.path import Walker, lookup
from moss_host.fs.vfs import (Cred, Dentry, FsContext, Location, vfs_create, vfs_link, vfs_mkdir, vfs_rename,
                              vfs_rmdir, vfs_symlink, vfs_unlink)

USER = Cred(uid=1000, gid=1000)


def make_tree():
    """/d/f (file), /d/sub (dir), /lnk -> /d/f, /mnt (dir)"""
    fs = FsContext(MountTable(Tmpfs(mode=0o755)).root_location())
    d = vfs_mkdir(fs.root, b"d", 0o755, None)
    vfs_create(d, b"f", 0o644, None)
    vfs_mkdir(d, b"sub", 0o755, None)
    vfs_symlink(fs.root, b"lnk", b"/d/f", None)
    vfs_mkdir(fs.root, b"mnt", 0o755, None)
    return fs, d


def walk(fs, path, follow=True, cred=None, start=None):
    return Walker(fs, cred, None).resolve(start if start is not None else fs.cwd, path, follow)


def errno_of(fn, *args, **kw):
    with pytest.raises(Errno) as info:
        fn(*args, **kw)
    return info.value.code


def test_a_second_walk_is_a_cache_hit():
    fs, _ = make_tree()
    first = walk(fs, b"/d/f")
    assert any(e.result is first for e in CACHE.entries.values())
    assert walk(fs, b"/d/f") is first          # the very Location remembered


def test_follow_and_nofollow_are_separate_entries():
    fs, _ = make_tree()
    assert walk(fs, b"/lnk", follow=False).inode.is_symlink
    assert not walk(fs, b"/lnk", follow=True).inode.is_symlink
    assert walk(fs, b"/lnk", follow=False).inode.is_symlink


def test_unlink_is_seen():
    fs, d = make_tree()
    walk(fs, b"/d/f")
    vfs_unlink(d, b"f", None)
    assert errno_of(walk, fs, b"/d/f") == errno.ENOENT


def test_rmdir_is_seen():
    fs, d = make_tree()
    walk(fs, b"/d/sub")
    walk(fs, b"/d/sub/.")
    vfs_rmdir(d, b"sub", None)
    assert errno_of(walk, fs, b"/d/sub/.") == errno.ENOENT


def test_rename_of_a_file_and_of_a_directory_is_seen():
    fs, d = make_tree()
    f = walk(fs, b"/d/f").inode
    vfs_rename(d, b"f", d, b"g", None)
    assert errno_of(walk, fs, b"/d/f") == errno.ENOENT
    assert walk(fs, b"/d/g").inode is f
    walk(fs, b"/d/sub/..")
    vfs_rename(d, b"sub", fs.root, b"top", None)
    assert walk(fs, b"/top/..").inode is fs.root.inode


def test_rename_over_an_existing_name_is_seen():
    fs, d = make_tree()
    vfs_create(d, b"other", 0o644, None)
    old = walk(fs, b"/d/other").inode
    f = walk(fs, b"/d/f").inode
    vfs_rename(d, b"f", d, b"other", None)
    assert walk(fs, b"/d/other").inode is f is not old


def test_a_name_created_after_a_failed_walk_is_found():
    fs, d = make_tree()
    assert errno_of(walk, fs, b"/d/new") == errno.ENOENT      # failures are not remembered
    vfs_create(d, b"new", 0o644, None)
    assert not walk(fs, b"/d/new").inode.is_dir
    vfs_link(walk(fs, b"/d/new"), d, b"hard", None)
    assert walk(fs, b"/d/hard").inode is walk(fs, b"/d/new").inode


def test_symlink_replaced_is_seen():
    fs, d = make_tree()
    assert walk(fs, b"/lnk").inode is walk(fs, b"/d/f").inode
    vfs_unlink(fs.root, b"lnk", None)
    vfs_symlink(fs.root, b"lnk", b"/d/sub", None)
    assert walk(fs, b"/lnk").inode.is_dir


def test_mount_and_umount_are_seen():
    fs, _ = make_tree()
    under = walk(fs, b"/mnt").inode
    m = fs.ns.mount(Tmpfs(), walk(fs, b"/mnt"))
    assert walk(fs, b"/mnt").inode is m.root.inode
    vfs_create(Location(m, m.root), b"inside", 0o644, None)
    walk(fs, b"/mnt/inside")
    fs.ns.umount(m)
    assert walk(fs, b"/mnt").inode is under
    assert errno_of(walk, fs, b"/mnt/inside") == errno.ENOENT


def test_bind_mount_is_seen():
    fs, d = make_tree()
    assert errno_of(walk, fs, b"/mnt/f") == errno.ENOENT
    src = walk(fs, b"/d")
    fs.ns.bind(src.mount, src.dentry, walk(fs, b"/mnt"), recursive=False)
    assert walk(fs, b"/mnt/f").inode is walk(fs, b"/d/f").inode


def test_chmod_of_a_directory_on_the_way_is_checked_on_a_hit():
    fs, d = make_tree()
    walk(fs, b"/d/f", cred=USER)
    d.inode.setattr(mode=0o700)                 # no search for others: no invalidation needed
    assert errno_of(walk, fs, b"/d/f", cred=USER) == errno.EACCES
    assert walk(fs, b"/d/f").inode              # the kernel itself still passes
    d.inode.setattr(mode=0o755)
    walk(fs, b"/d/f", cred=USER)


def test_chown_and_credentials_are_checked_on_a_hit():
    fs, d = make_tree()
    d.inode.setattr(mode=0o700, uid=1000, gid=1000)
    walk(fs, b"/d/f", cred=USER)
    assert errno_of(walk, fs, b"/d/f", cred=Cred(uid=1001, gid=1001)) == errno.EACCES
    d.inode.setattr(uid=0, gid=0)
    assert errno_of(walk, fs, b"/d/f", cred=USER) == errno.EACCES


def test_chroot_and_chdir_change_the_key():
    fs, d = make_tree()
    assert errno_of(walk, fs, b"/f") == errno.ENOENT
    fs.root = walk(fs, b"/d")
    assert walk(fs, b"/f").inode is d.dentry.children[b"f"].inode
    assert walk(fs, b"/..").inode is d.inode   # ".." stops at the new root
    fs.cwd = walk(fs, b"/sub")
    assert walk(fs, b"..").inode is d.inode


def test_relative_walks_from_different_directories_differ():
    fs, d = make_tree()
    assert walk(fs, b"f", start=d).inode is d.dentry.children[b"f"].inode
    assert errno_of(walk, fs, b"f", start=fs.root) == errno.ENOENT


def test_dynamic_directories_are_never_cached():
    class Dynamic(dict):
        """A `children` like procfs's: nothing is kept."""
        def __setitem__(self, name, child):
            pass

    fs, d = make_tree()
    d.dentry.children = Dynamic()
    before = dict(CACHE.entries)
    walk(fs, b"/d/f")
    walk(fs, b"/d/sub/..")
    assert CACHE.entries.keys() - before.keys() == set()


def test_symlinks_count_against_the_walk_budget_on_a_hit():
    fs, _ = make_tree()
    w = Walker(fs, None, None)
    w.resolve(fs.root, b"/lnk")
    assert w.links == 1
    w2 = Walker(fs, None, None)
    w2.resolve(fs.root, b"/lnk")                # a hit adds the same count
    assert w2.links == 1


def test_the_cache_is_bounded():
    fs, d = make_tree()
    for i in range(MAX_ENTRIES + 10):
        walk(fs, b"/d" + b"/." * i + b"/f")     # each a different path
    assert len(CACHE.entries) <= MAX_ENTRIES


def test_generation_moves_on_every_namespace_change():
    fs, d = make_tree()
    g = CACHE.generation
    vfs_unlink(d, b"f", None)
    assert CACHE.generation > g
    g = CACHE.generation
    m = fs.ns.mount(Tmpfs(), walk(fs, b"/mnt"))
    assert CACHE.generation > g
    g = CACHE.generation
    fs.ns.umount(m)
    assert CACHE.generation > g
    g = CACHE.generation
    vfs_rename(d, b"sub", d, b"sub2", None)
    assert CACHE.generation > g and not CACHE.entries


def test_lookup_helper_uses_the_cache_too():
    fs, _ = make_tree()
    assert lookup(fs, b"/d/f") is lookup(fs, b"/d/f")
    assert isinstance(lookup(fs, b"/d").dentry, Dentry)
