"""ppoll and pselect6 asleep without a job (syscalls/poll.py _park_wait): a lasting watch of
each file answers inline, in the write (or close, or timer) that makes one ready; a signal
ends the wait with ERESTARTNOHAND, the temporary mask left for delivery."""
import asyncio
import struct

from moss_host.errors import ERESTARTNOHAND
from moss_host.proc.signals import SIGALRM, bit
from moss_host.sched.parked import Parked
from moss_host.syscalls.numbers import SYSCALL_NUMBERS
from moss_host.syscalls.table import SYSCALLS
from tests.unit.test_pipe import POLLIN, acall, fdset, fdset_bits, make_task, pollfds, revents, timespec


def fast(task, name, *args):
    return SYSCALLS[SYSCALL_NUMBERS[name]].fast(task, *args)


async def new_pipe(task):
    ptr = task.mm.alloc(8)
    assert await acall(task, "pipe2", ptr, 0) == 0
    return struct.unpack("<ii", task.mm.read(ptr, 8))


def parked_call(task, name, *args):
    """The fast handler's Parked, and the list its resume (Scheduler.park's) appends to."""
    parked = fast(task, name, *args)
    assert type(parked) is Parked
    results: list = []
    parked.resume = lambda t, r: results.append(r)
    return parked, results


def write_one(task, fd):
    assert fast(task, "write", fd, task.mm.put(b"x"), 1) == 1      # (a pipe with room: at once)


def test_a_parked_ppoll_is_answered_inline_by_the_write_that_makes_a_file_ready():
    async def main():
        task = make_task()
        (r1, w1), (r2, w2) = await new_pipe(task), await new_pipe(task)
        fds = pollfds(task, (r1, POLLIN), (r2, POLLIN))
        parked, results = parked_call(task, "ppoll", fds, 2, 0, 0, 8)
        assert results == []
        write_one(task, w2)
        assert results == [1] and revents(task, fds, 2) == [0, POLLIN]   # at once, no loop turn
        write_one(task, w1)
        assert results == [1]                       # answered once; its watches are gone
    asyncio.run(main())


def test_a_parked_ppoll_times_out_with_zero_and_writes_back_no_time_left():
    async def main():
        task = make_task()
        r, _ = await new_pipe(task)
        fds, tmo = pollfds(task, (r, POLLIN)), timespec(task, 0, 20_000_000)
        parked, results = parked_call(task, "ppoll", fds, 1, tmo, 0, 8)
        await asyncio.sleep(0.05)
        assert results == [0] and parked.timer is None
        assert struct.unpack("<qq", task.mm.read(tmo, 16)) == (0, 0)
    asyncio.run(main())


def test_a_signal_ends_a_parked_ppoll_and_leaves_the_temporary_mask_for_delivery():
    async def main():
        task = make_task()
        r, w = await new_pipe(task)
        task.blocked = bit(SIGALRM)
        fds, mask = pollfds(task, (r, POLLIN)), task.mm.put(struct.pack("<Q", 0))
        parked, results = parked_call(task, "ppoll", fds, 1, 0, mask, 8)
        assert task.blocked == 0 and task.saved_blocked == bit(SIGALRM)
        assert parked.cancel()                      # what a signal does to a sleep
        assert results == [-ERESTARTNOHAND] and task.saved_blocked == bit(SIGALRM)
        write_one(task, w)
        assert results == [-ERESTARTNOHAND]         # no watch left behind
    asyncio.run(main())


def test_an_answered_parked_ppoll_puts_the_callers_mask_back():
    async def main():
        task = make_task()
        r, w = await new_pipe(task)
        task.blocked = bit(SIGALRM)
        fds, mask = pollfds(task, (r, POLLIN)), task.mm.put(struct.pack("<Q", 0))
        parked, results = parked_call(task, "ppoll", fds, 1, 0, mask, 8)
        write_one(task, w)
        assert results == [1] and task.blocked == bit(SIGALRM) and task.saved_blocked is None
    asyncio.run(main())


def test_a_parked_pselect6_wakes_when_the_last_writer_closes():
    async def main():
        task = make_task()
        r, w = await new_pipe(task)
        rd = fdset(task, r)
        parked, results = parked_call(task, "pselect6", r + 1, rd, 0, 0, 0, 0)
        assert await acall(task, "close", w) == 0
        assert results == [1] and fdset_bits(task, rd) == [r]
    asyncio.run(main())
