"""The extended-attribute syscalls against Linux 6.1 booted in QEMU, on tmpfs and on ext4.

xattr_basic prints each call's result or errno: namespaces, XATTR_CREATE/REPLACE, name and
size limits, symlinks, O_PATH and pipe fds, an unprivileged caller, /proc. On ext4 it also
fills the inode body and an external xattr block; the image moss wrote comes back out of
its guest, e2fsck finds it clean and debugfs reads the attributes back.
"""
import shutil
import subprocess

import pytest

from tests.covers import covers

from .conftest import image_with, moss_run, run_on_disk_image
from .linux_fs_oracle import linux_with_files

pytestmark = [pytest.mark.qemu]

@pytest.mark.differential
@covers("setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
        "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr")
def test_xattr_on_tmpfs_matches_linux(linux_oracle):
    out, err, status = linux_oracle.run3("/tests/xattr_basic /tmp/xattr")
    moss = moss_run("/bin/sh", "-c", "mount -t tmpfs tmpfs /tmp && exec /tests/xattr_basic /tmp/xattr")
    assert status == 0, err
    assert "set security.s: 0" in out
    assert moss.stdout.decode() == out
    assert moss.returncode == 0


LINUX_EXT4 = ("mkdir -p /mnt && losetup /dev/loop0 /disk.img && /tests/xattr_basic /mnt/x /dev/loop0 -; s=$?; "
              "losetup -d /dev/loop0; exit $s")


@pytest.mark.parametrize("geometry", [("-b", "4096", "-I", "256"), ("-b", "1024", "-I", "128")],
                         ids=["in-inode-and-block", "block-only"])
@pytest.mark.differential
@covers("setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
        "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr")
def test_xattr_on_ext4_matches_linux_and_e2fsck_is_clean(tmp_path, geometry):
    """256-byte inodes hold small attributes in their body; 128-byte ones have no room."""
    if not shutil.which("mkfs.ext4") or not shutil.which("e2fsck") or not shutil.which("cpio"):
        pytest.fail("mkfs.ext4, e2fsck and cpio are needed (scripts/setup.sh installs them)")
    img = tmp_path / "disk.img"
    subprocess.run(["mkfs.ext4", "-q", "-F", *geometry, str(img), "8M"], check=True, capture_output=True)
    moss, report, out_img = run_on_disk_image(tmp_path, img, "mkdir -p /mnt && /tests/xattr_basic /mnt/x /disk.img loop")
    with linux_with_files({"/disk.img": img}) as vm:
        out, err, status = vm.run3(LINUX_EXT4)
    assert moss.returncode == 0, moss.stderr
    assert status == 0, err
    assert "mount: 0\n" in out and "set user.a: 0\n" in out
    assert report == out
    fsck = subprocess.run(["e2fsck", "-fn", str(out_img)], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    ea = subprocess.run(["debugfs", "-R", "ea_list /keep", str(out_img)], capture_output=True, text=True)
    assert "user.comment (4) = \"kept\"" in ea.stdout, ea.stdout + ea.stderr
    assert "user.block (600)" in ea.stdout, report
    ea = subprocess.run(["debugfs", "-R", "ea_list /file", str(out_img)], capture_output=True, text=True)
    assert "security.s (6) = \"world!\"" in ea.stdout, ea.stdout + ea.stderr


# /dev is devtmpfs (a tmpfs: security.* and trusted.*), proc has no handlers. Not here: /sys (the
# oracle's is sysfs, moss-py has none) and /dev/pts (the oracle does not mount it).
PROBED = "/dev/null /dev /proc /proc/self/status /proc/self/fd/0 /tmp"


@pytest.mark.differential
@covers("lgetxattr", "lsetxattr", "llistxattr", "lremovexattr")
def test_filesystems_without_xattrs_answer_like_linux(linux_oracle):
    out, err, status = linux_oracle.run3(f"/tests/xattr_basic --probe {PROBED}")
    moss = moss_run("/bin/sh", "-c", f"mount -t tmpfs tmpfs /tmp && exec /tests/xattr_basic --probe {PROBED}")
    assert status == 0, err
    assert moss.stdout.decode() == out


@pytest.mark.differential
@covers("lgetxattr", "lsetxattr", "llistxattr", "lremovexattr")
def test_vfat_has_no_xattrs_like_linux(tmp_path):
    if not shutil.which("mkfs.fat") or not shutil.which("mcopy"):
        pytest.fail("mkfs.fat and mcopy are needed (scripts/setup.sh installs them)")
    img = tmp_path / "fat.img"
    subprocess.run(["mkfs.fat", "-C", str(img), "2048"], check=True, capture_output=True)
    (tmp_path / "file").write_text("x\n")
    subprocess.run(["mcopy", "-i", str(img), str(tmp_path / "file"), "::file"], check=True, capture_output=True)
    image = image_with(tmp_path, {"fat.img": img})
    moss = moss_run("/bin/sh", "-c", "mkdir -p /mnt && /tests/xattr_basic --mount /fat.img /mnt/f vfat loop "
                    "/mnt/f/file /mnt/f", image=image)
    with linux_with_files({"/fat.img": img}) as vm:
        out, err, status = vm.run3("mkdir -p /mnt && losetup /dev/loop0 /fat.img && /tests/xattr_basic --mount "
                                   "/dev/loop0 /mnt/f vfat - /mnt/f/file /mnt/f; s=$?; losetup -d /dev/loop0; exit $s")
    assert status == 0, err
    assert "mount: 0" in out
    assert moss.stdout.decode() == out
