"""Cpu.take_trap calling a syscall's plain handler or synchronous try itself (proc/direct.py,
syscalls/dispatch.py direct_calls): the answers the syscall entry would give, without it."""
import struct
from types import SimpleNamespace

from moss_host.errors import EBADF, Errno
from moss_host.machine import layout as L
from moss_host.machine.mailbox import Mailbox
from moss_host.proc.cpu import Cpu
from moss_host.proc.direct import DirectCalls
from moss_host.proc.task import State
from moss_host.sched.scheduler import Scheduler
from moss_host.syscalls import dispatch, load_all
from moss_host.syscalls.numbers import SYSCALL_NUMBERS
from moss_host.syscalls.table import SLOW

from .test_cpu_poll import FakeMem, Guest

NR = 7                                      # a number of our own in a table of eight


def machine(function, tracer=None):
    ram = bytearray(L.MAILBOX_BASE - L.RAM_BASE + L.MAILBOX_SIZE)
    mb = Mailbox(ram, 0)
    entered, failures = [], []

    def start_syscall(task, nr, frame, tracer):
        entered.append(nr)
        return 99

    def failed(task, nr, frame, exc):
        failures.append(exc)
        return -14

    table = [None] * 8
    table[NR] = (function, struct.Struct("<2Q").unpack_from)
    direct = DirectCalls(table, SLOW, failed)
    host = SimpleNamespace(panic=lambda m: None, machine_gone=lambda why: None)
    cpu = Cpu(0, mb, SimpleNamespace(send=lambda b: None), FakeMem(), Scheduler(), start_syscall,
              tracer, host, direct=direct)
    cpu.governor.enabled = False
    task = SimpleNamespace(state=State.RUNNABLE, sigpending=0, group=SimpleNamespace(shared_pending=0),
                           blocked=0, restart=None, on_cpu=cpu, mm=None, utime_ns=0, stime_ns=0,
                           traced_syscalls=False, ptrace=SimpleNamespace(hwdebug=None), tgid=1)
    cpu.current = task
    cpu.loaded_mm = None
    guest = Guest(mb)
    guest.put(L.MB_X0 + 8, 6)
    return cpu, guest, entered, failures


def trap(cpu, guest, nr=NR):
    guest.put(L.MB_X0, 5)                   # (the last answer is in x0)
    guest.svc(nr)
    assert cpu.take_trap(0)
    return struct.unpack_from("<q", guest.m, L.MB_X0)[0]


def test_a_direct_call_gets_its_arguments_and_answers_at_once():
    cpu, guest, entered, _ = machine(lambda task, a, b: a * b)
    assert trap(cpu, guest) == 30 and entered == []
    assert guest.u64(L.MB_SEQ_REPLY) == 1 and not cpu.trapped


def test_a_call_without_arguments_gets_the_task_alone():
    cpu, guest, _, _ = machine(lambda task: 41)
    cpu.direct_table[NR] = (lambda task: 41, None)
    assert trap(cpu, guest) == 41


def test_errno_none_and_kernel_bugs_as_the_syscall_entry_answers_them():
    def refuse(task, a, b):
        raise Errno(EBADF)
    assert trap(*machine(refuse)[:2]) == -EBADF
    assert trap(*machine(lambda task, a, b: None)[:2]) == 0
    cpu, guest, _, failures = machine(lambda task, a, b: 1 // 0)
    assert trap(cpu, guest) == -14 and type(failures[0]) is ZeroDivisionError


def test_slow_sends_the_call_to_the_syscall_entry():
    cpu, guest, entered, _ = machine(lambda task, a, b: SLOW)
    assert trap(cpu, guest) == 99 and entered == [NR]


def test_no_direct_calls_while_syscalls_are_traced_or_for_numbers_without_one():
    cpu, guest, entered, _ = machine(lambda task, a, b: a * b, tracer=object())
    assert trap(cpu, guest) == 99 and entered == [NR]
    cpu.set_tracer(None)
    assert trap(cpu, guest, NR) == 30
    assert trap(cpu, guest, 3) == 99 and trap(cpu, guest, 1000) == 99 and entered == [NR, 3, 1000]


def test_the_table_holds_plain_handlers_and_synchronous_tries_only():
    load_all()
    direct = dispatch.direct_calls()
    getppid, write, execve = (direct.table[SYSCALL_NUMBERS[n]] for n in ("getppid", "write", "execve"))
    assert getppid is not None and getppid[0].__name__ == "getppid" and getppid[1] is None
    assert write is not None and write[0].__name__ == "_write_now" and write[1] is not None
    assert execve is None and direct.slow is SLOW


def test_only_a_direct_answer_lets_the_stub_restore_its_scratch_registers_alone():
    cpu, guest, _, _ = machine(lambda task, a, b: a * b)
    trap(cpu, guest)
    assert guest.u64(L.MB_RESTORE_ALL) == 0             # x0 changed, nothing else
    cpu, guest, _, _ = machine(lambda task, a, b: SLOW)
    trap(cpu, guest)                                    # the async handler may change anything
    assert guest.u64(L.MB_RESTORE_ALL) == 1
    cpu, guest, _, _ = machine(lambda task, a, b: 0)
    trap(cpu, guest, 3)                                 # through the syscall entry (rt_sigreturn ...)
    assert guest.u64(L.MB_RESTORE_ALL) == 1
