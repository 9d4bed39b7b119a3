"""RLIMIT_RTTIME's count (proc/cpu_limit.py rt_time_ns): a real-time thread's CPU time since
it last woke, each look counting at most LOOK_MAX_NS of it, as Linux's rt watchdog counts a
stall of the whole machine as the one tick it takes, not its length."""
from types import SimpleNamespace

from moss_host.proc.cpu_limit import LOOK_MAX_NS, rt_time_ns

MS = 1_000_000


def thread():
    return SimpleNamespace(utime_ns=0, stime_ns=0, on_cpu=None, rt_woken_ns=0, rt_look_woken=0,
                           rt_look_ns=0, rt_counted_ns=0)


def test_looks_add_up_the_time_run_since_the_wake_up():
    t = thread()
    for _ in range(10):
        t.utime_ns += 50 * MS
        rt_time_ns(t)
    assert rt_time_ns(t) == 500 * MS


def test_a_wake_up_starts_the_count_again():
    t = thread()
    t.utime_ns = 400 * MS
    assert rt_time_ns(t) == min(400 * MS, LOOK_MAX_NS)
    t.utime_ns += 30 * MS
    t.rt_woken_ns = t.utime_ns              # (the scheduler's wake)
    t.utime_ns += 20 * MS
    assert rt_time_ns(t) == 20 * MS


def test_a_look_late_by_a_stall_counts_one_look_of_it():
    t = thread()
    t.utime_ns += 50 * MS
    rt_time_ns(t)
    t.utime_ns += 700 * MS                  # the whole machine stalled with the thread on its CPU
    assert rt_time_ns(t) == 50 * MS + LOOK_MAX_NS
