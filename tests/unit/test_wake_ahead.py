"""Cpu.wake_ahead without QEMU: an idle CPU whose guest sleeps in WFI is woken with a spin
budget just before the loop's next timer (a nanosleep ending), once per spin, never while
the host is contended; how far ahead adapts to whether the replies found it awake."""
from types import SimpleNamespace

from moss_host.machine import layout as L
from moss_host.machine.mailbox import Mailbox
from moss_host.machine import wake_lead as W
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
    cpu.wake_lead = W.WakeLead()                # (not the host's, which other tests move)
    cpu.trapped = True
    cpu.current = None
    cpu.publish_spin(0)
    return cpu, mb, sent


def spin_ticks(mb):
    return mb.u64(L.MB_SPIN_TICKS)


def test_a_timer_due_soon_wakes_the_sleeping_guest_to_spin():
    cpu, mb, sent = idle_cpu()
    lead = cpu.wake_lead.lead_s
    assert not cpu.poll(lead / 2, lambda: False)
    assert spin_ticks(mb) == cpu.wake_lead.spin_ticks and sent == [b"!"]
    assert cpu.wake_lead.spin_ns > cpu.wake_lead.lead_ns     # it spins past the timer
    assert not cpu.poll(lead / 4, lambda: False)     # once per spin
    assert sent == [b"!"]


def test_no_wake_for_a_timer_further_away_or_none():
    cpu, mb, sent = idle_cpu()
    cpu.poll(cpu.wake_lead.lead_s * 3, lambda: False)
    cpu.poll(None, lambda: False)
    assert spin_ticks(mb) == 0 and sent == []


def test_no_wake_while_the_host_is_contended():
    cpu, mb, sent = idle_cpu()
    cpu.contended = True
    cpu.poll(cpu.wake_lead.lead_s / 2, lambda: False)
    assert spin_ticks(mb) == 0 and sent == []


def test_the_lead_grows_when_replies_find_the_guest_asleep_and_shrinks_when_awake():
    lead = W.WakeLead()
    for _ in range(20):
        lead.replied(asleep=True)
    assert lead.lead_ns == W.LEAD_MAX_NS
    lead.replied(asleep=False)
    assert W.LEAD_MIN_NS < lead.lead_ns < W.LEAD_MAX_NS
    for _ in range(200):
        lead.replied(asleep=False)
    assert lead.lead_ns == W.LEAD_MIN_NS


def test_the_reply_a_wake_ahead_was_for_tells_the_lead_what_it_found():
    cpu, mb, sent = idle_cpu()
    task = SimpleNamespace(mm=None, ptrace=SimpleNamespace(hwdebug=None))
    cpu.loaded_mm = None
    cpu.poll(cpu.wake_lead.lead_s / 2, lambda: False)
    mb.mem[L.MB_SLEEPING] = 1                   # the guest has not woken yet
    cpu.reply(task)
    assert cpu.wake_lead.late == 1 and cpu.wake_lead.lead_ns > W.LEAD_MIN_NS
