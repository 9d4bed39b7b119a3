"""Page faults counted as Linux counts them (minflt.c): getrusage's ru_minflt and ru_majflt
(RUSAGE_SELF, RUSAGE_THREAD, RUSAGE_CHILDREN), wait4's rusage, /proc/PID/stat's minflt,
cminflt, majflt and cmajflt, per thread in /proc/PID/task/TID/stat; compared with Linux 6.1
in the same QEMU in categories both kernels fall into."""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("getrusage", "wait4")
def test_minor_faults_are_counted_per_anonymous_page_per_file_window_and_per_copy_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "minflt", status=0)
    assert "anon 16 MiB: minflt >= 4096 and < 4400" in out
    assert "file 1 MiB by mmap: minflt >= 16 and < 48" in out
    assert "child after writing 4 MiB: >= 1024 and < 1200" in out
    assert "stat cminflt: RUSAGE_CHILDREN's" in out
