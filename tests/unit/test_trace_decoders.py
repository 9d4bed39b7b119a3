"""--trace's decoders (moss_host/syscalls/trace/): strings, flags, structs, results and whole
lines as Debian's strace prints them, on a fake task's memory (no QEMU)."""
from __future__ import annotations

import io
import json
import struct
from types import SimpleNamespace

import pytest

from moss_host.errors import EFAULT, Errno
from moss_host.syscalls import load_all
from moss_host.syscalls.numbers import SYSCALL_NUMBERS
from moss_host.syscalls.table import SYSCALLS
from moss_host.syscalls.trace import TraceOptions, TraceSpecError, Tracer, options_from, parse_spec
from moss_host.syscalls.trace import flags as F
from moss_host.syscalls.trace import signames, structs
from moss_host.syscalls.trace.results import error
from moss_host.syscalls.trace.summary import Summary
from moss_host.syscalls.trace.text import quote

load_all()
BASE = 0x10000


class FakeMem:
    def __init__(self) -> None:
        self.data = bytearray(0x4000)
        self.top = 0

    def put(self, data: bytes) -> int:
        """Place `data` (8-aligned) and return its guest address."""
        addr = BASE + self.top
        self.data[self.top:self.top + len(data)] = data
        self.top += (len(data) + 7) & ~7
        return addr

    def read(self, ua: int, n: int) -> bytes:
        off = ua - BASE
        if off < 0 or off + n > len(self.data):
            raise Errno(EFAULT)
        return bytes(self.data[off:off + n])

    def read_cstring(self, ua: int, limit: int = 4096) -> bytes:
        out = self.read(ua, min(limit, len(self.data) - (ua - BASE)))
        return out.split(b"\0")[0][:limit]


class FakePids:
    def __init__(self, n: int = 1) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def live(self):
        return iter(range(self.n))          # none is the task itself


def fake_task(tasks: int = 1):
    return SimpleNamespace(mm=FakeMem(), tid=42, tgid=42, kernel=SimpleNamespace(pids=FakePids(tasks)),
                           regs=lambda: SimpleNamespace(sp=0), sigpending=0,
                           group=SimpleNamespace(shared_pending=0))


def entry(name: str):
    return SYSCALLS[SYSCALL_NUMBERS[name]]


def traced(name: str, args, result: int, task=None, options: TraceOptions | None = None) -> str:
    task = task or fake_task()
    out = io.StringIO()
    t = Tracer(options, out=out)
    call = t.enter(task, entry(name), list(args) + [0] * (6 - len(args)))
    t.finish(task, call, result)
    return out.getvalue()


def line(name: str, args, result: int, task=None) -> str:
    """The line with strace's column padding collapsed."""
    text = traced(name, args, result, task).rstrip("\n")
    call, _, res = text.rpartition("= ")
    return f"{call.rstrip()} = {res}"


# -- strings ----------------------------------------------------------------------------------

def test_quote_escapes_like_strace():
    assert quote(b'a"b\\c\n\t') == r'"a\"b\\c\n\t"'
    assert quote(b"\x00\x01x") == r'"\0\1x"'
    assert quote(b"\x001") == r'"\0001"'            # a digit follows: three octal digits
    assert quote(b"\x0b\x61", hexed=True) == r'"\x0b\x61"'


def test_write_buffer_truncated_at_32_bytes():
    t = fake_task()
    buf = t.mm.put(b"defghijklmnopqrstuvwxyz0123456789ABCDEF\n")
    assert line("write", [3, buf, 40], 40, t) == \
        'write(3, "defghijklmnopqrstuvwxyz012345678"..., 40) = 40'


def test_read_buffer_is_shown_after_the_call_with_its_result_length():
    t = fake_task()
    buf = t.mm.put(b"hello\nrest of the buffer")
    assert line("read", [3, buf, 80], 6, t) == r'read(3, "hello\n", 80) = 6'
    assert line("read", [3, buf, 80], -11, t) == f"read(3, {buf:#x}, 80) = -1 EAGAIN (Resource temporarily unavailable)"


# -- flags and lines ----------------------------------------------------------------------------

def test_openat_flags_mode_only_with_o_creat_and_errno_names():
    t = fake_task()
    path = t.mm.put(b"/tmp/trace_file.txt\0")
    assert line("openat", [(-100) & (2**64 - 1), path, 0o2001101, 0o640], 3, t) == \
        'openat(AT_FDCWD, "/tmp/trace_file.txt", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0640) = 3'
    assert line("openat", [(-100) & (2**64 - 1), path, 0o2000000, 0], -2, t) == \
        'openat(AT_FDCWD, "/tmp/trace_file.txt", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)'


def test_result_column_is_strace_s():
    text = traced("close", [3], 0)
    assert text == "close(3)" + " " * 32 + "= 0\n"
    assert traced("close", [3], 0, fake_task(tasks=2)) == "[pid    42] close(3)" + " " * 20 + "= 0\n"


def test_mmap_prot_and_map_flags_and_hex_result():
    assert line("mmap", [0, 8192, 3, 0x22, 2**64 - 1, 0], 0xffff87a62000) == \
        "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0xffff87a62000"
    assert F.flags(0, F.PROT, "PROT_NONE") == "PROT_NONE"
    assert F.flags(0x1 | 0x80, F.PROT) == "PROT_READ|0x80"


def test_clone_named_arguments_in_strace_order():
    assert line("clone", [0x01200011, 0, 0, 0, 0x26aaf0d0], 136) == \
        "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, " \
        "child_tidptr=0x26aaf0d0) = 136"


def test_fcntl_third_argument_and_result_decoration():
    assert line("fcntl", [10, 1, 0], 1) == "fcntl(10, F_GETFD) = 0x1 (flags FD_CLOEXEC)"
    assert line("fcntl", [10, 2, 1], 0) == "fcntl(10, F_SETFD, FD_CLOEXEC) = 0"


def test_unlinkat_and_faccessat_flags():
    t = fake_task()
    p = t.mm.put(b"/tmp/trace_dir\0")
    assert line("unlinkat", [2**64 - 100, p, 0x200], 0, t) == 'unlinkat(AT_FDCWD, "/tmp/trace_dir", AT_REMOVEDIR) = 0'
    assert line("faccessat2", [2**64 - 100, p, 6, 0], 0, t) == 'faccessat2(AT_FDCWD, "/tmp/trace_dir", R_OK|W_OK, 0) = 0'


# -- structs ------------------------------------------------------------------------------------

def stat_bytes(mode: int, size: int, rdev: int = 0) -> bytes:
    raw = bytearray(128)
    struct.pack_into("<I", raw, 16, mode)
    struct.pack_into("<Q", raw, 32, rdev)
    struct.pack_into("<q", raw, 48, size)
    return bytes(raw)


def test_stat_abbreviated():
    t = fake_task()
    reg = t.mm.put(stat_bytes(0o100640, 56))
    chr_ = t.mm.put(stat_bytes(0o20620, 0, (136 << 8) | 3))
    assert structs.stat(t, reg) == "{st_mode=S_IFREG|0640, st_size=56, ...}"
    assert structs.stat(t, chr_) == "{st_mode=S_IFCHR|0620, st_rdev=makedev(0x88, 0x3), ...}"
    pts0 = t.mm.put(stat_bytes(0o20620, 0, 136 << 8))
    assert structs.stat(t, pts0) == "{st_mode=S_IFCHR|0620, st_rdev=makedev(0x88, 0), ...}"
    empty = t.mm.put(b"\0")
    assert line("newfstatat", [3, empty, reg, 0x1000], 0, t) == \
        'newfstatat(3, "", {st_mode=S_IFREG|0640, st_size=56, ...}, AT_EMPTY_PATH) = 0'


def test_sigaction_and_sigsets():
    t = fake_task()
    act = t.mm.put(struct.pack("<QQQQ", 0x400820, 0x10000000, 0, 0))
    assert structs.sigaction(t, act) == "{sa_handler=0x400820, sa_mask=[], sa_flags=SA_RESTART}"
    assert signames.sigset(1 << 16) == "[CHLD]"
    assert signames.sigset((1 << 1) | (1 << 16)) == "[INT CHLD]"
    assert signames.sigset(~(1 << 8) & (2**64 - 1)) == "~[KILL]"
    chld = t.mm.put(struct.pack("<Q", 1 << 16))
    assert line("rt_sigprocmask", [0, chld, 0, 8], 0, t) == "rt_sigprocmask(SIG_BLOCK, [CHLD], NULL, 8) = 0"


def test_poll_and_timespec():
    t = fake_task()
    fds = t.mm.put(struct.pack("<ihh", 3, 1, 1))
    ts = t.mm.put(struct.pack("<qq", 0, 0))
    assert line("ppoll", [fds, 1, ts, 0, 0], 1, t) == \
        "ppoll([{fd=3, events=POLLIN}], 1, {tv_sec=0, tv_nsec=0}, NULL, 0) = 1 " \
        "([{fd=3, revents=POLLIN}], left {tv_sec=0, tv_nsec=0})"
    assert line("ppoll", [fds, 1, ts, 0, 0], 0, t).endswith("= 0 (Timeout)")
    req = t.mm.put(struct.pack("<qq", 0, 1000000))
    assert line("clock_nanosleep", [0, 0, req, 0], 0, t) == \
        "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=1000000}, NULL) = 0"


def test_iovec_and_msghdr():
    t = fake_task()
    a, b = t.mm.put(b"abc"), t.mm.put(b"hi there")
    iov = t.mm.put(struct.pack("<QQQQ", a, 3, b, 8))
    assert line("writev", [3, iov, 2], 11, t) == \
        'writev(3, [{iov_base="abc", iov_len=3}, {iov_base="hi there", iov_len=8}], 2) = 11'
    one = t.mm.put(struct.pack("<QQ", b, 8))
    msg = t.mm.put(struct.pack("<QI4xQQQQi4x", 0, 0, one, 1, 0, 0, 0))
    assert line("sendmsg", [5, msg, 0], 8, t) == \
        'sendmsg(5, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="hi there", iov_len=8}], ' \
        'msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 8'


def test_termios_utsname_rlimit():
    t = fake_task()
    tio = t.mm.put(struct.pack("<IIII", 0x500, 0x5, 0xBF, 0x8A3B) + bytes(20))
    assert line("ioctl", [0, 0x5401, tio], 0, t) == (
        "ioctl(0, TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, "
        "c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, ...}) = 0")
    assert line("ioctl", [3, 0x5401, tio], -25, t) == \
        f"ioctl(3, TCGETS, {tio:#x}) = -1 ENOTTY (Inappropriate ioctl for device)"
    uts = t.mm.put(b"Linux".ljust(65, b"\0") + b"(none)".ljust(65, b"\0") + bytes(65 * 4))
    assert line("uname", [uts], 0, t) == 'uname({sysname="Linux", nodename="(none)", ...}) = 0'
    rl = t.mm.put(struct.pack("<QQ", 8192 * 1024, 2**64 - 1))
    assert line("prlimit64", [0, 3, 0, rl], 0, t) == \
        "prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0"


def test_wait_status_and_siginfo():
    assert structs.wait_status(3 << 8) == "{WIFEXITED(s) && WEXITSTATUS(s) == 3}"
    assert structs.wait_status(9) == "{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}"
    assert structs.wait_status(0x137F) == "{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}"
    chld = SimpleNamespace(signo=17, code=1, pid=136, uid=0, status=3, utime=0, stime=0)
    assert signames.siginfo(chld) == \
        "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=136, si_uid=0, si_status=3, si_utime=0, si_stime=0}"
    usr = SimpleNamespace(signo=10, code=0, pid=135, uid=0)
    assert signames.siginfo(usr) == "{si_signo=SIGUSR1, si_code=SI_USER, si_pid=135, si_uid=0}"


def test_errors_and_restarts():
    assert error(2) == "-1 ENOENT (No such file or directory)"
    assert error(95) == "-1 EOPNOTSUPP (Operation not supported)"
    assert error(512) == "? ERESTARTSYS (To be restarted if SA_RESTART is set)"


def test_signal_and_exit_lines():
    out = io.StringIO()
    t = Tracer(out=out)
    task = fake_task()
    t.signal(task, 10, SimpleNamespace(signo=10, code=0, pid=1, uid=0))
    t.exited(task, 3 << 8)
    t.exited(task, 9)
    assert out.getvalue().splitlines() == [
        "--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=1, si_uid=0} ---",
        "+++ exited with 3 +++", "+++ killed by SIGKILL +++"]


# -- options ------------------------------------------------------------------------------------

def test_trace_spec_names_classes_and_negation():
    assert parse_spec(None) is None and parse_spec("all") is None
    assert parse_spec("openat,read") == {"openat", "read"}
    names = parse_spec("%file")
    assert "openat" in names and "newfstatat" in names and "read" not in names
    assert "write" not in parse_spec("!write") and "read" in parse_spec("!write")
    for cls in ("%process", "%network", "%signal", "%ipc", "%desc", "%memory"):
        assert parse_spec(cls)
    assert parse_spec("none") == frozenset()
    reads = parse_spec("/^p?read")
    assert {"read", "pread64", "readv", "readlinkat"} <= reads and "write" not in reads
    with pytest.raises(TraceSpecError):
        parse_spec("%nonsense")
    with pytest.raises(TraceSpecError):
        parse_spec("opnat")
    assert options_from(None) is None
    assert options_from(None, summary=True).lines is False


def test_filters_leave_other_calls_and_pids_out():
    assert traced("close", [3], 0, options=TraceOptions(names=frozenset({"read"}))) == ""
    assert traced("close", [3], 0, options=TraceOptions(pids=frozenset({7}))) == ""
    assert traced("close", [3], 0, options=TraceOptions(pids=frozenset({42}))) != ""


def test_json_one_object_per_call():
    out = traced("close", [3], -9, options=TraceOptions(json=True))
    obj = json.loads(out)
    assert obj["name"] == "close" and obj["pid"] == 42 and obj["result"] == -9
    assert obj["errno"] == "EBADF" and obj["args"] == {"arg0": "3"} and obj["raw"][0] == 3
    assert isinstance(obj["host_ns"], int)


def test_summary_has_a_row_per_syscall_and_a_total():
    s = Summary()
    for ns in (1000, 2000, 3000):
        s.add("read", ns, False)
    s.add("openat", 10_000, True)
    table = s.table().splitlines()
    assert table[0].split() == ["%", "time", "seconds", "usecs/call", "calls", "errors",
                                "median(us)", "p99(us)", "syscall"]
    rows = {r.split()[-1]: r.split() for r in table[2:] if not r.startswith("-")}
    assert rows["openat"][3:5] == ["1", "1"] and rows["read"][3] == "3"
    assert rows["read"][4] == "2.0" and rows["read"][5] == "3.0"      # median and p99, in us
    assert rows["total"][3:5] == ["4", "1"]


def test_clone3_struct_and_the_tid_it_stored():
    t = fake_task()
    ptid = t.mm.put(struct.pack("<i", 0))
    flags = 0x3d0f00                     # what glibc's pthread_create asks for
    args = t.mm.put(struct.pack("<8Q", flags, 0, 0x7000, ptid, 0, 0x8000, 0x7d0f00, 0x9000))
    t.mm.data[ptid - BASE:ptid - BASE + 4] = struct.pack("<i", 124)
    assert line("clone3", [args, 88], 124, t) == (
        "clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|"
        "CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7000, "
        f"parent_tid={ptid:#x}, exit_signal=0, stack=0x8000, stack_size=0x7d0f00, tls=0x9000}} "
        "=> {parent_tid=[124]}, 88) = 124")


def test_prctl_decodes_by_option():
    t = fake_task()
    name = t.mm.put(b"busybox\0")
    assert line("prctl", [16, name, 0, 0, 0], 0, t) == 'prctl(PR_GET_NAME, "busybox") = 0'
    assert line("prctl", [1, 15, 0, 0, 0], 0, t) == "prctl(PR_SET_PDEATHSIG, SIGTERM) = 0"
    assert line("prctl", [3, 0, 0, 0, 0], 1, t) == "prctl(PR_GET_DUMPABLE) = 1"


def test_a_call_another_task_interrupts_is_split_as_strace_f_splits_it():
    out = io.StringIO()
    t = Tracer(out=out)
    parent, child = fake_task(tasks=2), fake_task(tasks=2)
    child.tid = 43
    status = parent.mm.put(struct.pack("<i", 3 << 8))
    wait = t.enter(parent, entry("wait4"), [43, status, 0, 0, 0, 0])
    t.finish(child, t.enter(child, entry("exit_group"), [3, 0, 0, 0, 0, 0]), 0)
    t.exited(child, 3 << 8)
    t.finish(parent, wait, 43)
    assert [l.split("] ", 1)[1].split("  =")[0].rstrip() for l in out.getvalue().splitlines()] == [
        "wait4(43,  <unfinished ...>", "exit_group(3)", "+++ exited with 3 +++",
        "<... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 43"]


def test_umask_and_its_result_in_octal_and_stack_t():
    assert line("umask", [0o22], 0o27) == "umask(022) = 027"
    t = fake_task()
    ss = t.mm.put(struct.pack("<Qi4xQ", 0, 2, 0))
    assert line("sigaltstack", [0, ss], 0, t) == "sigaltstack(NULL, {ss_sp=NULL, ss_flags=SS_DISABLE, ss_size=0}) = 0"


def test_format_call_decodes_what_a_call_reads_and_leaves_outputs_as_pointers():
    """What dispatch's kernel-bug report prints for a failed call."""
    t = fake_task()
    p = t.mm.put(b"/etc/hostname\0")
    assert Tracer(out=io.StringIO()).format_call(t, entry("openat"), [2**64 - 100, p, 0, 0]) == \
        'openat(AT_FDCWD, "/etc/hostname", O_RDONLY)'
    assert Tracer(out=io.StringIO()).format_call(t, entry("read"), [3, 0x1234, 10]) == "read(3, 0x1234, 10)"


def test_timerfd_and_getrusage():
    t = fake_task()
    its = t.mm.put(struct.pack("<qqqq", 0, 0, 1, 500))
    assert line("timerfd_settime", [3, 0, its, 0], 0, t) == \
        "timerfd_settime(3, 0, {it_interval={tv_sec=0, tv_nsec=0}, it_value={tv_sec=1, tv_nsec=500}}, NULL) = 0"
    ru = t.mm.put(struct.pack("<qqqq", 0, 1000, 0, 2000) + bytes(112))
    assert line("getrusage", [0, ru], 0, t) == \
        "getrusage(RUSAGE_SELF, {ru_utime={tv_sec=0, tv_usec=1000}, ru_stime={tv_sec=0, tv_usec=2000}, ...}) = 0"
