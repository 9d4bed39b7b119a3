"""A FAT32 image mounted inside moss (mount(2) with vfat and the "loop" data option: there
are no loop devices, and BusyBox's mount would look for one) and worked on by BusyBox; the
image comes back out of the ext4 disk, fsck.fat -n finds it clean and mtools reads it.

The image and a tiny static mount helper (compiled here) go onto a copy of the ext4 root
disk with debugfs, so nothing outside this test changes. What BusyBox prints is Linux's: the
same image mounted by BusyBox's `mount -o loop` in Linux with vfat and loop loaded
(linux_fs_oracle.py) runs the same script."""
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.covers import covers

from .conftest import REPO, moss_run
from .linux_fs_oracle import linux_with_files

pytestmark = pytest.mark.qemu

DISK = REPO / "build" / "rootfs.ext4"
ENV = {"TZ": "UTC", "LC_ALL": "C.UTF-8", "MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}

HELPER = r"""
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/mount.h>
int main(int argc, char **argv) {
    /* fatmount IMAGE DIR [OPTIONS]: mount(2) an image file as vfat (moss's "loop" option) */
    char data[256];
    snprintf(data, sizeof data, "loop%s%s", argc > 3 ? "," : "", argc > 3 ? argv[3] : "");
    if (mount(argv[1], argv[2], "vfat", 0, data) != 0) {
        printf("mount: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
"""


def run(*cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, env=ENV, **kw)


def debugfs(img: Path, request: str) -> None:
    r = run("debugfs", "-w", "-R", request, str(img))
    assert r.returncode == 0 and b"rror" not in r.stderr, r.stderr


@pytest.fixture
def disk(tmp_path) -> tuple[Path, Path]:
    for tool in ("mkfs.fat", "fsck.fat", "mcopy", "debugfs", "aarch64-linux-gnu-gcc"):
        if not shutil.which(tool, path=ENV["PATH"] + ":/usr/local/bin"):
            pytest.fail(f"{tool} is needed (scripts/setup.sh installs it)")
    if not DISK.exists():
        pytest.fail("build/rootfs.ext4 is missing: run `just build`")
    src = tmp_path / "fatmount.c"
    src.write_text(HELPER)
    helper = tmp_path / "fatmount"
    r = run("aarch64-linux-gnu-gcc", "-static", "-O1", "-o", str(helper), str(src))
    assert r.returncode == 0, r.stderr
    fat = tmp_path / "fat.img"
    run("truncate", "-s", "33M", str(fat), check=True)
    run("mkfs.fat", "-F", "32", "-S", "512", "-s", "1", str(fat), check=True)
    note = tmp_path / "Host Note.txt"
    note.write_text("written on the host\n")
    run("mcopy", "-i", str(fat), str(note), "::/", check=True)
    root = tmp_path / "root.ext4"
    shutil.copyfile(DISK, root)
    debugfs(root, f"write {helper} /fatmount")
    debugfs(root, "sif /fatmount mode 0100755")
    debugfs(root, f"write {fat} /fat.img")
    return root, tmp_path


# {mount}: moss's helper, or BusyBox's loop mount in Linux.
SCRIPT = ("mkdir -p /mnt/fat && {mount} && cd /mnt/fat && cat 'host note.txt' && "
          "mkdir -p 'New Folder/deeper' && cp /bin/busybox 'New Folder/deeper/Busy Box' && "
          "echo short > a.txt && echo gone > b.txt && rm b.txt && mv a.txt 'New Folder/Moved.txt' && "
          "cmp /bin/busybox 'New Folder/deeper/Busy Box' && echo same && "
          "ln -s a link 2>/dev/null || echo no-symlinks; mkdir -p x/y/z && touch x/y/z/f x/g && "
          "mv x/y 'New Folder' && rm -r x && ls 'New Folder/y' && ls /mnt/fat 'New Folder' && "
          "df /mnt/fat | tail -1 | awk '{{print ($2 > 30000)}}' && cd / && umount /mnt/fat && echo unmounted")


@pytest.mark.differential
@covers("mount", "umount2")
def test_busybox_works_on_a_vfat_image_like_on_linux_and_leaves_it_clean(disk):
    root, tmp = disk
    with linux_with_files({"/fat.img": tmp / "fat.img"}) as vm:
        linux, err, status = vm.run3(SCRIPT.format(mount="mount -t vfat -o loop /fat.img /mnt/fat"))
    assert status == 0, linux + err
    r = moss_run("/bin/sh", "-c", SCRIPT.format(mount="/fatmount /fat.img /mnt/fat"), image=None,
                 extra=("--disk", str(root)), timeout=180)
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode(errors="replace")[-3000:]
    assert out == linux
    assert "written on the host" in out and "unmounted" in out
    fat = tmp / "out.img"
    r = run("debugfs", "-R", f"dump /fat.img {fat}", str(root))
    assert fat.exists(), r.stderr
    r = run("fsck.fat", "-n", str(fat))
    assert r.returncode == 0, r.stdout + r.stderr
    listing = run("mdir", "-/", "-b", "-i", str(fat), "::/").stdout.decode().split()
    assert "::/New" in listing and "Box" in listing and "Folder/y/z/f" in listing, listing
    bb = tmp / "busybox"
    run("debugfs", "-R", f"dump /bin/busybox {bb}", str(root))
    copied = run("mtype", "-i", str(fat), "::/New Folder/deeper/Busy Box").stdout
    assert copied == bb.read_bytes()
    assert run("mtype", "-i", str(fat), "::/New Folder/Moved.txt").stdout == b"short\n"
