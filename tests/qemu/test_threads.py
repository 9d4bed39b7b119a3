"""Threads and futexes in real programs (tests/programs/thread_basic.c, futex_ops.c), each
run under moss-py and under Linux 6.1 booted in the same QEMU (the `linux_oracle` VM):
both must print the same and exit the same.

The programs print only what does not depend on how threads are scheduled: sums and
counts after every thread has been joined, exit statuses, and yes/no answers.
"""

import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("clone", "futex", "exit", "exit_group", "gettid", "set_tid_address", "set_robust_list", "tgkill", "kill", "execve",
        "wait4")
def test_pthreads_create_join_mutex_condvar_signals_exit_exec_and_stop_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "thread_basic")
    assert "mutex counter 4 x 20000: 80000\n" in out
    assert "handled by the thread that does not block it: yes" in out
    assert "robust mutex of a dead thread: EOWNERDEAD\n" in out
    assert "/proc/self/status Threads:\t3\n" in out
    assert "after execve from a thread: pid kept yes, it is the leader yes" in out
    assert out.endswith("threaded child after SIGKILL: killed by signal 9\n")


@pytest.mark.differential
@covers("futex", "clone", "clone3", "set_tid_address")
def test_futex_operations_and_clone_flag_errors_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "futex_ops")
    assert "requeue: wake 1, move 2: 3\n" in out
    assert out.endswith("clone3 CLEAR_SIGHAND child: exited 3\n")


@pytest.mark.differential
@covers("futex", "clone", "tgkill", "rt_sigaction", "setitimer", "wait4")
def test_cancel_many_threads_tls_rwlocks_semaphores_fork_and_a_contended_mutex_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "thread_more")
    assert "64 threads tls sum 2336 main tls 5 destructors 64\n" in out
    assert out.endswith("8 x 100000 with SIGALRM: 800000\n")


@pytest.mark.differential
@covers("futex", "futex_waitv", "gettid", "sched_setscheduler", "tgkill")
def test_pi_futexes_requeue_pi_and_futex_waitv_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "futex_pi")
    assert "lock_pi until the owner exits: 0\n  word: owner main WAITERS OWNER_DIED\n" in out
    assert "lock_pi owner exited holding it: -1 ESRCH\n" in out
    assert "requeued waiters returned owning the lock: 1 1\n" in out
    assert "lock_pi interrupted, a handler without SA_RESTART ran 1 time(s): 0\n" in out
    assert "futex_waitv interrupted, a handler without SA_RESTART ran 1 time(s): EINTR\n" in out
    assert "onto a held lock, then a signal: EAGAIN\n" in out
    assert "unlock_pi handover: the later, higher-priority sleeper first: fifo 20, then fifo 10\n" in out
    assert "wake: the later, higher-priority sleeper first: fifo 20, then fifo 10\n" in out
    assert out.endswith("waitv woken on the second word: 1\n")


@pytest.mark.differential
@covers("futex", "clone", "set_robust_list", "exit_group", "setitimer", "wait4", "prlimit64", "prctl", "setuid")
def test_pthread_mutex_kinds_robust_pi_condvars_barriers_64_threads_and_pi_stress_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "pthread_matrix")
    assert "-- robust priority-inheritance mutexes\nlock after the owner died: EOWNERDEAD\n" in out
    assert "lock while the owner dies: EOWNERDEAD\n" in out
    assert "64 threads alive at once: created 64, at the barrier 64\n" in out
    assert "join while another thread calls exit: exited 5\n" in out
    assert "RLIMIT_NPROC 3 as uid 4321: thread 0 thread 0 thread EAGAIN, fork EAGAIN\n" in out
    assert "PR_SET_PDEATHSIG when the forking thread exits: waited yes, exit 42\n" in out
    assert "PR_SET_PDEATHSIG when a threaded parent calls exit: signalled once or twice, by thread\n" in out
    assert "CPU time: yes; the main thread's own stat does not: yes\n" in out
    assert out.endswith("PI mutex, 4 x 25000 with SIGALRM: 100000\n")
