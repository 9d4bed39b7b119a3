"""An ext4 disk image as the root: changes persist across boots and e2fsck stays clean.

What the programs print is Linux's: the same disk image, loop-mounted in Linux (ext4 and loop
loaded, see linux_fs_oracle.py) and made the root of a chroot with /dev and /proc, runs the
same scripts; each of moss's boots is one mount of the image there.
"""
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.covers import covers

from .conftest import REPO, moss_run
from .linux_fs_oracle import MOSS_ENV, linux_with_files

pytestmark = pytest.mark.qemu

DISK = REPO / "build" / "rootfs.ext4"


@pytest.fixture
def disk(tmp_path) -> Path:
    if not DISK.exists():
        pytest.fail("build/rootfs.ext4 is missing: run `just build`")
    img = tmp_path / "root.ext4"
    shutil.copyfile(DISK, img)
    return img


@pytest.fixture(scope="module")
def linux_disk():
    """Linux with a pristine copy of the disk at /root.ext4 (one VM for the module)."""
    if not DISK.exists():
        pytest.fail("build/rootfs.ext4 is missing: run `just build`")
    with linux_with_files({"/root.ext4": DISK}) as vm:
        yield vm


def on_disk(img: Path, script: str) -> subprocess.CompletedProcess:
    return moss_run("/bin/sh", "-c", script, image=None, extra=("--disk", str(img)))


def on_linux(vm, *boots: str, setup: str = "") -> list[tuple[str, int]]:
    """Each script run as one boot of a fresh copy of the disk: (stdout, status) each.
    `setup` runs in the oracle's shell with the disk mounted on $R before the first boot."""
    mount = ("losetup /dev/loop0 /tmp/disk.ext4 && mount -t ext4 /dev/loop0 $R && "
             "mount -t devtmpfs dev $R/dev && mount -t proc proc $R/proc")
    umount = "umount $R/proc $R/dev $R && losetup -d /dev/loop0"
    out, err, status = vm.run3(f"R=/mnt/root; mkdir -p $R && cp /root.ext4 /tmp/disk.ext4 && {mount} && "
                               f"{setup or ':'}; {umount}")
    assert status == 0, err
    results = []
    for script in boots:
        out, err, status = vm.run3(f"R=/mnt/root; {mount} && chroot $R {MOSS_ENV} /bin/sh -c "
                                   f"{shlex.quote(script)}; s=$?; {umount}; exit $s")
        results.append((out, status))
    vm.run3("rm -f /tmp/disk.ext4")
    return results


def assert_fsck_clean(img: Path) -> None:
    r = subprocess.run(["e2fsck", "-fn", str(img)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.differential
@covers("openat", "write", "mkdirat", "symlinkat", "unlinkat", "renameat2")
def test_files_written_in_one_boot_are_there_in_the_next(disk, linux_disk):
    first = ("echo hello > /root/note; mkdir -p /data/a/b; cp /bin/busybox /data/a/b/bb; "
             "ln -s /root/note /data/link; mv /data/a/b/bb /data/bb2; echo done")
    second = "cat /data/link; cmp /data/bb2 /bin/busybox && echo same; ls /data/a/b | wc -l"
    linux = on_linux(linux_disk, first, second)
    r = on_disk(disk, first)
    assert (r.stdout.decode(), r.returncode) == linux[0], r.stderr
    assert_fsck_clean(disk)
    r = on_disk(disk, second)
    assert (r.stdout.decode(), r.returncode) == linux[1], r.stderr
    assert "same" in linux[1][0]
    assert_fsck_clean(disk)


@pytest.mark.differential
def test_busybox_file_tools_work_on_the_disk_and_leave_it_clean(disk, linux_disk):
    script = ("mkdir -p /w/x/y && cd /w && for i in 1 2 3 4 5; do echo $i > x/y/f$i; done && "
              "tar cf /w/t.tar x && mkdir u && cd u && tar xf ../t.tar && find /w/u -type f | sort && "
              "du -s /w/u > /dev/null && rm -r /w/x && ls /w && cat /w/u/x/y/f3")
    linux = on_linux(linux_disk, script, "rm -r /w; ls /")
    r = on_disk(disk, script)
    assert (r.stdout.decode(), r.returncode) == linux[0], r.stderr
    assert "/w/u/x/y/f5" in linux[0][0]
    assert_fsck_clean(disk)
    r = on_disk(disk, "rm -r /w; ls /")
    assert (r.stdout.decode(), r.returncode) == linux[1], r.stderr
    assert_fsck_clean(disk)


def test_a_disk_without_ext4_is_a_readable_error(tmp_path):
    img = tmp_path / "junk.img"
    img.write_bytes(b"\0" * (1 << 20))
    r = moss_run("/bin/true", image=None, extra=("--disk", str(img)))
    assert r.returncode == 125
    assert b"Traceback" not in r.stderr
    assert b"no ext2/3/4 filesystem" in r.stderr


def test_a_missing_disk_is_a_readable_error(tmp_path):
    r = moss_run("/bin/true", image=None, extra=("--disk", str(tmp_path / "nope.img")))
    assert r.returncode == 125 and b"does not exist" in r.stderr and b"Traceback" not in r.stderr


@pytest.mark.differential
def test_an_unlinked_open_file_lives_until_its_last_close(disk, linux_disk):
    script = 'echo "still here" > /f; exec 3< /f; rm /f; cat <&3; exec 3<&-; ls /f 2>/dev/null || echo gone'
    [linux] = on_linux(linux_disk, script)
    r = on_disk(disk, script)
    assert (r.stdout.decode(), r.returncode) == linux, r.stderr
    assert "still here" in linux[0]
    assert_fsck_clean(disk)


@pytest.mark.differential
def test_shared_file_mappings_write_back_to_ext4(disk, linux_disk):
    prog = REPO / "build" / "programs" / "mmap_shared_file"
    subprocess.run(["debugfs", "-w", "-R", f"write {prog} /mmap_shared_file", str(disk)],
                   check=True, capture_output=True)
    script = "chmod 755 /mmap_shared_file && /mmap_shared_file"
    [linux] = on_linux(linux_disk, script, setup="cp /tests/mmap_shared_file $R/")
    r = on_disk(disk, script)
    assert (r.stdout.decode(), r.returncode) == linux, r.stderr
    assert "after a child's exit" in linux[0]
    assert_fsck_clean(disk)
