"""The file-descriptor mount API in moss-py against Linux booted in QEMU (it needs root:
qemu-aarch64 on the host is no oracle here).

fsmount.c walks a tmpfs through fsopen, fsconfig, fsmount and move_mount, reconfigures it
through the fs fd and fspick, clones trees with open_tree and changes mount attributes with
mount_setattr, printing each result or errno and the statfs flags and /proc/mounts lines
that show the effect. It unmounts what it made (and puts the oracle's root back).
"""
import pytest

from tests.covers import covers

from .conftest import moss_run

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("fsopen", "fsconfig", "fsmount", "move_mount", "open_tree", "fspick", "mount_setattr")
def test_fd_mount_api_matches_linux(linux_oracle):
    out, err, status = linux_oracle.run3("/tests/fsmount")
    # The program works under /tmp, which the oracle's /init mounts as a tmpfs; give
    # moss-py's run the same /tmp first.
    moss = moss_run("/bin/sh", "-c", "mount -t tmpfs tmpfs /tmp && exec /tests/fsmount")
    assert status == 0, err
    assert "move_mount attach: 0" in out
    assert moss.stdout.decode() == out
    assert moss.returncode == 0
