"""mount, umount2, statfs, fstatfs in moss-py against Linux booted in QEMU (they need root, so
qemu-aarch64 on the host is no oracle here), BusyBox mount/df/umount, and ext4 images.

mount_basic prints results, errnos and the machine-independent statfs figures of tmpfs, proc,
devtmpfs, bind and moved mounts. mount_ext4 mounts an image file read-write (in moss through
its "loop" data option: there are no loop devices; in Linux, with ext4 and loop loaded, through
a loop device); the image comes back out of moss's guest and e2fsck checks it.
"""
import re
import shutil
import subprocess

import pytest

from tests.covers import covers

from .conftest import moss_run, run_on_disk_image
from .linux_fs_oracle import linux_with_files

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("mount", "umount2", "statfs", "fstatfs")
def test_mount_syscalls_match_linux(linux_oracle):
    out, err, status = linux_oracle.run3("/tests/mount_basic")
    # The program works under /tmp, which the oracle's /init mounts as a tmpfs (relatime,
    # inherited by bind mounts made there); give moss-py's run the same /tmp first.
    moss = moss_run("/bin/sh", "-c", "mount -t tmpfs tmpfs /tmp && exec /tests/mount_basic")
    assert status == 0, err
    assert "mount tmpfs: 0" in out
    assert moss.stdout.decode() == out
    assert moss.returncode == 0


@pytest.mark.differential
@covers("mount", "umount2", "statfs")
def test_busybox_mount_df_umount_match_linux(linux_oracle):
    script = ("d=/tmp/bbmount; mkdir -p $d && mount -t tmpfs -o size=2m,mode=700 none $d && df $d && "
              "df -k $d | tail -1 | awk '{print $2, $3, $4}' && "
              "mount | grep \" $d \" | cut -d'(' -f1 && stat -c %a $d && "
              "dd if=/dev/zero of=$d/zero bs=4096 count=3 2>/dev/null && df $d | tail -1 && "
              "mount -o remount,ro $d && touch $d/y 2>&1; mount | grep \" $d \" | cut -d'(' -f2 | cut -d, -f1 && "
              "umount $d 2>&1; echo umount=$? && umount $d 2>&1; echo again=$? && "
              "mount -t nosuchfs none $d 2>&1; echo bad-type=$? && rmdir $d")
    out, err, status = linux_oracle.run3(script)
    moss = moss_run("/bin/sh", "-c", script)
    assert status == 0, err
    assert "umount=" in out
    assert moss.stdout.decode() == out


# Linux mounts the image through loop devices (mount_ext4's Linux form; moss has none and
# reads the file itself when asked with the "loop" data option).
LINUX_MOUNT_EXT4 = ("mkdir -p /mnt && losetup /dev/loop0 /disk.img && losetup /dev/loop1 /tests/hello && "
                    "/tests/mount_ext4 /disk.img /mnt/x /dev/loop0 /dev/loop1; s=$?; "
                    "losetup -d /dev/loop0; losetup -d /dev/loop1; exit $s")


@pytest.mark.differential
@covers("mount", "umount2", "statfs", "syncfs", "fsync")
def test_ext4_image_mounts_read_write_like_linux_and_stays_clean(tmp_path):
    """mount_ext4's report is Linux's for the same image; the image moss wrote comes back
    out of the guest, e2fsck finds it clean and debugfs reads what was written."""
    if not shutil.which("mkfs.ext4") or not shutil.which("e2fsck") or not shutil.which("cpio"):
        pytest.fail("mkfs.ext4, e2fsck and cpio are needed (scripts/setup.sh installs them)")
    src = tmp_path / "src"
    src.mkdir()
    (src / "hello.txt").write_text("hello ext4\n")
    img = tmp_path / "disk.img"
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(src), str(img), "2M"], check=True, capture_output=True)
    moss, report, out_img = run_on_disk_image(tmp_path, img, "/tests/mount_ext4 /disk.img /mnt/x")
    with linux_with_files({"/disk.img": img}) as vm:
        out, err, status = vm.run3(LINUX_MOUNT_EXT4)
    assert moss.returncode == 0, moss.stderr
    assert status == 0, err
    assert "mount image: 0\n" in out
    assert report == out
    fsck = subprocess.run(["e2fsck", "-fn", str(out_img)], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    cat = subprocess.run(["debugfs", "-R", "cat /second.txt", str(out_img)], capture_output=True, text=True)
    assert cat.stdout == "second\n"
    ls = subprocess.run(["debugfs", "-R", "stat /link.txt", str(out_img)], capture_output=True, text=True)
    assert re.search(r"Links: 2", ls.stdout)


@pytest.mark.differential
def test_noexec_and_nodev_mounts_refuse_like_linux(linux_oracle):
    script = ("mkdir -p /tmp/m; mount -t tmpfs -o noexec,nodev,nosuid x /tmp/m; cp /tests/hello /tmp/m/h; "
              "/tmp/m/h; echo exec=$?; mknod /tmp/m/null c 1 3; echo > /tmp/m/null; echo dev=$?; "
              "grep ' /tmp/m ' /proc/mounts; mount -o remount,exec /tmp/m; /tmp/m/h; umount /tmp/m; echo done")
    r = moss_run("/bin/sh", "-c", script)
    out, _, status = linux_oracle.run3(script)
    assert r.stdout.decode() == out
    assert "exec=" in out and "dev=" in out and "done" in out
