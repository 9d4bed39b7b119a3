"""Resource limits that hold, as Linux's: each C program prints what it checks and the
output must be Linux's (the oracle boots Linux 6.1 in the same QEMU)."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("prlimit64")
def test_rlimit_cpu_sends_sigxcpu_every_second_then_sigkill_at_the_hard_limit(linux_oracle):
    out = same_as_linux(linux_oracle, "limit_cpu")
    assert "caught: SIGXCPU seen with soft limits [23], killed by Killed" in out
    assert "default: SIGXCPU seen with soft limits [], killed by CPU time limit exceeded" in out


@pytest.mark.differential
@covers("prlimit64", "clone")
def test_a_fork_bomb_under_rlimit_nproc_ends_in_eagain_and_forking_works_after(linux_oracle):
    out = same_as_linux(linux_oracle, "limit_nproc")
    assert "fork 20: EAGAIN" in out and "child status: 7" in out


@pytest.mark.differential
@covers("prlimit64", "write", "pwrite64", "writev", "ftruncate", "truncate")
def test_rlimit_fsize_cuts_writes_then_efbig_and_sigxfsz(linux_oracle):
    out = same_as_linux(linux_oracle, "limit_fsize")
    assert "write past: -1 EFBIG" in out and "default action: killed by File size limit exceeded" in out


@pytest.mark.differential
@covers("prlimit64", "mmap")
def test_rlimit_as_rlimit_data_and_overcommit_refuse_mappings_as_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "limit_as")
    assert "1 TiB private rw: -1 ENOMEM" in out and "DATA: 128 MiB private rw: -1 ENOMEM" in out


@pytest.mark.differential
@covers("prlimit64", "dup", "dup3", "fcntl", "timerfd_create", "ppoll")
def test_rlimit_nofile_raised_and_lowered_is_what_new_descriptors_meet(linux_oracle):
    out = same_as_linux(linux_oracle, "limit_nofile")
    assert "dups: 1500, the last is past 1024: yes" in out and "timerfd past 1024: yes" in out
    assert "open above the lowered limit: -1 EMFILE" in out and "child: 52 more opens, then EMFILE" in out


@pytest.mark.differential
@covers("prlimit64", "getrlimit", "setrlimit", "brk", "mremap", "rt_sigqueueinfo", "mq_open")
def test_prlimit_of_another_process_data_and_as_for_brk_and_mremap_sigpending_and_msgqueue_as_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "limit_misc")
    assert "the child sees {100, 200}" in out and "nobody reads its parent's: Operation not permitted" in out
    assert "DATA 4 MiB: sbrk(8 MiB) Cannot allocate memory" in out and "AS 1 GiB: mremap 2 MiB -> 3 GiB Cannot" in out
    assert "sigqueue(SIGRTMIN) 3: Resource temporarily unavailable" in out
    assert "default queue 2: Too many open files" in out and "closed too, then: ok" in out


@pytest.mark.differential
@covers("kill", "rt_sigqueueinfo", "tgkill", "rt_sigtimedwait", "setrlimit", "timer_create", "timer_delete", "execve")
def test_rlimit_sigpending_kill_still_delivers_without_siginfo_sigqueue_fails_as_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "limit_sigpending")
    assert "limit 3: sigqueue(SIGRTMIN+1): Resource temporarily unavailable" in out
    assert "limit 0: SIGRTMIN+0 SI_USER from pid 0" in out
    assert "limit 2: timer_create 2: Resource temporarily unavailable" in out
    assert "limit 1: timer_create after exec: ok" in out


@pytest.mark.differential
@covers("setrlimit")
def test_stack_growth_stops_at_rlimit_stack_lowered_at_run_time_and_at_rlimit_as(linux_oracle):
    out = same_as_linux(linux_oracle, "limit_stack")
    assert out.count("SIGSEGV SEGV_MAPERR, where expected") == 3 and "AS 4 MiB above it: 2 MiB of stack" in out


@pytest.mark.differential
@covers("prlimit64", "setrlimit")
def test_wcoredump_only_when_rlimit_core_reaches_a_page_and_the_process_is_dumpable(linux_oracle):
    out = same_as_linux(linux_oracle, "limit_core")
    assert "limit 4095                   Aborted, WCOREDUMP 0" in out
    assert "limit 4096                   Aborted, WCOREDUMP 1" in out
    assert "unlimited, not dumpable      Aborted, WCOREDUMP 0" in out


@pytest.mark.differential
@covers("setrlimit", "sched_setscheduler")
def test_rlimit_rttime_signals_a_real_time_task_that_runs_without_sleeping(linux_oracle):
    out = same_as_linux(linux_oracle, "limit_rttime")
    assert "spinning: SIGXCPU 2 times, then Killed" in out
    assert "every 30 ms: SIGXCPU 0 times, then exit 0" in out
    assert "stopped, continued, 300 ms: SIGXCPU 0 times, then exit 0" in out
