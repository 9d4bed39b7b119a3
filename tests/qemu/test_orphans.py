"""Orphans and their new parent, as Linux's exit path (forget_original_parent): each C
program prints what it checks and the output must be Linux's (the oracle boots Linux 6.1)."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("prctl", "clone", "wait4", "waitid")
def test_orphans_go_to_the_subreaper_with_sigchld_as_their_exit_signal(linux_oracle):
    """A clone child with exit signal 0 left a zombie that no plain wait(2) found: stress-ng's
    clone stressor left hundreds in moss-host, their address spaces with them."""
    out = same_as_linux(linux_oracle, "orphan_reaper")
    assert "reaped C: exit 7\nreaped D: exit 9\nthen waitpid(-1): No child processes" in out
