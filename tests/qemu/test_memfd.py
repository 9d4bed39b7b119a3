"""memfd_create and file seals in a real program (tests/programs/memfd_basic.c), run by moss-py and
by Linux 6.1 booted in the same QEMU (the `linux_oracle` fixture): flag and name checks, the
/proc/self/fd link, MAP_SHARED across fork and through a /proc/self/fd reopen, and every seal."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


@covers("memfd_create", "fcntl", "mmap", "ftruncate", "pwrite64", "readlinkat")
def test_memfd_create_mappings_reopen_and_seals_as_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "memfd_basic", status=0)
    assert "link: /memfd:test (deleted)" in out
    assert "parent sees: from the child" in out
    assert "first mapping sees: via the reopen" in out
    assert "F_SEAL_WRITE with a shared writable mapping: EBUSY" in out
    assert out.endswith("done\n")
