"""openat2 in moss-py against Linux booted in QEMU (the program mounts a tmpfs, so it needs
root: qemu-aarch64 on the host is no oracle here).

openat2.c prints, for each open_how, the path the new descriptor names or the errno: the
struct's size rules, the flag checks in build_open_flags' order, and each RESOLVE_* flag
(fs/resolve.py) on symlinks, magic links, mount points, "..", absolute paths.
"""
import pytest

from tests.covers import covers

from .conftest import moss_run

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("openat2")
def test_openat2_matches_linux(linux_oracle):
    out, err, status = linux_oracle.run3("/tests/openat2")
    # The program works under /tmp, which the oracle's /init mounts as a tmpfs; give
    # moss-py's run the same /tmp first.
    moss = moss_run("/bin/sh", "-c", "mount -t tmpfs tmpfs /tmp && exec /tests/openat2")
    assert status == 0, err
    assert "NO_XDEV mnt/m: EXDEV" in out
    assert moss.stdout.decode() == out
    assert moss.returncode == 0
