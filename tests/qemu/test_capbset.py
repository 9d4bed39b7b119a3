"""prctl(PR_CAPBSET_READ) against Linux 6.1 booted in QEMU (tests/programs/capbset.c): the
bounding set is full for root and stays so after setuid; capabilities past CAP_LAST_CAP are
EINVAL. Debian's procps (ps, top) probe it through libcap at startup."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("prctl")
def test_capbset_read_answers_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "capbset", status=0)
    assert "40=1 41=EINVAL" in out and out.count("last=40") == 2
