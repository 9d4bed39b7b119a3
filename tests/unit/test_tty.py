"""The tty device without QEMU: blocking reads (canonical, VMIN/VTIME), writes, ioctls and job control."""
import asyncio
import errno
import fcntl
import os
import select
import signal
import stat as S
import struct
import termios
from types import SimpleNamespace

import pytest

from moss_host.errors import ERESTARTSYS, Errno
from moss_host.fs.file import O_NONBLOCK, O_RDWR
from moss_host.fs.stat import major, minor
from moss_host.tty import console as console_module
from moss_host.proc.jobctl import ProcessJobControl
from moss_host.proc.pidtable import PidTable
from moss_host.tty.console import HostConsole
from moss_host.tty.tty import JobControl, Tty, TtyDriver, disassociate_ctty
from moss_host.tty import termios as T
from tests.unit.fakes import FakeCreds, FakeJobs, FakeTask

SIGHUP, SIGINT, SIGCONT, SIGTTIN, SIGTTOU, SIGWINCH = 1, 2, 18, 21, 22, 28
BUF = 0x100


class SlowDriver(TtyDriver):
    """A device that keeps what it is given queued until drain() is called."""

    def __init__(self):
        super().__init__()
        self.queue = bytearray()

    def write(self, data):
        self.queue += data

    def pending(self):
        return len(self.queue)

    def flush_output(self):
        self.queue.clear()

    def drain(self):
        self.output += self.queue
        self.queue.clear()
        self.tty.output_progress()


def session():
    """A shell (pid 10, session leader, foreground) and a background job (pid 20) on a console."""
    shell = FakeTask(10, 10, 10)
    job = FakeTask(20, 20, 10)
    jobs = FakeJobs(shell, job)
    tty = Tty(jobs=jobs)
    tty.make_controlling(shell)
    return tty, jobs, shell, job


def run(coro):
    return asyncio.run(coro)


def later(delay, fn, *args):
    asyncio.get_running_loop().call_later(delay, fn, *args)


def ioctl(f, task, cmd, arg=BUF):
    return run(f.ioctl(task, cmd, arg))


def ioctl_errno(f, task, cmd, arg=BUF):
    with pytest.raises(Errno) as e:
        ioctl(f, task, cmd, arg)
    return e.value.code


def set_attrs(f, task, cmd=T.TCSETS, **changes):
    t = T.Termios.unpack(termios_of(f, task))
    for name, value in changes.items():
        setattr(t, name, value)
    task.mm.write(BUF, t.pack())
    return ioctl(f, task, cmd)


def termios_of(f, task):
    ioctl(f, task, T.TCGETS)
    return task.mm.read(BUF, 36)


def raw(f, task, vmin, vtime):
    t = T.Termios.unpack(termios_of(f, task))
    t.lflag &= ~(T.ICANON | T.ECHO)
    t.cc[T.VMIN], t.cc[T.VTIME] = vmin, vtime
    task.mm.write(BUF, t.pack())
    ioctl(f, task, T.TCSETS)


# ---------------------------------------------------------------- reading

def test_canonical_read_waits_for_a_whole_line():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)

    async def scenario():
        later(0.01, tty.receive, b"ec")
        later(0.02, tty.receive, b"ho\r")
        return await f.read(100, shell)
    assert run(scenario()) == b"echo\n"
    assert bytes(tty.driver.output) == b"echo\r\n"


def test_eof_at_line_start_makes_read_return_zero_bytes():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    tty.receive(b"\x04")
    assert run(f.read(100, shell)) == b""


def test_nonblocking_read_with_only_a_partial_line_is_eagain():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR | O_NONBLOCK)
    tty.receive(b"partial")
    with pytest.raises(Errno) as e:
        run(f.read(100, shell))
    assert e.value.code == errno.EAGAIN


def test_vmin_zero_vtime_zero_returns_at_once_even_when_empty():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR | O_NONBLOCK)
    raw(f, shell, 0, 0)
    assert run(f.read(10, shell)) == b""        # not EAGAIN: Linux checks the zero timeout first
    tty.receive(b"ab")
    assert run(f.read(10, shell)) == b"ab"


def test_vmin_zero_vtime_times_out_with_zero_bytes():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    raw(f, shell, 0, 1)

    async def scenario():
        loop = asyncio.get_running_loop()
        start = loop.time()
        data = await f.read(10, shell)
        return data, loop.time() - start
    data, took = run(scenario())
    assert data == b"" and 0.09 <= took < 1.0


def test_vmin_zero_vtime_returns_as_soon_as_one_byte_arrives():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    raw(f, shell, 0, 50)

    async def scenario():
        later(0.02, tty.receive, b"k")
        return await asyncio.wait_for(f.read(10, shell), 2)
    assert run(scenario()) == b"k"


def test_vmin_waits_for_that_many_bytes():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    raw(f, shell, 3, 0)

    async def scenario():
        later(0.01, tty.receive, b"a")
        later(0.02, tty.receive, b"b")
        later(0.03, tty.receive, b"cd")
        return await f.read(10, shell)
    assert run(scenario()) == b"abcd"


def test_vmin_with_vtime_is_an_inter_byte_timer():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    raw(f, shell, 5, 1)

    async def scenario():
        later(0.01, tty.receive, b"a")
        later(0.03, tty.receive, b"b")
        return await asyncio.wait_for(f.read(10, shell), 2)
    assert run(scenario()) == b"ab"             # the 0.1 s timer after "b" ends the read


def test_read_interrupted_by_a_signal_keeps_the_bytes_it_has():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    raw(f, shell, 4, 0)

    async def scenario():
        task = asyncio.ensure_future(f.read(10, shell))
        await asyncio.sleep(0.01)
        tty.receive(b"xy")
        await asyncio.sleep(0.01)
        task.cancel()
        return await task
    assert run(scenario()) == b"xy"


def test_read_interrupted_before_any_byte_is_cancelled():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)

    async def scenario():
        task = asyncio.ensure_future(f.read(10, shell))
        await asyncio.sleep(0.01)
        task.cancel()
        await task
    with pytest.raises(asyncio.CancelledError):
        run(scenario())
    assert len(tty.read_wait) == 0          # the cancelled reader left the queue


# ---------------------------------------------------------------- writing and output

def test_write_maps_newline_to_crlf_with_onlcr():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    assert run(f.write(b"hi\n", shell)) == 3
    assert bytes(tty.driver.output) == b"hi\r\n"


def test_write_without_opost_is_raw():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    set_attrs(f, shell, oflag=0)
    run(f.write(b"hi\n", shell))
    assert bytes(tty.driver.output) == b"hi\n"


def test_stop_character_holds_output_until_start():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    tty.receive(b"\x13")

    async def scenario():
        later(0.02, tty.receive, b"\x11")
        return await f.write(b"later", shell)
    assert run(scenario()) == 5
    assert bytes(tty.driver.output) == b"later"


def test_nonblocking_write_while_stopped_is_eagain():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR | O_NONBLOCK)
    tty.receive(b"\x13")
    with pytest.raises(Errno) as e:
        run(f.write(b"x", shell))
    assert e.value.code == errno.EAGAIN


def test_tcsetsw_waits_for_output_to_drain():
    driver = SlowDriver()
    shell = FakeTask(10, 10, 10)
    tty = Tty(driver, FakeJobs(shell))
    tty.make_controlling(shell)
    f = tty.open(O_RDWR)

    async def scenario():
        await f.write(b"queued", shell)
        shell.mm.write(BUF, tty.termios.pack())
        later(0.02, driver.drain)
        await f.ioctl(shell, T.TCSETSW, BUF)
        return bytes(driver.output)
    assert run(scenario()) == b"queued"


def test_tiocoutq_counts_queued_output():
    driver = SlowDriver()
    shell = FakeTask(10, 10, 10)
    tty = Tty(driver, FakeJobs(shell))
    f = tty.open(O_RDWR)
    run(f.write(b"abc\n", shell))
    ioctl(f, shell, T.TIOCOUTQ)
    assert struct.unpack("<i", shell.mm.read(BUF, 4))[0] == 5


# ---------------------------------------------------------------- signals from the keyboard

def test_interrupt_key_signals_the_foreground_group():
    tty, jobs, shell, _ = session()
    tty.receive(b"\x03")
    assert jobs.sent == [(10, SIGINT)]
    assert bytes(tty.driver.output) == b"^C"


def test_interrupt_key_without_a_foreground_group_signals_nobody():
    jobs = FakeJobs()
    tty = Tty(jobs=jobs)
    tty.receive(b"\x03")
    assert jobs.sent == []


# ---------------------------------------------------------------- termios ioctls

def test_tcgets_reports_linux_console_defaults():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    iflag, oflag, cflag, lflag, line, cc = struct.unpack("<IIIIB19s", termios_of(f, shell))
    assert iflag == T.ICRNL | T.IXON
    assert oflag == T.OPOST | T.ONLCR
    assert cflag == T.B38400 | T.CS8 | T.CREAD | T.HUPCL
    assert lflag == T.ISIG | T.ICANON | T.ECHO | T.ECHOE | T.ECHOK | T.ECHOCTL | T.ECHOKE | T.IEXTEN
    assert line == 0
    assert cc[:17] == b"\x03\x1c\x7f\x15\x04\x00\x01\x00\x11\x13\x1a\x00\x12\x0f\x17\x16\x00"


def test_tcgets2_adds_the_speeds():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    ioctl(f, shell, T.TCGETS2)
    assert struct.unpack("<II", shell.mm.read(BUF + 36, 8)) == (38400, 38400)


def test_tcsets_changes_the_line_discipline_mode():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    set_attrs(f, shell, lflag=0)
    assert not tty.ldisc.canonical
    assert T.Termios.unpack(termios_of(f, shell)).lflag == 0


def test_tcsetsf_flushes_pending_input():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    tty.receive(b"typed ahead\r")
    set_attrs(f, shell, T.TCSETSF)
    assert tty.ldisc.inq() == 0


def test_tcsets_keeps_pending_input():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    tty.receive(b"kept\r")
    set_attrs(f, shell, T.TCSETS)
    assert tty.ldisc.inq() == 5


def test_tcflsh_flushes_input_and_rejects_bad_queue():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    tty.receive(b"x\r")
    ioctl(f, shell, T.TCFLSH, T.TCIFLUSH)
    assert tty.ldisc.inq() == 0
    assert ioctl_errno(f, shell, T.TCFLSH, 7) == errno.EINVAL


def test_fionread_reports_bytes_of_completed_lines():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    tty.receive(b"abc\rde")
    ioctl(f, shell, T.FIONREAD)
    assert struct.unpack("<i", shell.mm.read(BUF, 4))[0] == 4


def test_tcxonc_stops_and_restarts_output():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    ioctl(f, shell, T.TCXONC, T.TCOOFF)
    tty.emit(b"held")
    assert bytes(tty.driver.output) == b""
    ioctl(f, shell, T.TCXONC, T.TCOON)
    assert bytes(tty.driver.output) == b"held"


def test_unknown_ioctl_is_enotty():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    assert ioctl_errno(f, shell, 0x54FF) == errno.ENOTTY     # no tty ioctl has this number


def test_bad_pointer_is_efault():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    assert ioctl_errno(f, shell, T.TCGETS, 0x10000) == errno.EFAULT


# ---------------------------------------------------------------- window size

def test_window_size_round_trips_and_signals_sigwinch_on_change_only():
    tty, jobs, shell, _ = session()
    f = tty.open(O_RDWR)
    ioctl(f, shell, T.TIOCGWINSZ)
    assert shell.mm.read(BUF, 8) == bytes(8)
    shell.mm.write(BUF, struct.pack("<HHHH", 50, 132, 0, 0))
    ioctl(f, shell, T.TIOCSWINSZ)
    ioctl(f, shell, T.TIOCSWINSZ)
    assert jobs.sent == [(10, SIGWINCH)]
    shell.mm.write(BUF, bytes(8))
    ioctl(f, shell, T.TIOCGWINSZ)
    assert struct.unpack("<HHHH", shell.mm.read(BUF, 8)) == (50, 132, 0, 0)


# ---------------------------------------------------------------- process groups and sessions

def test_tiocgpgrp_reports_the_foreground_group():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    ioctl(f, shell, T.TIOCGPGRP)
    assert struct.unpack("<i", shell.mm.read(BUF, 4))[0] == 10


def test_tiocgpgrp_on_a_tty_that_is_not_the_callers_is_enotty():
    tty, jobs, _, _ = session()
    stranger = FakeTask(30, 30, 30)
    f = tty.open(O_RDWR)
    assert ioctl_errno(f, stranger, T.TIOCGPGRP) == errno.ENOTTY
    assert ioctl_errno(f, stranger, T.TIOCGSID) == errno.ENOTTY


def test_tiocspgrp_moves_a_group_of_the_same_session_to_the_foreground():
    tty, _, shell, job = session()
    f = tty.open(O_RDWR)
    shell.mm.write(BUF, struct.pack("<i", 20))
    ioctl(f, shell, T.TIOCSPGRP)
    assert tty.pgrp == 20


def test_tiocspgrp_rules():
    tty, jobs, shell, _ = session()
    other = FakeTask(40, 40, 40)
    jobs.tasks.append(other)
    f = tty.open(O_RDWR)
    shell.mm.write(BUF, struct.pack("<i", 40))
    assert ioctl_errno(f, shell, T.TIOCSPGRP) == errno.EPERM      # a group of another session
    shell.mm.write(BUF, struct.pack("<i", 99))
    assert ioctl_errno(f, shell, T.TIOCSPGRP) == errno.ESRCH      # no such group
    shell.mm.write(BUF, struct.pack("<i", -1))
    assert ioctl_errno(f, shell, T.TIOCSPGRP) == errno.EINVAL
    other.mm.write(BUF, struct.pack("<i", 40))
    assert ioctl_errno(f, other, T.TIOCSPGRP) == errno.ENOTTY     # not the caller's terminal
    assert tty.pgrp == 10


def test_tiocspgrp_from_the_background_raises_sigttou_unless_blocked():
    tty, jobs, _, job = session()
    f = tty.open(O_RDWR)
    job.mm.write(BUF, struct.pack("<i", 20))
    assert ioctl_errno(f, job, T.TIOCSPGRP) == ERESTARTSYS
    assert jobs.sent == [(20, SIGTTOU)]
    jobs.ignored.add((20, SIGTTOU))                 # what shells do around tcsetpgrp
    ioctl(f, job, T.TIOCSPGRP)
    assert tty.pgrp == 20


def test_tiocgsid_reports_the_session():
    tty, _, _, job = session()
    f = tty.open(O_RDWR)
    ioctl(f, job, T.TIOCGSID)
    assert struct.unpack("<i", job.mm.read(BUF, 4))[0] == 10


def test_session_member_without_explicit_ctty_is_controlled_by_its_sessions_tty():
    tty, _, _, job = session()
    assert job.ctty is None and tty.controls(job)


# ---------------------------------------------------------------- background jobs

def test_background_read_raises_sigttin_and_restarts():
    tty, jobs, _, job = session()
    f = tty.open(O_RDWR)
    with pytest.raises(Errno) as e:
        run(f.read(10, job))
    assert e.value.code == ERESTARTSYS and jobs.sent == [(20, SIGTTIN)]


def test_background_read_with_sigttin_ignored_is_eio():
    tty, jobs, _, job = session()
    jobs.ignored.add((20, SIGTTIN))
    f = tty.open(O_RDWR)
    with pytest.raises(Errno) as e:
        run(f.read(10, job))
    assert e.value.code == errno.EIO and jobs.sent == []


def test_background_read_from_an_orphaned_group_is_eio():
    tty, jobs, _, job = session()
    jobs.orphaned.add(20)
    f = tty.open(O_RDWR)
    with pytest.raises(Errno) as e:
        run(f.read(10, job))
    assert e.value.code == errno.EIO


def test_read_through_the_current_task_hook():
    tty, jobs, _, job = session()
    jobs.current = job
    f = tty.open(O_RDWR)
    with pytest.raises(Errno):
        run(f.read(10))
    assert jobs.sent == [(20, SIGTTIN)]


def test_background_write_is_allowed_without_tostop():
    tty, jobs, _, job = session()
    f = tty.open(O_RDWR)
    assert run(f.write(b"bg\n", job)) == 3
    assert jobs.sent == []


def test_background_write_with_tostop_raises_sigttou():
    tty, jobs, shell, job = session()
    f = tty.open(O_RDWR)
    set_attrs(f, shell, lflag=tty.termios.lflag | T.TOSTOP)
    with pytest.raises(Errno) as e:
        run(f.write(b"bg\n", job))
    assert e.value.code == ERESTARTSYS and jobs.sent == [(20, SIGTTOU)]


def test_background_write_with_tostop_and_sigttou_ignored_goes_out():
    tty, jobs, shell, job = session()
    f = tty.open(O_RDWR)
    set_attrs(f, shell, lflag=tty.termios.lflag | T.TOSTOP)
    jobs.ignored.add((20, SIGTTOU))
    assert run(f.write(b"bg", job)) == 2


def test_background_tcsets_raises_sigttou():
    tty, jobs, _, job = session()
    f = tty.open(O_RDWR)
    job.mm.write(BUF, tty.termios.pack())
    assert ioctl_errno(f, job, T.TCSETS) == ERESTARTSYS
    assert jobs.sent == [(20, SIGTTOU)]


def test_process_outside_the_session_is_not_job_controlled():
    tty, jobs, _, _ = session()
    stranger = FakeTask(30, 30, 30)
    f = tty.open(O_RDWR)
    tty.receive(b"line\r")
    assert run(f.read(10, stranger)) == b"line\n"
    assert jobs.sent == []


# ---------------------------------------------------------------- controlling terminal

def test_tiocsctty_makes_it_the_session_leaders_terminal():
    leader = FakeTask(50, 50, 50)
    jobs = FakeJobs(leader)
    tty = Tty(jobs=jobs)
    f = tty.open(O_RDWR)
    ioctl(f, leader, T.TIOCSCTTY, 0)
    assert leader.ctty is tty and tty.session == 50 and tty.pgrp == 50


def test_tiocsctty_by_a_non_leader_is_eperm():
    member = FakeTask(51, 50, 50)
    tty = Tty(jobs=FakeJobs(member))
    assert ioctl_errno(tty.open(O_RDWR), member, T.TIOCSCTTY, 0) == errno.EPERM


def test_tiocsctty_on_a_tty_of_another_session_is_eperm_unless_root_steals_it():
    tty, jobs, shell, _ = session()
    other = FakeTask(60, 60, 60, creds=FakeCreds(euid=1000))
    f = tty.open(O_RDWR)
    assert ioctl_errno(f, other, T.TIOCSCTTY, 1) == errno.EPERM
    root = FakeTask(61, 61, 61)
    jobs.tasks.append(root)
    ioctl(f, root, T.TIOCSCTTY, 1)
    assert tty.session == 61 and shell.ctty is None


def test_tiocnotty_by_the_session_leader_hangs_up_the_foreground_group():
    tty, jobs, shell, _ = session()
    f = tty.open(O_RDWR)
    ioctl(f, shell, T.TIOCNOTTY, 0)
    assert jobs.sent == [(10, SIGHUP), (10, SIGCONT)]
    assert tty.session == 0 and tty.pgrp == 0 and shell.ctty is None


def test_tiocnotty_by_a_member_detaches_only_that_process():
    tty, _, shell, job = session()
    f = tty.open(O_RDWR)
    ioctl(f, job, T.TIOCNOTTY, 0)
    assert not tty.controls(job) and tty.controls(shell)
    assert ioctl_errno(f, job, T.TIOCNOTTY, 0) == errno.ENOTTY


def test_session_leader_exit_sends_sighup_to_the_foreground_group():
    tty, jobs, shell, _ = session()
    tty.pgrp = 20
    disassociate_ctty(shell)
    assert jobs.sent == [(20, SIGHUP)]
    assert tty.session == 0


# ---------------------------------------------------------------- poll and stat

def test_poll_reports_input_after_a_line_and_wakes_watchers():
    tty, _, _, _ = session()
    f = tty.open(O_RDWR)
    assert f.poll_events(0x1 | 0x4) == 0x4
    woken = []
    stops = f.poll_watch(0x1, lambda: woken.append(1))
    tty.receive(b"x")
    tty.receive(b"\r")
    assert f.poll_events(0x1) == 0x1 and woken
    for stop in stops:
        stop()
    assert not tty.read_wait._callbacks


def test_console_stat_is_a_character_device_5_1():
    tty, _, _, _ = session()
    st = tty.open(O_RDWR).stat()
    assert S.S_ISCHR(st.st_mode) and (major(st.st_rdev), minor(st.st_rdev)) == (5, 1)


def test_tiocsti_pushes_input_for_the_controlling_process():
    tty, _, shell, _ = session()
    f = tty.open(O_RDWR)
    shell.mm.write(BUF, b"\r")
    tty.receive(b"ab")
    ioctl(f, shell, T.TIOCSTI)
    assert tty.ldisc.take(10) == b"ab\n"


# ---------------------------------------------------------------- the host terminal as the console

def _job_control(*tasks):
    """The process layer's JobControl over a pid table holding tasks."""
    pids = PidTable()
    for t in tasks:
        pids.add(t)
    return ProcessJobControl(pids, lambda: None)


def _proc(tid, pgid, sid, parent=None):
    return SimpleNamespace(tid=tid, tgid=tid, pgid=pgid, sid=sid, parent=parent, exit_status=None,
                           ctty=None, blocked=0, real_blocked=0, sighand=None, state=None)


def _read_master(fd, timeout=2.0):
    out = b""
    while select.select([fd], [], [], timeout)[0]:
        out += os.read(fd, 1024)
        timeout = 0.05
    return out


def test_host_console_cooks_host_input_writes_output_and_restores_the_terminal():
    master, slave = os.openpty()
    try:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("<HHHH", 33, 99, 0, 0))
        before = termios.tcgetattr(slave)

        async def scenario():
            console = HostConsole(JobControl(), in_fd=slave, out_fd=slave)
            try:
                raw_mode = termios.tcgetattr(slave)
                f = console.tty.open(O_RDWR)
                os.write(master, b"hx\x7fi\r")
                data = await asyncio.wait_for(f.read(100), 2)
                await f.write(b"out\n")
                first = console.tty.winsize
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("<HHHH", 40, 120, 0, 0))
                os.kill(os.getpid(), signal.SIGWINCH)
                await asyncio.sleep(0.05)
                assert (console.tty.winsize.rows, console.tty.winsize.cols) == (40, 120)
                return raw_mode, data, first
            finally:
                console.close()
        raw_mode, data, winsize = run(scenario())
        assert not raw_mode[3] & (termios.ICANON | termios.ECHO | termios.ISIG)
        assert not raw_mode[1] & termios.OPOST
        assert data == b"hi\n"
        assert _read_master(master) == b"hx\b \bi\r\nout\r\n"
        assert (winsize.rows, winsize.cols) == (33, 99)
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_host_console_escape_ctrl_bracket_q_leaves_and_other_keys_pass_through(monkeypatch):
    left = []
    monkeypatch.setattr(console_module, "interrupt_host", lambda: left.append(True))
    master, slave = os.openpty()
    try:
        async def scenario():
            console = HostConsole(JobControl(), in_fd=slave, out_fd=slave)
            try:
                assert console._host_escape(b"ab") == b"ab"
                assert console._host_escape(b"a\x1d") == b"a"           # wait for the next key
                assert console._host_escape(b"x") == b"\x1dx"
                assert not left
                assert console._host_escape(b"z\x1dq") == b"z"
                assert left
            finally:
                console.close()
        run(scenario())
    finally:
        os.close(master)
        os.close(slave)


def test_process_job_control_orphaned_group_rules():
    init = _proc(1, 1, 1)
    shell = _proc(10, 10, 10, parent=init)
    job = _proc(20, 20, 10, parent=shell)
    jobs = _job_control(init, shell, job)
    assert not jobs.is_orphaned_pgrp(20)        # its parent (the shell) is in another group of the session
    assert jobs.is_orphaned_pgrp(10)            # the shell's parent is init, which does not count
    assert jobs.session_of_pgrp(20) == 10 and jobs.session_of_pgrp(99) is None


def test_process_job_control_sets_ctty_for_every_thread_of_the_process():
    leader = _proc(10, 10, 10)
    thread = _proc(11, 10, 10)
    thread.tgid = 10
    jobs = _job_control(leader, thread)
    tty = Tty(jobs=jobs)
    jobs.set_ctty(leader, tty)
    assert leader.ctty is tty and thread.ctty is tty
    jobs.clear_session_ctty(10, tty)
    assert leader.ctty is None and thread.ctty is None


def test_interrupt_key_ends_the_run_when_only_init_without_handler_is_in_the_foreground(monkeypatch):
    left = []
    monkeypatch.setattr(console_module, "interrupt_host", lambda: left.append(True))
    init = _proc(1, 1, 1)
    tty = Tty(jobs=_job_control(init))
    tty.session = tty.pgrp = 1
    tty.receive(b"\x03")
    assert left


def test_interrupt_key_is_a_signal_when_init_has_a_handler():
    from moss_host.proc import signals
    init = _proc(1, 1, 1)
    signals.action(init, signals.SIGINT).handler = 0x1000
    sent = []
    jobs = _job_control(init)
    jobs.signal_group = lambda pgid, signo: sent.append((pgid, signo))
    tty = Tty(jobs=jobs)
    tty.session = tty.pgrp = 1
    tty.receive(b"\x03")
    assert sent == [(1, SIGINT)]


def test_dev_tty_opens_the_callers_controlling_terminal_or_fails_with_enxio(monkeypatch):
    from moss_host.fs import file as file_module
    monkeypatch.setattr(file_module, "_device_openers", dict(file_module._device_openers))
    tty, jobs, shell, _ = session()
    console_module._register_openers(tty)
    open_tty = file_module._device_openers[(S.S_IFCHR, 5, 0)]
    open_console_node = file_module._device_openers[(S.S_IFCHR, 5, 1)]
    jobs.current = shell
    f = run(open_tty(None, O_RDWR))
    assert f.tty is tty
    jobs.current = FakeTask(30, 30, 30)            # another session: no controlling terminal
    with pytest.raises(Errno) as e:
        run(open_tty(None, O_RDWR))
    assert e.value.code == errno.ENXIO
    assert run(open_console_node(None, O_RDWR)).tty is tty     # /dev/console needs no controlling tty


def test_exclusive_tty_reopens_only_for_root(monkeypatch):
    from moss_host.fs import file as file_module
    monkeypatch.setattr(file_module, "_device_openers", dict(file_module._device_openers))
    tty, jobs, shell, _ = session()
    console_module._register_openers(tty)
    open_console_node = file_module._device_openers[(S.S_IFCHR, 5, 1)]
    ioctl(tty.open(O_RDWR), shell, T.TIOCEXCL, 0)
    jobs.current = FakeTask(31, 31, 31, creds=FakeCreds(euid=1000))
    with pytest.raises(Errno) as e:
        run(open_console_node(None, O_RDWR))
    assert e.value.code == errno.EBUSY
    jobs.current = shell
    assert run(open_console_node(None, O_RDWR)).tty is tty
