"""Futex words that user code on another CPU changes between the kernel's read and its
update (issue 15): every change goes through FutexTable.words as a compare-and-exchange,
and a failed one makes the kernel look again, as Linux's cmpxchg_futex_value_locked loops
do. RacingWords plays the other CPU: its store lands right before the kernel's cmpxchg.
The choice of the CPU whose stub does the update (proc/guest_atomic.py) is checked too."""
import asyncio
from dataclasses import dataclass
from typing import Optional

from moss_host.proc import futex_pi
from moss_host.proc.futex import FUTEX_OWNER_DIED, FUTEX_WAITERS, FutexTable, FutexWords, exit_robust_list
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
