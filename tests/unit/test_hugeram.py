"""machine/hugeram.py: guest RAM goes to the huge-page tmpfs only when it really is one."""
from pathlib import Path

from moss_host.machine.hugeram import mounted_huge

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
