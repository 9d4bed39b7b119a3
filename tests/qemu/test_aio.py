"""Linux native AIO in moss-py against Linux booted in QEMU (qemu-aarch64 answers AIO with the
host's own kernel, whose ring sizes and timing differ: no oracle here)."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents")
def test_native_aio_reads_writes_polls_and_the_ring_match_linux(linux_oracle):
    """aio.c: io_setup's checks and ring header, reads, writes, vectors and syncs completed
    through io_getevents and straight from the ring (as libaio reads it), each submit check's
    errno and a batch's partial count, IOCB_FLAG_RESFD, polls that wait and one cancelled,
    a signal ending a wait (EINTR), a fork's child without the context, io_destroy."""
    out = same_as_linux(linux_oracle, "aio", status=0)
    assert "ring: magic 0xa10a10a1 compat 1 incompat 0 header 32 head 0 tail 0 nr>=8 1\n" in out
    assert "  event data 100 iocb #0 res 8192 res2 0\n" in out
    assert "  reaped from the ring: 2, vec bcdef|ghijklm\n" in out
    assert "  after a write: 1 data 200 res 65\n" in out and "  cancel: -1 EINPROGRESS\n" in out
    assert "getevents interrupted: -1 EINTR\n" in out and "aio maps left: 0\n" in out
