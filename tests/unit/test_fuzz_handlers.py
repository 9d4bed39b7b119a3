"""Host-side fuzzing, no QEMU: every handler of the syscall table is called with random
arguments over random guest memory, on a small kernel built without a machine (a tmpfs
root with /dev, /proc and /sys, a task with real memory, a pipe and a file open). The only
assertion is the syscall boundary's contract: a handler returns a value or raises Errno
(or ends the task, TaskExit). Anything else would be a kernel bug (proc/bugs.py).

`just fuzz-host` runs many more examples per syscall (MOSS_FUZZ_EXAMPLES).
"""
from __future__ import annotations

import asyncio
import inspect
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from moss_host.addr import PAGE_SIZE
from moss_host.arch.arm64.context import SAVED_SIZE
from moss_host.cred import Creds
from moss_host.errors import Errno
from moss_host.fs.boot_mounts import mount_boot_filesystems
from moss_host.fs.drivers.procfs import ProcFs
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.fdtable import FdTable
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import FsContext, vfs_mkdir
from moss_host.kernel import Kernel, KernelConfig
from moss_host.mm.address_space import AddressSpace
from moss_host.mm.memory import Memory
from moss_host.mm.vma import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, Vma
from moss_host.proc.task import Task, TaskExit, ThreadGroup
from moss_host.syscalls import load_all
from moss_host.syscalls.table import SYSCALLS
from moss_host.tty.devpts import Devpts

load_all()

EXAMPLES = int(os.environ.get("MOSS_FUZZ_EXAMPLES", "10"))     # `just fuzz-host`: 500
RAM = 16 << 20
BASE = 0x40_0000                # the task's one mapping: random bytes, what pointers point into
PAGES = 16

# Calls whose effect reaches beyond the fake kernel (the host process, its terminal) or
# that wait on a machine there is none of: left out, with the reason.
SKIP = {
    "reboot": "ends the run (Kernel.power_off) -- checked by tests/unit/test_reboot.py",
}


class IdleCpu:
    """The CPU as the scheduler sees it (sched/runqueue.CpuPort): idle, answering nothing."""
    index = 0
    current = None
    trapped = True
    handling = True

    def schedule(self) -> None:
        pass

    def kick(self) -> None:
        pass


def machine() -> Kernel:
    """A kernel without a machine: guest RAM a bytearray, a tmpfs root with /dev, /proc, /sys."""
    kernel = Kernel(KernelConfig())
    kernel.mem = Memory(bytearray(RAM), RAM)
    kernel.sched.add_cpu(IdleCpu())
    root = FsContext(MountTable(Tmpfs(mode=0o755)).root_location())
    for d in (b"proc", b"dev", b"sys", b"tmp"):
        vfs_mkdir(root.root, d, 0o755, None)
    mount_boot_filesystems(root, lambda: Devpts(kernel.jobs), lambda: ProcFs(kernel))
    kernel.root_fs = root
    return kernel


def spawn(kernel: Kernel, rng: random.Random) -> Task:
    """A task on `kernel` with one mapping of random bytes."""
    mm = AddressSpace(kernel.mem)
    mm.add(Vma(BASE, BASE + PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS))
    mm.write(BASE, rng.randbytes(PAGES * PAGE_SIZE))
    pid = kernel.pids.alloc()
    assert kernel.root_fs is not None
    task = Task(tid=pid, group=ThreadGroup(pid, pgid=pid, sid=pid), mm=mm, fs=kernel.root_fs.copy(),
                files=FdTable(), kernel=kernel, creds=Creds(), comm=b"fuzz", context=bytearray(SAVED_SIZE))
    kernel.pids.add(task)
    return task


def argument(rng: random.Random) -> int:
    """A register value of the kinds that reach handlers: small numbers, fds, flags, pointers
    into the mapping (and next to it), and anything at all."""
    kind = rng.randrange(8)
    if kind == 0:
        return rng.choice([0, 1, 2, 3, 4, -1 & (1 << 64) - 1, (-100) & (1 << 64) - 1])
    if kind == 1:
        return rng.randrange(0, 64)
    if kind == 2:
        return BASE + rng.randrange(0, PAGES * PAGE_SIZE)
    if kind == 3:
        return BASE + rng.randrange(0, PAGES * PAGE_SIZE) & ~0xF
    if kind == 4:
        return 1 << rng.randrange(0, 64)
    if kind == 5:
        return rng.randrange(0, 1 << 32)
    if kind == 6:
        return BASE + PAGES * PAGE_SIZE - rng.randrange(0, 64)     # runs off the mapping's end
    return rng.randrange(0, 1 << 64)


async def drive(coro):
    """Run the handler as dispatch does, on a loop (for what it schedules), one step at a time:
    if it sleeps, a signal interrupts it (CancelledError at its await, as Scheduler.interrupt);
    if it sleeps again, its task is killed (close(), as when a task dies asleep). Nothing
    it waits for ever comes: no other task runs here."""
    try:
        coro.send(None)
        coro.throw(asyncio.CancelledError())
    except StopIteration as done:
        return done.value
    except asyncio.CancelledError:
        return None                     # the interrupted call ends (ERESTARTSYS)
    coro.close()
    return None


def call(runner: asyncio.Runner, task: Task, entry, args: list[int]):
    """The handler's outcome: a value, or None when it raised Errno or TaskExit or slept too
    long; anything else propagates."""
    try:
        result = entry.handler(task, *args[:entry.nargs])
        if inspect.iscoroutine(result):
            result = runner.run(drive(result))
    except (Errno, TaskExit):
        return None
    return result


NAMES = sorted(entry.name for entry in SYSCALLS.values() if entry.name not in SKIP)     # SKIP: why each is left out


@pytest.mark.parametrize("name", NAMES)
def test_a_handler_returns_a_value_or_raises_errno(name):
    entry = next(e for e in SYSCALLS.values() if e.name == name)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(0, 2**32 - 1))
    def one(n):
        rng = random.Random(n)          # the seed: hypothesis prints it for a failing example
        task = spawn(kernel, rng)
        result = call(runner, task, entry, [argument(rng) for _ in range(6)])
        assert result is None or isinstance(result, int), f"{name} returned {result!r}"

    kernel = machine()                  # one per syscall: what the examples leave behind stays
    with asyncio.Runner() as runner:
        one()
