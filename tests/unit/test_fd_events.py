"""epoll, eventfd, timerfd and signalfd logic without QEMU: the files of fs/ driven by asyncio
directly (the programs in tests/programs/*fd_basic.c and epoll_basic.c check the syscalls
against Linux)."""
import asyncio
import errno
import struct
from types import SimpleNamespace

import pytest

from moss_host.errors import Errno
from moss_host.fs.epoll import (EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EPOLL_EVENT, EPOLLET, EPOLLEXCLUSIVE,
                                EPOLLIN, EPOLLONESHOT, EPOLLOUT, EpollFile, check_ctl)
from moss_host.fs.eventfd import ULLONG_MAX, EventFd
from moss_host.fs.file import O_NONBLOCK, POLLIN, POLLOUT
from moss_host.fs.pipe import PIPE_DEF_SIZE, Pipe
from moss_host.fs.signalfd import SIGNALFD_SIGINFO, pack_signalfd_siginfo
from moss_host.fs.timerfd import forward
from moss_host.proc.signals import SigInfo
from moss_host.waitq import WAKE_ANY, WaitQueue

Q = struct.Struct("<Q")


def run(coro):
    return asyncio.run(coro)


def errno_of(coro) -> int:
    with pytest.raises(Errno) as e:
        run(coro)
    return e.value.code


# -- wait queues with keys

def test_watchers_get_the_wake_key_and_key_zero_wakes_only_sleepers():
    wq, keys = WaitQueue(), []
    stop = wq.watch(keys.append)
    wq.wake_poll(POLLIN)
    wq.wake_poll(0)
    wq.wake_all()
    stop()
    wq.wake_poll(POLLOUT)
    assert keys == [POLLIN, WAKE_ANY]


# -- eventfd

def test_eventfd_read_takes_the_count_and_semaphore_takes_one():
    f = EventFd(5, False, O_NONBLOCK)
    assert run(f.read(16)) == Q.pack(5)
    assert errno_of(f.read(8)) == errno.EAGAIN
    s = EventFd(2, True, O_NONBLOCK)
    assert [run(s.read(8)) for _ in range(2)] == [Q.pack(1)] * 2
    assert errno_of(s.read(8)) == errno.EAGAIN


def test_eventfd_eight_byte_rules_and_overflow():
    f = EventFd(0, False, O_NONBLOCK)
    assert errno_of(f.read(7)) == errno.EINVAL
    assert errno_of(f.write(b"\1" * 7)) == errno.EINVAL
    assert errno_of(f.write(Q.pack(ULLONG_MAX))) == errno.EINVAL
    assert run(f.write(Q.pack(ULLONG_MAX - 1))) == 8
    assert f.poll_events(POLLIN | POLLOUT) == POLLIN
    assert errno_of(f.write(Q.pack(1))) == errno.EAGAIN
    assert run(f.write(Q.pack(0))) == 8


def test_eventfd_blocking_read_wakes_on_write():
    async def scenario():
        f = EventFd(0, False, 0)
        reader = asyncio.ensure_future(f.read(8))
        await asyncio.sleep(0)
        assert not reader.done()
        await f.write(Q.pack(7))
        return await reader
    assert run(scenario()) == Q.pack(7)


# -- timerfd

@pytest.mark.parametrize("expires, interval, now, want", [
    (100, 50, 90, (100, 0)),            # not expired yet: nothing moves
    (100, 50, 100, (150, 1)),           # exactly at the expiry: the next period
    (100, 50, 120, (150, 1)),
    (100, 50, 275, (300, 4)),           # 150, 200, 250, 300
    (100, 50, 300, (350, 5)),
])
def test_forward_moves_past_now_by_whole_periods(expires, interval, now, want):
    assert forward(expires, interval, now) == want


# -- signalfd_siginfo

def unpack(info):
    fields = SIGNALFD_SIGINFO.unpack(pack_signalfd_siginfo(info))
    names = ("signo errno code pid uid fd tid band overrun trapno status int ptr utime stime addr "
             "addr_lsb pad2 syscall call_addr arch").split()
    return dict(zip(names, fields))


def test_signalfd_siginfo_follows_the_layout_of_the_code():
    kill = unpack(SigInfo(10, 0, pid=42, uid=1000))
    assert (kill["signo"], kill["code"], kill["pid"], kill["uid"], kill["int"]) == (10, 0, 42, 1000, 0)
    queued = unpack(SigInfo(34, -1, pid=42, uid=0, value=0x1_0000_04D2))
    assert (queued["code"], queued["pid"], queued["int"], queued["ptr"]) == (-1, 42, 1234, 0x1_0000_04D2)
    chld = unpack(SigInfo(17, 1, pid=7, uid=0, status=3, utime=5, stime=6))
    assert (chld["pid"], chld["status"], chld["utime"], chld["stime"]) == (7, 3, 5, 6)
    fault = unpack(SigInfo(11, 1, addr=0xDEAD000))
    assert (fault["addr"], fault["pid"]) == (0xDEAD000, 0)
    assert len(pack_signalfd_siginfo(SigInfo(1))) == 128


# -- epoll

def epoll_of(*files_events):
    ep = EpollFile()
    for fd, (f, events) in enumerate(files_events):
        check_ctl(ep, f, EPOLL_CTL_ADD, events).ctl(EPOLL_CTL_ADD, f, fd, events, fd + 100)
    return ep


def harvest(ep, maxevents=8):
    got = ep.ep.harvest(maxevents)
    ep.ep.settle(got)
    return [(item.data, item.revents) for item in got]


def test_level_triggered_reports_until_drained():
    r, w = Pipe().open_pair(O_NONBLOCK)
    ep = epoll_of((r, EPOLLIN))
    assert harvest(ep) == []
    run(w.write(b"ab"))
    assert harvest(ep) == harvest(ep) == [(100, EPOLLIN)]
    run(r.read(2))
    assert harvest(ep) == []


def test_edge_triggered_reports_once_per_write_not_after_a_partial_read():
    r, w = Pipe().open_pair(O_NONBLOCK)
    ep = epoll_of((r, EPOLLIN | EPOLLET))
    run(w.write(b"abc"))
    assert harvest(ep) == [(100, EPOLLIN)]
    assert harvest(ep) == []
    run(r.read(1))
    assert harvest(ep) == []
    run(w.write(b"d"))
    assert harvest(ep) == [(100, EPOLLIN)]


def test_edge_triggered_writer_hears_of_room_only_when_the_pipe_was_full():
    r, w = Pipe().open_pair(O_NONBLOCK)
    ep = epoll_of((w, EPOLLOUT | EPOLLET))
    assert harvest(ep) == [(100, EPOLLOUT)]
    run(w.write(b"x" * PIPE_DEF_SIZE))
    assert harvest(ep) == []
    run(r.read(4096))
    assert harvest(ep) == [(100, EPOLLOUT)]
    run(r.read(4096))
    assert harvest(ep) == []


def test_oneshot_disables_until_mod():
    r, w = Pipe().open_pair(O_NONBLOCK)
    ep = epoll_of((r, EPOLLIN | EPOLLONESHOT))
    run(w.write(b"x"))
    assert harvest(ep) == [(100, EPOLLIN)]
    run(w.write(b"y"))
    assert harvest(ep) == []
    ep.ep.ctl(EPOLL_CTL_MOD, r, 0, EPOLLIN, 7)
    assert harvest(ep) == [(7, EPOLLIN)]


def test_maxevents_leaves_the_rest_first_in_line():
    pipes = [Pipe().open_pair(O_NONBLOCK) for _ in range(3)]
    ep = epoll_of(*((r, EPOLLIN) for r, _ in pipes))
    for i in (2, 0, 1):
        run(pipes[i][1].write(b"x"))
    assert harvest(ep, 2) == [(102, EPOLLIN), (100, EPOLLIN)]
    assert harvest(ep, 2) == [(101, EPOLLIN), (102, EPOLLIN)]


def test_the_item_goes_when_its_open_file_is_released():
    r, w = Pipe().open_pair(O_NONBLOCK)
    r.get()
    ep = epoll_of((r, EPOLLIN))
    run(w.write(b"x"))
    r.put()
    assert ep.ep.items == {} and harvest(ep) == []


def test_ctl_errors():
    r, w = Pipe().open_pair(O_NONBLOCK)
    ep = epoll_of((r, EPOLLIN))
    with pytest.raises(Errno) as e:
        ep.ep.ctl(EPOLL_CTL_ADD, r, 0, EPOLLIN, 0)
    assert e.value.code == errno.EEXIST
    with pytest.raises(Errno) as e:
        ep.ep.ctl(EPOLL_CTL_DEL, w, 1, 0, 0)
    assert e.value.code == errno.ENOENT
    for target, op, events, code in ((ep, EPOLL_CTL_ADD, EPOLLIN, errno.EINVAL),
                                     (w, EPOLL_CTL_MOD, EPOLLIN | EPOLLEXCLUSIVE, errno.EINVAL),
                                     (w, EPOLL_CTL_ADD, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, errno.EINVAL)):
        with pytest.raises(Errno) as e:
            check_ctl(ep, target, op, events)
        assert e.value.code == code


def test_nesting_loops_and_depth_are_eloop():
    r, w = Pipe().open_pair(O_NONBLOCK)
    chain = [epoll_of((r, EPOLLIN))]
    results = []
    for _ in range(5):
        outer = EpollFile()
        try:
            check_ctl(outer, chain[-1], EPOLL_CTL_ADD, EPOLLIN).ctl(EPOLL_CTL_ADD, chain[-1], 0, EPOLLIN, 0)
            results.append(0)
        except Errno as e:
            results.append(e.code)
        chain.append(outer)
    assert results == [0, 0, 0, 0, errno.ELOOP]
    with pytest.raises(Errno) as e:
        check_ctl(chain[0], chain[2], EPOLL_CTL_ADD, EPOLLIN)
    assert e.value.code == errno.ELOOP


def test_an_epoll_inside_an_epoll_is_ready_when_its_items_are():
    r, w = Pipe().open_pair(O_NONBLOCK)
    inner = epoll_of((r, EPOLLIN))
    outer = epoll_of((inner, EPOLLIN))
    assert harvest(outer) == []
    run(w.write(b"x"))
    assert harvest(outer) == [(100, EPOLLIN)]
    run(r.read(1))
    assert harvest(outer) == []


class LevelFile(EventFd):
    """A file watched through poll_watch that calls back on every check while ready (a host fd)."""

    def __init__(self):
        super().__init__(0, False, O_NONBLOCK)
        self.watchers: list = []

    @property
    def poll_wq(self):
        return None

    def poll_watch(self, events, callback):
        self.watchers.append(callback)
        return [lambda: self.watchers.remove(callback)]

    def turn_of_the_loop(self):
        if self.count:
            for cb in list(self.watchers):
                cb()


def test_a_level_watch_calls_back_once_until_its_item_leaves_the_ready_list():
    f = LevelFile()
    ep = epoll_of((f, EPOLLIN))
    f.count = 1
    f.turn_of_the_loop()
    assert f.watchers == []                 # disarmed: no call-back on every turn of the loop
    assert harvest(ep) == [(100, EPOLLIN)]
    f.count = 0
    assert harvest(ep) == [] and len(f.watchers) == 1      # not ready: off the list, watching again
    f.count = 1
    f.turn_of_the_loop()
    assert harvest(ep) == [(100, EPOLLIN)]


class FakeQueues:
    """SignalQueues over plain dicts: task name -> pending signal numbers, in order."""

    def __init__(self, current):
        self.pending_by = {"a": [], "b": []}
        self.me = current
        self.wq = WaitQueue()

    def current(self):
        return self.me

    def pending(self, task):
        return sum(1 << (s - 1) for s in set(self.pending_by[task]))

    def dequeue(self, task, mask):
        for s in self.pending_by[task]:
            if mask & (1 << (s - 1)):
                self.pending_by[task].remove(s)
                return s, SigInfo(s, 0, pid=7)
        return 0, None

    def waitqueue(self, task):
        return self.wq


def test_signalfd_reads_the_readers_signals_in_its_mask_and_never_kill_or_stop():
    from moss_host.fs.file import POLLER
    from moss_host.fs.signalfd import SignalFd
    q = FakeQueues("a")
    f = SignalFd(q, (1 << 9) | (1 << 8) | (1 << 18) | (1 << 11), O_NONBLOCK)     # USR1, KILL, STOP, USR2
    assert f.mask == (1 << 9) | (1 << 11)
    q.pending_by["b"] = [10]
    assert f.poll_events(POLLIN) == 0                  # b's signal is not a's
    token = POLLER.set("b")
    assert f.poll_events(POLLIN) == POLLIN             # b asks in its own poll
    POLLER.reset(token)
    assert errno_of(f.read(128)) == errno.EAGAIN
    assert errno_of(f.read(127)) == errno.EINVAL
    q.pending_by["a"] = [12, 10, 14]
    out = run(f.read(3 * 128))
    assert [unpack_one(out[i:i + 128]) for i in range(0, len(out), 128)] == [12, 10]
    assert q.pending_by["a"] == [14]


def unpack_one(record: bytes) -> int:
    return SIGNALFD_SIGINFO.unpack(record)[0]


class FakeMm:
    """An address space with one writable page at 0x1000 backed by a bytearray."""

    def __init__(self):
        self.ram = bytearray(4096)
        self.mem = SimpleNamespace(physmem=SimpleNamespace(mv=memoryview(self.ram)))

    def direct_offset(self, ua, n):
        return ua - 0x1000 if 0x1000 <= ua and ua + n <= 0x2000 else -1

    def write(self, ua, data):
        if self.direct_offset(ua, len(data)) < 0:
            raise Errno(errno.EFAULT)
        self.ram[ua - 0x1000:ua - 0x1000 + len(data)] = data


def epoll_pwait_now(files_events, maxevents=4):
    """epoll_pwait's synchronous try over an epoll of files_events; returns (call, ram, epoll)
    where call() gives [(data, events)] stored, or the raw answer when it stored none."""
    from moss_host.fs.fdtable import FdTable
    from moss_host.syscalls.epoll import _epoll_pwait_now
    files = FdTable()
    ep = epoll_of(*files_events)
    task = SimpleNamespace(files=files, mm=FakeMm())
    epfd = files.install(ep)

    def call():
        n = _epoll_pwait_now(task, epfd, 0x1000, maxevents, 0, 0, 8)
        return [EPOLL_EVENT.unpack_from(task.mm.ram, 16 * i)[::-1] for i in range(n)] or n
    return call, ep


def test_a_steady_level_triggered_eventfd_answers_again_until_something_changes():
    e1, e2 = EventFd(1, False, O_NONBLOCK), EventFd(0, False, O_NONBLOCK)
    call, ep = epoll_pwait_now(((e1, EPOLLIN | EPOLLOUT), (e2, EPOLLIN)))
    assert call() == call() == [(100, EPOLLIN | EPOLLOUT)]
    assert ep.ep.steady is not None                     # the one-event answer without harvest
    ep.ep.ctl(EPOLL_CTL_MOD, e1, 0, EPOLLIN, 7)         # new data and events
    assert call() == call() == [(7, EPOLLIN)]
    run(e2.write(struct.pack("<Q", 1)))                 # another item becomes ready
    assert ep.ep.steady is None
    assert call() == [(7, EPOLLIN), (101, EPOLLIN)]
    run(e1.read(8))                                     # drained: the wake-up ends its answer
    assert call() == call() == [(101, EPOLLIN)]
    run(e2.read(8))
    assert call() == 0


def test_a_steady_answer_is_not_kept_for_edge_triggered_or_oneshot_items():
    e1 = EventFd(1, False, O_NONBLOCK)
    call, ep = epoll_pwait_now(((e1, EPOLLIN | EPOLLET),))
    assert call() == [(100, EPOLLIN)]
    assert call() == 0 and ep.ep.steady is None
    ep.ep.ctl(EPOLL_CTL_MOD, e1, 0, EPOLLIN | EPOLLONESHOT, 5)
    assert call() == [(5, EPOLLIN)]
    assert call() == 0
