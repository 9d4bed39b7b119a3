"""ppoll, pselect6 and epoll_pwait asleep without a job (syscalls/poll.py and epoll.py
_park_wait): a watch answers inline, in the write (or close, or timer) that makes a file
ready; a signal ends the wait (ERESTARTNOHAND; epoll: EINTR), the temporary mask left for
delivery."""
import asyncio
import struct

from moss_host.errors import EINTR, ERESTARTNOHAND
from moss_host.fs.epoll import EPOLL_CTL_ADD, EPOLL_EVENT, EPOLLIN
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


async def epoll_on(task, fd, data):
    from types import SimpleNamespace
    task.kernel = SimpleNamespace(memory_kb=lambda: (1 << 20, 0))   # (max_user_watches' share)
    ep = await acall(task, "epoll_create1", 0)
    event = task.mm.put(EPOLL_EVENT.pack(EPOLLIN, data))
    assert await acall(task, "epoll_ctl", ep, EPOLL_CTL_ADD, fd, event) == 0
    return ep


def test_a_parked_epoll_wait_is_answered_inline_by_the_write_that_makes_an_item_ready():
    async def main():
        task = make_task()
        r, w = await new_pipe(task)
        ep = await epoll_on(task, r, 0xABC)
        events = task.mm.alloc(2 * EPOLL_EVENT.size)
        parked, results = parked_call(task, "epoll_pwait", ep, events, 2, -1, 0, 8)
        write_one(task, w)
        assert results == [1]
        assert EPOLL_EVENT.unpack(task.mm.read(events, EPOLL_EVENT.size)) == (EPOLLIN, 0xABC)
        assert task.files.get(ep).ep.parked == 0     # its watch is gone
    asyncio.run(main())


def test_a_parked_epoll_wait_times_out_and_a_signal_ends_one_with_eintr():
    async def main():
        task = make_task()
        r, w = await new_pipe(task)
        ep = await epoll_on(task, r, 1)
        events = task.mm.alloc(EPOLL_EVENT.size)
        parked, results = parked_call(task, "epoll_pwait", ep, events, 1, 20, 0, 8)   # 20 ms
        await asyncio.sleep(0.05)
        assert results == [0] and parked.timer is None
        task.blocked = bit(SIGALRM)
        mask = task.mm.put(struct.pack("<Q", 0))
        parked, results = parked_call(task, "epoll_pwait", ep, events, 1, -1, mask, 8)
        assert task.blocked == 0 and task.saved_blocked == bit(SIGALRM)
        assert parked.cancel()
        assert results == [-EINTR] and task.saved_blocked == bit(SIGALRM)   # kept for delivery
        write_one(task, w)
        assert results == [-EINTR]
    asyncio.run(main())


def test_a_parked_epoll_pwait2_keeps_its_timespec_timeout():
    async def main():
        task = make_task()
        r, _ = await new_pipe(task)
        ep = await epoll_on(task, r, 1)
        events = task.mm.alloc(EPOLL_EVENT.size)
        parked, results = parked_call(task, "epoll_pwait2", ep, events, 1, timespec(task, 0, 20_000_000), 0, 8)
        await asyncio.sleep(0.05)
        assert results == [0]
    asyncio.run(main())
