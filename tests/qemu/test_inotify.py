"""inotify in a real program (tests/programs/inotify_basic.c), run by moss-py and by Linux 6.1
booted in the same QEMU (the `linux_oracle` fixture): a watcher while another process creates,
writes, renames and deletes, on tmpfs and on an ext4 image; both kernels must print the same events."""
import shutil
import subprocess

import pytest

from tests.covers import covers

from .conftest import run_on_disk_image, same_as_linux
from .linux_fs_oracle import linux_with_files

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


@covers("inotify_init1", "inotify_add_watch", "inotify_rm_watch", "ioctl", "ppoll", "renameat", "unlinkat",
        "linkat", "mkdirat", "fchmodat", "truncate")
def test_inotify_events_of_another_process_on_tmpfs_as_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "inotify_basic", "/tmp/inotify_basic", status=0)
    assert "  dir MOVED_TO cookie c2 name 'b' len 16" in out
    assert "  self DELETE_SELF cookie 0\n  self IGNORED cookie 0\n" in out
    assert "overflow: 16385 events, 1 overflow, at 16385" in out
    assert out.endswith("done\n")


# Linux mounts the image through a loop device; moss-py (which has none) reads the file itself
# when the mount data says "loop".
LINUX_ON_EXT4 = ("mkdir -p /mnt/d && losetup /dev/loop0 /disk.img && /tests/inotify_basic /mnt/d/ino /dev/loop0 /mnt/d; s=$?; "
                 "losetup -d /dev/loop0; exit $s")


@covers("inotify_init1", "inotify_add_watch", "inotify_rm_watch")
def test_inotify_events_on_an_ext4_disk_as_linux(tmp_path):
    """The same watcher on an ext4 image: the events come from the VFS, so they are tmpfs's;
    a watch on the mount's root hears IN_UNMOUNT at umount. The image moss-py wrote comes
    back clean for e2fsck."""
    if not shutil.which("mkfs.ext4") or not shutil.which("e2fsck"):
        pytest.fail("mkfs.ext4 and e2fsck are needed (scripts/setup.sh installs them)")
    img = tmp_path / "disk.img"
    subprocess.run(["mkfs.ext4", "-q", "-F", str(img), "4M"], check=True, capture_output=True)
    moss, report, out_img = run_on_disk_image(tmp_path, img, "mkdir -p /mnt/d && /tests/inotify_basic /mnt/d/ino /disk.img /mnt/d loop")
    with linux_with_files({"/disk.img": img}) as vm:
        out, err, status = vm.run3(LINUX_ON_EXT4, timeout=180)
    assert status == 0, err
    assert moss.returncode == 0, moss.stderr.decode(errors="replace")[-2000:]
    assert report == out
    assert "  self DELETE_SELF cookie 0\n" in out
    assert out.endswith("umount: ok\n-- after umount\n  mnt UNMOUNT|ISDIR cookie 0\n  mnt IGNORED cookie 0\ndone\n")
    fsck = subprocess.run(["e2fsck", "-fn", str(out_img)], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
