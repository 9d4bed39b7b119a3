"""A read asleep on an empty pipe without an asyncio job (fs/pipe.py ParkedRead) and every way
its sleep ends -- a write of several pages (read whole), the last writer's close, vmsplice,
splice, a reader freeing a page for a blocked writer, a ping-pong, a signal (EINTR) --
compared with Linux booted in the same QEMU (tests/programs/pipe_park.c)."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


@covers("read", "write", "pipe2", "vmsplice", "splice")
def test_parked_pipe_reads_end_as_on_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "pipe_park")
    assert "ping-pong 200: 0 wrong" in out and "one write of 10000: read 10000" in out
