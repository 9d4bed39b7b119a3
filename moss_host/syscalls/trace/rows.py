"""The per-syscall table of argument kinds that drives --trace: one row per syscall, in
strace's words. A syscall without a row prints by its handler's annotations
(syscalls/args.py), which is what every handler module declares and keeps plain."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

from moss_host.errors import Errno

from . import flags as F
from . import results as R
from . import signames, structs
from .text import cstring, pointer
from .kinds import (DIRFD, FD, HEX, INT, LONG, MODE, PATH, PTR, SIGNO, STR, UINT, ULONG, Arg,
                    buf_in, buf_out, c_int, enum, env_count, flags, named, only_if, string_array,
                    struct_in, struct_out, _in, _out)


@dataclass(frozen=True)
class Row:
    args: tuple[Arg, ...]
    result: R.Result = R.decimal
    order: Optional[tuple[int, ...]] = None     # the order strace prints them in, if not the ABI's


def row(*args: Arg, result: R.Result = R.decimal, order: Optional[tuple[int, ...]] = None) -> Row:
    return Row(tuple(args), result, order)


# -- kinds that need more than one argument -------------------------------------------------

OPEN_FLAGS = _in(lambda c, v: F.open_flags(v))
CREAT_MODE = only_if(lambda c: c.args[2] & F.O_CREAT or c.args[2] & F.O_TMPFILE == F.O_TMPFILE, MODE)
PROT = flags(F.PROT, "PROT_NONE")
MAP = _in(lambda c, v: F.map_flags(v & 0xFFFF_FFFF))
STAT_OUT = struct_out(structs.stat)
SIGSET_IN = _in(lambda c, v: "NULL" if v == 0 else structs.sigset(c.task, v, c.args[-1] if c.args else 8))
SIGSET_OUT = struct_out(structs.sigset)
TIMESPEC_IN = struct_in(structs.timespec)
TIMESPEC_OUT = struct_out(structs.timespec)
CLOCK = enum(F.CLOCKS)
RLIMIT_IN = struct_in(structs.rlimit)
RLIMIT_OUT = struct_out(structs.rlimit)
SOCKADDR_IN = _in(lambda c, v: structs.sockaddr(c.task, v, c_int(c.args[2])))
MSG_FLAGS = flags(F.MSG_FLAGS)
INT_OUT = struct_out(structs.int_ptr)
IOV_IN = _in(lambda c, v: structs.iovecs(c.task, v, c.args[2]))
IOV_OUT = _out(lambda c, v: structs.iovecs(c.task, v, c.args[2], c.result))


def _fcntl_arg(c, v: int) -> Optional[str]:
    cmd = c.args[1] & 0xFFFF_FFFF
    if cmd in (0, 1030, 8, 10, 1024, 1031, 1026):          # an int: dupfd, owner, signal, lease...
        return str(c_int(v))
    if cmd == 2:
        return F.flags(v & 0xFFFF_FFFF, F.FD_FLAGS)
    if cmd == 4:
        return F.open_flags(v)
    if cmd in (5, 6, 7, 36, 37, 38, 15, 16, 1033):
        return hex(v)
    return None                                             # F_GETFD, F_GETFL, ...: no third


def _ioctl_arg(c, v: int) -> Optional[str]:
    cmd = c.args[1] & 0xFFFF_FFFF
    if cmd == 0x5401:                                       # TCGETS
        return structs.termios(c.task, v) if c.result == 0 else hex(v)
    if cmd in (0x5402, 0x5403, 0x5404):
        return structs.termios(c.task, v)
    if cmd == 0x5413:
        return structs.winsize(c.task, v) if c.result == 0 else hex(v)
    if cmd == 0x5414:
        return structs.winsize(c.task, v)
    if cmd in (0x540F, 0x541B, 0x5429, 0x80045430):          # an int the call writes
        return structs.int_ptr(c.task, v) if c.result == 0 else hex(v)
    if cmd in (0x5410, 0x5421, 0x40045431, 0x5452):          # an int the call reads
        return structs.int_ptr(c.task, v)
    if cmd in (0x5422, 0x5450, 0x5451, 0x5441):
        return None if cmd != 0x5441 else hex(v)
    return hex(v) if v else "0"


# ioctl and fcntl decode their third argument after the call: TCGETS fills it.
IOCTL_ARG = Arg(_ioctl_arg, out=True)
FCNTL_ARG = _in(_fcntl_arg)


def _rt_sigreturn_mask(c, v: int) -> str:
    """The mask the signal frame restores: uc_sigmask of the rt_sigframe at sp (siginfo 128
    bytes, then ucontext's uc_flags, uc_link and uc_stack)."""
    try:
        sp = c.task.regs().sp
        mask, = struct.unpack("<Q", c.task.mm.read(sp + 128 + 40, 8))
    except Errno:
        return "{mask=?}"
    return f"{{mask={signames.sigset(mask)}}}"


def _getdents(c, v: int) -> str:
    n, off, data = 0, 0, b""
    try:
        data = c.task.mm.read(v, c.result or 0)
    except Errno:
        return hex(v)
    while off + 18 <= len(data):
        reclen, = struct.unpack_from("<H", data, off + 16)
        if not reclen:
            break
        n, off = n + 1, off + reclen
    return f"{v:#x} /* {n} entries */"


def _epoll_events_out(c, v: int) -> str:
    items = [structs.epoll_event(c.task, v + 16 * i) for i in range(min(c.result or 0, 32))]
    return "[" + ", ".join(items) + "]"


# clone on arm64: (flags, newsp, parent_tid, tls, child_tid); strace prints
# child_stack=, flags=, then parent_tid=, tls= and child_tidptr= when the flags use them.
def _clone_flags(c, v: int) -> str:
    sig = v & 0xFF
    names = F.flags(v & ~0xFF & 0xFFFF_FFFF, F.CLONE_FLAGS, "")
    if sig:
        names = (names + "|" if names else "") + signames.name(sig)
    return names or "0"


CLONE = row(
    named("flags", _in(_clone_flags)),
    named("child_stack", PTR),
    named("parent_tid", only_if(lambda c: c.args[0] & F.CLONE_PARENT_SETTID,
                                _out(lambda c, v: structs.int_ptr(c.task, v)))),
    named("tls", only_if(lambda c: c.args[0] & F.CLONE_SETTLS, PTR)),
    named("child_tidptr", only_if(lambda c: c.args[0] & F.CLONE_CHILD_TID, PTR)),
    order=(1, 0, 2, 3, 4))

CLONE3_FLAGS: F.FlagTable = [*F.CLONE_FLAGS, (0x100000000, "CLONE_CLEAR_SIGHAND"),
                             (0x200000000, "CLONE_INTO_CGROUP")]


def _clone_args(c, v: int) -> str:
    """clone3's struct clone_args, the fields its flags use, and `=> {parent_tid=[N]}` once
    the call stored the child's tid there."""
    try:
        raw = c.task.mm.read(v, 64)
    except Errno:
        return hex(v)
    fl, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls = struct.unpack("<8Q", raw)
    parts = [f"flags={F.flags(fl, CLONE3_FLAGS)}"]
    if fl & 0x1000:
        parts.append(f"pidfd={pointer(pidfd)}")
    if fl & F.CLONE_CHILD_TID:
        parts.append(f"child_tid={pointer(child_tid)}")
    if fl & F.CLONE_PARENT_SETTID:
        parts.append(f"parent_tid={pointer(parent_tid)}")
    parts.append(f"exit_signal={signames.name(exit_signal) if exit_signal else 0}")
    parts += [f"stack={pointer(stack)}", f"stack_size={stack_size:#x}"]
    if fl & F.CLONE_SETTLS:
        parts.append(f"tls={pointer(tls)}")
    text = "{" + ", ".join(parts) + "}"
    if c.result is not None and c.result > 0 and fl & F.CLONE_PARENT_SETTID and parent_tid:
        text += f" => {{parent_tid={structs.int_ptr(c.task, parent_tid)}}}"
    return text


def _prctl_arg(c, v: int) -> Optional[str]:
    """prctl's second argument as the option reads it; the rest only for options strace
    does not decode."""
    option = c_int(c.args[0])
    if option in (15, 16):                                  # PR_SET_NAME, PR_GET_NAME
        return cstring(c.task, v, 16) if option == 15 or (c.result is not None and c.result >= 0) else hex(v)
    if option == 1:                                         # PR_SET_PDEATHSIG
        return signames.name(c_int(v)) if c_int(v) else "0"
    if option in (2, 37):                                   # an int the call stores
        return structs.int_ptr(c.task, v) if c.result == 0 else hex(v)
    if option in (4, 36, 38):
        return str(v)
    if option in (3, 39):                                   # PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS
        return None
    return hex(v) if v else "0"


def _prctl_rest(c, v: int) -> Optional[str]:
    return None if c_int(c.args[0]) in (1, 2, 3, 4, 15, 16, 36, 37, 38, 39) else (hex(v) if v else "0")


WAIT_STATUS = struct_out(structs.wait_status_at)
ACCESS = flags(F.ACCESS_MODES, "F_OK")
FD_OUT_PAIR = struct_out(structs.fd_pair)

ROWS: dict[str, Row] = {
    # files and descriptors
    "openat": row(DIRFD, PATH, OPEN_FLAGS, CREAT_MODE),
    "close": row(FD),
    "close_range": row(UINT, UINT, flags([(2, "CLOSE_RANGE_UNSHARE"), (4, "CLOSE_RANGE_CLOEXEC")])),
    "read": row(FD, buf_out(), ULONG),
    "write": row(FD, buf_in(2), ULONG),
    "pread64": row(FD, buf_out(), ULONG, LONG),
    "pwrite64": row(FD, buf_in(2), ULONG, LONG),
    "readv": row(FD, IOV_OUT, INT),
    "writev": row(FD, IOV_IN, INT),
    "preadv": row(FD, IOV_OUT, INT, LONG),
    "pwritev": row(FD, IOV_IN, INT, LONG),
    "lseek": row(FD, LONG, enum(F.SEEK)),
    "dup": row(FD),
    "dup3": row(FD, FD, flags([(0o2000000, "O_CLOEXEC")])),
    "fcntl": row(FD, enum(F.FCNTL), FCNTL_ARG, result=R.fcntl),
    "ioctl": row(FD, enum(F.IOCTLS, signed=False), IOCTL_ARG),
    "flock": row(FD, flags(F.FLOCK_OPS)),
    "newfstatat": row(DIRFD, PATH, STAT_OUT, flags(F.AT_FLAGS)),
    "fstat": row(FD, STAT_OUT),
    "statx": row(DIRFD, PATH, flags(F.AT_FLAGS, "AT_STATX_SYNC_AS_STAT"), HEX, struct_out(structs.statx)),
    "faccessat": row(DIRFD, PATH, ACCESS),
    "faccessat2": row(DIRFD, PATH, ACCESS, flags(F.AT_EACCESS)),
    "mkdirat": row(DIRFD, PATH, MODE),
    "mknodat": row(DIRFD, PATH, MODE, HEX),
    "unlinkat": row(DIRFD, PATH, flags(F.AT_REMOVEDIR)),
    "symlinkat": row(PATH, DIRFD, PATH),
    "linkat": row(DIRFD, PATH, DIRFD, PATH, flags(F.AT_FLAGS)),
    "renameat": row(DIRFD, PATH, DIRFD, PATH),
    "renameat2": row(DIRFD, PATH, DIRFD, PATH,
                     flags([(1, "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT")])),
    "readlinkat": row(DIRFD, PATH, buf_out(), ULONG),
    "fchmodat": row(DIRFD, PATH, MODE),
    "fchmod": row(FD, MODE),
    "fchownat": row(DIRFD, PATH, INT, INT, flags(F.AT_FLAGS)),
    "fchown": row(FD, INT, INT),
    "truncate": row(PATH, LONG),
    "ftruncate": row(FD, LONG),
    "fsync": row(FD),
    "fdatasync": row(FD),
    "chdir": row(PATH),
    "fchdir": row(FD),
    "chroot": row(PATH),
    "getcwd": row(_out(lambda c, v: structs.quote(c.task.mm.read_cstring(v, 4096))), ULONG),
    "getdents64": row(FD, _out(_getdents), ULONG),
    "umask": row(_in(lambda c, v: F.octal(v & 0o777)), result=R.octal),
    "pipe2": row(FD_OUT_PAIR, flags(F.OPEN_FLAGS)),
    "mount": row(STR, PATH, STR, HEX, PTR),
    "umount2": row(PATH, flags([(1, "MNT_FORCE"), (2, "MNT_DETACH"), (4, "MNT_EXPIRE"),
                                (8, "UMOUNT_NOFOLLOW")])),
    "memfd_create": row(STR, flags([(1, "MFD_CLOEXEC"), (2, "MFD_ALLOW_SEALING"), (4, "MFD_HUGETLB")])),
    "getrandom": row(buf_out(hexed=True), ULONG, flags(F.GRND_FLAGS)),
    "sendfile": row(FD, FD, PTR, ULONG),
    # memory
    "mmap": row(PTR, ULONG, PROT, MAP, FD, HEX, result=R.address),
    "munmap": row(PTR, ULONG),
    "mprotect": row(PTR, ULONG, PROT),
    "brk": row(PTR, result=R.address),
    "mremap": row(PTR, ULONG, ULONG, flags(F.MREMAP), PTR, result=R.address),
    "madvise": row(PTR, ULONG, enum(F.MADVISE)),
    "msync": row(PTR, ULONG, flags([(1, "MS_ASYNC"), (2, "MS_INVALIDATE"), (4, "MS_SYNC")])),
    "mlock": row(PTR, ULONG),
    "munlock": row(PTR, ULONG),
    "shmat": row(INT, PTR, HEX, result=R.address),
    # processes
    "clone": CLONE,
    "clone3": row(Arg(_clone_args, out=True), ULONG),
    "execve": row(PATH, _in(string_array), _in(env_count)),
    "exit": row(INT),
    "exit_group": row(INT),
    "wait4": row(INT, WAIT_STATUS, flags(F.WAIT4_OPTIONS), PTR),
    "waitid": row(enum(F.IDTYPES), INT, PTR, flags(F.WAIT_OPTIONS), PTR),
    "set_tid_address": row(PTR),
    "set_robust_list": row(PTR, ULONG),
    "rseq": row(PTR, HEX, HEX, HEX),
    "prlimit64": row(INT, enum(F.RLIMITS), RLIMIT_IN, RLIMIT_OUT),
    "getrlimit": row(enum(F.RLIMITS), RLIMIT_OUT),
    "setrlimit": row(enum(F.RLIMITS), RLIMIT_IN),
    "prctl": row(enum(F.PRCTL), Arg(_prctl_arg, out=True), *(_in(_prctl_rest),) * 3),
    "setpgid": row(INT, INT),
    "getpgid": row(INT),
    "getsid": row(INT),
    "uname": row(struct_out(structs.utsname)),
    "futex": row(PTR, _in(lambda c, v: F.futex_op(v & 0xFFFF_FFFF)), INT,
                 only_if(lambda c: c.args[1] & 0x7F in (0, 9), TIMESPEC_IN)),
    # signals
    "kill": row(INT, SIGNO),
    "tkill": row(INT, SIGNO),
    "tgkill": row(INT, INT, SIGNO),
    "rt_sigaction": row(SIGNO, struct_in(structs.sigaction), struct_out(structs.sigaction), ULONG),
    "rt_sigprocmask": row(enum(F.SIGPROCMASK_HOW), SIGSET_IN, SIGSET_OUT, ULONG),
    "rt_sigreturn": row(_in(_rt_sigreturn_mask)),
    "rt_sigsuspend": row(SIGSET_IN, ULONG),
    "rt_sigpending": row(SIGSET_OUT, ULONG),
    "sigaltstack": row(struct_in(structs.stack_t), struct_out(structs.stack_t)),
    # time
    "nanosleep": row(TIMESPEC_IN, TIMESPEC_OUT),
    "clock_nanosleep": row(CLOCK, flags(F.TIMER_FLAGS), TIMESPEC_IN, TIMESPEC_OUT),
    "clock_gettime": row(CLOCK, TIMESPEC_OUT),
    "clock_getres": row(CLOCK, TIMESPEC_OUT),
    "gettimeofday": row(struct_out(structs.timeval), PTR),
    "timerfd_create": row(CLOCK, flags(F.TFD_FLAGS)),
    "timerfd_settime": row(FD, flags(F.TFD_TIMER_FLAGS), struct_in(structs.itimerspec),
                           struct_out(structs.itimerspec)),
    "timerfd_gettime": row(FD, struct_out(structs.itimerspec)),
    "getrusage": row(enum(F.RUSAGE_WHO), struct_out(structs.rusage)),
    # polling
    "ppoll": row(_in(lambda c, v: structs.pollfds(c.task, v, c.args[1])), UINT, TIMESPEC_IN,
                 SIGSET_IN, ULONG, result=R.poll),
    "pselect6": row(INT, PTR, PTR, PTR, TIMESPEC_IN, PTR, result=R.select),
    "epoll_create1": row(flags([(0o2000000, "EPOLL_CLOEXEC")])),
    "epoll_ctl": row(FD, enum(F.EPOLL_CTL), FD, struct_in(structs.epoll_event)),
    "epoll_pwait": row(FD, _out(_epoll_events_out), INT, INT, SIGSET_IN, ULONG),
    "eventfd2": row(UINT, flags([(0o4000, "EFD_NONBLOCK"), (0o2000000, "EFD_CLOEXEC"),
                                 (1, "EFD_SEMAPHORE")])),
    # sockets
    "socket": row(enum(F.AF), _in(lambda c, v: F.sock_type(v & 0xFFFF_FFFF)), INT),
    "socketpair": row(enum(F.AF), _in(lambda c, v: F.sock_type(v & 0xFFFF_FFFF)), INT, FD_OUT_PAIR),
    "bind": row(FD, SOCKADDR_IN, INT),
    "connect": row(FD, SOCKADDR_IN, INT),
    "listen": row(FD, INT),
    "accept": row(FD, _out(lambda c, v: structs.sockaddr(c.task, v, 128)), INT_OUT),
    "accept4": row(FD, _out(lambda c, v: structs.sockaddr(c.task, v, 128)), INT_OUT,
                   _in(lambda c, v: F.flags(v & 0xFFFF_FFFF, F.SOCK_FLAGS))),
    "getsockname": row(FD, _out(lambda c, v: structs.sockaddr(c.task, v, 128)), INT_OUT),
    "getpeername": row(FD, _out(lambda c, v: structs.sockaddr(c.task, v, 128)), INT_OUT),
    "sendto": row(FD, buf_in(2), ULONG, MSG_FLAGS,
                  _in(lambda c, v: structs.sockaddr(c.task, v, c_int(c.args[5]))), INT),
    "recvfrom": row(FD, buf_out(), ULONG, MSG_FLAGS,
                    _out(lambda c, v: structs.sockaddr(c.task, v, 128)), INT_OUT),
    "sendmsg": row(FD, struct_in(structs.msghdr), MSG_FLAGS),
    "recvmsg": row(FD, _out(lambda c, v: structs.msghdr(c.task, v, c.result)), MSG_FLAGS),
    "shutdown": row(FD, enum(F.SHUT)),
    "setsockopt": row(FD, enum(F.SOL), _in(lambda c, v: F.enum(c_int(v), F.SO) if c_int(c.args[1]) == 1
                                             else str(c_int(v))), PTR, INT),
    "getsockopt": row(FD, enum(F.SOL), _in(lambda c, v: F.enum(c_int(v), F.SO) if c_int(c.args[1]) == 1
                                             else str(c_int(v))), PTR, PTR),
}
for _name in ("getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "setsid",
              "sched_yield", "sync", "vhangup", "munlockall", "inotify_init"):
    ROWS[_name] = row()
