"""Pseudo-terminals without QEMU: the master/slave data paths, locking, hang-ups, ioctls, devpts."""
import asyncio
import errno
import stat as S
import struct

import pytest

from moss_host.errors import Errno
from moss_host.tty.devpts import Devpts
from moss_host.fs.file import O_NOCTTY, O_NONBLOCK, O_RDWR
from moss_host.fs.stat import major, minor
from moss_host.tty import pty as P
from moss_host.tty import termios as T
from tests.unit.fakes import FakeJobs, FakeTask

SIGHUP, SIGCONT, SIGWINCH = 1, 18, 28
POLLIN, POLLOUT, POLLHUP = 0x1, 0x4, 0x10
BUF = 0x100


def run(coro):
    return asyncio.run(coro)


def new_pty(task=None):
    jobs = FakeJobs(task, current=task) if task is not None else FakeJobs()
    table = P.PtyTable(jobs)
    master = table.open_ptmx(O_RDWR)
    master.get()
    return table, jobs, master


def open_slave(master, flags=O_RDWR | O_NOCTTY, task=None):
    master.pty.locked = False
    slave = master.pty.open_slave(flags, task)
    slave.get()
    return slave


def test_master_write_is_typed_at_the_slave_and_echoed_back_with_onlcr():
    _, _, master = new_pty()
    slave = open_slave(master)

    async def go():
        await master.write(b"echo hi\r")
        line = await slave.read(100)
        echo = await master.read(100)
        return line, echo
    line, echo = run(go())
    assert line == b"echo hi\n"                 # ICRNL on the slave
    assert echo == b"echo hi\r\n"               # the slave's echo, after OPOST/ONLCR


def test_slave_output_is_output_processed_and_read_raw_at_the_master():
    _, _, master = new_pty()
    slave = open_slave(master)

    async def go():
        await slave.write(b"a\nb\tc")
        return await master.read(100)
    assert run(go()) == b"a\r\nb\tc"


def test_master_is_raw_and_the_slave_starts_with_standard_termios():
    _, _, master = new_pty()
    slave = open_slave(master)
    m, s = master.tty.termios, slave.tty.termios
    assert (m.iflag, m.oflag, m.lflag) == (0, 0, 0)
    assert s.lflag & T.ICANON and s.lflag & T.ECHO and s.oflag & T.ONLCR and s.iflag & T.ICRNL


def test_slave_is_locked_until_unlockpt():
    _, _, master = new_pty()
    with pytest.raises(Errno) as e:
        master.pty.open_slave(O_RDWR, None)
    assert e.value.code == errno.EIO
    task = FakeTask(5, 5, 5)
    task.mm.write(BUF, struct.pack("<i", 0))
    assert run(master.ioctl(task, P.TIOCSPTLCK, BUF)) == 0
    run(master.ioctl(task, P.TIOCGPTLCK, BUF))
    assert struct.unpack("<i", task.mm.read(BUF, 4))[0] == 0
    assert master.pty.open_slave(O_RDWR | O_NOCTTY, None).tty is master.pty.slave


def test_tiocgptn_numbers_ptys_from_zero_and_reuses_freed_indexes():
    table, _, m0 = new_pty()
    m1 = table.open_ptmx(O_RDWR)
    m1.get()
    task = FakeTask(5, 5, 5)
    run(m1.ioctl(task, P.TIOCGPTN, BUF))
    assert struct.unpack("<I", task.mm.read(BUF, 4))[0] == 1
    m0.put()                                    # last master descriptor: pty 0 is freed
    assert sorted(table.ptys) == [1]
    assert table.open_ptmx(O_RDWR).pty.index == 0


def test_reading_the_master_after_the_slave_closed_drains_then_eio_and_polls_hup():
    _, _, master = new_pty()
    slave = open_slave(master)

    async def go():
        await slave.write(b"bye")
        slave.put()
        assert master.poll_events(POLLIN) & (POLLIN | POLLHUP) == POLLIN | POLLHUP
        first = await master.read(100)
        with pytest.raises(Errno) as e:
            await master.read(100)
        return first, e.value.code
    assert run(go()) == (b"bye", errno.EIO)


def test_a_master_read_waiting_for_data_ends_with_eio_when_the_slave_closes():
    _, _, master = new_pty()
    slave = open_slave(master)

    async def go():
        reader = asyncio.ensure_future(master.read(100))
        await asyncio.sleep(0)
        assert not reader.done()
        slave.put()
        with pytest.raises(Errno) as e:
            await reader
        return e.value.code
    assert run(go()) == errno.EIO


def test_closing_the_master_hangs_up_the_slave_session():
    leader = FakeTask(7, 7, 7)
    _, jobs, master = new_pty(leader)
    slave = open_slave(master, O_RDWR, task=leader)     # no O_NOCTTY: a session leader's ctty
    assert master.pty.slave.session == 7 and leader.ctty is master.pty.slave
    master.put()

    async def go():
        return await slave.read(10)
    assert run(go()) == b""                     # hung up: end of file
    with pytest.raises(Errno) as e:
        run(slave.write(b"x"))
    assert e.value.code == errno.EIO
    assert (7, SIGHUP) in jobs.sent and (7, SIGCONT) in jobs.sent
    assert slave.poll_events(POLLIN) & POLLHUP


def test_opening_the_slave_with_o_noctty_leaves_the_session_alone():
    leader = FakeTask(7, 7, 7)
    _, _, master = new_pty(leader)
    open_slave(master, O_RDWR | O_NOCTTY, task=leader)
    assert master.pty.slave.session == 0 and leader.ctty is None


def test_window_size_set_on_the_master_reaches_the_slave_foreground_group():
    task = FakeTask(9, 9, 9)
    _, jobs, master = new_pty(task)
    slave = open_slave(master, O_RDWR, task=task)
    task.mm.write(BUF, T.Winsize(24, 80).pack())
    run(master.ioctl(task, T.TIOCSWINSZ, BUF))
    task.mm.write(BUF, bytes(8))
    run(slave.ioctl(task, T.TIOCGWINSZ, BUF))
    assert T.Winsize.unpack(task.mm.read(BUF, 8)) == T.Winsize(24, 80)
    assert (9, SIGWINCH) in jobs.sent


def test_tiocgptpeer_opens_the_slave_as_a_new_descriptor():
    task = FakeTask(5, 5, 5)
    _, _, master = new_pty(task)
    master.pty.locked = False
    fd = run(master.ioctl(task, P.TIOCGPTPEER, O_RDWR | O_NOCTTY))
    f, _ = task.files.installed[0]
    assert fd == 3 and f.tty is master.pty.slave


def test_a_full_master_queue_makes_slave_writers_wait_until_the_master_reads():
    _, _, master = new_pty()
    slave = open_slave(master)
    slave.flags |= O_NONBLOCK
    big = b"x" * (200 * 1024)

    async def go():
        written = await slave.write(big)
        assert written < len(big)               # the master's buffer and our queue are full
        got = bytearray()
        while len(got) < written:
            got += await master.read(1 << 20)
        return written, got
    written, got = run(go())
    assert bytes(got) == big[:written]


def test_ctrl_c_typed_at_the_master_signals_the_slave_foreground_group():
    task = FakeTask(9, 9, 9)
    _, jobs, master = new_pty(task)
    open_slave(master, O_RDWR, task=task)
    run(master.write(b"\x03"))
    assert (9, 2) in jobs.sent


def test_devpts_lists_ptmx_and_live_slaves_with_their_device_numbers():
    task = FakeTask(5, 5, 5)
    fs = Devpts(FakeJobs(task, current=task))
    assert [e.name for e in fs.root.readdir(0)] == [b".", b"..", b"ptmx"]
    master = fs.ptys.open_ptmx(O_RDWR)
    master.get()
    names = [e.name for e in fs.root.readdir(0)]
    assert names == [b".", b"..", b"ptmx", b"0"]
    st = fs.root.lookup(b"0").getattr()
    assert S.S_ISCHR(st.st_mode) and (major(st.st_rdev), minor(st.st_rdev)) == (136, 0)
    assert S.S_IMODE(st.st_mode) == 0o620 and st.st_gid == 5
    ptmx = fs.root.lookup(b"ptmx").getattr()
    assert (major(ptmx.st_rdev), minor(ptmx.st_rdev)) == (5, 2)
    master.put()
    assert [e.name for e in fs.root.readdir(0)] == [b".", b"..", b"ptmx"]
    with pytest.raises(Errno):
        fs.root.lookup(b"0")


def test_a_gone_pty_leaves_no_device_opener_behind_and_its_node_opens_eio():
    from moss_host.fs import file as F
    task = FakeTask(5, 5, 5)
    fs = Devpts(FakeJobs(task, current=task))
    before = len(F._device_openers)
    masters = [fs.ptys.open_ptmx(O_RDWR) for _ in range(50)]
    for m in masters:
        m.get()
    assert len(F._device_openers) >= before + 50
    for m in masters:
        m.put()
    assert len(F._device_openers) <= before        # (was: one closure per index ever used)
    opener = F._major_openers[(S.S_IFCHR, P.PTS_MAJOR)]
    with pytest.raises(Errno) as e:
        run(opener(None, O_RDWR))
    assert e.value.code == errno.EIO                # pts_unix98_lookup without a tty
