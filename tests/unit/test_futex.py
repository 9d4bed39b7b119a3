"""The futex table (proc/futex.py) without QEMU: waits, wakes by count and bitset,
requeue, wake_op, timeouts and cancellation; the PI state machine (proc/futex_pi.py) and
futex_waitv. Private futexes throughout: shared keys are the address space's business."""
import asyncio
import errno

import pytest

from moss_host.errors import Errno
from moss_host.proc import futex_pi
from moss_host.proc.futex import FUTEX_OP_ADD, FUTEX_OP_CMP_EQ, FutexTable, queue_prio

from .fakes import FakeMm

A, B = 0x10000, 0x10010


def word(mm, addr, value=None):
    if value is not None:
        mm.write(addr, value.to_bytes(4, "little"))
    return int.from_bytes(mm.read(addr, 4), "little")


def op(kind, oparg, cmp, cmparg):
    return kind << 28 | cmp << 24 | (oparg & 0xFFF) << 12 | cmparg & 0xFFF


async def sleepers(table, mm, addr, n, bitset=0xFFFF_FFFF):
    tasks = [asyncio.ensure_future(table.wait(mm, addr, 5, None, bitset, private=True)) for _ in range(n)]
    await asyncio.sleep(0)
    return tasks


def test_wait_checks_the_value_and_alignment_first():
    async def main():
        mm, table = FakeMm(A, 0x1000), FutexTable()
        word(mm, A, 5)
        with pytest.raises(Errno) as e:
            await table.wait(mm, A, 4, None, private=True)
        assert e.value.code == errno.EAGAIN
        with pytest.raises(Errno) as e:
            await table.wait(mm, A + 1, 5, None, private=True)
        assert e.value.code == errno.EINVAL
        loop = asyncio.get_running_loop()
        with pytest.raises(Errno) as e:
            await table.wait(mm, A, 5, loop.time() + 0.01, private=True)
        assert e.value.code == errno.ETIMEDOUT and len(table) == 0
    asyncio.run(main())


def test_wake_counts_bitsets_and_cancellation():
    async def main():
        mm, table = FakeMm(A, 0x1000), FutexTable()
        word(mm, A, 5)
        tasks = await sleepers(table, mm, A, 3)
        assert table.wake(mm, A, 2, private=True) == 2
        await asyncio.sleep(0)
        assert [t.done() for t in tasks] == [True, True, False]
        tasks[2].cancel()
        await asyncio.sleep(0)
        assert len(table) == 0 and table.wake(mm, A, 1, private=True) == 0
        odd = await sleepers(table, mm, A, 1, bitset=1)
        assert table.wake(mm, A, 5, bitset=2, private=True) == 0 and table.wake(mm, A, 5, bitset=3, private=True) == 1
        await asyncio.gather(*odd)
    asyncio.run(main())


def test_requeue_moves_waiters_and_wake_op_changes_the_second_word():
    async def main():
        mm, table = FakeMm(A, 0x1000), FutexTable()
        word(mm, A, 5)
        tasks = await sleepers(table, mm, A, 4)
        assert table.requeue(mm, A, B, 1, 2, expected=5, private=True) == 3
        assert table.wake(mm, B, 10, private=True) == 2 and table.wake(mm, A, 10, private=True) == 1
        await asyncio.gather(*tasks)
        with pytest.raises(Errno):
            table.requeue(mm, A, B, 1, 1, expected=4, private=True)
        tasks = await sleepers(table, mm, A, 1)
        word(mm, B, 1)
        assert table.wake_op(mm, A, B, 1, 1, op(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 1), private=True) == 1
        assert word(mm, B) == 4
        await asyncio.gather(*tasks)
    asyncio.run(main())


# -- priority inheritance (proc/futex_pi.py) ---------------------------------------------------

WAITERS, OWNER_DIED = 0x8000_0000, 0x4000_0000


def errno_of(call):
    with pytest.raises(Errno) as e:
        call()
    return e.value.code


async def errno_of_async(coro):
    with pytest.raises(Errno) as e:
        await coro
    return e.value.code


def alive(*tids):
    return lambda tid: tid in tids


def test_pi_lock_takes_a_free_word_and_checks_owner_and_caller():
    async def main():
        mm, table = FakeMm(A, 0x1000), FutexTable()
        assert await futex_pi.lock_pi(table, mm, A, 10, None, True, alive(10)) == 0
        assert word(mm, A) == 10
        assert await errno_of_async(futex_pi.lock_pi(table, mm, A, 10, None, True, alive(10))) == errno.EDEADLK
        # trylock of a held lock: EAGAIN, and the word now says someone is in the kernel
        assert await errno_of_async(futex_pi.lock_pi(table, mm, A, 11, None, True, alive(10, 11), True)) \
            == errno.EAGAIN
        assert word(mm, A) == WAITERS | 10
        assert errno_of(lambda: futex_pi.unlock_pi(table, mm, A, 11, True)) == errno.EPERM
        assert futex_pi.unlock_pi(table, mm, A, 10, True) == 0 and word(mm, A) == 0
        word(mm, A, 77)                 # a TID that names no thread
        assert await errno_of_async(futex_pi.lock_pi(table, mm, A, 10, None, True, alive(10))) == errno.ESRCH
        assert word(mm, A) == WAITERS | 77
        word(mm, A, OWNER_DIED)         # a robust owner died: the new owner sees OWNER_DIED
        assert await futex_pi.lock_pi(table, mm, A, 10, None, True, alive(10)) == 0
        assert word(mm, A) == OWNER_DIED | 10
        assert await errno_of_async(futex_pi.lock_pi(table, mm, A + 2, 10, None, True, alive(10))) == errno.EINVAL
    asyncio.run(main())


def test_pi_unlock_hands_the_lock_to_the_first_waiter_in_order():
    async def main():
        mm, table = FakeMm(A, 0x1000), FutexTable()
        word(mm, A, 10)
        lockers = [asyncio.ensure_future(futex_pi.lock_pi(table, mm, A, tid, None, True, alive(10, 11, 12)))
                   for tid in (11, 12)]
        await asyncio.sleep(0)
        assert word(mm, A) == WAITERS | 10 and len(table) == 2
        assert futex_pi.unlock_pi(table, mm, A, 10, True) == 0
        assert word(mm, A) == WAITERS | 11      # handed over before 11 even runs
        await asyncio.sleep(0)
        assert lockers[0].done() and not lockers[1].done()
        assert futex_pi.unlock_pi(table, mm, A, 11, True) == 0 and word(mm, A) == WAITERS | 12
        assert futex_pi.unlock_pi(table, mm, A, 12, True) == 0 and word(mm, A) == 0
        await asyncio.gather(*lockers)
        # a plain wake or wait-style requeue on a PI word with waiters: EINVAL
        word(mm, A, 10)
        locker = asyncio.ensure_future(futex_pi.lock_pi(table, mm, A, 11, None, True, alive(10, 11)))
        await asyncio.sleep(0)
        assert errno_of(lambda: table.wake(mm, A, 1, private=True)) == errno.EINVAL
        word(mm, A, WAITERS | 12)       # user space scribbled another owner over the word
        assert await errno_of_async(futex_pi.lock_pi(table, mm, A, 13, None, True, alive(10, 11, 12, 13))) \
            == errno.EINVAL
        word(mm, A, WAITERS | 10)
        loop = asyncio.get_running_loop()
        assert await errno_of_async(futex_pi.lock_pi(table, mm, A, 13, loop.time() + 0.01, True,
                                                     alive(10, 11, 13))) == errno.ETIMEDOUT
        futex_pi.unlock_pi(table, mm, A, 10, True)
        await locker
        assert word(mm, A) == WAITERS | 11 and len(table) == 0
    asyncio.run(main())


def test_pi_owner_death_hands_over_with_owner_died_and_cycles_are_edeadlk():
    async def main():
        mm, table = FakeMm(A, 0x1000), FutexTable()
        word(mm, A, 10)
        word(mm, B, 11)
        first = asyncio.ensure_future(futex_pi.lock_pi(table, mm, A, 11, None, True, alive(10, 11)))
        await asyncio.sleep(0)
        # 11 waits for 10's lock; 10 waiting for 11's would close the cycle
        assert await errno_of_async(futex_pi.lock_pi(table, mm, B, 10, None, True, alive(10, 11))) == errno.EDEADLK
        word(mm, A, WAITERS | OWNER_DIED)   # what the robust list walk leaves
        futex_pi.exit_pi_state_list(table, 10)
        await first
        assert word(mm, A) == OWNER_DIED | WAITERS | 11
        word(mm, A, 10)                 # not robust: the word still names the dead owner
        second = asyncio.ensure_future(futex_pi.lock_pi(table, mm, A, 11, None, True, alive(10, 11)))
        await asyncio.sleep(0)
        futex_pi.exit_pi_state_list(table, 10)
        await second
        assert word(mm, A) == OWNER_DIED | WAITERS | 11      # fixup_pi_state_owner sets it all the same
    asyncio.run(main())


def test_requeue_pi_takes_a_free_lock_for_the_first_waiter_and_queues_the_rest():
    async def main():
        mm, table = FakeMm(A, 0x1000), FutexTable()
        word(mm, A, 5)
        waits = [asyncio.ensure_future(futex_pi.wait_requeue_pi(table, mm, A, 5, None, B, tid, True))
                 for tid in (11, 12, 13)]
        await asyncio.sleep(0)
        assert errno_of(lambda: table.wake(mm, A, 1, private=True)) == errno.EINVAL
        assert errno_of(lambda: table.requeue(mm, A, B, 1, 1, 5, private=True)) == errno.EINVAL
        assert errno_of(lambda: futex_pi.cmp_requeue_pi(table, mm, A, B, 2, 1, 5, True, alive())) == errno.EINVAL
        assert errno_of(lambda: futex_pi.cmp_requeue_pi(table, mm, A, A, 1, 1, 5, True, alive())) == errno.EINVAL
        assert errno_of(lambda: futex_pi.cmp_requeue_pi(table, mm, A, B, 1, 1, 4, True, alive())) == errno.EAGAIN
        assert errno_of(lambda: futex_pi.cmp_requeue_pi(table, mm, A, B + 8, 1, 1, 5, True, alive())) \
            == errno.EINVAL                 # they wait to go to B, not B + 8
        assert futex_pi.cmp_requeue_pi(table, mm, A, B, 1, 1, 5, True, alive(11, 12, 13)) == 2
        assert word(mm, B) == WAITERS | 11
        await asyncio.sleep(0)
        assert [w.done() for w in waits] == [True, False, False]
        assert futex_pi.unlock_pi(table, mm, B, 11, True) == 0 and word(mm, B) == WAITERS | 12
        assert futex_pi.cmp_requeue_pi(table, mm, A, B, 1, 0, 5, True, alive(11, 12, 13)) == 1
        futex_pi.unlock_pi(table, mm, B, 12, True)
        await asyncio.gather(*waits)
        assert word(mm, B) == WAITERS | 13
    asyncio.run(main())


def test_waitv_returns_the_index_woken_and_checks_every_value_first():
    async def main():
        mm, table = FakeMm(A, 0x1000), FutexTable()
        word(mm, A, 1)
        word(mm, B, 2)
        with pytest.raises(Errno) as e:
            await table.wait_multiple([(mm, A, 1, True), (mm, B, 3, True)], None)
        assert e.value.code == errno.EAGAIN and len(table) == 0
        sleeper = asyncio.ensure_future(table.wait_multiple([(mm, A, 1, True), (mm, B, 2, True)], None))
        await asyncio.sleep(0)
        assert len(table) == 2 and table.wake(mm, B, 1, private=True) == 1
        assert await sleeper == 1 and len(table) == 0
    asyncio.run(main())


def test_wake_of_zero_still_wakes_one_as_linux_counts_after_waking():
    async def main():
        mm, table = FakeMm(A, 0x1000), FutexTable()
        word(mm, A, 5)
        tasks = await sleepers(table, mm, A, 2)
        assert table.wake(mm, A, 0, private=True) == 1 and table.wake(mm, A, -1, private=True) == 1
        await asyncio.gather(*tasks)
    asyncio.run(main())


def test_real_time_sleepers_queue_ahead_by_priority_for_wakes_and_pi_handover():
    async def main():
        mm, table = FakeMm(A, 0x1000), FutexTable()
        normal, fifo10, fifo20 = queue_prio(0, 0), queue_prio(1, 10), queue_prio(1, 20)
        word(mm, A, 10)
        lockers = {tid: asyncio.ensure_future(futex_pi.lock_pi(table, mm, A, tid, None, True, alive(10, 11, 12, 13),
                                                                prio=prio))
                   for tid, prio in ((11, normal), (12, fifo10), (13, fifo20))}
        await asyncio.sleep(0)
        order = []
        for owner in (10, 13, 12):
            futex_pi.unlock_pi(table, mm, A, owner, True)
            order.append(word(mm, A) & 0xFFFF)
        assert order == [13, 12, 11]
        await asyncio.gather(*lockers.values())
        word(mm, B, 5)
        plain = [asyncio.ensure_future(table.wait(mm, B, 5, None, private=True, prio=p)) for p in (normal, fifo10, normal)]
        await asyncio.sleep(0)
        assert table.wake(mm, B, 1, private=True) == 1
        await asyncio.sleep(0)
        assert [t.done() for t in plain] == [False, True, False]
        table.wake(mm, B, 2, private=True)
        await asyncio.gather(*plain)
    asyncio.run(main())
