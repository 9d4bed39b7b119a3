"""machine/hugeram.py: guest RAM goes to the huge-page tmpfs only when it really is one."""
import mmap
import os
import tempfile
from pathlib import Path

import pytest

from moss_host.machine.hugeram import HUGE_PAGE, check_huge, huge_mapped, mounted_huge, other_guests

DIR = Path("/run/moss-py-ram")


def test_a_tmpfs_mounted_huge_always_or_within_size_is_used():
    assert mounted_huge(DIR, "moss-py-ram /run/moss-py-ram tmpfs rw,relatime,huge=always 0 0\n")
    assert mounted_huge(DIR, "x /run/moss-py-ram tmpfs rw,huge=within_size,size=1G 0 0")


def test_no_mount_a_plain_tmpfs_or_another_filesystem_is_not():
    assert not mounted_huge(DIR, "tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0\n")
    assert not mounted_huge(DIR, "x /run/moss-py-ram tmpfs rw,relatime 0 0")
    assert not mounted_huge(DIR, "x /run/moss-py-ram tmpfs rw,huge=never 0 0")
    assert not mounted_huge(DIR, "/dev/sda1 /run/moss-py-ram ext4 rw,huge=always 0 0")
    assert not mounted_huge(DIR, "")


def _ram(folder: Path, size: int) -> mmap.mmap:
    fd = os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, size)
        return mmap.mmap(fd, size, mmap.MAP_SHARED)
    finally:
        os.close(fd)


def test_ram_outside_the_huge_tmpfs_is_not_probed():
    ram = _ram(Path(tempfile.gettempdir()), 4 * HUGE_PAGE)
    assert check_huge(ram, Path(tempfile.gettempdir())) is False
    ram.close()


@pytest.mark.skipif(not mounted_huge(DIR, Path("/proc/self/mounts").read_text()),
                    reason="no huge-page tmpfs (scripts/setup.sh mounts one as root)")
def test_on_the_huge_tmpfs_the_top_2_mib_is_one_host_page():
    before = huge_mapped()
    ram = _ram(DIR, 4 * HUGE_PAGE)
    assert check_huge(ram, DIR) is True
    assert huge_mapped() >= before + HUGE_PAGE
    ram.close()


@pytest.mark.skipif(not mounted_huge(DIR, Path("/proc/self/mounts").read_text()),
                    reason="no huge-page tmpfs (scripts/setup.sh mounts one as root)")
def test_other_guests_counts_the_unnamed_ram_files_on_the_huge_tmpfs():
    # Other guests may run on this machine meanwhile: compare with a count taken around ours.
    ours = os.open(DIR, os.O_TMPFILE | os.O_RDWR, 0o600)
    try:
        seen = other_guests(DIR, own_unnamed=True)
        another = os.open(DIR, os.O_TMPFILE | os.O_RDWR, 0o600)
        try:
            assert other_guests(DIR, own_unnamed=True) >= 1
            assert other_guests(DIR, own_unnamed=True) in (seen + 1, seen, seen + 2)
        finally:
            os.close(another)
    finally:
        os.close(ours)
    assert other_guests(Path(tempfile.gettempdir()), own_unnamed=False) == 0


@pytest.mark.skipif(not mounted_huge(DIR, Path("/proc/self/mounts").read_text()),
                    reason="no huge-page tmpfs (scripts/setup.sh mounts one as root)")
def test_4k_pages_on_the_huge_tmpfs_are_said_once(monkeypatch, caplog):
    from moss_host.machine import hugeram
    monkeypatch.setattr(hugeram, "huge_mapped", lambda: 0)     # as a fragmented host answers
    ram = _ram(DIR, 2 * HUGE_PAGE)
    with caplog.at_level("INFO", logger="moss.machine"):
        assert hugeram.check_huge(ram, DIR) is False
    assert [r.getMessage() for r in caplog.records if "4 KiB host pages" in r.getMessage()]
    ram.close()
