"""Issue 16: the answers that once differed from Linux, and the remaining syscalls of its
item 6 (pidfds, splice/tee/vmsplice, O_TMPFILE, kcmp, ...), each program's output compared
with Linux 6.1 booted in the same QEMU (the `linux_oracle` fixture)."""
import shutil
import subprocess

import pytest

from tests.covers import covers

from .conftest import moss_run, run_on_disk_image, same_as_linux
from .linux_fs_oracle import linux_with_files

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("wait4", "mmap", "msync", "fcntl")
def test_waitpid_int_min_mmap_o_path_msync_holes_pipe_sizes_and_sigbus_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "misc16_answers", status=0)
    assert "waitpid INT_MIN: ESRCH" in out and "mmap O_PATH private: EBADF" in out
    assert "msync over a hole: ENOMEM" in out and "F_SETPIPE_SZ 0: 4096" in out
    assert "store a page past the end: SIGBUS" in out


@pytest.mark.differential
@covers("pidfd_open", "pidfd_send_signal", "pidfd_getfd", "waitid")
def test_pidfds_signal_take_descriptors_poll_on_exit_and_wait_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "pidfd", status=0)
    assert "link: anon_inode:[pidfd]" in out and "epoll_wait after exit: 1 events 1 data 42" in out
    assert "send to reaped: ESRCH" in out and "user getfd of root: EPERM" in out


@pytest.mark.differential
@covers("splice", "tee", "vmsplice")
def test_splice_tee_and_vmsplice_move_whole_pipe_buffers_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "splice", status=0)
    assert "q holds 13: 0123456456789" in out and "pages that still fit after a write: 2" in out
    assert "vmsplice unaligned into 1 slot: 4095" in out and "file: worldhello lmnopqrst" in out


@pytest.mark.differential
@covers("openat", "linkat")
def test_o_tmpfile_is_unnamed_until_linkat_names_it_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "tmpfile", status=0)
    assert "__O_TMPFILE without O_DIRECTORY: EINVAL" in out and "nlink now 2, entries 3" in out
    assert "linkat of O_EXCL tmpfile: ENOENT" in out and "O_TMPFILE in /proc: EOPNOTSUPP" in out


@pytest.mark.differential
@covers("kcmp")
def test_kcmp_tells_which_objects_threads_and_children_share_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "kcmp", status=0)
    assert "thread VM: same" in out and "fork child VM: differ" in out and "vfork child VM: same" in out
    assert "epoll target: same" in out and "user on root parent: EPERM" in out


@covers("quotactl", "quotactl_fd", "add_key", "request_key", "keyctl", "landlock_create_ruleset",
        "landlock_add_rule", "landlock_restrict_self",
        "swapon", "swapoff", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
        "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
        "fanotify_init", "fanotify_mark", "memfd_secret")
def test_features_left_out_answer_enosys_as_a_linux_built_without_them():
    # Not compared with the oracle: Debian's kernel is built with them (those Linux 6.1 on arm64
    # lacks itself are compared in test_abi16.py).
    from moss_host.syscalls import load_all
    from moss_host.syscalls.table import NOT_CONFIGURED
    load_all()
    out = moss_run("/tests/not_configured").stdout.decode()
    assert out.splitlines() == [f"{name}: ENOSYS" for name in NOT_CONFIGURED]


@pytest.mark.differential
@covers("sync_file_range", "readahead", "vhangup")
def test_sync_file_range_readahead_and_vhangup_check_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "file_ranges", status=0)
    assert "sfr pipe: ESPIPE" in out and "readahead directory: EINVAL" in out
    assert "vhangup as a user: EPERM" in out and "vhangup without a terminal: 0" in out


@pytest.mark.differential
@covers("remap_file_pages")
def test_remap_file_pages_remaps_shared_pages_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "remap_pages", status=0)
    assert "after: D A B D" in out and "private mapping: EINVAL" in out
    assert "shared anonymous after: 2 1 2" in out


@pytest.mark.differential
@covers("process_madvise")
def test_process_madvise_advises_another_process_through_a_pidfd_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "process_madvise", status=0)
    assert "cold: 16384" in out and "second range over a hole: 8192" in out
    assert "user on self: EPERM" in out and "reaped: ESRCH" in out


@pytest.mark.differential
@covers("clone", "clone3")
def test_clone_pidfd_gives_the_parent_a_pidfd_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "pidfd_clone", status=0)
    assert "clone pidfd set: 1, F_GETFD 1" in out and "code 1 status 3" in out
    assert "CLONE_PIDFD bad pointer: EFAULT" in out and "no child left: ECHILD" in out


# Linux mounts the image through a loop device; moss-py's run mounts it in tmpfile_at itself.
TMPFILE_ON_EXT4 = ("mkdir -p /mnt/x && mount -o loop /disk.img /mnt/x && /tests/tmpfile_at /mnt/x; s=$?; "
                   "umount /mnt/x; exit $s")


@pytest.mark.differential
@covers("openat", "linkat")
def test_o_tmpfile_on_ext4_like_linux_and_e2fsck_is_clean(tmp_path):
    """tmpfile_at's report on an ext4 image is Linux's; the image moss wrote stays clean
    (the unnamed files were orphans until named or freed)."""
    if not shutil.which("mkfs.ext4") or not shutil.which("e2fsck"):
        pytest.fail("mkfs.ext4 and e2fsck are needed (scripts/setup.sh installs them)")
    img = tmp_path / "disk.img"
    subprocess.run(["mkfs.ext4", "-q", "-F", str(img), "2M"], check=True, capture_output=True)
    moss, report, out_img = run_on_disk_image(tmp_path, img, "mkdir -p /mnt/x && /tests/tmpfile_at /mnt/x /disk.img")
    with linux_with_files({"/disk.img": img}) as vm:
        out, err, status = vm.run3(TMPFILE_ON_EXT4)
    assert status == 0, err
    assert moss.returncode == 0, moss.stderr
    assert "named: nlink 2 size 10000" in out and "linkat of O_EXCL into the dir: ENOENT" in out
    assert report == out
    fsck = subprocess.run(["e2fsck", "-fn", str(out_img)], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
