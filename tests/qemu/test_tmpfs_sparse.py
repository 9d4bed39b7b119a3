"""Sparse tmpfs files in moss-py against Linux booted in QEMU (tmpfs_sparse.c mounts a tmpfs
of its own: root only)."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("lseek", "pwrite64", "ftruncate", "statfs")
def test_a_tmpfs_file_written_far_past_its_end_holds_only_its_pages_as_on_linux(linux_oracle):
    """st_blocks and statfs count the pages written, the hole reads as zeros, SEEK_DATA and
    SEEK_HOLE find the pages, truncation drops those past the new end."""
    out = same_as_linux(linux_oracle, "tmpfs_sparse", status=0)
    assert out.startswith("size 314572803 blocks 32 used pages 4\n")
    assert "at 104865792: data 314572800 hole 104865792\n" in out and "all given back: 1\n" in out
    # a hole of one page between two written ones: not held, and found by SEEK_HOLE/SEEK_DATA
    assert "small holes: size 20491 blocks 24 used pages 3\n" in out
    assert "at 4096: data 8192 hole 4096\n" in out and "filled: blocks 32, hole from 0: 12288\n" in out
