"""One page cache for everyone (issue 11 item 6): file mappings in several processes, read(2)
and write(2) see the same pages at once; shared futexes meet in the backing object; the data
is in the file on disk after fsync. Compared with Linux booted in the same QEMU."""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.covers import covers

from .conftest import REPO, same_as_linux
from .test_disk import assert_fsck_clean, disk, linux_disk, on_disk, on_linux  # noqa: F401 (fixtures)

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("mmap", "munmap", "msync", "pread64", "pwrite64", "ftruncate", "futex", "fsync", "execve")
def test_mappings_read_and_write_share_one_page_cache(linux_oracle):
    out = same_as_linux(linux_oracle, "mmap_coherent", status=0)
    assert '"child-store"' in out and "wakes the exec'd child:    1" in out


@pytest.mark.differential
def test_mapping_stores_reach_the_ext4_image_at_fsync(disk, linux_disk, tmp_path):
    prog = REPO / "build" / "programs" / "mmap_coherent"
    subprocess.run(["debugfs", "-w", "-R", f"write {prog} /mmap_coherent", str(disk)],
                   check=True, capture_output=True)
    run = "chmod 755 /mmap_coherent && /mmap_coherent /root"
    check = "md5sum < /root/coherent"
    linux_run, linux_check = on_linux(linux_disk, run, check, setup="cp /tests/mmap_coherent $R/")
    moss = on_disk(disk, run)
    assert (moss.stdout.decode(), moss.returncode) == linux_run, moss.stderr
    assert_fsck_clean(disk)
    dumped = tmp_path / "coherent"
    subprocess.run(["debugfs", "-R", f"dump /root/coherent {dumped}", str(disk)], check=True, capture_output=True)
    assert f"{hashlib.md5(Path(dumped).read_bytes()).hexdigest()}  -\n" == linux_check[0]


@pytest.mark.differential
@covers("pwrite64", "mmap")
def test_code_rewritten_by_pwrite_runs_new_in_every_mapping(linux_oracle):
    """DESIGN hazard 1: the host must not store new code into a frame QEMU has translated.
    (qemu-aarch64 is no oracle here: it keeps its own stale translations and prints 1111.)"""
    out = same_as_linux(linux_oracle, "codeswap_write", status=0)
    assert "shared after a second pwrite: 3333" in out
