"""The memory and process calls Debian's programs make on the way (mremap, madvise, the mlock
family, mincore, fadvise64, getpriority/setpriority, personality, syslog), each program's output
compared with Linux 6.1 booted in the same QEMU (the `linux_oracle` fixture)."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("mremap")
def test_mremap_shrinks_grows_and_moves_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "mm_remap", status=0)
    assert "grow by moving: moved 1, kept 1, tail zero 1, old gone 1" in out
    assert "dontunmap private: moved 1, kept 1, old mapped 1, old zero 1" in out


@pytest.mark.differential
@covers("madvise", "mlock", "mlock2", "munlock", "mlockall", "munlockall", "mincore", "fadvise64",
        "getpriority", "setpriority", "personality", "syslog")
def test_advice_locking_priority_personality_and_syslog_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "mm_calls", status=0)
    assert "after dontneed: resident 32, x 0 x" in out and "user lowering nice: EACCES" in out
    assert "personality query again: 262144" in out and "fadvise pipe: ESPIPE" in out
