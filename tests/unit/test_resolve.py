"""openat2's RESOLVE_* walk (moss_host/fs/resolve.py) and the mount-table moves behind
pivot_root, MS_MOVE and the fd mount API (moss_host/fs/namespace.py), over tmpfs."""
import errno

import pytest

from moss_host.errors import Errno
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.namespace import MountTable, is_reachable
from moss_host.fs.path import lookup
from moss_host.fs.resolve import (RESOLVE_BENEATH, RESOLVE_CACHED, RESOLVE_IN_ROOT, RESOLVE_NO_SYMLINKS,
                                  RESOLVE_NO_XDEV, scoped_walker)
from moss_host.fs.vfs import FsContext, Location, vfs_create, vfs_mkdir, vfs_symlink


def make_tree():
    """/d/f, /d/sub/, /d/up -> ../outside, /d/abs -> /d/f, /outside, /d/mnt with a tmpfs holding m."""
    ns = MountTable(Tmpfs(mode=0o755))
    fs = FsContext(ns.root_location())
    d = vfs_mkdir(fs.root, b"d", 0o755, None)
    vfs_create(d, b"f", 0o644, None)
    vfs_mkdir(d, b"sub", 0o755, None)
    vfs_create(fs.root, b"outside", 0o644, None)
    vfs_symlink(d, b"up", b"../outside", None)
    vfs_symlink(d, b"abs", b"/d/f", None)
    mnt = vfs_mkdir(d, b"mnt", 0o755, None)
    m = ns.mount(Tmpfs(mode=0o755), mnt)
    vfs_create(Location(m, m.root), b"m", 0o644, None)
    return fs, lookup(fs, b"/d")


def walk(fs, start, path, flags):
    return scoped_walker(fs, start, flags, None, None).resolve(start, path)


def errno_of(fn, *args):
    with pytest.raises(Errno) as info:
        fn(*args)
    return info.value.code


def test_beneath_refuses_leaving_the_start_and_in_root_stays_in_it():
    fs, d = make_tree()
    assert walk(fs, d, b"sub/../f", RESOLVE_BENEATH).inode is lookup(fs, b"/d/f").inode
    assert errno_of(walk, fs, d, b"../d/f", RESOLVE_BENEATH) == errno.EXDEV
    assert errno_of(walk, fs, d, b"abs", RESOLVE_BENEATH) == errno.EXDEV
    assert errno_of(walk, fs, d, b"up", RESOLVE_BENEATH) == errno.EXDEV
    assert walk(fs, d, b"../../f", RESOLVE_IN_ROOT).inode is lookup(fs, b"/d/f").inode
    assert errno_of(walk, fs, d, b"up", RESOLVE_IN_ROOT) == errno.ENOENT      # d/outside
    assert errno_of(walk, fs, d, b"abs", RESOLVE_IN_ROOT) == errno.ENOENT     # d/d/f


def test_no_xdev_no_symlinks_and_cached():
    fs, d = make_tree()
    assert errno_of(walk, fs, d, b"mnt/m", RESOLVE_NO_XDEV) == errno.EXDEV
    assert errno_of(walk, fs, d, b"up", RESOLVE_NO_SYMLINKS) == errno.ELOOP
    assert walk(fs, d, b"f", RESOLVE_CACHED).inode is lookup(fs, b"/d/f").inode
    assert errno_of(walk, fs, d, b"missing", RESOLVE_CACHED) == errno.EAGAIN


def test_move_keeps_submounts_and_pivot_swaps_the_root():
    fs, d = make_tree()
    ns = fs.ns
    r = ns.mount(Tmpfs(mode=0o755), lookup(fs, b"/d/sub"))
    root = Location(r, r.root)
    new = vfs_mkdir(root, b"new", 0o755, None)
    n = ns.mount(Tmpfs(mode=0o755), new)
    old = vfs_mkdir(Location(n, n.root), b"old", 0o755, None)
    vfs_mkdir(Location(n, n.root), b"inner", 0o755, None)
    inner = ns.mount(Tmpfs(mode=0o755), lookup(fs, b"/d/sub/new/inner"))
    assert is_reachable(old, Location(n, n.root)) and not is_reachable(root, Location(n, n.root))
    ns.pivot(root, Location(n, n.root), old)
    assert (n.parent, n.mountpoint) == (d.mount, lookup(fs, b"/d").dentry.children[b"sub"])
    assert r.parent is n and inner.parent is n
    assert lookup(fs, b"/d/sub/old/new").mount is r              # the old root, under put_old
    with pytest.raises(Errno):
        ns.move(Location(n, n.root), lookup(fs, b"/d/sub/inner"))     # below itself: ELOOP
    vfs_mkdir(d, b"target", 0o755, None)
    assert ns.move(Location(n, n.root), lookup(fs, b"/d/target")) is n
    assert lookup(fs, b"/d/target/inner").mount is inner              # the submount came along


def test_a_detached_clone_is_grafted_with_its_submounts():
    fs, d = make_tree()
    ns = fs.ns
    tree = MountTable.detached(d.mount, d.dentry, recursive=True)
    assert tree.anon and len(tree.mounts()) == 2
    ns.graft(tree, lookup(fs, b"/d/sub"))
    assert lookup(fs, b"/d/sub/mnt/m").inode is lookup(fs, b"/d/mnt/m").inode
    assert lookup(fs, b"/d/sub/mnt/m").mount is not lookup(fs, b"/d/mnt/m").mount
