"""Namespaces in moss-py against Linux booted in QEMU (they need root: qemu-aarch64 on the host
is no oracle here). The programs change namespaces only in children that exit, so the oracle
is left as it was.

ns_uts.c: unshare(CLONE_NEWUTS) and clone(CLONE_NEWUTS) give a child its own host and domain
names (uname, sethostname, setdomainname, /proc/sys/kernel/hostname), inherited by its
children and invisible to the parent; setns through a pidfd joins one; clone(CLONE_NEWNS) a
mount namespace of its own; copy_process's flag checks and EPERM without CAP_SYS_ADMIN.
"""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("unshare", "clone", "setns", "uname", "sethostname", "setdomainname", "mount")
def test_uts_and_mount_namespaces_of_children_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "ns_uts", status=0)
    assert "child: uname host=expected domain=expected proc=expected" in out
    assert "parent at end: uname host=expected domain=expected proc=expected" in out
    assert "parent sees inner: ENOENT" in out
