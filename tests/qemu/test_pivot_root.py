"""pivot_root in moss-py against Linux booted in QEMU (it needs root: qemu-aarch64 on the
host is no oracle here).

pivot_root.c runs in a child that has its own mount namespace (unshare(CLONE_NEWNS)), so the
parent (and the oracle) sees none of it afterwards: the errnos in Linux's order
(the initramfs root refuses any pivot), a pivot from a chroot into a tmpfs with a submount,
MS_MOVE of the old root with its submounts, and pivot_root(".", ".").
"""
import pytest

from tests.covers import covers

from .conftest import moss_run

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("pivot_root", "mount", "umount2", "unshare")
def test_pivot_root_matches_linux(linux_oracle):
    out, err, status = linux_oracle.run3("/tests/pivot_root")
    moss = moss_run("/tests/pivot_root")
    assert status == 0, err
    assert "pivot: 0" in out and "child: 0" in out
    assert moss.stdout.decode() == out
    assert moss.returncode == 0
