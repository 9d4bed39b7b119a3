"""sysinfo and the uname strings, through BusyBox, compared with Linux booted in the same QEMU."""
import re

import pytest

from tests.covers import covers

from .conftest import moss_run

pytestmark = pytest.mark.qemu


def tokens(text: str) -> str:
    return re.sub(r"\d+", "N", re.sub(" +", " ", text))


@pytest.mark.differential
@covers("sysinfo")
def test_free_and_uptime_report_real_memory_and_time(linux_oracle):
    """free and uptime print what Linux's would: the same lines, numbers apart; both guests
    have 1 GiB, of which Linux keeps more for itself than moss's stub does. (How long the
    system has been up is written in words that change with the time.)"""
    r = moss_run("/bin/sh", "-c", "free; uptime")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    out, err, status = linux_oracle.run3("free; uptime")
    theirs = out.splitlines()
    assert status == 0, err
    assert [tokens(line) for line in lines[:3]] == [tokens(line) for line in theirs[:3]]
    assert tokens(lines[3].split("users,")[1]) == tokens(theirs[3].split("users,")[1])
    total, used, free = (int(x) for x in lines[1].split()[1:4])
    assert int(theirs[1].split()[1]) <= total <= 1024 * 1024
    assert used > 0 and used + free == total


@pytest.mark.differential
@covers("sethostname", "uname")
def test_hostname_set_by_root_is_what_uname_reports(linux_oracle):
    """moss's own name first; then the name root sets, as Linux reports it (the oracle's
    name is put back afterwards: one VM serves the whole session)."""
    script = "hostname box1; uname -n; cat /proc/sys/kernel/hostname"
    r = moss_run("/bin/sh", "-c", "hostname; " + script)
    out, err, status = linux_oracle.run3(f'old=$(hostname); {script}; hostname "$old"')
    assert status == 0, err
    assert r.stdout.decode() == "moss\n" + out and "box1" in out
