"""copy_file_range(2) against Linux 6.1 booted in QEMU: copies with and without offset
pointers, the count cut at the source's end, and every error in Linux's order
(tests/programs/copy_file_range.c). Debian's cp uses it for each file (test_debian.py's
cp -a compares the copies' bytes)."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("copy_file_range")
def test_copy_file_range_copies_and_fails_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "copy_file_range", "/tmp", status=0)
    assert "whole file: 10000\n" in out and "source on procfs: -1 EXDEV\n" in out
