"""File handles (name_to_handle_at, open_by_handle_at: CONFIG_FHANDLE) in moss-py against
Linux booted in QEMU. fhandle.c mounts a tmpfs of its own (shmem's handles: type 1, 12 bytes)
and prints sizes, types, errnos and what reopening by handle finds; handle bytes are random
generations, so only their sizes and comparisons are printed. It unmounts what it made."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

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
