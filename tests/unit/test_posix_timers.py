"""POSIX timers without QEMU: the handlers on a fake task, one event loop per scenario
(tests/programs/posix_timers.c checks them against Linux)."""
import asyncio
import errno
import struct

from moss_host.proc import signals
from moss_host.proc.posix_timers import SIGEV_NONE, timer_table
from moss_host.proc.rlimits import RLIM_INFINITY, RLIMIT_SIGPENDING
from tests.unit.test_pipe import acall
from tests.unit.test_pipe import make_task as make_pipe_task


def make_task():
    """A fake task with no pid table: RLIMIT_SIGPENDING (timer_create's charge, which walks
    the pid table) is lifted."""
    t = make_pipe_task()
    t.rlimits[RLIMIT_SIGPENDING] = (RLIM_INFINITY, RLIM_INFINITY)
    return t

SIGUSR1 = 10
ITIMERSPEC = struct.Struct("<qqqq")


def sigevent(task, notify, signo=0, value=0):
    ptr = task.mm.alloc(64)
    task.mm.write(ptr, struct.pack("<Qii", value, signo, notify).ljust(64, b"\0"))
    return ptr


async def create(task, sev, clock=1):
    out = task.mm.alloc(4)
    r = await acall(task, "timer_create", clock, sev, out)
    return r if r < 0 else struct.unpack("<i", task.mm.read(out, 4))[0]


async def settime(task, timer_id, value_ns, interval_ns=0, flags=0):
    spec = task.mm.alloc(32)
    task.mm.write(spec, ITIMERSPEC.pack(interval_ns // 10**9, interval_ns % 10**9, value_ns // 10**9,
                                        value_ns % 10**9))
    return await acall(task, "timer_settime", timer_id, flags, spec, 0)


async def gettime(task, timer_id):
    spec = task.mm.alloc(32)
    r = await acall(task, "timer_gettime", timer_id, spec)
    isec, insec, vsec, vnsec = ITIMERSPEC.unpack(task.mm.read(spec, 32))
    return r, isec * 10**9 + insec, vsec * 10**9 + vnsec


def test_ids_count_up_and_failed_creates_use_theirs():
    async def scenario():
        t = make_task()
        first = await create(t, 0)
        bad = await create(t, sigevent(t, 3, SIGUSR1))
        second = await create(t, 0)
        return first, bad, second
    assert asyncio.run(scenario()) == (0, -errno.EINVAL, 2)


def test_sigev_none_is_read_not_sent():
    async def scenario():
        t = make_task()
        tid = await create(t, sigevent(t, SIGEV_NONE))
        await settime(t, tid, 10**9)
        _, interval, left = await gettime(t, tid)
        await settime(t, tid, 1_000_000)
        await asyncio.sleep(0.01)
        spent = await gettime(t, tid)
        return interval, 0 < left <= 10**9, spent, signals.pending(t)
    assert asyncio.run(scenario()) == (0, True, (0, 0, 0), 0)


def test_a_waiting_periodic_signal_counts_the_missed_periods_at_dequeue():
    async def scenario():
        t = make_task()
        t.blocked = signals.bit(SIGUSR1)
        tid = await create(t, sigevent(t, 0, SIGUSR1, 77))
        await settime(t, tid, 2_000_000, 2_000_000)
        await asyncio.sleep(0.03)
        table = timer_table(t)
        assert table.timers[tid].requeue_pending           # fired; not re-armed while queued
        signo, info = signals.dequeue(t, signals.bit(SIGUSR1))
        overrun = await acall(t, "timer_getoverrun", tid)
        await settime(t, tid, 0)
        return signo, info.code, info.pid, info.value, info.overrun == overrun, overrun >= 5
    assert asyncio.run(scenario()) == (SIGUSR1, -2, 0, 77, True, True)


def test_unknown_ids_are_einval():
    async def scenario():
        t = make_task()
        return [await acall(t, name, 5, *rest) for name, rest in
                (("timer_gettime", (t.mm.alloc(32),)), ("timer_getoverrun", ()), ("timer_delete", ()))]
    assert asyncio.run(scenario()) == [-errno.EINVAL] * 3
