"""Issue 16, the last syscalls (helper X5): vectored positional I/O, the old rlimit calls, I/O
priorities, sched_setattr/getattr and NUMA memory policies; each program's output compared with
Linux 6.1 booted in the same QEMU (the `linux_oracle` fixture)."""
import pytest

from tests.covers import covers

from .conftest import moss_run, same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("preadv", "pwritev", "preadv2", "pwritev2", "getrlimit", "setrlimit")
def test_vectored_positional_io_and_the_old_rlimit_calls_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "rw_vec", status=0)
    assert "preadv negative on bad fd: EINVAL" in out and "preadv2 unknown flag: EOPNOTSUPP" in out
    assert "preadv2 unknown flag, nothing to read: 0" in out and "pwritev on a pipe: ESPIPE" in out
    assert "setrlimit NOFILE above nr_open: EPERM" in out and "user raises hard CORE: EPERM" in out


@pytest.mark.differential
@covers("ioprio_get", "ioprio_set")
def test_io_priorities_classes_groups_users_and_permissions_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "ioprio", status=0)
    assert "initial: class 0 data 0" in out and "user sets RT: EPERM" in out
    assert "set BE 8: 0" in out and "child inherits: class 2 data 2" in out


@pytest.mark.differential
@covers("sched_setattr", "sched_getattr")
def test_sched_setattr_and_getattr_sizes_policies_deadline_and_permissions_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "sched_attr", status=0)
    assert "setattr size 40: E2BIG" in out and "user: DEADLINE: EPERM" in out
    assert "DEADLINE 10/30/100 ms: 0" in out


@pytest.mark.differential
@covers("set_mempolicy", "get_mempolicy", "mbind", "migrate_pages", "move_pages", "set_mempolicy_home_node")
def test_memory_policies_on_one_node_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "mempolicy", status=0)
    assert "BIND {1}: EINVAL" in out and "mbind over a hole: EFAULT" in out
    assert "move_pages to node 1: ENODEV" in out


@pytest.mark.differential
@covers("pkey_mprotect", "pkey_alloc", "pkey_free", "lookup_dcookie", "nfsservctl", "arch_specific_syscall")
def test_syscalls_linux_6_1_on_arm64_lacks_answer_enosys_as_it_does(linux_oracle):
    out = same_as_linux(linux_oracle, "not_configured", "linux-lacks", status=0)
    assert out.count(": ENOSYS") == 6


@pytest.mark.differential
@covers("chroot", "unshare", "setns")
def test_chroot_unshare_of_files_fs_and_semaphores_and_setns_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "chroot_ns", status=0)
    assert "cwd stays outside: (unreachable)/tmp" in out and "user chroot unsearchable: EACCES" in out
    assert "parent umask after the CLONE_FS child: 022" in out and "  value after: 0" in out
    assert "setns pidfd CLONE_NEWNS: 0\n  cwd: /" in out


@covers("unshare", "setns")
def test_new_namespaces_answer_as_a_linux_built_without_them():
    # Not compared with the oracle: Debian's kernel has every namespace (syscalls/ns.py).
    out = moss_run("/tests/chroot_ns", "namespaces").stdout.decode()
    assert "user unshare CLONE_NEWUTS: EPERM" in out and "user unshare CLONE_NEWUSER: EINVAL" in out
    assert "setns pidfd CLONE_NEWNS: 0" in out and "setns pidfd CLONE_NEWUTS: 0" in out
    for flag in ("IPC", "PID", "NET", "USER", "CGROUP", "TIME"):
        assert f"unshare CLONE_NEW{flag}: EINVAL" in out and f"setns pidfd CLONE_NEW{flag}: EINVAL" in out
    assert "unshare CLONE_NEWNS: 0" in out and "unshare CLONE_NEWUTS: 0" in out  # the namespaces moss-py has


@pytest.mark.differential
@covers("process_mrelease")
def test_process_mrelease_answers_for_live_zombie_and_reaped_processes_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "mrelease", status=0)
    assert "live child: EINVAL" in out and "zombie child: ESRCH" in out and "a directory: EBADF" in out


@pytest.mark.differential
@covers("execveat")
def test_execveat_relative_empty_path_and_nofollow_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "execveat", status=0)
    assert "execfn /dev/fd/3/execveat comm execveat exe /tests/execveat" in out
    assert "execfn /dev/fd/4 comm execveat exe /tests/execveat" in out
    assert "symlink, AT_SYMLINK_NOFOLLOW: ELOOP" in out and "bad flag, bad path pointer: EFAULT" in out
