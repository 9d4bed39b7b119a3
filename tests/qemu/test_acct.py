"""BSD process accounting in moss-py against Linux booted in QEMU (acct(2) needs root, and the
records are the kernel's own). acct.c switches accounting off again at its end."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("acct")
def test_acct_checks_and_one_record_per_process_match_linux(linux_oracle):
    """acct(2)'s errors, then the struct acct_v3 of four processes: exit 3, SIGTERM, SIGSEGV
    with a core, an exec -- flags (AFORK, AXSIG, ACORE), exit code, ids, command name, times."""
    out = same_as_linux(linux_oracle, "acct", status=0)
    assert "exit 3: version 3 flags 0x1 exitcode 0x300 uid 0 gid 0 ppid ok 1 comm acct" in out
    assert "SIGSEGV: version 3 flags 0x19 exitcode 0x8b" in out
    assert "exec: version 3 flags 0 exitcode 0 uid 0 gid 0 ppid ok 1 comm true" in out
