"""The trap path's pieces that run without QEMU: the syscall table and dispatch's fast path,
the polling event loop, the host's fence and the CPU-pressure reading."""
import asyncio
import io
import struct
from types import SimpleNamespace

from moss_host.errors import ENOSYS
from moss_host.machine.polling import PollingEventLoop, fence
from moss_host.machine.pressure import CpuPressure
from moss_host.syscalls import dispatch, load_all
from moss_host.syscalls.numbers import SYSCALL_NUMBERS
from moss_host.syscalls.table import SYSCALL_TABLE, SYSCALLS, TABLE_SIZE
from moss_host.syscalls.trace import Tracer

load_all()


def frame(*regs: int) -> bytearray:
    """A trap frame: x0.. as given, the rest zero."""
    f = bytearray(0x400)
    struct.pack_into(f"<{len(regs)}Q", f, 0, *regs)
    return f


def test_table_is_a_list_by_number_holding_the_same_entries_as_the_dict():
    assert len(SYSCALL_TABLE) == TABLE_SIZE
    for nr, entry in SYSCALLS.items():
        assert SYSCALL_TABLE[nr] is entry
        assert entry.args.size == 8 * entry.nargs


def test_getpid_is_a_plain_function_and_runs_without_a_coroutine():
    entry = SYSCALL_TABLE[SYSCALL_NUMBERS["getpid"]]
    assert entry is not None and not entry.is_async
    task = SimpleNamespace(tgid=42, tid=43)
    assert dispatch.start(task, entry.nr, frame()) == 42


def test_a_plain_handler_takes_its_arguments_from_the_frame_and_its_errno_becomes_negative():
    nr = SYSCALL_NUMBERS["clock_gettime"]
    assert not SYSCALL_TABLE[nr].is_async
    task = SimpleNamespace(tid=1, mm=None)
    assert dispatch.start(task, nr, frame(12345, 0)) == -22         # EINVAL: no such clock


def test_a_plain_handler_is_traced_like_any_other():
    out = io.StringIO()
    tracer = Tracer(out=out)
    task = SimpleNamespace(tgid=7, tid=7, sigpending=0, group=SimpleNamespace(shared_pending=0),
                           kernel=SimpleNamespace(pids=[]))
    assert dispatch.start(task, SYSCALL_NUMBERS["getpid"], frame(), tracer) == 7
    assert out.getvalue().split() == ["getpid()", "=", "7"]


def test_an_unknown_number_is_enosys():
    task = SimpleNamespace(tid=1)
    assert dispatch.start(task, TABLE_SIZE + 5, frame()) == -ENOSYS


def test_the_polling_loop_asks_the_poller_before_it_blocks_and_not_when_work_is_ready():
    calls = []

    def poller(timeout, loop_has_work):
        calls.append((timeout, loop_has_work()))
        return False

    async def main():
        asyncio.get_running_loop().set_poller(poller)
        await asyncio.sleep(0.002)
        asyncio.get_running_loop().set_poller(None)

    with asyncio.Runner(loop_factory=PollingEventLoop) as runner:
        runner.run(main())
    assert calls and all(t is None or 0 < t <= 0.002 for t, _ in calls)
    assert not any(work for _, work in calls)


def test_a_short_timer_waits_in_select_with_its_exact_timeout_not_whole_milliseconds(monkeypatch):
    import moss_host.machine.polling as polling
    waits = []
    real = polling.select.select

    def spy(r, w, x, timeout):
        waits.append(timeout)
        return real(r, w, x, timeout)

    monkeypatch.setattr(polling.select, "select", spy)

    async def nap():
        await asyncio.sleep(0.0003)

    with asyncio.Runner(loop_factory=PollingEventLoop) as runner:
        runner.run(nap())
    assert waits and all(0 < t <= 0.0003 for t in waits)   # epoll_wait would round up to 1 ms


def test_fence_can_be_called_repeatedly():
    for _ in range(3):
        fence()


def test_cpu_pressure_reads_some_avg10(tmp_path):
    psi = tmp_path / "cpu"
    psi.write_text("some avg10=42.50 avg60=10.00 avg300=1.00 total=123\n"
                   "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    p = CpuPressure(str(psi))
    assert p.some_avg10() == 42.5
    assert not p.contended(0)                   # the first reading starts a window
    psi.write_text("some avg10=42.50 avg60=0 avg300=0 total=5123\n")     # 5 ms of the next 10
    assert not p.contended(1)                   # cached until the next sample
    assert p.contended(10_000_000)


def test_no_pressure_file_means_never_contended(tmp_path):
    assert not CpuPressure(str(tmp_path / "missing")).contended(0)
