"""The sched_* family, getcpu and membarrier (tests/programs/sched_calls.c): affinity masks,
policies and priorities with their errnos, SCHED_RESET_ON_FORK across fork, sched_yield
between two processes, and membarrier's registration rules, compared with Linux 6.1 booted
in the same QEMU (the `linux_oracle` fixture; one CPU in both)."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_setparam",
        "sched_getscheduler", "sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
        "sched_rr_get_interval", "getcpu", "membarrier")
def test_sched_calls_getcpu_and_membarrier_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "sched_calls", status=0)
    assert "setaffinity 2: EINVAL" in out and "user setaffinity root's: EPERM" in out
    assert "child of rr reset: policy 0, param 0 prio 0" in out
    assert "yield child wrote 3" in out and "private expedited: EPERM" in out
