"""The futex table (proc/futex.py) without QEMU: waits, wakes by count and bitset,
requeue, wake_op, timeouts and cancellation."""
import asyncio
import errno

import pytest

from moss_host.errors import Errno
from moss_host.proc.futex import FUTEX_OP_ADD, FUTEX_OP_CMP_EQ, FutexTable

from .fakes import FakeMm

A, B = 0x10000, 0x10010


def word(mm, addr, value=None):
    if value is not None:
        mm.write(addr, value.to_bytes(4, "little"))
    return int.from_bytes(mm.read(addr, 4), "little")


def op(kind, oparg, cmp, cmparg):
    return kind << 28 | cmp << 24 | (oparg & 0xFFF) << 12 | cmparg & 0xFFF


async def sleepers(table, mm, addr, n, bitset=0xFFFF_FFFF):
    tasks = [asyncio.ensure_future(table.wait(mm, addr, 5, None, bitset)) for _ in range(n)]
    await asyncio.sleep(0)
    return tasks


def test_wait_checks_the_value_and_alignment_first():
    async def main():
        mm, table = FakeMm(A, 0x1000), FutexTable()
        word(mm, A, 5)
        with pytest.raises(Errno) as e:
            await table.wait(mm, A, 4, None)
        assert e.value.code == errno.EAGAIN
        with pytest.raises(Errno) as e:
            await table.wait(mm, A + 1, 5, None)
        assert e.value.code == errno.EINVAL
        loop = asyncio.get_running_loop()
        with pytest.raises(Errno) as e:
            await table.wait(mm, A, 5, loop.time() + 0.01)
        assert e.value.code == errno.ETIMEDOUT and len(table) == 0
    asyncio.run(main())


def test_wake_counts_bitsets_and_cancellation():
    async def main():
        mm, table = FakeMm(A, 0x1000), FutexTable()
        word(mm, A, 5)
        tasks = await sleepers(table, mm, A, 3)
        assert table.wake(mm, A, 2) == 2
        await asyncio.sleep(0)
        assert [t.done() for t in tasks] == [True, True, False]
        tasks[2].cancel()
        await asyncio.sleep(0)
        assert len(table) == 0 and table.wake(mm, A, 1) == 0
        odd = await sleepers(table, mm, A, 1, bitset=1)
        assert table.wake(mm, A, 5, bitset=2) == 0 and table.wake(mm, A, 5, bitset=3) == 1
        await asyncio.gather(*odd)
    asyncio.run(main())


def test_requeue_moves_waiters_and_wake_op_changes_the_second_word():
    async def main():
        mm, table = FakeMm(A, 0x1000), FutexTable()
        word(mm, A, 5)
        tasks = await sleepers(table, mm, A, 4)
        assert table.requeue(mm, A, B, 1, 2, expected=5) == 3
        assert table.wake(mm, B, 10) == 2 and table.wake(mm, A, 10) == 1
        await asyncio.gather(*tasks)
        with pytest.raises(Errno):
            table.requeue(mm, A, B, 1, 1, expected=4)
        tasks = await sleepers(table, mm, A, 1)
        word(mm, B, 1)
        assert table.wake_op(mm, A, B, 1, 1, op(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 1)) == 1
        assert word(mm, B) == 4
        await asyncio.gather(*tasks)
    asyncio.run(main())
