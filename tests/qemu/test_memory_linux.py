"""What Linux's memory management and procfs leave a program to observe, compared with Linux
6.1 booted in the same QEMU (the `linux_oracle` fixture): the stack growing down on faults
below it (RLIMIT_STACK, the guard gap, the kernel's own writes), and which procfs files
sendfile(2) can read. A literal beside a comparison only shows the program got far."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("prlimit64", "read", "mmap")
def test_stack_grows_on_faults_below_it_within_rlimit_and_guard_gap_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "stack_growth", status=0)
    assert "touch 1 MiB below: signal 0" in out and "touch 64 MiB below: signal 11" in out


# The files the tests read with cat (which tries sendfile first) and the rest of moss's procfs.
PROC_FILES = ("/proc/self/cmdline /proc/self/comm /proc/self/environ /proc/self/maps /proc/self/mountinfo "
              "/proc/self/mounts /proc/self/stat /proc/self/statm /proc/self/status /proc/1/status "
              "/proc/cpuinfo /proc/filesystems /proc/loadavg /proc/meminfo /proc/mounts /proc/stat "
              "/proc/uptime /proc/version /proc/sys/kernel/hostname /proc/sys/kernel/osrelease "
              "/proc/sys/kernel/ostype")


@pytest.mark.differential
@covers("sendfile")
def test_sendfile_reads_the_procfs_files_linux_lets_it_read(linux_oracle):
    out = same_as_linux(linux_oracle, "sendfile_proc", *PROC_FILES.split(), status=0)
    assert "/proc/self/maps: EINVAL" in out and "/proc/meminfo: ok" in out
