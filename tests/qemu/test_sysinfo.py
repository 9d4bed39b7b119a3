"""sysinfo and the uname strings, through BusyBox."""
import pytest

from tests.covers import covers

from .conftest import moss_run

pytestmark = pytest.mark.qemu


@covers("sysinfo")
def test_free_and_uptime_report_real_memory_and_time():
    r = moss_run("/bin/sh", "-c", "free; uptime")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    total, used, free = (int(x) for x in lines[1].split()[1:4])
    assert 900_000 < total <= 1024 * 1024          # KiB of a 1 GiB guest, less the stub's share
    assert used > 0 and used + free == total
    assert "up 0 min" in lines[3] and "load average: 0.00, 0.00, 0.00" in lines[3]


@covers("sethostname", "uname")
def test_hostname_set_by_root_is_what_uname_reports():
    r = moss_run("/bin/sh", "-c", "hostname; hostname box1; uname -n; cat /proc/sys/kernel/hostname")
    assert r.stdout.decode().split() == ["moss", "box1", "box1"]
