"""Cpu.poll without QEMU: a mailbox in a bytearray, a guest simulated by writing SEQ_REQ,
and the host's half of the handshake checked word by word."""
import struct
import time
from types import SimpleNamespace

from moss_host.machine import layout as L
from moss_host.machine.mailbox import Mailbox
from moss_host.proc import cpu as cpumod
from moss_host.proc.cpu import Cpu
from moss_host.proc.task import State
from moss_host.sched.scheduler import Scheduler

ESR_SVC = 0x15 << 26
NR_GETPPID = 173


class FakeMem:
    guest_work_pending = False
    tlbi_all = False
    tlbs = None                     # one CPU: no TLB routing (mm/tlb.py)

    def guest_work_done(self): pass

    def take_guest_work(self): return 0, 0, [], []


class Guest:
    """The stub's side: trap with a syscall, read what the host answered."""

    def __init__(self, mb: Mailbox):
        self.m = mb.mem

    def u64(self, off): return struct.unpack_from("<Q", self.m, off)[0]

    def put(self, off, v): struct.pack_into("<Q", self.m, off, v)

    def svc(self, nr):
        self.put(L.MB_X0 + 8 * 8, nr)
        self.put(L.MB_ESR, ESR_SVC)
        self.put(L.MB_REASON, L.REASON_SYNC)
        self.put(L.MB_SEQ_REQ, self.u64(L.MB_SEQ_REQ) + 1)


def machine():
    ram = bytearray(L.MAILBOX_BASE - L.RAM_BASE + L.MAILBOX_SIZE)
    mb = Mailbox(ram, 0)
    calls = []

    def start_syscall(task, nr, frame, tracer):
        calls.append(nr)
        return 7

    host = SimpleNamespace(panic=lambda m: None, machine_gone=lambda why: None)
    doorbell = SimpleNamespace(send=lambda b: calls.append("kick"))
    cpu = Cpu(0, mb, doorbell, FakeMem(), Scheduler(), start_syscall, None, host)
    cpu.governor.enabled = False                   # the machine running the test may be busy
    task = SimpleNamespace(state=State.RUNNABLE, sigpending=0, group=SimpleNamespace(shared_pending=0),
                           blocked=0, restart=None, on_cpu=cpu, mm=SimpleNamespace(ttbr0=0x1000),
                           utime_ns=0, stime_ns=0, orig_x0=0, traced_syscalls=False)
    cpu.current = task                             # the guest runs this task's user code
    return cpu, Guest(mb), calls


def test_the_cpu_publishes_the_guests_spin_budget():
    cpu, guest, _ = machine()
    assert guest.u64(L.MB_SPIN_TICKS) == L.SPIN_TICKS


def test_a_poll_answers_a_trap_without_the_doorbell_and_clears_its_flag():
    cpu, guest, calls = machine()
    guest.svc(NR_GETPPID)
    assert cpu.poll(None, lambda: False)
    assert calls == [NR_GETPPID]
    assert guest.u64(L.MB_SEQ_REPLY) == guest.u64(L.MB_SEQ_REQ) == 1
    assert guest.u64(L.MB_X0) == 7
    assert guest.u64(L.MB_HOST_POLLING) == 0       # cleared before the poll returned
    assert not cpu.trapped and not cpu.polling


def test_a_poll_that_runs_out_halves_its_budget():
    cpu, guest, _ = machine()
    cpu.poll_budget_ns = 20_000
    assert not cpu.poll(None, lambda: False)
    assert cpu.poll_budget_ns == 10_000
    cpu.poll_budget_ns = cpumod.POLL_MIN_NS
    cpu.poll(None, lambda: False)
    assert cpu.poll_budget_ns == cpumod.POLL_MIN_NS


def test_a_poll_ends_at_the_loops_next_timer_without_shrinking():
    cpu, guest, _ = machine()
    cpu.poll_budget_ns = 50_000
    assert not cpu.poll(0.000001, lambda: False)
    assert cpu.poll_budget_ns == 50_000


def test_work_queued_by_a_handler_ends_the_poll():
    cpu, guest, calls = machine()
    cpu.poll_budget_ns = 10_000_000                # would spin 10 ms without the early return
    guest.svc(NR_GETPPID)
    assert cpu.poll(None, lambda: True)
    assert calls == [NR_GETPPID]


def test_no_poll_while_the_guest_waits_for_us_or_on_a_contended_host():
    cpu, guest, calls = machine()
    cpu.trapped = True
    guest.svc(NR_GETPPID)
    assert not cpu.poll(None, lambda: False) and calls == []
    cpu.trapped = False
    cpu.governor.contended = lambda now: True
    assert not cpu.poll(None, lambda: False) and calls == []
    assert cpu.contended


def test_while_contended_a_reply_tells_the_guest_not_to_spin():
    cpu, guest, calls = machine()
    cpu.governor.contended = lambda now: True
    assert not cpu.poll(None, lambda: False)       # declined: the doorbell brings the next trap
    guest.svc(NR_GETPPID)
    assert cpu.take_trap(time.monotonic_ns())
    assert guest.u64(L.MB_SEQ_REPLY) == 1
    assert guest.u64(L.MB_SPIN_TICKS) == 0         # its spin would hold a core the host needs


def test_a_trap_that_skipped_the_doorbell_is_found_when_polling_stops():
    cpu, guest, calls = machine()
    guest.svc(NR_GETPPID)                          # it saw HOST_POLLING = 1 and rang nothing
    assert cpu.stop_polling()
    assert calls == [NR_GETPPID] and guest.u64(L.MB_SEQ_REPLY) == 1


def test_a_reply_that_finds_the_guest_asleep_kicks_it_and_lengthens_its_spin():
    cpu, guest, calls = machine()
    guest.put(L.MB_SLEEPING, 1)
    guest.svc(NR_GETPPID)
    cpu.poll(None, lambda: False)
    assert "kick" in calls
    assert cpu.guest_spin == 2 * L.SPIN_TICKS


def test_a_kernel_bug_while_polling_panics_the_run_and_clears_the_flag():
    cpu, guest, _ = machine()
    panics = []
    cpu.host = SimpleNamespace(panic=panics.append, machine_gone=lambda why: None)

    def broken(task, nr, frame, tracer):
        raise RuntimeError("boom")

    cpu.start_syscall = broken
    guest.svc(NR_GETPPID)
    assert cpu.poll(None, lambda: False)
    assert panics == ["kernel bug: RuntimeError: boom"]
    assert guest.u64(L.MB_HOST_POLLING) == 0 and not cpu.polling


def test_a_trap_that_woke_someone_is_answered_after_the_wake_up_lands():
    import asyncio

    cpu, guest, calls = machine()

    async def main():
        landed = asyncio.get_running_loop().create_future()
        cpu.loop_has_work = lambda: not landed.done()      # a wake-up is on its way
        guest.svc(NR_GETPPID)
        assert cpu.take_trap(0)
        assert cpu.trapped and guest.u64(L.MB_SEQ_REPLY) == 0      # not answered yet
        landed.set_result(None)
        for _ in range(3):
            await asyncio.sleep(0)
        assert not cpu.trapped and guest.u64(L.MB_SEQ_REPLY) == 1
        assert guest.u64(L.MB_SPIN_TICKS) != 0               # it was never idle

    asyncio.run(main())


def test_a_deferred_answer_gives_up_waiting_after_a_few_turns():
    import asyncio

    cpu, guest, calls = machine()

    async def main():
        cpu.loop_has_work = lambda: True                   # work that never ends
        guest.svc(NR_GETPPID)
        cpu.take_trap(0)
        for _ in range(cpumod.REPLY_DEFER_TURNS + 2):
            await asyncio.sleep(0)
        assert not cpu.trapped and guest.u64(L.MB_SEQ_REPLY) == 1

    asyncio.run(main())
