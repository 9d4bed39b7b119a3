"""Event files and epoll in real programs: tests/programs/eventfd_basic.c, timerfd_basic.c,
signalfd_basic.c and epoll_basic.c, run by moss-py and by Linux 6.1 booted in the same QEMU
(the `linux_oracle` fixture); both must print the same and exit the same.

Booted Linux rather than qemu-aarch64: qemu-aarch64 has no epoll_pwait2, checks user buffers
itself (EFAULT for a NULL epoll_wait buffer when nothing is ready, where Linux returns 0),
accepts a 4-byte signalfd mask and lets timerfd_gettime write to NULL. Timings are printed by
the programs as ok/FAIL against generous bounds; what the tests spell out is a line near each
program's end, so that two empty outputs cannot agree.
"""
import pytest

from tests.covers import covers

from .conftest import moss_run, same_as_linux

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


@covers("eventfd2", "read", "write", "ppoll", "fcntl", "readlinkat", "clone", "wait4")
def test_eventfd_counter_semaphore_limits_and_blocking_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "eventfd_basic")
    assert "semaphore read 3: -1 value 0 EAGAIN" in out
    assert out.endswith("blocking write waited: 8, child status 0, counter then 9\n")


@covers("timerfd_create", "timerfd_settime", "timerfd_gettime", "read", "ppoll", "setresuid")
def test_timerfd_clocks_periods_old_values_and_errors_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "timerfd_basic")
    assert "FAIL" not in out
    assert "clock 7 abstime in the past: poll 1 read 8 ticks 1" in out
    assert "BOOTTIME_ALARM as nobody: EPERM" in out


@covers("signalfd4", "read", "rt_sigprocmask", "kill", "tgkill", "rt_sigqueueinfo", "ppoll", "execve")
def test_signalfd_reads_siginfo_in_dequeue_order_for_the_reading_thread_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "signalfd_basic")
    assert "three at once: 384: 12 10 34 (int 1)" in out
    assert "SIGCHLD: signo 17 code 1 pid expected uid 0 int 0 ptr 0 status 3" in out
    assert out.endswith("other thread reads: 128 signo 10\n"
                        "after exec: SIGUSR1 blocked 1, poll 1, read 128 signo 10\n")


@covers("epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "eventfd2", "timerfd_create",
        "signalfd4", "ppoll")
def test_epoll_level_edge_oneshot_nesting_masks_and_errors_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "epoll_basic")
    assert "FAIL" not in out
    assert "et after a partial read: 0" in out
    assert "nest depth 5: ELOOP" in out
    assert "epoll_pwait interrupted: -1 EINTR, handled 1" in out
    assert "epoll_pwait2 NULL timeout, ready: 1 data 100\n" in out
    assert "unreadable mask, maxevents 0: -1 EFAULT\nunreadable mask, one ready: -1 EFAULT\n" in out
    assert "limit 0, add: ENOSPC\nlimit 0, add again: EEXIST\nlimit 0, add of a bad fd: EBADF\n" in out
    assert out.endswith("limit 0, add after del: ENOSPC\nput back: ok\nadd: ok\n")


@covers("epoll_create1", "epoll_ctl", "epoll_pwait", "signalfd4", "timerfd_create", "timerfd_settime",
        "eventfd2", "pipe2", "wait4")
def test_an_event_loop_over_children_pipes_a_timer_a_signalfd_and_an_eventfd_matches_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "epoll_loop")
    assert "FAIL" not in out
    assert "child 2: 760 bytes, 40 messages in order\nreaped 3 children, exit statuses sum 3\n" in out


@covers("epoll_create1", "epoll_ctl", "epoll_pwait", "eventfd2", "dup")
def test_epoll_wakes_the_newest_registration_first_and_exclusive_wakes_one_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "epoll_wake")
    assert "pipe under two fds: 2: 2 1\n" in out
    assert out.endswith("plain: 2 of 2 woken\nEPOLLEXCLUSIVE: 1 of 2 woken\n")


@covers("epoll_create1", "epoll_ctl", "epoll_pwait", "openat", "ioctl")
def test_epoll_over_a_pseudo_terminal_matches_linux(linux_oracle):
    """The oracle gets devpts for the moment, as test_console's on_linux_pty does."""
    linux, status = linux_oracle.run("mkdir -p /dev/pts && mount -t devpts devpts /dev/pts && "
                                     "/tests/epoll_pty; s=$?; umount /dev/pts; exit $s")
    moss = moss_run("/tests/epoll_pty")
    assert (moss.stdout.decode(), moss.returncode) == (linux, status)
    assert linux.endswith("writable: 2 3:4 4:4\nslave closed: 1 5:10\n")
