"""Resource limits (getrlimit/setrlimit/prlimit64): the resource numbers and Linux's
defaults for init, which every process inherits unless it changes them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from moss_host.addr import PAGE_SIZE
from moss_host.arch.arm64.sigframe import SI_TIMER
from moss_host.cred import CAP_SYS_RESOURCE, capable
from moss_host.fs.drivers.procfs.sysctl_values import TUNABLES
from moss_host.errors import EPERM, Errno

if TYPE_CHECKING:
    from .task import Task

RLIM_INFINITY = (1 << 64) - 1
RLIMIT_CPU = 0
RLIMIT_FSIZE = 1
RLIMIT_DATA = 2
RLIMIT_STACK = 3
RLIMIT_CORE = 4
RLIMIT_NPROC = 6
RLIMIT_AS = 9
RLIMIT_NOFILE = 7
RLIMIT_SIGPENDING = 11
RLIMIT_MSGQUEUE = 12
RLIMIT_RTTIME = 15
RLIMIT_NLIMITS = 16

# (soft, hard), indexed by resource number.
DEFAULT_RLIMITS: list[tuple[int, int]] = [
    (RLIM_INFINITY, RLIM_INFINITY),   # CPU
    (RLIM_INFINITY, RLIM_INFINITY),   # FSIZE
    (RLIM_INFINITY, RLIM_INFINITY),   # DATA
    (8 << 20, RLIM_INFINITY),         # STACK
    (0, RLIM_INFINITY),               # CORE
    (RLIM_INFINITY, RLIM_INFINITY),   # RSS
    (3935, 3935),                     # NPROC
    (1024, 4096),                     # NOFILE
    (8 << 20, 8 << 20),               # MEMLOCK
    (RLIM_INFINITY, RLIM_INFINITY),   # AS
    (RLIM_INFINITY, RLIM_INFINITY),   # LOCKS
    (3935, 3935),                     # SIGPENDING
    (819200, 819200),                 # MSGQUEUE
    (0, 0),                           # NICE
    (0, 0),                           # RTPRIO
    (RLIM_INFINITY, RLIM_INFINITY),   # RTTIME
]


def check_prlimit_permission(caller: "Task", target: "Task") -> None:
    """prlimit64 on another process: the caller's uid must be the target's real, effective
    and saved uid and its gid the target's three gids, or the caller holds CAP_SYS_RESOURCE
    (EPERM). The caller itself always passes (current == task)."""
    if target is caller:
        return
    c, t = caller.creds, target.creds
    ids_match = c.uid == t.uid == t.euid == t.suid and c.gid == t.gid == t.egid == t.sgid
    if not ids_match and not capable(c, CAP_SYS_RESOURCE):
        raise Errno(EPERM)


def sigqueue_full(target: "Task") -> bool:
    """__sigqueue_alloc's RLIMIT_SIGPENDING test for a signal queue entry: every signal
    queued for any process of the target's real uid counts (Linux's per-user ucounts), and
    every live POSIX timer of one (its entry is allocated at timer_create: a queued timer
    signal is not counted twice), against the target's soft limit. Walks the pid table:
    only real-time signals, user-made siginfo and timer_create come here."""
    limit = target.rlimits[RLIMIT_SIGPENDING][0]
    if limit == RLIM_INFINITY:
        return False
    uid, queued = target.creds.uid, 0
    for t in target.kernel.pids.all():
        if t.creds.uid == uid:
            queued += _entries(t.siginfo)
            if t.tid == t.tgid:
                group = t.group
                queued += _entries(group.shared_siginfo) + (group.posix_timers if group.threads else 0)
    return queued >= limit


def _entries(siginfo: dict) -> int:
    return sum(1 for q in siginfo.values() for info in q if info.code != SI_TIMER)


SUID_DUMP_USER = 1
MIN_COREDUMP = PAGE_SIZE            # binfmt_elf's min_coredump


def core_dump_allowed(task: "Task") -> bool:
    """Whether do_coredump gets as far as writing a core for task (and the wait status
    then says "core dumped"): the process is dumpable (SUID_DUMP_ROOT only with an absolute
    core_pattern or a pipe), and a core file's RLIMIT_CORE is at least min_coredump (a
    pipe's is ignored, save its special value 1). proc/coredump.py writes the core."""
    pattern = TUNABLES.core_pattern
    ispipe = pattern.startswith(b"|")
    if task.dumpable != SUID_DUMP_USER and not (task.dumpable and (ispipe or pattern.startswith(b"/"))):
        return False
    limit = task.rlimits[RLIMIT_CORE][0]
    return limit != 1 if ispipe else limit >= MIN_COREDUMP
