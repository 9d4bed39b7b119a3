"""Kernel bugs stress-ng found (`just stress`), each reduced to a C program whose output must
be Linux's (the oracle boots Linux 6.1 in the same QEMU)."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("clone", "wait4")
def test_clone_with_an_exit_signal_above_64_sends_nothing_and_the_parent_waits_with_wall(linux_oracle):
    out = same_as_linux(linux_oracle, "clone_exit_signal")
    assert "exit signal 100: waitpid without __WALL: ECHILD" in out
    assert "waitpid __WALL: the child, exited 1, status 100, signals seen 0" in out
