"""An ext4 disk image as the root: changes persist across boots and e2fsck stays clean."""
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.covers import covers

from .conftest import REPO, moss_run

pytestmark = pytest.mark.qemu

DISK = REPO / "build" / "rootfs.ext4"


@pytest.fixture
def disk(tmp_path) -> Path:
    if not DISK.exists():
        pytest.fail("build/rootfs.ext4 is missing: run `just build`")
    img = tmp_path / "root.ext4"
    shutil.copyfile(DISK, img)
    return img


def on_disk(img: Path, script: str) -> subprocess.CompletedProcess:
    return moss_run("/bin/sh", "-c", script, image=None, extra=("--disk", str(img)))


def assert_fsck_clean(img: Path) -> None:
    r = subprocess.run(["e2fsck", "-fn", str(img)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@covers("openat", "write", "mkdirat", "symlinkat", "unlinkat", "renameat2")
def test_files_written_in_one_boot_are_there_in_the_next(disk):
    r = on_disk(disk, "echo hello > /root/note; mkdir -p /data/a/b; cp /bin/busybox /data/a/b/bb; "
                      "ln -s /root/note /data/link; mv /data/a/b/bb /data/bb2; echo done")
    assert r.stdout == b"done\n", r.stderr
    assert_fsck_clean(disk)
    r = on_disk(disk, "cat /data/link; cmp /data/bb2 /bin/busybox && echo same; ls /data/a/b | wc -l")
    assert r.stdout.decode().split() == ["hello", "same", "0"], r.stderr
    assert_fsck_clean(disk)


def test_busybox_file_tools_work_on_the_disk_and_leave_it_clean(disk):
    script = ("mkdir -p /w/x/y && cd /w && for i in 1 2 3 4 5; do echo $i > x/y/f$i; done && "
              "tar cf /w/t.tar x && mkdir u && cd u && tar xf ../t.tar && find /w/u -type f | sort && "
              "du -s /w/u > /dev/null && rm -r /w/x && ls /w && cat /w/u/x/y/f3")
    r = on_disk(disk, script)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode().split()
    assert out[:5] == [f"/w/u/x/y/f{i}" for i in range(1, 6)]
    assert out[5:] == ["t.tar", "u", "3"]
    assert_fsck_clean(disk)
    r = on_disk(disk, "rm -r /w; ls /")
    assert b"w\n" not in r.stdout
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


def test_an_unlinked_open_file_lives_until_its_last_close(disk):
    r = on_disk(disk, 'echo "still here" > /f; exec 3< /f; rm /f; cat <&3; exec 3<&-; ls /f 2>/dev/null || echo gone')
    assert r.stdout == b"still here\ngone\n", r.stderr
    assert_fsck_clean(disk)


def test_shared_file_mappings_write_back_to_ext4(disk):
    prog = REPO / "build" / "programs" / "mmap_shared_file"
    subprocess.run(["debugfs", "-w", "-R", f"write {prog} /mmap_shared_file", str(disk)],
                   check=True, capture_output=True)
    r = on_disk(disk, "chmod 755 /mmap_shared_file && /mmap_shared_file")
    assert r.returncode == 0, r.stderr
    assert 'file="HELLO WORLD, this is theFILE!"' in r.stdout.decode()
    assert_fsck_clean(disk)
