"""Sleeps and interval timers in the real kernel: tests/programs/sleep_*.c and itimer_*.c run by
moss-py, and the same binaries under qemu-aarch64 (Linux answers). Durations are checked inside
the programs against generous bounds and printed as ok/FAIL, never as raw timings; a literal
beside the comparison only shows that the program got far."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux, same_as_qemu_user

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


@covers("nanosleep", "clock_nanosleep", "clock_getres", "setitimer")
def test_sleeps_last_about_as_asked_and_reject_bad_arguments():
    assert "sleeping child killed by SIGALRM" in same_as_qemu_user("sleep_basic").stdout.decode()


@covers("setitimer", "getitimer")
def test_itimer_real_round_trips_counts_down_and_sends_sigalrm():
    assert "fork does not inherit the timer" in same_as_qemu_user("itimer_basic").stdout.decode()


@covers("setitimer", "getitimer")
def test_itimer_virtual_and_prof_end_a_spinning_process():
    assert "killed by SIGPROF" in same_as_qemu_user("itimer_cpu").stdout.decode()


@covers("setitimer", "nanosleep", "clock_nanosleep", "rt_sigaction")
def test_handled_sigalrm_reloads_and_cuts_sleeps_short_with_time_left():
    assert "alarm(1) caught" in same_as_qemu_user("itimer_handler").stdout.decode()


@covers("prctl", "clone", "wait4")
def test_timer_slack_is_per_thread_inherited_at_clone_and_0_restores_the_creators(linux_oracle):
    out = same_as_linux(linux_oracle, "timerslack", status=0)
    assert "child reset to 12345" in out and "thread reset to 777" in out


@covers("clock_settime", "settimeofday", "adjtimex", "clock_adjtime", "timerfd_settime", "timer_settime",
        "clock_nanosleep", "gettimeofday", "clock_gettime")
def test_setting_the_realtime_clock_moves_every_wall_clock_reader_and_realtime_timers(linux_oracle):
    out = same_as_linux(linux_oracle, "timeset", status=0)
    assert "read cancel-on-set: -1 ECANCELED" in out and "absolute sleeper: exit 7" in out
    assert "nobody settime: -1 EPERM" in out and "new file mtime moved: 1" in out


@covers("clock_gettime", "clock_getres", "clock_nanosleep")
def test_cpu_time_clocks_count_the_tasks_own_time_and_name_threads_and_processes(linux_oracle):
    """CLOCK_THREAD/PROCESS_CPUTIME_ID are the caller's time (they once read the host
    kernel process's), pthread_getcpuclockid and clock_getcpuclockid clocks read other
    threads and processes, clocks of no one are EINVAL."""
    out = same_as_linux(linux_oracle, "cpu_clocks", status=0)
    assert "advanced 200 ms or more: yes, not past wall time: yes" in out
    assert "reaped child's clock: -1 EINVAL" in out
