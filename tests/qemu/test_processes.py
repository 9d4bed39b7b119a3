"""Processes: fork with copy-on-write, vfork, exec of scripts, wait, process groups.

Programs that exec are compared with Linux booted in the same QEMU (the oracle
fixture); the others with qemu-aarch64, whose syscalls the host kernel serves. A literal
beside a comparison only shows that the program got far (two empty outputs must not match).
"""
import pytest

from tests.covers import covers

from .conftest import moss_run, qemu_user_run

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("clone", "wait4")
def test_fork_child_writes_never_reach_the_parent():
    r = moss_run("/tests/fork_cow")
    assert r.returncode == 0, r.stderr
    assert r.stdout == qemu_user_run("fork_cow").stdout
    assert "parent: own writes" in r.stdout.decode()


@pytest.mark.differential
@covers("wait4", "waitid")
def test_wait_reports_exits_signals_and_errors_like_linux():
    r = moss_run("/tests/wait_status")
    assert r.returncode == 0, r.stderr
    assert r.stdout == qemu_user_run("wait_status").stdout
    assert "si_signo=" in r.stdout.decode()


@pytest.mark.differential
@covers("setpgid", "getpgid", "setsid", "getsid")
def test_process_groups_and_sessions_follow_linux_rules():
    r = moss_run("/tests/pgid_session")
    assert r.returncode == 0, r.stderr
    assert r.stdout == qemu_user_run("pgid_session").stdout and r.stdout


@pytest.mark.differential
@covers("setpgid", "getpgid", "getsid", "kill", "ioctl")
def test_a_group_whose_only_member_is_an_unreaped_zombie_still_exists_like_on_linux(linux_oracle):
    """tcsetpgrp, setpgid and kill(-pgrp) reach a group until its zombie is reaped. The oracle
    gets devpts for the moment, as test_stress_found's pty test does."""
    linux, status = linux_oracle.run("mkdir -p /dev/pts && mount -t devpts devpts /dev/pts && "
                                     "/tests/zombie_pgrp; s=$?; umount /dev/pts; exit $s")
    r = moss_run("/tests/zombie_pgrp")
    assert status == 0 and r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out == linux
    assert "tcsetpgrp to the zombie's group: 0" in out and "tcsetpgrp to a group gone: -1 ESRCH" in out


@pytest.mark.differential
@covers("clone", "execve")
def test_vfork_parent_waits_for_exit_and_exec(linux_oracle):
    r = moss_run("/tests/vfork_order")
    assert r.returncode == 0, r.stderr
    assert (r.stdout.decode(), 0) == linux_oracle.run("/tests/vfork_order")
    assert "after vfork+_exit" in r.stdout.decode()


@pytest.mark.differential
@covers("execve")
def test_exec_of_scripts_and_exec_errors_match_linux(linux_oracle):
    r = moss_run("/tests/exec_script")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert (out, 0) == linux_oracle.run("/tests/exec_script")
    assert "script: /tmp/s1 nested" in out


@pytest.mark.differential
@covers("clone", "wait4", "execve")
def test_shell_runs_external_commands_and_subshells(linux_oracle):
    script = ('echo start; ls /tests >/dev/null; echo ls=$?; (exit 3); echo "status $?"; '
              '/tests/hello; for i in 1 2 3 4 5; do /bin/true; done; echo done; /tests/segv; echo segv=$?')
    r = moss_run("/bin/sh", "-c", script)
    out, err, status = linux_oracle.run3(script)
    assert (r.stdout.decode(), r.returncode) == (out, status), r.stderr
    assert "segv=" in out


@pytest.mark.differential
@covers("getrusage", "times")
def test_cpu_time_of_reaped_children_and_self_is_counted():
    r = moss_run("/tests/rusage_times")
    assert r.returncode == 0, r.stderr
    assert "WRONG" not in r.stdout.decode()
    assert r.stdout == qemu_user_run("rusage_times").stdout and r.stdout


@pytest.mark.differential
@covers("getppid")
def test_orphans_are_adopted_by_init_like_on_linux(linux_oracle):
    cmd = "/tests/orphan_reparent; sleep 0.5"
    r = moss_run("/bin/sh", "-c", cmd)
    assert (r.stdout.decode(), r.returncode) == linux_oracle.run(cmd)
    assert "grandchild: adopted" in r.stdout.decode()


@pytest.mark.differential
@covers("mmap", "msync", "munmap")
def test_shared_file_mappings_reach_the_file_like_linux():
    r = moss_run("/tests/mmap_shared_file")
    assert r.returncode == 0, r.stderr
    assert r.stdout == qemu_user_run("mmap_shared_file").stdout
    assert "after a child's exit" in r.stdout.decode()


@pytest.mark.differential
@covers("exit", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "prctl",
        "sendfile", "madvise", "getrandom", "gettimeofday", "get_robust_list", "setdomainname")
def test_small_process_calls_match_linux(linux_oracle):
    """Compared with Linux itself: qemu-aarch64 7.2 lacks get_robust_list."""
    r = moss_run("/tests/misc_calls")
    assert r.returncode == 0, r.stderr
    out, _, status = linux_oracle.run3("/tests/misc_calls")
    assert (r.stdout.decode(), 0) == (out, status)
    assert "exit(2) status" in out


@pytest.mark.differential
@covers("mmap", "clone")
def test_shared_anonymous_memory_is_shared_with_forked_children():
    r = moss_run("/tests/mmap_shared_anon")
    assert r.returncode == 0, r.stderr
    assert r.stdout == qemu_user_run("mmap_shared_anon").stdout
    assert "first touched by the child" in r.stdout.decode()
