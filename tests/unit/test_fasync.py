"""fs/fasync.py without QEMU: which reads, writes and wake-ups of a pipe or an AF_UNIX socket signal the owner,
and with what reason (tests/programs/fasync.c checks the same against Linux)."""
import asyncio
from errno import EAGAIN

from moss_host.errors import Errno
from moss_host.fs.eventfd import EventFd
from moss_host.fs.fasync import F_OWNER_PID, POLL_HUP, POLL_IN, POLL_OUT, POLL_PRI, fasync_of, set_async
from moss_host.fs.file import FASYNC, O_NONBLOCK
from moss_host.fs.pipe import PIPE_DEF_SIZE, Pipe
from moss_host.cred import Cred
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import FsContext
from moss_host.net import unix
from moss_host.net.socket import MSG_OOB, SOCK_STREAM, UCred, Who


class Sender:
    def __init__(self):
        self.log = []

    def send_sigio(self, owner, fd, reason):
        self.log.append((fd, reason))

    def send_sigurg(self, owner):
        self.log.append("SIGURG")
        return True


def owned(f, fd, sender, signum=0, on=True):
    owner = fasync_of(f).owner
    owner.pid, owner.kind, owner.sender, owner.signum = 1, F_OWNER_PID, sender, signum
    set_async(f, fd, on)
    return f


def test_pipe_read_end_hears_every_write_write_end_every_read_both_hear_a_close():
    """fs/pipe.c's kill_fasync points (tests/programs/fasync_pipe.c: the same against Linux)."""
    s = Sender()
    r, w = Pipe().open_pair(O_NONBLOCK)
    owned(r, 3, s)
    owned(w, 4, s)
    asyncio.run(w.write(b"x"))
    assert s.log == [(3, POLL_IN)]
    s.log.clear()
    asyncio.run(r.read(1))                          # not full before: POLL_OUT all the same
    assert s.log == [(4, POLL_OUT)]
    s.log.clear()
    assert errno_of(r.read(1)) == EAGAIN            # nothing read: the writer still hears of it
    assert s.log == [(4, POLL_OUT)]
    s.log.clear()
    asyncio.run(r.read(0))                          # a null read: nothing
    asyncio.run(w.write(b""))
    assert s.log == []
    asyncio.run(w.write(b"x" * PIPE_DEF_SIZE))
    s.log.clear()
    assert errno_of(w.write(b"y")) == EAGAIN        # refused: the reader hears of it too
    assert s.log == [(3, POLL_IN)]
    s.log.clear()
    r.get()
    r.put()                                         # the last close: the closing end leaves first
    assert s.log == [(4, POLL_OUT)]                 # pipe_release: the other side hears it
    assert not w.pipe.fasync_readers


def errno_of(coro) -> int:
    try:
        asyncio.run(coro)
    except Errno as e:
        return e.code
    raise AssertionError("no error")


def test_no_owner_or_o_async_off_means_no_signal_and_off_stops_the_watch():
    s = Sender()
    r, w = Pipe().open_pair(O_NONBLOCK)
    set_async(r, 3, True)                           # no owner yet
    asyncio.run(w.write(b"x"))
    owned(r, 3, s, on=False)
    asyncio.run(w.write(b"x"))
    assert s.log == [] and not r.flags & FASYNC
    assert not r.pipe.waitq._watchers and not r.pipe.fasync_readers     # nothing left listening


def test_a_file_without_fasync_is_never_watched():
    e = EventFd(0, False, 0)
    owned(e, 3, Sender())
    assert not e.waitq._watchers


def test_unix_stream_urgent_byte_then_data_then_hangup():
    fs = FsContext(MountTable(Tmpfs(mode=0o777)).root_location())
    who = Who(fs, Cred(0, 0), None, 100, UCred(100, 0, 0), UCred(100, 0, 0), ({0}, {0}), True,
              lambda pid: pid in (1, 100), 1024)
    a, b = unix.socketpair(SOCK_STREAM, 0, who)
    try:
        s = Sender()
        owned(a, 3, s, signum=35)
        asyncio.run(b.sendmsg(b"u", None, MSG_OOB, who))
        assert s.log == ["SIGURG", (3, POLL_PRI), (3, POLL_IN)]        # as Linux's queue_oob
        s.log.clear()
        b.get()
        b.put()
        assert s.log[0] == (3, POLL_HUP)
    finally:
        unix._live.clear()
