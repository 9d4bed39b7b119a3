"""File handles (name_to_handle_at, open_by_handle_at: CONFIG_FHANDLE) in moss-py against
Linux booted in QEMU. fhandle.c mounts a tmpfs of its own (shmem's handles: type 1, 12 bytes)
and prints sizes, types, errnos and what reopening by handle finds; handle bytes are random
generations, so only their sizes and comparisons are printed. It unmounts what it made.
With `ext4 DIR` it does the same on an ext4 filesystem (handles of inode number and
i_generation, 8 bytes) and ext4_nfs_get_inode's stale cases."""
import shutil
import subprocess

import pytest

from tests.covers import covers

from .conftest import image_with, moss_run, same_as_linux
from .linux_fs_oracle import linux_with_files

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("name_to_handle_at", "open_by_handle_at")
def test_file_handles_name_and_reopen_files_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "fhandle", status=0)
    assert "tmpfs file: type 1, 12 bytes" in out and "mount id equals mountinfo's: yes" in out
    assert "size probe (room 0): EOVERFLOW, handle_bytes 12, type 255" in out
    assert "open on the mount: opened, file, read \"hello\"" in out
    assert "recreated under the same name: ESTALE" in out and "/proc/self/status: EOPNOTSUPP" in out
    assert "open_by_handle_at EPERM" in out


@pytest.mark.differential
@covers("name_to_handle_at", "open_by_handle_at")
def test_ext4_file_handles_carry_inode_and_generation_like_linux(tmp_path):
    # The same fresh ext4 image mounted through a loop device in both kernels: Linux by
    # BusyBox's mount -o loop, moss-py (which has no /dev/loopN) by mount(2)'s "loop" option.
    if not shutil.which("mkfs.ext4") or not shutil.which("cpio"):
        pytest.fail("mkfs.ext4 and cpio are needed (scripts/setup.sh)")
    img = tmp_path / "e.img"
    img.write_bytes(bytes(8 << 20))
    subprocess.run(["mkfs.ext4", "-q", "-F", str(img)], check=True)
    with linux_with_files({"/e.img": img}) as vm:
        linux, err, status = vm.run3("mkdir -p /mnt/e && mount -o loop -t ext4 /e.img /mnt/e && "
                                     "/tests/fhandle ext4 /mnt/e; s=$?; umount /mnt/e; exit $s")
    assert status == 0, linux + err
    moss = moss_run("/bin/sh", "-c", "mkdir -p /mnt/e && /tests/fhandle mountloop /e.img /mnt/e && "
                    "/tests/fhandle ext4 /mnt/e; s=$?; umount /mnt/e; exit $s",
                    image=image_with(tmp_path, {"e.img": img}))
    assert moss.stdout.decode() == linux, moss.stderr.decode(errors="replace")[-3000:]
    assert moss.returncode == 0
    assert "ext4 file: type 1, 8 bytes" in linux and "root's inode number: 2" in linux
    assert "generation changed: ESTALE" in linux and "old handle: ESTALE" in linux
