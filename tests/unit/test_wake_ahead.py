"""Cpu.wake_ahead without QEMU: an idle CPU whose guest sleeps in WFI is woken with a spin
budget just before the loop's next timer (a nanosleep ending), once per spin, never while
the host is contended."""
from types import SimpleNamespace

from moss_host.machine import layout as L
from moss_host.machine.mailbox import Mailbox
from moss_host.machine.polling import WAKE_AHEAD_S
from moss_host.proc import cpu as cpumod
from moss_host.proc.cpu import Cpu
from moss_host.sched.scheduler import Scheduler


class FakeMem:
    guest_work_pending = False
    tlbi_all = False


def idle_cpu():
    """A CPU whose guest trapped and waits in WFI with nothing to run (spin budget 0)."""
    ram = bytearray(L.MAILBOX_BASE - L.RAM_BASE + L.MAILBOX_SIZE)
    mb = Mailbox(ram, 0)
    sent = []
    host = SimpleNamespace(panic=lambda m: None, machine_gone=lambda why: None)
    cpu = Cpu(0, mb, SimpleNamespace(send=sent.append), FakeMem(), Scheduler(),
              lambda *a: 0, None, host)
    cpu.trapped = True
    cpu.current = None
    cpu.publish_spin(0)
    return cpu, mb, sent


def spin_ticks(mb):
    return mb.u64(L.MB_SPIN_TICKS)


def test_a_timer_due_soon_wakes_the_sleeping_guest_to_spin():
    cpu, mb, sent = idle_cpu()
    assert not cpu.poll(WAKE_AHEAD_S / 2, lambda: False)
    assert spin_ticks(mb) == cpumod.WAKE_SPIN_TICKS and sent == [b"!"]
    assert not cpu.poll(WAKE_AHEAD_S / 4, lambda: False)     # once per spin
    assert sent == [b"!"]


def test_no_wake_for_a_timer_further_away_or_none():
    cpu, mb, sent = idle_cpu()
    cpu.poll(WAKE_AHEAD_S * 3, lambda: False)
    cpu.poll(None, lambda: False)
    assert spin_ticks(mb) == 0 and sent == []


def test_no_wake_while_the_host_is_contended():
    cpu, mb, sent = idle_cpu()
    cpu.contended = True
    cpu.poll(WAKE_AHEAD_S / 2, lambda: False)
    assert spin_ticks(mb) == 0 and sent == []
