"""Kernel bugs (proc/bugs.py) and the OOM killer's choice (mm/oom.py, proc/oom_kill.py),
without QEMU."""
from types import SimpleNamespace

import pytest

from moss_host.errors import EFAULT
from moss_host.mm import oom
from moss_host.proc import oom_kill
from moss_host.proc.bugs import KernelBugs
from moss_host.proc.task import State


def task(tid=5, comm=b"prog"):
    return SimpleNamespace(tid=tid, comm=comm)


def raised(exc):
    try:
        raise exc
    except Exception as e:
        return e


def test_without_strict_a_bug_fails_the_call_with_efault_and_is_counted():
    panics = []
    bugs = KernelBugs(False, panics.append)
    assert bugs.summary() == ""
    assert bugs.in_syscall(task(), "read(3, 0x1000, 5)", raised(KeyError("x"))) == -EFAULT
    bugs.in_fault(task(), 0x4000, raised(ValueError("y")))
    assert bugs.count == 2 and not panics
    assert bugs.summary().startswith("moss: 2 kernel bugs")


def test_with_strict_a_bug_panics_with_the_call_the_task_and_the_traceback():
    panics = []
    bugs = KernelBugs(True, panics.append)
    bugs.in_syscall(task(7, b"sh"), "openat(AT_FDCWD, \"/x\", O_RDONLY)", raised(KeyError("boom")))
    [block] = panics
    first = block.splitlines()[0]
    assert "openat(AT_FDCWD, \"/x\", O_RDONLY)" in first and "pid 7 (sh)" in first and "KeyError" in first
    assert "Traceback" in block and "raise exc" in block


def mm_with(pages, file_pages=0, base=0x400000):
    vma_file = SimpleNamespace(start=base, end=base + 0x100000, backing=object())
    vma_anon = SimpleNamespace(start=0x10000000, end=0x10000000 + 0x10000000, backing=None)
    resident = {base + i * 4096: 0 for i in range(file_pages)}
    resident.update({0x10000000 + i * 4096: 0 for i in range(pages)})

    class Vmas(list):
        def find(self, va):
            return next((v for v in self if v.start <= va < v.end), None)
    return SimpleNamespace(resident=resident, vmas=Vmas([vma_file, vma_anon]))


def process(tgid, pages, adj=0, exiting=False):
    group = SimpleNamespace(tgid=tgid, oom_score_adj=adj, exiting=exiting, threads=[])
    leader = SimpleNamespace(tid=tgid, tgid=tgid, group=group, state=State.RUNNABLE, mm=mm_with(pages))
    group.threads.append(leader)
    return leader


def test_badness_is_rss_plus_page_tables_with_the_adjustment_per_thousandth_of_ram():
    mm = mm_with(1000)
    tables = oom.page_table_pages(mm)
    assert tables == 2 + 1              # 4 MB of anon pages: two 2-MiB tables, one 1-GiB table
    assert oom.badness(mm, 0, 250_000) == 1000 + tables
    assert oom.badness(mm, 100, 250_000) == 1000 + tables + 100 * 250
    assert oom.badness(mm, -1000, 250_000) is None


def test_the_victim_is_the_biggest_process_never_init_nor_one_already_exiting():
    init, small, big, dying = process(1, 5000), process(2, 10), process(3, 500), process(4, 4000, exiting=True)
    assert oom_kill.select_victim([init, small, big, dying], 250_000) is big


def test_oom_score_adj_can_protect_or_offer_a_process():
    small, big = process(2, 10), process(3, 500)
    big.group.oom_score_adj = -1000
    assert oom_kill.select_victim([small, big], 250_000) is small
    big.group.oom_score_adj, small.group.oom_score_adj = 0, 500
    assert oom_kill.select_victim([small, big], 250_000) is small


def test_the_kill_is_logged_as_linux_logs_it():
    mm = mm_with(100, file_pages=3)
    line = oom.killed_line(42, "hog", mm, 0, 0)
    assert line == ("Out of memory: Killed process 42 (hog) total-vm:263168kB, anon-rss:400kB, file-rss:12kB, "
                    "shmem-rss:0kB, UID:0 pgtables:12kB oom_score_adj:0")


@pytest.mark.parametrize("text,value", [(b"500\n", 500), (b"-1000", -1000), (b"0x10", 16), (b"010", 8), (b"+3", 3)])
def test_oom_score_adj_is_written_as_kstrtoint_reads_it(text, value):
    from moss_host.fs.drivers.procfs.pid_info import oom_score_adj_text, set_oom_score_adj
    t = SimpleNamespace(group=SimpleNamespace(oom_score_adj=0))
    assert set_oom_score_adj(t, text) == len(text)
    assert oom_score_adj_text(t) == f"{value}\n".encode()


@pytest.mark.parametrize("text", [b"1001", b"-1001", b"abc", b"--1", b"019", b""])
def test_a_bad_oom_score_adj_is_einval(text):
    from moss_host.errors import Errno
    from moss_host.fs.drivers.procfs.pid_info import set_oom_score_adj
    t = SimpleNamespace(group=SimpleNamespace(oom_score_adj=7))
    with pytest.raises(Errno):
        set_oom_score_adj(t, text)
    assert t.group.oom_score_adj == 7
