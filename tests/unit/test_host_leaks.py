"""No host memory stays behind a process that has come and gone (issue 19: host RSS back to
its starting level after stress). Without QEMU: the fuzz tests' small kernel, tracemalloc."""
from __future__ import annotations

import asyncio
import gc
import random
import signal
import tracemalloc

from moss_host.proc import lifecycle
from tests.unit.test_fuzz_handlers import machine, spawn

WARM = 200                  # first rounds: caches and tables reach their size
ROUNDS = 2000
BOUND = 64 << 10            # bytes: 32 per round; a Task record kept per round is ~2 KiB


def live_bytes() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def test_fork_exit_reap_leaves_nothing_behind():
    async def run() -> int:
        kernel = machine()
        parent = spawn(kernel, random.Random(1))

        def one_child() -> None:
            child = lifecycle.clone_task(parent, signal.SIGCHLD)
            lifecycle.exit_task(child, 0)
            lifecycle.reap(child)
            kernel.mem.take_guest_work()        # the TLB flushes the next guest entry carries
        for _ in range(WARM):
            one_child()
        before = live_bytes()
        for _ in range(ROUNDS):
            one_child()
        return live_bytes() - before
    tracemalloc.start()
    try:
        growth = asyncio.run(run())
    finally:
        tracemalloc.stop()
    assert growth < BOUND, f"{growth} bytes kept after {ROUNDS} fork/exit/reap rounds"


def test_open_close_and_pipes_leave_nothing_behind():
    from moss_host.syscalls.table import SYSCALLS
    from tests.unit.test_fuzz_handlers import BASE

    by_name = {entry.name: entry for entry in SYSCALLS.values()}

    async def run() -> int:
        kernel = machine()
        task = spawn(kernel, random.Random(2))
        task.mm.write(BASE, b"/tmp/f\0")
        AT_FDCWD, O_CREAT_RDWR = -100 & (1 << 64) - 1, 0o102
        pipe_fds = BASE + 64

        async def one_round() -> None:
            fd = await _value(by_name["openat"].handler(task, AT_FDCWD, BASE, O_CREAT_RDWR, 0o644))
            await _value(by_name["close"].handler(task, fd))
            await _value(by_name["pipe2"].handler(task, pipe_fds, 0))
            read_end, write_end = (int.from_bytes(task.mm.read(pipe_fds + 4 * i, 4), "little") for i in (0, 1))
            await _value(by_name["close"].handler(task, read_end))
            await _value(by_name["close"].handler(task, write_end))
        for _ in range(WARM):
            await one_round()
        before = live_bytes()
        for _ in range(ROUNDS):
            await one_round()
        return live_bytes() - before
    tracemalloc.start()
    try:
        growth = asyncio.run(run())
    finally:
        tracemalloc.stop()
    assert growth < BOUND, f"{growth} bytes kept after {ROUNDS} open/close and pipe/close rounds"


async def _value(result):
    """A handler's result, awaited when it is a coroutine."""
    return await result if asyncio.iscoroutine(result) else result
