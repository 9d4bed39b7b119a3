"""Polling with several CPUs (kernel.py _poll_smp, _cpu_busy) without QEMU: two mailboxes in
one bytearray, guests simulated by writing SEQ_REQ. The poll watches the one CPU that runs
user code and ends when another gets busy; with both busy, a trap is answered at once."""
import asyncio
import time
from types import SimpleNamespace

from moss_host.kernel import Kernel, KernelConfig
from moss_host.machine import layout as L
from moss_host.machine.mailbox import Mailbox
from moss_host.proc import cpu as cpumod
from moss_host.proc.cpu import Cpu
from moss_host.proc.task import State

from .test_cpu_poll import NR_GETPPID, FakeMem, Guest


def fake_task(cpu):
    return SimpleNamespace(state=State.RUNNABLE, sigpending=0, group=SimpleNamespace(shared_pending=0),
                           blocked=0, restart=None, on_cpu=cpu, mm=SimpleNamespace(ttbr0=0x1000),
                           utime_ns=0, stime_ns=0, orig_x0=0, traced_syscalls=False)


def two_cpus(handler):
    """A kernel with two CPUs: CPU 0 runs a task's user code, CPU 1 idles (its guest waits
    in WFI). handler(nr) answers CPU 0's syscalls."""
    kernel = Kernel(KernelConfig(cpus=2))
    ram = bytearray(L.MAILBOX_BASE - L.RAM_BASE + 2 * L.MAILBOX_SIZE)
    host = SimpleNamespace(panic=lambda m: None, machine_gone=lambda why: None)
    doorbell = SimpleNamespace(send=lambda b: None)
    mem = FakeMem()
    cpus = [Cpu(i, Mailbox(ram, i), doorbell, mem, kernel.sched, lambda task, nr, frame, tracer: handler(nr),
                None, host) for i in range(2)]
    for cpu in cpus:
        cpu.governor.enabled = False               # the machine running the test may be busy
        cpu.now_busy = kernel._cpu_busy
        cpu.running_cpus = kernel._running_cpus
    kernel.cpus = cpus
    cpus[0].current = fake_task(cpus[0])
    cpus[1].trapped = True
    cpus[1].idle()
    return kernel, cpus, [Guest(cpu.mailbox) for cpu in cpus]


def test_a_cpu_made_busy_by_a_handler_ends_the_other_cpus_poll():
    async def main():
        kernel = cpus = None

        def handler(nr):
            cpus[1].reply(fake_task(cpus[1]))       # the call woke a task onto idle CPU 1
            return 0

        kernel, cpus, guests = two_cpus(handler)
        loop = asyncio.get_running_loop()
        cpus[0].poll_budget_ns = 10_000_000_000    # 10 s: the poll must end long before
        guests[0].svc(NR_GETPPID)
        start = time.monotonic()
        assert kernel._poll_smp(None, loop._ready.__len__)
        assert time.monotonic() - start < 1.0
        assert not cpus[1].trapped
        assert kernel._polling is None
        for _ in range(cpumod.REPLY_DEFER_TURNS + 2):
            await asyncio.sleep(0)
        assert not cpus[0].trapped and guests[0].u64(L.MB_SEQ_REPLY) == 1      # answered after the loop looked
    asyncio.run(main())


def test_with_both_cpus_busy_a_rung_trap_is_answered_at_once():
    async def main():
        kernel, cpus, guests = two_cpus(lambda nr: 7)
        loop = asyncio.get_running_loop()
        guests[0].svc(NR_GETPPID)
        assert kernel._poll_smp(None, loop._ready.__len__)     # CPU 0 alone: polled
        cpus[1].reply(fake_task(cpus[1]))           # then CPU 1 runs user code too
        assert not kernel._poll_smp(None, loop._ready.__len__)     # nobody polls now
        guests[0].svc(NR_GETPPID)
        cpus[0].take_rung_trap(time.monotonic_ns())     # (the doorbell's byte)
        assert not cpus[0].trapped and guests[0].u64(L.MB_SEQ_REPLY) == 2
        assert guests[0].u64(L.MB_X0) == 7
    asyncio.run(main())


def test_an_idle_cpu_asks_for_a_long_backup_wake_up_and_a_reply_ends_it():
    async def main():
        kernel, cpus, guests = two_cpus(lambda nr: 0)
        cpus[1].idle()
        assert guests[1].u64(L.MB_WAKE_TICKS) == L.IDLE_WAKE_TICKS
        cpus[1].reply(fake_task(cpus[1]))
        assert guests[1].u64(L.MB_WAKE_TICKS) == 0             # the stub's WAKE_TICKS
    asyncio.run(main())


def test_an_idle_cpu_spins_for_its_next_task_only_while_no_other_cpu_runs_user_code():
    async def main():
        kernel, cpus, guests = two_cpus(lambda nr: 0)
        cpus[1].halt_poll.limit_ns = 100_000       # (wake-ups came soon after idles)
        cpus[1].idle()
        assert guests[1].u64(L.MB_SPIN_TICKS) == 0             # CPU 0 runs user code
        cpus[0].trapped = True
        cpus[1].idle()
        assert guests[1].u64(L.MB_SPIN_TICKS) == 100_000 * 62_500_000 // 1_000_000_000
    asyncio.run(main())
