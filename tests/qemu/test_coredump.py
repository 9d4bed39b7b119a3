"""Core dumps in moss-py against Linux booted in QEMU: coredump.c reads the core its child
left as gdb would (headers, notes, memory)."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("setrlimit", "kill")
def test_a_core_dump_has_the_notes_and_memory_gdb_reads_as_on_linux(linux_oracle):
    """SIGSEGV with RLIMIT_CORE unlimited: "core dumped" and a 0600 ELF core whose notes hold
    each thread's PRSTATUS (signal, ids, pc), PRPSINFO, SIGINFO, AUXV, FILE, PRFPREG (a vector
    register the child set), ARM_TLS, and whose PT_LOADs hold a global, the heap and zeros for
    a page never touched; no core under RLIMIT_CORE 0 or for SIGTERM; abort() dumps."""
    out = same_as_linux(linux_oracle, "coredump", status=0)
    assert "segv: signaled 1 sig SEGV core 1\n" in out
    assert "pc in crash_here 1\n" in out and "  PRFPREG (528 bytes): v7 42\n" in out
    assert "  memory: global 1 heap 1 untouched page zeros 1\n" in out
    assert "segv, RLIMIT_CORE 0: signaled 1 sig SEGV core 0\n  core file: ENOENT\n" in out
