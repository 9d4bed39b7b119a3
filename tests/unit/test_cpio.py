"""cpio newc reading and initramfs unpacking, checked against archives made by GNU cpio."""
import gzip
import lzma
import os
import shutil
import stat as S
import subprocess

import pytest

from moss_host.fs.cpio import CpioError, read_cpio, unpack_cpio
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.path import lookup
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import FsContext, build_root_from_cpio

NSEC = 1_000_000_000


def newc(name: bytes, mode: int, data: bytes = b"", ino: int = 1, uid: int = 0, gid: int = 0,
         nlink: int = 1, mtime: int = 0, rdev: tuple = (0, 0)) -> bytes:
    """One newc entry, written independently of the reader under test."""
    fields = [ino, mode, uid, gid, nlink, mtime, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
    head = b"070701" + b"".join(b"%08X" % f for f in fields) + name + b"\0"
    head += bytes(-len(head) % 4)
    return head + data + bytes(-len(data) % 4)


def archive(*entries: bytes) -> bytes:
    return b"".join(entries) + newc(b"TRAILER!!!", 0, ino=0)


def unpacked(data: bytes) -> FsContext:
    fs = FsContext(MountTable(Tmpfs(mode=0o755)).root_location())
    unpack_cpio(data, fs.root)
    return fs


def gnu_cpio(directory) -> bytes:
    """`find . | cpio -o -H newc` run in directory, the way initramfs images are made."""
    names = subprocess.run(["find", "."], cwd=directory, capture_output=True, check=True).stdout
    return subprocess.run(["cpio", "--quiet", "-o", "-H", "newc"], cwd=directory, input=names,
                          capture_output=True, check=True).stdout


needs_cpio = pytest.mark.skipif(shutil.which("cpio") is None, reason="GNU cpio not installed")


@pytest.fixture
def sample_tree(tmp_path):
    root = tmp_path / "tree"
    (root / "bin").mkdir(parents=True)
    (root / "etc" / "deep" / "er").mkdir(parents=True)
    (root / "bin" / "tool").write_bytes(b"\x7fELF" + bytes(range(256)) * 40)
    (root / "bin" / "tool").chmod(0o4755)
    (root / "etc" / "motd").write_bytes(b"welcome\n")
    (root / "etc" / "motd").chmod(0o600)
    (root / "etc" / "empty").write_bytes(b"")
    (root / "etc" / "deep" / "er" / "x").write_bytes(b"x" * 3)          # odd size: padding matters
    os.symlink("../bin/tool", root / "etc" / "tool-link")
    os.link(root / "etc" / "motd", root / "etc" / "motd-hard")
    os.mkfifo(root / "etc" / "fifo")
    (root / "etc").chmod(0o750)
    os.utime(root / "etc" / "motd", ns=(1_600_000_000 * NSEC, 1_600_000_000 * NSEC))
    os.utime(root / "etc", ns=(1_500_000_000 * NSEC, 1_500_000_000 * NSEC))
    if os.geteuid() == 0:
        os.chown(root / "etc" / "motd", 1234, 5678)
    return root


@needs_cpio
def test_gnu_cpio_archive_unpacks_to_the_same_files(sample_tree):
    fs = unpacked(gnu_cpio(sample_tree))
    for path in [p for p in sample_tree.rglob("*") if p.is_file() and not p.is_symlink()]:
        rel = b"/" + bytes(path.relative_to(sample_tree))
        inode = lookup(fs, rel).inode
        assert inode.read(0, 1 << 20) == path.read_bytes(), rel


@needs_cpio
def test_gnu_cpio_archive_keeps_modes_including_setuid(sample_tree):
    fs = unpacked(gnu_cpio(sample_tree))
    assert lookup(fs, b"/bin/tool").inode.mode == S.S_IFREG | 0o4755
    assert lookup(fs, b"/etc/motd").inode.mode == S.S_IFREG | 0o600
    assert lookup(fs, b"/etc").inode.mode == S.S_IFDIR | 0o750


@needs_cpio
def test_gnu_cpio_archive_keeps_symlinks_fifos_and_hard_links(sample_tree):
    fs = unpacked(gnu_cpio(sample_tree))
    link = lookup(fs, b"/etc/tool-link", follow=False).inode
    assert link.is_symlink and link.readlink() == b"../bin/tool"
    assert lookup(fs, b"/etc/tool-link").inode is lookup(fs, b"/bin/tool").inode
    assert S.S_ISFIFO(lookup(fs, b"/etc/fifo").inode.mode)
    motd, hard = lookup(fs, b"/etc/motd").inode, lookup(fs, b"/etc/motd-hard").inode
    assert motd is hard and motd.nlink == 2 and motd.read(0, 100) == b"welcome\n"


@needs_cpio
def test_gnu_cpio_archive_keeps_mtimes_of_files_and_directories(sample_tree):
    fs = unpacked(gnu_cpio(sample_tree))
    assert lookup(fs, b"/etc/motd").inode.mtime_ns == 1_600_000_000 * NSEC
    assert lookup(fs, b"/etc").inode.mtime_ns == 1_500_000_000 * NSEC   # not bumped by its children


@needs_cpio
@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_gnu_cpio_archive_keeps_owners(sample_tree):
    inode = lookup(unpacked(gnu_cpio(sample_tree)), b"/etc/motd").inode
    assert (inode.uid, inode.gid) == (1234, 5678)


@needs_cpio
def test_gzipped_archive_unpacks_like_the_plain_one(sample_tree):
    fs = unpacked(gzip.compress(gnu_cpio(sample_tree)))
    assert lookup(fs, b"/etc/deep/er/x").inode.read(0, 10) == b"xxx"


def test_xz_archive_unpacks():
    data = lzma.compress(archive(newc(b"f", S.S_IFREG | 0o644, b"xz!")), format=lzma.FORMAT_XZ)
    assert lookup(unpacked(data), b"/f").inode.read(0, 10) == b"xz!"


def test_device_nodes_are_recorded_with_type_and_rdev():
    fs = unpacked(archive(newc(b"dev", S.S_IFDIR | 0o755),
                          newc(b"dev/null", S.S_IFCHR | 0o666, rdev=(1, 3)),
                          newc(b"dev/sda", S.S_IFBLK | 0o660, rdev=(8, 0))))
    null, sda = lookup(fs, b"/dev/null").inode, lookup(fs, b"/dev/sda").inode
    assert null.mode == S.S_IFCHR | 0o666 and null.getattr().st_rdev == os.makedev(1, 3)
    assert sda.mode == S.S_IFBLK | 0o660 and sda.getattr().st_rdev == os.makedev(8, 0)


def test_dot_entry_sets_the_root_directory_mode():
    fs = unpacked(archive(newc(b".", S.S_IFDIR | 0o700)))
    assert fs.root.inode.mode == S.S_IFDIR | 0o700


def test_leading_dot_slash_and_slash_are_stripped():
    fs = unpacked(archive(newc(b"./a", S.S_IFREG | 0o644, b"1"), newc(b"/b", S.S_IFREG | 0o644, b"2")))
    assert lookup(fs, b"/a").inode.read(0, 1) == b"1" and lookup(fs, b"/b").inode.read(0, 1) == b"2"


def test_missing_parent_directories_are_created():
    fs = unpacked(archive(newc(b"a/b/c", S.S_IFREG | 0o644, b"deep")))
    assert lookup(fs, b"/a/b").inode.is_dir and lookup(fs, b"/a/b/c").inode.read(0, 9) == b"deep"


def test_dotdot_names_cannot_escape_the_root():
    fs = FsContext(MountTable(Tmpfs(mode=0o755)).root_location())
    from moss_host.fs.vfs import vfs_mkdir
    target = vfs_mkdir(fs.root, b"sub", 0o755, None)
    unpack_cpio(archive(newc(b"../evil", S.S_IFREG | 0o644, b"x")), target)
    assert [e.name for e in fs.root.inode.readdir(2)] == [b"sub"]
    assert [e.name for e in target.inode.readdir(2)] == []


def test_later_archives_override_earlier_ones():
    first = archive(newc(b"f", S.S_IFREG | 0o644, b"old contents"))
    second = archive(newc(b"f", S.S_IFREG | 0o600, b"new"))
    fs = unpacked(first + bytes(512) + second)            # initramfs pads between segments with zeros
    inode = lookup(fs, b"/f").inode
    assert inode.read(0, 100) == b"new" and inode.mode == S.S_IFREG | 0o600


def test_reader_reports_every_field():
    entry, = read_cpio(archive(newc(b"f", S.S_IFREG | 0o640, b"abc", ino=77, uid=5, gid=6,
                                    nlink=1, mtime=123456)))
    assert (entry.name, entry.mode, entry.uid, entry.gid, entry.mtime, entry.ino, entry.data) == \
        (b"f", S.S_IFREG | 0o640, 5, 6, 123456, 77, b"abc")


def test_bad_magic_is_a_cpio_error():
    with pytest.raises(CpioError):
        list(read_cpio(b"070707" + bytes(200)))           # old binary/odc format


def test_truncated_archive_is_a_cpio_error():
    data = archive(newc(b"f", S.S_IFREG | 0o644, b"x" * 100))
    with pytest.raises(CpioError):
        list(read_cpio(data[:150]))


def test_build_root_from_cpio_mounts_a_tmpfs_root_with_the_files():
    fs = build_root_from_cpio(archive(newc(b".", S.S_IFDIR | 0o755),
                                      newc(b"init", S.S_IFREG | 0o755, b"#!/bin/sh\n")))
    assert isinstance(fs.root.mount.sb, Tmpfs) and fs.cwd == fs.root
    assert lookup(fs, b"/init").inode.read(0, 100) == b"#!/bin/sh\n"
    assert fs.getcwd() == b"/"


def test_hard_link_data_in_the_last_entry_reaches_every_name():
    # GNU cpio stores the data with the last name of a hard-linked set only.
    fs = unpacked(archive(newc(b"a", S.S_IFREG | 0o644, b"", ino=9, nlink=2),
                          newc(b"b", S.S_IFREG | 0o644, b"shared", ino=9, nlink=2)))
    assert lookup(fs, b"/a").inode is lookup(fs, b"/b").inode
    assert lookup(fs, b"/a").inode.read(0, 10) == b"shared"


def test_unpacking_does_not_check_permissions():
    fs = unpacked(archive(newc(b"ro", S.S_IFDIR | 0o500), newc(b"ro/f", S.S_IFREG | 0o000, b"z")))
    assert lookup(fs, b"/ro/f").inode.read(0, 1) == b"z"


def test_garbage_instead_of_an_archive_is_a_cpio_error():
    with pytest.raises(CpioError):
        unpacked(b"garbage!" * 20)
