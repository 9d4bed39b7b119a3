"""A FUTEX_WAIT from the trap path sleeps parked (sched/parked.py): no coroutine, no Task;
a wake, a timeout, a signal or the task's exit finishes it inline."""
import asyncio

import pytest

from moss_host.errors import EAGAIN, ERESTARTSYS, ETIMEDOUT, Errno
from moss_host.proc.futex import FutexTable


class Memory:
    def __init__(self, word: int):
        self.word = word

    def read(self, addr: int, n: int) -> bytes:
        return self.word.to_bytes(4, "little")


class Resumed:
    def __init__(self) -> None:
        self.results: list[int] = []

    def __call__(self, task, result: int) -> None:
        self.results.append(result)


def park(table, mm, task="t", deadline=None, on_signal=None):
    parked = table.park(task, mm, 0x1000, 7, deadline, private=True, on_signal=on_signal)
    resumed = Resumed()
    parked.resume = resumed
    return parked, resumed


def test_a_wake_finishes_the_parked_wait_with_zero_at_once():
    table, mm = FutexTable(), Memory(7)
    parked, resumed = park(table, mm)
    assert len(table) == 1 and not parked.done()
    assert table.wake(mm, 0x1000, 1, private=True) == 1
    assert resumed.results == [0] and parked.done() and len(table) == 0
    assert not parked.cancel()                  # a signal after the wake: the wake counts


def test_a_signal_dequeues_and_restarts_unless_the_caller_says_otherwise():
    table, mm = FutexTable(), Memory(7)
    parked, resumed = park(table, mm)
    assert parked.cancel()
    assert resumed.results == [-ERESTARTSYS] and len(table) == 0
    parked, resumed = park(table, mm, on_signal=lambda: -4)
    parked.cancel()
    assert resumed.results == [-4] and len(table) == 0


def test_a_changed_word_is_eagain_and_parks_nothing():
    table = FutexTable()
    with pytest.raises(Errno) as e:
        table.park("t", Memory(8), 0x1000, 7, None, private=True)
    assert e.value.code == EAGAIN and len(table) == 0


def test_the_deadline_finishes_a_parked_wait_with_etimedout():
    async def run():
        table, mm = FutexTable(), Memory(7)
        parked, resumed = park(table, mm, deadline=asyncio.get_running_loop().time() + 0.001)
        await asyncio.sleep(0.01)
        return table, parked, resumed
    table, parked, resumed = asyncio.run(run())
    assert resumed.results == [-ETIMEDOUT] and parked.done() and len(table) == 0


def test_wakes_take_parked_waiters_in_queue_order():
    table, mm = FutexTable(), Memory(7)
    first, r1 = park(table, mm, task="a")
    second, r2 = park(table, mm, task="b")
    assert table.wake(mm, 0x1000, 1, private=True) == 1
    assert r1.results == [0] and r2.results == [] and len(table) == 1
