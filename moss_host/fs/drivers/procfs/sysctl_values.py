"""/proc/sys/kernel/{pid_max,tainted,core_pattern,threads-max,randomize_va_space} and
/proc/sys/fs/{pipe-max-size,pipe-user-pages-soft}: what moss-py's kernel works with, in
the sysctl formats (one decimal or string and a newline). Read-only here: moss-py has no
setting behind them to change (writes are EINVAL).

randomize_va_space is 0 because moss-py places mappings without randomization (Linux
defaults to 2); threads-max is Linux's default for the machine's memory (fork_init: RAM /
(8 * THREAD_SIZE), 16 KiB kernel stacks), half of which is the default RLIMIT_NPROC.
"""
from __future__ import annotations

from typing import Callable

from ...pipe import PIPE_MAX_SIZE

PID_MAX_DEFAULT = 32768         # PID_MAX_DEFAULT (fewer than 32 CPUs)
THREAD_SIZE = 16 << 10
PIPE_USER_PAGES_SOFT = 16384    # 1024 pipes of 16 pages per user before pipes shrink (pipe.c)


def threads_max(total_kb: int) -> int:
    return total_kb * 1024 // (8 * THREAD_SIZE)


def kernel_values(total_kb: Callable[[], int]) -> list[tuple[bytes, Callable[[], bytes]]]:
    """(name, render) of the /proc/sys/kernel files."""
    return [
        (b"pid_max", lambda: b"%d\n" % PID_MAX_DEFAULT),
        (b"tainted", lambda: b"0\n"),
        (b"core_pattern", lambda: b"core\n"),
        (b"threads-max", lambda: b"%d\n" % threads_max(total_kb())),
        (b"randomize_va_space", lambda: b"0\n"),
    ]


def fs_values() -> list[tuple[bytes, Callable[[], bytes]]]:
    return [
        (b"pipe-max-size", lambda: b"%d\n" % PIPE_MAX_SIZE),
        (b"pipe-user-pages-soft", lambda: b"%d\n" % PIPE_USER_PAGES_SOFT),
    ]
