"""getpid answered by the guest stub (guest_stub/start.S, sync_entry): the host writes the
answer into MB_FAST_PID when it switches a task in, and 0 -- every getpid traps -- whenever
something must see the call (--trace, ptrace's syscall stops, single step)."""
import struct
from types import SimpleNamespace

from moss_host.machine import layout as L
from moss_host.machine.mailbox import CONTEXT_SIZE, Mailbox
from moss_host.proc.cpu import Cpu
from moss_host.proc.task import State
from moss_host.sched.scheduler import Scheduler


class FakeMem:
    guest_work_pending = False
    tlbi_all = False


def cpu_and_mailbox():
    ram = bytearray(L.MAILBOX_BASE - L.RAM_BASE + L.MAILBOX_SIZE)
    mb = Mailbox(ram, 0)
    host = SimpleNamespace(panic=lambda m: None, machine_gone=lambda why: None)
    cpu = Cpu(0, mb, SimpleNamespace(send=lambda b: None), FakeMem(), Scheduler(),
              lambda *a: 0, None, host)
    return cpu, mb


def task(tgid, traced=False, hwdebug=None):
    return SimpleNamespace(tgid=tgid, traced_syscalls=traced, ptrace=SimpleNamespace(hwdebug=hwdebug),
                           context=bytearray(CONTEXT_SIZE), state=State.RUNNABLE, on_cpu=None)


def fast_pid(mb: Mailbox) -> int:
    return struct.unpack_from("<Q", mb.mem, L.MB_FAST_PID)[0]


def test_a_task_switched_in_has_its_pid_answered_by_the_stub():
    cpu, mb = cpu_and_mailbox()
    cpu.switch_in(task(42))
    assert fast_pid(mb) == 42
    cpu.switch_out(cpu.current)
    cpu.switch_in(task(7))
    assert fast_pid(mb) == 7


def test_ptrace_syscall_stops_and_single_step_make_getpid_trap():
    cpu, mb = cpu_and_mailbox()
    cpu.switch_in(task(42, traced=True))
    assert fast_pid(mb) == 0
    cpu.switch_out(cpu.current)
    cpu.switch_in(task(43, hwdebug=SimpleNamespace(uses_registers=False, mdscr=lambda: 1)))
    assert fast_pid(mb) == 0


def test_trace_switched_on_while_a_task_runs_makes_its_getpid_trap_and_off_again_not():
    cpu, mb = cpu_and_mailbox()
    cpu.switch_in(task(42))
    cpu.set_tracer(object())
    assert fast_pid(mb) == 0
    cpu.switch_out(cpu.current)
    cpu.switch_in(task(43))
    assert fast_pid(mb) == 0
    cpu.set_tracer(None)
    assert fast_pid(mb) == 43
