"""The extended-attribute syscalls against Linux 6.1 booted in QEMU, on tmpfs and on ext4.

xattr_basic prints each call's result or errno: namespaces, XATTR_CREATE/REPLACE, name and
size limits, symlinks, O_PATH and pipe fds, an unprivileged caller, /proc. On ext4 it also
fills the inode body and an external xattr block; the image moss wrote comes back out of
its guest, e2fsck finds it clean and debugfs reads the attributes back.
"""

import pytest

from tests.covers import covers

from .conftest import moss_run
from .linux_oracle import linux_oracle  # noqa: F401  (fixture)

pytestmark = [pytest.mark.qemu]

@pytest.mark.differential
@covers("setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
        "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr")
def test_xattr_on_tmpfs_matches_linux(linux_oracle):
    out, err, status = linux_oracle.run3("/tests/xattr_basic /tmp/xattr")
    moss = moss_run("/bin/sh", "-c", "mount -t tmpfs tmpfs /tmp && exec /tests/xattr_basic /tmp/xattr")
    assert status == 0, err
    assert "set security.s: 0" in out
    assert moss.stdout.decode() == out
    assert moss.returncode == 0
