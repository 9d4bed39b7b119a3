"""The pipe side of splice, tee and vmsplice (fs/pipe.py) without QEMU: page-sized buffers that
a write() never tops up, whole-buffer moves and copies between pipes, and the waits' answers."""
import asyncio
import errno

import pytest

from moss_host.errors import Errno
from moss_host.fs.file import O_RDONLY, O_WRONLY
from moss_host.fs.pipe import Pipe

PAGE = 4096


def open_pipe(pages: int = 16) -> tuple[Pipe, object, object]:
    pipe = Pipe(capacity=pages * PAGE)
    return pipe, pipe.open_end(O_RDONLY), pipe.open_end(O_WRONLY)


def test_put_pages_adds_one_buffer_per_chunk_while_slots_last():
    pipe, _, _ = open_pipe(pages=2)
    assert pipe.put_pages([(100, b"a" * 3996), (0, b"b" * 4096), (0, b"c")]) == 8092
    assert len(pipe.bufs) == 2 and pipe.nbytes == 8092 and pipe.full


def test_a_write_after_a_splice_takes_a_new_buffer_but_tops_up_its_own():
    pipe, _, w = open_pipe(pages=4)
    pipe.put_pages([(0, b"x" * 10)])
    asyncio.run(pipe.write(b"abc", w))
    assert len(pipe.bufs) == 2
    asyncio.run(pipe.write(b"def", w))
    assert len(pipe.bufs) == 2 and pipe.peek(100) == b"x" * 10 + b"abcdef"


def test_peek_leaves_and_consume_drops_bytes_across_buffers():
    pipe, _, _ = open_pipe()
    pipe.put_pages([(0, b"0123"), (0, b"4567")])
    assert pipe.peek(6) == b"012345"
    pipe.consume(6)
    assert pipe.peek(10) == b"67" and pipe.nbytes == 2 and len(pipe.bufs) == 1


def test_move_splits_the_last_buffer_and_copy_leaves_the_source_alone():
    src, _, _ = open_pipe()
    dst, _, _ = open_pipe()
    src.put_pages([(0, b"0123"), (0, b"456789")])
    assert src.move_to(dst, 7, copy=True) == 7
    assert src.nbytes == 10 and dst.peek(100) == b"0123456"
    assert src.move_to(dst, 5, copy=False) == 5
    assert src.peek(100) == b"56789" and dst.peek(100) == b"012345601234"


def test_move_stops_at_a_full_destination():
    src, _, _ = open_pipe()
    dst, _, _ = open_pipe(pages=1)
    src.put_pages([(0, b"a"), (0, b"b")])
    assert src.move_to(dst, 100, copy=False) == 1 and src.peek(9) == b"b"


def test_waits_answer_eof_eagain_and_epipe():
    pipe, r, w = open_pipe(pages=1)
    with pytest.raises(Errno) as e:
        asyncio.run(pipe.wait_for_data(nonblock=True))
    assert e.value.code == errno.EAGAIN
    pipe.put_pages([(0, b"x")])
    with pytest.raises(Errno) as e:
        asyncio.run(pipe.wait_for_space(nonblock=True))
    assert e.value.code == errno.EAGAIN
    pipe.close_end(r)
    with pytest.raises(Errno) as e:
        asyncio.run(pipe.wait_for_space(nonblock=False))
    assert e.value.code == errno.EPIPE
    pipe.consume(1)
    pipe.close_end(w)
    asyncio.run(pipe.wait_for_data(nonblock=True))      # no writer: end of file, no wait
