"""Issue 18's trap path where it changes what a syscall does (helper T7): write(2) to the
memory devices answered without reading the buffer (the synchronous try), compared with
Linux 6.1 booted in the same QEMU (the `linux_oracle` fixture)."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("write", "inotify_add_watch")
def test_writes_to_the_memory_devices_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "devnull_write", status=0)
    assert "null unmapped buffer: 4096" in out and "null kernel address: EFAULT" in out
    assert "full: ENOSPC" in out and "null read-only fd: EBADF" in out
