"""Futex words that user code on another CPU changes between the kernel's read and its
update (issue 15): every change goes through FutexTable.words as a compare-and-exchange,
and a failed one makes the kernel look again, as Linux's cmpxchg_futex_value_locked loops
do. RacingWords plays the other CPU: its store lands right before the kernel's cmpxchg.
The choice of the CPU whose stub does the update (proc/guest_atomic.py) is checked too."""
import asyncio
from dataclasses import dataclass
from typing import Optional

from moss_host.machine import layout as L
from moss_host.proc import futex_pi, guest_atomic
from moss_host.proc.futex import (FUTEX_OP_ADD, FUTEX_OP_OR, FUTEX_OWNER_DIED, FUTEX_WAITERS, FutexTable,
                                  FutexWords, apply_op, exit_robust_list)
from moss_host.proc.guest_atomic import GuestAtomicWords

from .fakes import FakeMm

A = 0x10000


class SharedMm(FakeMm):
    def shared_futex_key(self, uaddr: int):
        return (id(self), uaddr)


class RacingWords(FutexWords):
    """Before each of the first len(stores) updates, another CPU stores a value in the word."""

    def __init__(self, *stores: int) -> None:
        self.stores = list(stores)
        self.cmpxchgs = 0

    def cmpxchg(self, mm, uaddr, expected, new):
        self.cmpxchgs += 1
        if self.stores:
            word(mm, uaddr, self.stores.pop(0))
        old = word(mm, uaddr)
        if old == expected:
            word(mm, uaddr, new)
        return old


def word(mm, addr, value=None):
    if value is not None:
        mm.write(addr, value.to_bytes(4, "little"))
    return int.from_bytes(mm.read(addr, 4), "little")


def table_with(words: FutexWords) -> FutexTable:
    table = FutexTable()
    table.use_words(words)
    return table


def test_lock_pi_takes_the_lock_its_owner_released_in_user_space_meanwhile():
    # The lost wake-up of pi_stress: owner 10 unlocks in user space (10 -> 0) between our read
    # and our FUTEX_WAITERS store; a plain store would leave 11 asleep on a free lock.
    async def main():
        mm, words = FakeMm(A, 0x1000), RacingWords(0)
        table = table_with(words)
        word(mm, A, 10)
        assert await futex_pi.lock_pi(table, mm, A, 11, None, True, lambda tid: tid in (10, 11)) == 0
        assert word(mm, A) == 11 and len(table) == 0 and words.cmpxchgs == 2
    asyncio.run(main())


def test_lock_pi_of_a_free_word_taken_in_user_space_meanwhile_waits_for_the_new_owner():
    async def main():
        mm = FakeMm(A, 0x1000)
        table = table_with(RacingWords(12))
        locker = asyncio.ensure_future(futex_pi.lock_pi(table, mm, A, 11, None, True, lambda tid: tid in (11, 12)))
        await asyncio.sleep(0)
        assert not locker.done() and word(mm, A) == FUTEX_WAITERS | 12
        assert futex_pi.unlock_pi(table, mm, A, 12, True) == 0
        assert await locker == 0 and word(mm, A) == FUTEX_WAITERS | 11
    asyncio.run(main())


def test_unlock_pi_looks_again_when_the_word_changed_meanwhile():
    async def main():
        mm = FakeMm(A, 0x1000)
        table = table_with(RacingWords(10 | FUTEX_OWNER_DIED))
        word(mm, A, 10)
        assert futex_pi.unlock_pi(table, mm, A, 10, True) == 0 and word(mm, A) == 0
    asyncio.run(main())


def test_robust_death_keeps_the_waiters_bit_a_waiter_set_meanwhile_and_wakes_it():
    async def main():
        mm = SharedMm(A, 0x1000)
        head, entry, futex = A + 0x100, A + 0x200, A + 0x210
        mm.write(head, entry.to_bytes(8, "little") + (futex - entry).to_bytes(8, "little") + bytes(8))
        mm.write(entry, head.to_bytes(8, "little"))
        table = table_with(RacingWords(10 | FUTEX_WAITERS))      # glibc's waiter, before FUTEX_WAIT
        word(mm, futex, 10 | FUTEX_WAITERS)
        waiter = asyncio.ensure_future(table.wait(mm, futex, 10 | FUTEX_WAITERS, None))
        await asyncio.sleep(0)
        word(mm, futex, 10)             # as the dying owner's kernel reads it, just before the store
        exit_robust_list(table, mm, 10, head)
        assert word(mm, futex) == FUTEX_WAITERS | FUTEX_OWNER_DIED
        assert await asyncio.wait_for(waiter, 1) == 0
    asyncio.run(main())


@dataclass
class FakeCpu:
    index: int
    trapped: bool
    handling: bool = False
    current: Optional[object] = None
    traps: int = 1


def test_the_stub_asked_is_the_handling_cpu_then_a_busy_waiting_one_then_an_idle_one():
    task = object()
    cpus = [FakeCpu(0, True), FakeCpu(1, True, current=task), FakeCpu(2, False), FakeCpu(3, True, handling=True)]
    words = GuestAtomicWords(cpus)      # type: ignore[arg-type]
    assert words._waiting_cpu() is cpus[3]
    cpus[3].trapped = False
    assert words._waiting_cpu() is cpus[1]
    cpus[1].trapped = False
    assert words._waiting_cpu() is cpus[0]
    cpus[0].trapped = False
    assert words._waiting_cpu() is None and words._any_cpu() is cpus[0]


def test_with_every_cpu_waiting_for_the_host_no_stub_is_asked():
    mm = FakeMm(A, 0x1000)
    words = GuestAtomicWords([FakeCpu(0, True), FakeCpu(1, True)])      # type: ignore[list-item]
    word(mm, A, 5)
    assert words.cmpxchg(mm, A, 5, 7) == 5 and words.op(mm, A, 1, 3) == 7
    assert word(mm, A) == 10 and words.requests == 0


# -- the mailbox protocol of proc/guest_atomic.py, against a stub played by a host thread ----------

class StubCpu:
    """A CPU for guest_atomic: its mailbox and a thread that acts as guest_stub/start.S does --
    a reply with OP_ATOMIC: the update on RAM, MB_ATOMIC_OLD, SEQ_REQ + 1 (atomic_op); a kick
    while it runs user code: a trap (SEQ_REQ + 1)."""

    def __init__(self, ram: bytearray, trapped: bool) -> None:
        import struct
        import threading
        self.index, self.traps, self.handling, self.current = 1, 1, False, None
        self.frame = memoryview(bytearray(L.MAILBOX_SIZE))
        self.ram = ram
        self.trapped = trapped
        self.handled_seq = 5
        self.spin_ticks = L.SPIN_TICKS
        self.u64 = struct.Struct("<Q")
        self.set(L.MB_SEQ_REQ, 5)
        self.set(L.MB_SEQ_REPLY, 5 if not trapped else 4)      # running user code, or waiting
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def get(self, off):
        return self.u64.unpack_from(self.frame, off)[0]

    def set(self, off, value):
        self.u64.pack_into(self.frame, off, value)

    def run(self):
        import time as t
        while not self.stop:
            req = self.get(L.MB_SEQ_REQ)
            if self.get(L.MB_SEQ_REPLY) == req:
                if self.get(L.MB_OPS) & L.OP_ATOMIC:
                    self.atomic()
                    self.set(L.MB_SEQ_REQ, req + 1)
                elif self.get(L.MB_KICK):
                    self.set(L.MB_KICK, 0)
                    self.set(L.MB_SEQ_REQ, req + 1)
            t.sleep(0.0001)

    def atomic(self):
        kind, addr, cmp, arg = (self.get(L.MB_ATOMIC_KIND + 8 * i) for i in range(4))
        off = addr - L.LINEAR_OFFSET
        old = int.from_bytes(self.ram[off:off + 4], "little")
        new = arg if kind == L.ATOMIC_CMPXCHG and old == cmp else \
            old if kind == L.ATOMIC_CMPXCHG else apply_op(kind - L.ATOMIC_SET, arg, old)
        self.ram[off:off + 4] = (new & 0xFFFF_FFFF).to_bytes(4, "little")
        self.set(L.MB_ATOMIC_OLD, old)
        self.set(L.MB_OPS, self.get(L.MB_OPS) & ~L.OP_ATOMIC)

    def publish_spin(self, ticks):
        self.spin_ticks = ticks

    def wake_guest(self):
        pass

    def kick(self):
        self.set(L.MB_KICK, 1)


def test_a_waiting_cpu_s_stub_updates_the_word_and_the_host_takes_its_answer_as_handled():
    ram = bytearray(64)
    cpu = StubCpu(ram, trapped=True)
    try:
        ram[8:12] = (10).to_bytes(4, "little")
        assert guest_atomic.request(cpu, L.ATOMIC_CMPXCHG, L.LINEAR_OFFSET + 8, 10, 11 | FUTEX_WAITERS) == 10
        assert guest_atomic.request(cpu, L.ATOMIC_CMPXCHG, L.LINEAR_OFFSET + 8, 10, 0) == 11 | FUTEX_WAITERS
        assert guest_atomic.request(cpu, L.ATOMIC_SET + FUTEX_OP_ADD, L.LINEAR_OFFSET + 8, 0, 5) == 11 | FUTEX_WAITERS
        assert int.from_bytes(ram[8:12], "little") == 16 | FUTEX_WAITERS
        # each answer is a trap the host counts as handled: the reply that follows is to SEQ_REQ
        assert cpu.handled_seq == cpu.get(L.MB_SEQ_REQ) == 8 and cpu.get(L.MB_HOST_POLLING) == 0
    finally:
        cpu.stop = True


def test_a_cpu_running_user_code_is_kicked_and_its_trap_left_for_the_host():
    ram = bytearray(64)
    cpu = StubCpu(ram, trapped=False)
    try:
        assert guest_atomic.kicked_request(cpu, L.ATOMIC_SET + FUTEX_OP_OR, L.LINEAR_OFFSET + 4, 0, 3) == 0
        assert int.from_bytes(ram[4:8], "little") == 3
        # the kick's trap (6), answered with the update (7): SEQ_REQ 7 is still the host's to take
        assert cpu.get(L.MB_SEQ_REQ) == 7 and cpu.handled_seq == 5
    finally:
        cpu.stop = True
