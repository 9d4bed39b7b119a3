"""devfs without QEMU: the nodes Linux's devtmpfs provides, with Linux's numbers and modes."""
import asyncio
import errno
import stat as S

import pytest

import moss_host.fs.drivers.memdev  # noqa: F401  (registers the major-1 openers)
from moss_host.errors import Errno
from moss_host.fs.drivers.devfs import Devfs
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.file import O_RDONLY, O_WRONLY, open_file
from moss_host.fs.path import lookup
from moss_host.fs.stat import major, makedev, minor
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import Cred, FsContext, vfs_create, vfs_mkdir

ROOT = Cred(0, 0)
USER = Cred(1000, 1000)


@pytest.fixture
def fs():
    ns = MountTable(Tmpfs(mode=0o755))
    fs = FsContext(ns.root_location())
    ns.mount(Devfs(), vfs_mkdir(fs.root, b"dev", 0o755, None))
    return fs


@pytest.mark.parametrize("name, numbers, mode", [
    (b"null", (1, 3), 0o666), (b"zero", (1, 5), 0o666), (b"full", (1, 7), 0o666),
    (b"random", (1, 8), 0o666), (b"urandom", (1, 9), 0o666), (b"tty", (5, 0), 0o666),
    (b"console", (5, 1), 0o600), (b"ptmx", (5, 2), 0o666),
])
def test_character_devices_have_linux_numbers_and_modes(fs, name, numbers, mode):
    st = lookup(fs, b"/dev/" + name).inode.getattr()
    assert S.S_ISCHR(st.st_mode)
    assert (major(st.st_rdev), minor(st.st_rdev)) == numbers
    assert S.S_IMODE(st.st_mode) == mode
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_pts_and_shm_directories(fs):
    pts = lookup(fs, b"/dev/pts").inode.getattr()
    shm = lookup(fs, b"/dev/shm").inode.getattr()
    assert S.S_ISDIR(pts.st_mode) and S.S_IMODE(pts.st_mode) == 0o755
    assert S.S_ISDIR(shm.st_mode) and S.S_IMODE(shm.st_mode) == 0o1777


@pytest.mark.parametrize("name, target", [
    (b"fd", b"/proc/self/fd"), (b"stdin", b"/proc/self/fd/0"),
    (b"stdout", b"/proc/self/fd/1"), (b"stderr", b"/proc/self/fd/2"),
])
def test_fd_links_point_into_proc_self(fs, name, target):
    inode = lookup(fs, b"/dev/" + name, follow=False).inode
    assert inode.is_symlink and inode.readlink() == target


def test_devfs_root_is_0755_and_lists_everything(fs):
    root = lookup(fs, b"/dev").inode
    assert S.S_IMODE(root.mode) == 0o755
    names = {e.name for e in root.readdir(0)}
    assert names == {b".", b"..", b"null", b"zero", b"full", b"random", b"urandom", b"tty", b"console",
                     b"ptmx", b"pts", b"shm", b"fd", b"stdin", b"stdout", b"stderr"}


def test_null_and_zero_open_through_their_drivers(fs):
    null = asyncio.run(open_file(fs, fs.root, b"/dev/null", O_WRONLY, 0, USER))
    assert asyncio.run(null.write(b"hi\n")) == 3
    zero = asyncio.run(open_file(fs, fs.root, b"/dev/zero", O_RDONLY, 0, USER))
    assert asyncio.run(zero.read(16)) == bytes(16)


def test_console_is_root_only(fs):
    with pytest.raises(Errno) as e:
        asyncio.run(open_file(fs, fs.root, b"/dev/console", O_WRONLY, 0, USER))
    assert e.value.code == errno.EACCES


def test_devfs_takes_new_nodes_like_devtmpfs(fs):
    dev = lookup(fs, b"/dev")
    vfs_create(dev, b"sda", S.S_IFBLK | 0o660, ROOT, rdev=makedev(8, 0))
    st = lookup(fs, b"/dev/sda").inode.getattr()
    assert S.S_ISBLK(st.st_mode) and (major(st.st_rdev), minor(st.st_rdev)) == (8, 0)


def test_each_devfs_is_its_own_filesystem(fs):
    assert Devfs().dev != Devfs().dev
    assert Devfs.fstype == "devtmpfs"
