"""Pipe reads asleep without a job (fs/pipe.py ParkedRead): served inline by the write,
splice or close that ends the wait, never half-way through one write."""
import asyncio

import pytest

from moss_host.errors import Errno
from moss_host.fs.file import O_NONBLOCK
from moss_host.fs.pipe import PAGE_SIZE, ParkedRead, Pipe


def _pair(flags: int = 0):
    pipe = Pipe()
    r, w = pipe.open_pair(flags)
    return pipe, r, w


def _park(pipe: Pipe, count: int) -> list:
    got: list = []
    pipe.park_reader(ParkedRead(count, got.append))
    return got


def test_read_now_answers_buffered_bytes_eof_eagain_or_none_to_sleep():
    pipe, r, w = _pair()
    assert pipe.read_now(10, r) is None                 # empty, a writer: sleep
    asyncio.run(w.write(b"abc"))
    assert pipe.read_now(10, r) == b"abc"
    assert pipe.read_now(0, r) == b""
    w.release()
    assert pipe.read_now(10, r) == b""                  # no writer: end of file
    pipe2, r2, _ = _pair(O_NONBLOCK)
    with pytest.raises(Errno):
        pipe2.read_now(10, r2)


def test_a_write_serves_the_parked_reader_with_all_it_wrote_at_once():
    pipe, r, w = _pair()
    got = _park(pipe, 1 << 20)
    asyncio.run(w.write(b"x" * (3 * PAGE_SIZE + 5)))   # several pages: one read sees them all
    assert got == [b"x" * (3 * PAGE_SIZE + 5)]
    assert not pipe.parked_readers and pipe.nbytes == 0


def test_parked_readers_are_served_in_order_and_the_rest_stays_buffered():
    pipe, r, w = _pair()
    first, second = _park(pipe, 2), _park(pipe, 2)
    asyncio.run(w.write(b"abc"))
    assert first == [b"ab"] and second == [b"c"]
    third = _park(pipe, 5)
    asyncio.run(w.write(b""))                           # a null write serves nobody
    assert third == []


def test_the_last_writer_closing_gives_parked_readers_end_of_file():
    pipe, r, w = _pair()
    got = _park(pipe, 8)
    w.release()
    assert got == [b""]


def test_unpark_takes_the_reader_off_and_it_gets_nothing():
    pipe, r, w = _pair()
    got: list = []
    reader = ParkedRead(8, got.append)
    pipe.park_reader(reader)
    pipe.unpark_reader(reader)
    pipe.unpark_reader(reader)                          # twice is harmless
    asyncio.run(w.write(b"abc"))
    assert got == [] and pipe.nbytes == 3


def test_a_writer_of_a_full_pipe_lets_parked_readers_make_room():
    pipe, r, w = _pair()
    pipe.capacity = PAGE_SIZE                           # one slot
    got = _park(pipe, 1 << 20)
    asyncio.run(asyncio.wait_for(w.write(b"y" * (2 * PAGE_SIZE)), 5))
    assert got == [b"y" * PAGE_SIZE] and pipe.nbytes == PAGE_SIZE


def test_splice_into_a_pipe_serves_its_parked_reader():
    src, _, sw = _pair()
    dst, dr, dw = _pair()
    asyncio.run(sw.write(b"hello"))
    got = _park(dst, 100)
    assert src.move_to(dst, 5, copy=False) == 5
    assert got == [b"hello"]
    got = _park(dst, 100)
    assert dst.put_pages([(0, b"page")]) == 4
    assert got == [b"page"]


# ---------------------------------------------------------------- the read syscall's park

def _read_fast(task, fd: int, buf: int, count: int):
    from moss_host.syscalls.numbers import SYSCALL_NUMBERS
    from moss_host.syscalls.table import SYSCALLS
    return SYSCALLS[SYSCALL_NUMBERS["read"]].fast(task, fd, buf, count)


def test_read_of_an_empty_pipe_parks_and_the_write_copies_into_its_buffer():
    from moss_host.errors import ERESTARTSYS
    from moss_host.sched.parked import Parked
    from tests.unit.test_pipe import call, make_task, new_pipe
    task = make_task()
    rfd, wfd = new_pipe(task)
    buf, src = task.mm.alloc(64), task.mm.alloc(64)
    parked = _read_fast(task, rfd, buf, 64)
    assert type(parked) is Parked
    results: list = []
    parked.resume = lambda t, r: results.append(r)
    task.mm.write(src, b"ping")
    assert call(task, "write", wfd, src, 4) == 4
    assert results == [4] and task.mm.read(buf, 4) == b"ping"
    parked = _read_fast(task, rfd, buf, 64)
    parked.resume = lambda t, r: results.append(r)
    assert parked.cancel() is True                                      # a signal: nothing read
    assert results == [4, -ERESTARTSYS]
    assert call(task, "write", wfd, src, 2) == 2
    assert results == [4, -ERESTARTSYS]
    assert _read_fast(task, rfd, buf, 64) == 2                          # buffered: at once


# ---------------------------------------------------------------- write's synchronous part

def _layout(pipe: Pipe) -> list:
    return [(b.offset, bytes(b.data), b.packet) for b in pipe.bufs]


@pytest.mark.parametrize("sizes", [[1, 1, 1], [1000] * 70, [4095, 2, 4097], [PAGE_SIZE * 3 + 7, 9], [70000]])
def test_write_now_fills_the_pipe_as_write_does_or_leaves_it_untouched(sizes):
    a, _, aw = _pair()
    b, _, bw = _pair()
    for i, n in enumerate(sizes):
        data = bytes([i % 251]) * n
        before = _layout(b)
        done = bw.write_now(data)
        if done is None:                                # it would sleep: nothing changed
            assert _layout(b) == before
            return
        assert done == n
        assert asyncio.run(aw.write(data)) == n
        assert _layout(a) == _layout(b) and a.nbytes == b.nbytes


def test_write_now_declines_without_a_reader_and_serves_parked_readers():
    pipe, r, w = _pair()
    got = _park(pipe, 10)
    assert w.write_now(b"hi") == 2 and got == [b"hi"]
    r.release()
    assert w.write_now(b"hi") is None                   # EPIPE and SIGPIPE: the async path
