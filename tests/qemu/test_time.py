"""Sleeps and interval timers in the real kernel: tests/programs/sleep_*.c and itimer_*.c run by
moss-py, and the same binaries under qemu-aarch64 (Linux answers). Durations are checked inside
the programs against generous bounds and printed as ok/FAIL, never as raw timings."""
import pytest

from tests.covers import covers

from .conftest import moss_run, qemu_user_run

pytestmark = pytest.mark.qemu


def lines(completed) -> list[str]:
    return completed.stdout.decode().splitlines()


def failures(completed) -> list[str]:
    return [line for line in lines(completed) if line.endswith(": FAIL")]


@covers("nanosleep", "clock_nanosleep", "clock_getres", "setitimer")
def test_sleeps_last_about_as_asked_and_reject_bad_arguments():
    r = moss_run("/tests/sleep_basic")
    assert r.returncode == 0, r.stderr.decode()
    assert failures(r) == []
    out = lines(r)
    assert "clock_nanosleep bad clock: 22" in out                    # EINVAL, returned as the value
    assert "clock_nanosleep MONOTONIC_RAW: 95" in out                # EOPNOTSUPP
    assert "sleeping child killed by SIGALRM: ok" in out


@covers("nanosleep", "clock_nanosleep", "clock_getres")
def test_sleep_basic_matches_qemu_user():
    moss, linux = moss_run("/tests/sleep_basic"), qemu_user_run("sleep_basic")
    assert moss.stdout == linux.stdout
    assert moss.returncode == linux.returncode == 0


@covers("setitimer", "getitimer")
def test_itimer_real_round_trips_counts_down_and_sends_sigalrm():
    r = moss_run("/tests/itimer_basic")
    assert r.returncode == 0, r.stderr.decode()
    assert failures(r) == []
    assert "child killed by SIGALRM: ok" in lines(r)
    assert "fork does not inherit the timer: ok" in lines(r)


@covers("setitimer", "getitimer")
def test_itimer_basic_matches_qemu_user():
    moss, linux = moss_run("/tests/itimer_basic"), qemu_user_run("itimer_basic")
    assert moss.stdout == linux.stdout
    assert moss.returncode == linux.returncode == 0


@covers("setitimer", "getitimer")
def test_itimer_virtual_and_prof_end_a_spinning_process():
    r = moss_run("/tests/itimer_cpu")
    assert r.returncode == 0, r.stderr.decode()
    assert failures(r) == []
    assert "spinning child killed by SIGVTALRM: ok" in lines(r)
    assert "spinning child killed by SIGPROF: ok" in lines(r)


def test_itimer_cpu_matches_qemu_user():
    moss, linux = moss_run("/tests/itimer_cpu"), qemu_user_run("itimer_cpu")
    assert moss.stdout == linux.stdout
    assert moss.returncode == linux.returncode == 0


@covers("setitimer", "nanosleep", "clock_nanosleep", "rt_sigaction")
def test_handled_sigalrm_reloads_and_cuts_sleeps_short_with_time_left():
    r = moss_run("/tests/itimer_handler")
    assert r.returncode == 0, r.stderr.decode()
    assert failures(r) == []
    assert len(lines(r)) == 6


def test_itimer_handler_matches_qemu_user():
    moss, linux = moss_run("/tests/itimer_handler"), qemu_user_run("itimer_handler")
    assert moss.stdout == linux.stdout
    assert moss.returncode == linux.returncode == 0
