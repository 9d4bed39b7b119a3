"""Flag and constant tables (arm64 values), and the two ways strace prints them: a set of
bits joined with `|` in table order, unknown bits as hex; or one name out of an enumeration."""
from __future__ import annotations

from typing import Sequence

FlagTable = Sequence[tuple[int, str]]


def flags(value: int, table: FlagTable, zero: str = "0") -> str:
    """`A|B|0x40` for the bits of `value`; `zero` when none is set."""
    names = []
    rest = value
    for bit, name in table:
        if bit and rest & bit == bit:
            names.append(name)
            rest &= ~bit
    if rest:
        names.append(hex(rest))
    return "|".join(names) if names else zero


def enum(value: int, table: dict[int, str], unknown: str = "") -> str:
    """The name of `value`, or `value` with strace's /* ??? */ marker."""
    name = table.get(value)
    if name is not None:
        return name
    return f"{value:#x} /* {unknown}??? */" if unknown else (hex(value) if value > 0xFFFF else str(value))


def octal(mode: int) -> str:
    """A mode as strace's %#03o: 0644, 000."""
    return f"0{mode:o}" if mode else "000"


O_ACCMODE = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR", 3: "O_ACCMODE"}
O_CREAT, O_TMPFILE = 0o100, 0o20040000
OPEN_FLAGS: FlagTable = [
    (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o4010000, "O_SYNC"), (0o10000, "O_DSYNC"),
    (0o20000, "O_ASYNC"), (0o200000, "O_DIRECT"), (0o400000, "O_LARGEFILE"),
    (0o20040000, "O_TMPFILE"), (0o40000, "O_DIRECTORY"), (0o100000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"), (0o2000000, "O_CLOEXEC"), (0o10000000, "O_PATH"),
]


def open_flags(value: int) -> str:
    value &= 0xFFFF_FFFF
    rest = flags(value & ~3, OPEN_FLAGS, "")
    return O_ACCMODE[value & 3] + ("|" + rest if rest else "")


AT_FDCWD = -100
AT_FLAGS: FlagTable = [(0x100, "AT_SYMLINK_NOFOLLOW"), (0x400, "AT_SYMLINK_FOLLOW"),
                       (0x800, "AT_NO_AUTOMOUNT"), (0x1000, "AT_EMPTY_PATH"),
                       (0x6000, "AT_STATX_DONT_SYNC"), (0x2000, "AT_STATX_FORCE_SYNC")]
AT_REMOVEDIR: FlagTable = [(0x200, "AT_REMOVEDIR")]
AT_EACCESS: FlagTable = [(0x200, "AT_EACCESS"), *AT_FLAGS]
ACCESS_MODES: FlagTable = [(4, "R_OK"), (2, "W_OK"), (1, "X_OK")]

PROT: FlagTable = [(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC"), (8, "PROT_SEM"),
                   (0x10, "PROT_BTI"), (0x20, "PROT_MTE"), (0x01000000, "PROT_GROWSDOWN"),
                   (0x02000000, "PROT_GROWSUP")]
MAP_TYPES = {1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}
MAP_FLAGS: FlagTable = [
    (0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"), (0x100, "MAP_GROWSDOWN"), (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"), (0x2000, "MAP_LOCKED"), (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"), (0x10000, "MAP_NONBLOCK"), (0x20000, "MAP_STACK"),
    (0x40000, "MAP_HUGETLB"), (0x80000, "MAP_SYNC"), (0x100000, "MAP_FIXED_NOREPLACE"),
]


def map_flags(value: int) -> str:
    rest = flags(value & ~0xF, MAP_FLAGS, "")
    kind = MAP_TYPES.get(value & 0xF, hex(value & 0xF))
    return kind + ("|" + rest if rest else "")


MREMAP: FlagTable = [(1, "MREMAP_MAYMOVE"), (2, "MREMAP_FIXED"), (4, "MREMAP_DONTUNMAP")]
MADVISE = {0: "MADV_NORMAL", 1: "MADV_RANDOM", 2: "MADV_SEQUENTIAL", 3: "MADV_WILLNEED",
           4: "MADV_DONTNEED", 8: "MADV_FREE", 9: "MADV_REMOVE", 10: "MADV_DONTFORK",
           11: "MADV_DOFORK", 12: "MADV_MERGEABLE", 13: "MADV_UNMERGEABLE", 14: "MADV_HUGEPAGE",
           15: "MADV_NOHUGEPAGE", 16: "MADV_DONTDUMP", 17: "MADV_DODUMP"}

CLONE_FLAGS: FlagTable = [
    (0x100, "CLONE_VM"), (0x200, "CLONE_FS"), (0x400, "CLONE_FILES"), (0x800, "CLONE_SIGHAND"),
    (0x1000, "CLONE_PIDFD"), (0x2000, "CLONE_PTRACE"), (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"), (0x10000, "CLONE_THREAD"), (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"), (0x80000, "CLONE_SETTLS"), (0x100000, "CLONE_PARENT_SETTID"),
    (0x200000, "CLONE_CHILD_CLEARTID"), (0x800000, "CLONE_UNTRACED"),
    (0x1000000, "CLONE_CHILD_SETTID"), (0x2000000, "CLONE_NEWCGROUP"), (0x4000000, "CLONE_NEWUTS"),
    (0x8000000, "CLONE_NEWIPC"), (0x10000000, "CLONE_NEWUSER"), (0x20000000, "CLONE_NEWPID"),
    (0x40000000, "CLONE_NEWNET"), (0x80000000, "CLONE_IO"),
]
CLONE_PARENT_SETTID, CLONE_SETTLS = 0x100000, 0x80000
CLONE_CHILD_TID = 0x200000 | 0x1000000

WAIT_OPTIONS: FlagTable = [(1, "WNOHANG"), (2, "WSTOPPED"), (4, "WEXITED"), (8, "WCONTINUED"),
                           (0x01000000, "WNOWAIT"), (0x20000000, "__WNOTHREAD"),
                           (0x40000000, "__WALL"), (0x80000000, "__WCLONE")]
WAIT4_OPTIONS: FlagTable = [(1, "WNOHANG"), (2, "WUNTRACED"), *WAIT_OPTIONS[2:]]
IDTYPES = {0: "P_ALL", 1: "P_PID", 2: "P_PGID", 3: "P_PIDFD"}

SEEK = {0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"}
FCNTL = {0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL", 5: "F_GETLK",
         6: "F_SETLK", 7: "F_SETLKW", 8: "F_SETOWN", 9: "F_GETOWN", 10: "F_SETSIG", 11: "F_GETSIG",
         15: "F_SETOWN_EX", 16: "F_GETOWN_EX", 36: "F_OFD_GETLK", 37: "F_OFD_SETLK",
         38: "F_OFD_SETLKW", 1024: "F_SETLEASE", 1025: "F_GETLEASE", 1026: "F_NOTIFY",
         1030: "F_DUPFD_CLOEXEC", 1031: "F_SETPIPE_SZ", 1032: "F_GETPIPE_SZ",
         1033: "F_ADD_SEALS", 1034: "F_GET_SEALS"}
FD_FLAGS: FlagTable = [(1, "FD_CLOEXEC")]
FLOCK_OPS: FlagTable = [(1, "LOCK_SH"), (2, "LOCK_EX"), (4, "LOCK_NB"), (8, "LOCK_UN")]

POLL_EVENTS: FlagTable = [(1, "POLLIN"), (2, "POLLPRI"), (4, "POLLOUT"), (8, "POLLERR"),
                          (0x10, "POLLHUP"), (0x20, "POLLNVAL"), (0x40, "POLLRDNORM"),
                          (0x80, "POLLRDBAND"), (0x100, "POLLWRNORM"), (0x200, "POLLWRBAND"),
                          (0x400, "POLLMSG"), (0x2000, "POLLRDHUP")]
EPOLL_EVENTS: FlagTable = [(1, "EPOLLIN"), (2, "EPOLLPRI"), (4, "EPOLLOUT"), (8, "EPOLLERR"),
                           (0x10, "EPOLLHUP"), (0x40, "EPOLLRDNORM"), (0x80, "EPOLLRDBAND"),
                           (0x100, "EPOLLWRNORM"), (0x200, "EPOLLWRBAND"), (0x400, "EPOLLMSG"),
                           (0x2000, "EPOLLRDHUP"), (0x10000000, "EPOLLEXCLUSIVE"),
                           (0x20000000, "EPOLLWAKEUP"), (0x40000000, "EPOLLONESHOT"),
                           (0x80000000, "EPOLLET")]
EPOLL_CTL = {1: "EPOLL_CTL_ADD", 2: "EPOLL_CTL_DEL", 3: "EPOLL_CTL_MOD"}

CLOCKS = {0: "CLOCK_REALTIME", 1: "CLOCK_MONOTONIC", 2: "CLOCK_PROCESS_CPUTIME_ID",
          3: "CLOCK_THREAD_CPUTIME_ID", 4: "CLOCK_MONOTONIC_RAW", 5: "CLOCK_REALTIME_COARSE",
          6: "CLOCK_MONOTONIC_COARSE", 7: "CLOCK_BOOTTIME", 8: "CLOCK_REALTIME_ALARM",
          9: "CLOCK_BOOTTIME_ALARM", 11: "CLOCK_TAI"}
TIMER_FLAGS: FlagTable = [(1, "TIMER_ABSTIME")]
TFD_FLAGS: FlagTable = [(0o4000, "TFD_NONBLOCK"), (0o2000000, "TFD_CLOEXEC")]
TFD_TIMER_FLAGS: FlagTable = [(1, "TFD_TIMER_ABSTIME"), (2, "TFD_TIMER_CANCEL_ON_SET")]
GRND_FLAGS: FlagTable = [(1, "GRND_NONBLOCK"), (2, "GRND_RANDOM"), (4, "GRND_INSECURE")]

AF = {0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET"}
SOCK_TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET",
              6: "SOCK_DCCP", 10: "SOCK_PACKET"}
SOCK_FLAGS: FlagTable = [(0o4000, "SOCK_NONBLOCK"), (0o2000000, "SOCK_CLOEXEC")]


def sock_type(value: int) -> str:
    rest = flags(value & ~0xF, SOCK_FLAGS, "")
    return SOCK_TYPES.get(value & 0xF, hex(value & 0xF)) + ("|" + rest if rest else "")


MSG_FLAGS: FlagTable = [
    (1, "MSG_OOB"), (2, "MSG_PEEK"), (4, "MSG_DONTROUTE"), (8, "MSG_CTRUNC"), (0x10, "MSG_PROBE"),
    (0x20, "MSG_TRUNC"), (0x40, "MSG_DONTWAIT"), (0x80, "MSG_EOR"), (0x100, "MSG_WAITALL"),
    (0x200, "MSG_FIN"), (0x400, "MSG_SYN"), (0x800, "MSG_CONFIRM"), (0x1000, "MSG_RST"),
    (0x2000, "MSG_ERRQUEUE"), (0x4000, "MSG_NOSIGNAL"), (0x8000, "MSG_MORE"),
    (0x10000, "MSG_WAITFORONE"), (0x20000000, "MSG_FASTOPEN"), (0x40000000, "MSG_CMSG_CLOEXEC"),
]
SHUT = {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}
SOL = {1: "SOL_SOCKET", 0: "SOL_IP", 6: "SOL_TCP", 17: "SOL_UDP", 41: "SOL_IPV6"}
SO = {1: "SO_DEBUG", 2: "SO_REUSEADDR", 3: "SO_TYPE", 4: "SO_ERROR", 5: "SO_DONTROUTE",
      6: "SO_BROADCAST", 7: "SO_SNDBUF", 8: "SO_RCVBUF", 9: "SO_KEEPALIVE", 10: "SO_OOBINLINE",
      13: "SO_LINGER", 15: "SO_REUSEPORT", 16: "SO_PASSCRED", 17: "SO_PEERCRED",
      18: "SO_RCVLOWAT", 19: "SO_SNDLOWAT", 20: "SO_RCVTIMEO_OLD", 21: "SO_SNDTIMEO_OLD",
      38: "SO_PROTOCOL", 39: "SO_DOMAIN"}
SCM = {1: "SCM_RIGHTS", 2: "SCM_CREDENTIALS"}

RLIMITS = {0: "RLIMIT_CPU", 1: "RLIMIT_FSIZE", 2: "RLIMIT_DATA", 3: "RLIMIT_STACK", 4: "RLIMIT_CORE",
           5: "RLIMIT_RSS", 6: "RLIMIT_NPROC", 7: "RLIMIT_NOFILE", 8: "RLIMIT_MEMLOCK",
           9: "RLIMIT_AS", 10: "RLIMIT_LOCKS", 11: "RLIMIT_SIGPENDING", 12: "RLIMIT_MSGQUEUE",
           13: "RLIMIT_NICE", 14: "RLIMIT_RTPRIO", 15: "RLIMIT_RTTIME"}
RUSAGE_WHO = {0: "RUSAGE_SELF", -1: "RUSAGE_CHILDREN", 1: "RUSAGE_THREAD"}

FUTEX_OPS = {0: "FUTEX_WAIT", 1: "FUTEX_WAKE", 2: "FUTEX_FD", 3: "FUTEX_REQUEUE",
             4: "FUTEX_CMP_REQUEUE", 5: "FUTEX_WAKE_OP", 6: "FUTEX_LOCK_PI", 7: "FUTEX_UNLOCK_PI",
             8: "FUTEX_TRYLOCK_PI", 9: "FUTEX_WAIT_BITSET", 10: "FUTEX_WAKE_BITSET",
             11: "FUTEX_WAIT_REQUEUE_PI", 12: "FUTEX_CMP_REQUEUE_PI", 13: "FUTEX_LOCK_PI2"}


def futex_op(value: int) -> str:
    name = FUTEX_OPS.get(value & 0x7F, hex(value & 0x7F))
    if value & 0x80:
        name += "_PRIVATE"
    if value & 0x100:
        name = "FUTEX_CLOCK_REALTIME|" + name
    return name


SIGPROCMASK_HOW = {0: "SIG_BLOCK", 1: "SIG_UNBLOCK", 2: "SIG_SETMASK"}
SA_FLAGS: FlagTable = [(1, "SA_NOCLDSTOP"), (2, "SA_NOCLDWAIT"), (4, "SA_SIGINFO"),
                       (0x04000000, "SA_RESTORER"), (0x08000000, "SA_ONSTACK"),
                       (0x10000000, "SA_RESTART"), (0x40000000, "SA_NODEFER"),
                       (0x80000000, "SA_RESETHAND")]
SS_FLAGS: FlagTable = [(1, "SS_ONSTACK"), (2, "SS_DISABLE"), (0x80000000, "SS_AUTODISARM")]

S_IFMT = 0o170000
S_IFMTS = {0o140000: "S_IFSOCK", 0o120000: "S_IFLNK", 0o100000: "S_IFREG", 0o60000: "S_IFBLK",
           0o40000: "S_IFDIR", 0o20000: "S_IFCHR", 0o10000: "S_IFIFO"}
S_SPECIAL: FlagTable = [(0o4000, "S_ISUID"), (0o2000, "S_ISGID"), (0o1000, "S_ISVTX")]


def file_mode(mode: int) -> str:
    """st_mode as strace shows it: S_IFREG|S_ISUID|0755."""
    parts = []
    kind = S_IFMTS.get(mode & S_IFMT)
    if kind:
        parts.append(kind)
    special = flags(mode & 0o7000, S_SPECIAL, "")
    if special:
        parts.append(special)
    parts.append(octal(mode & 0o777))
    return "|".join(parts)


def creat_mode(mode: int) -> str:
    """A mode argument (open's, mkdir's): the permission bits in octal, type bits named."""
    return file_mode(mode) if mode & ~0o7777 else (
        (flags(mode & 0o7000, S_SPECIAL, "") + "|" if mode & 0o7000 else "") + octal(mode & 0o777))


PRCTL = {1: "PR_SET_PDEATHSIG", 2: "PR_GET_PDEATHSIG", 3: "PR_GET_DUMPABLE", 4: "PR_SET_DUMPABLE",
         15: "PR_SET_NAME", 16: "PR_GET_NAME", 22: "PR_SET_SECCOMP", 36: "PR_SET_CHILD_SUBREAPER",
         37: "PR_GET_CHILD_SUBREAPER", 38: "PR_SET_NO_NEW_PRIVS", 39: "PR_GET_NO_NEW_PRIVS"}

IOCTLS = {0x5401: "TCGETS", 0x5402: "TCSETS", 0x5403: "TCSETSW", 0x5404: "TCSETSF",
          0x5409: "TCSBRK", 0x540A: "TCXONC", 0x540B: "TCFLSH", 0x540C: "TIOCEXCL",
          0x540E: "TIOCSCTTY", 0x540F: "TIOCGPGRP", 0x5410: "TIOCSPGRP", 0x5411: "TIOCOUTQ",
          0x5413: "TIOCGWINSZ", 0x5414: "TIOCSWINSZ", 0x541B: "FIONREAD", 0x541C: "TIOCLINUX",
          0x5421: "FIONBIO", 0x5422: "TIOCNOTTY", 0x5429: "TIOCGSID", 0x5450: "FIONCLEX",
          0x5451: "FIOCLEX", 0x5452: "FIOASYNC", 0x80045430: "TIOCGPTN", 0x40045431: "TIOCSPTLCK",
          0x5441: "TIOCGPTPEER"}
