"""seccomp filters in moss-py against Linux booted in QEMU (root and setuid are needed, so
qemu-aarch64 on the host is no oracle). seccomp_filter.c runs every case in a child.
"""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("seccomp", "prctl")
def test_seccomp_filters_checks_actions_inheritance_and_strict_mode_match_linux(linux_oracle):
    """The program's checks (errno order of a bad filter), each action and its siginfo, which
    of several filters wins, what a filter sees (nr, arch, pc, arguments), fork and execve
    keeping the filters, TSYNC, the path-length limit, strict mode, /proc/self/status."""
    out = same_as_linux(linux_oracle, "seccomp_filter", status=0)
    assert "  getppid: -1 EPERM, getpid ok: 1\n" in out
    assert "  SIGSYS: signo 31 code 1 errno 77 syscall 173 arch 0xc00000b7 call_addr set x0 11\n" in out
    assert "  getppid(11): 4242\n" in out
    assert "kill thread, two threads: exit 0\n" in out and "  main goes on\n" in out
    assert "  7 filters of 4096, then -1 ENOMEM\n" in out
    assert "  write allowed\nstrict: signal KILL" in out
    assert "  after exec: getppid -1 ENOENT, mode 2\n" in out
