"""Capabilities in moss-py against Linux 6.1 booted in the same QEMU: caps.c, run as root,
prints the sets after capget/capset, uid changes, keepcaps, ambient raises, bounding-set drops
and no_new_privs, and what exec'ed helpers (itself, set-user-ID copies, a copy with file
capabilities) hold."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("capget", "capset", "prctl")
def test_capability_sets_move_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "caps", status=0)
    assert "chown without CAP_CHOWN: EPERM" in out
    assert "child CapAmb:\t0000000000002000" in out


@pytest.mark.differential
@covers("capget", "execve", "prctl")
def test_set_user_id_and_file_capability_programs_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "caps", "setid", status=0)
    assert "child uids 2000 0 0" in out
