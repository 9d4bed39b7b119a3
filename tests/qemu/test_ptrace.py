"""ptrace(2) in real programs (tests/programs/ptrace_*.c), compared with Linux 6.1 booted in
the same QEMU (the `linux_oracle` fixture): TRACEME and the exec SIGTRAP, PEEK/POKE
(a POKETEXT into code that already ran takes effect), the register sets, syscall stops
with TRACESYSGOOD (skip with -1, x0 changed at exit, x7 = 0/1), signal-delivery stops,
SEIZE/INTERRUPT/LISTEN, group-stop reporting, TRACEFORK auto-attach, the exec event,
detaching while stopped, EXITKILL, and the errno order of the checks. The programs print
no pids or addresses.
"""

import pytest

from tests.covers import covers

from .conftest import same_as_linux
from .linux_oracle import linux_oracle  # noqa: F401  (fixture)

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("ptrace")
def test_traceme_peek_poke_regsets_and_syscall_stops_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "ptrace_basic")
    assert "child: patched() after = 2\n" in out            # the breakpoint-style POKETEXT took effect
    assert "child: skipped getppid = 12345\n" in out
    assert "child: getpid = 777\n" in out
    assert out.endswith("CONT after exit: -1 errno 3\n")


@pytest.mark.differential
@covers("ptrace")
def test_seize_interrupt_listen_group_stop_fork_exec_events_detach_and_exitkill_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "ptrace_seize")
    assert "group stop: stopped sig 19 event 128\n" in out
    assert "fork event: stopped sig 5 event 1\n" in out
    assert "exec event: stopped sig 5 event 4\n" in out
    assert "tracee: grandchild exited 3\n" in out
    assert out.endswith("victim: killed by 9\n")


@pytest.mark.differential
@covers("ptrace")
def test_ptrace_errors_come_in_linux_order(linux_oracle):
    out = same_as_linux(linux_oracle, "ptrace_errors")
    assert "uid 1000: ATTACH non-dumpable        -1 EPERM\n" in out
    assert out.endswith("traced child exited 0\ndone\n")


@pytest.mark.differential
@covers("process_vm_readv", "process_vm_writev")
def test_process_vm_readv_and_writev_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "process_vm")
    assert "got EDGEDATA\n" in out                  # a short copy up to the unmapped page
    assert out.endswith("child sees: the SECRETs secret: 0123456789\n")
