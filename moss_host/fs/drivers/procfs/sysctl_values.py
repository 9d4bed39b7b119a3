"""The values behind /proc/sys (sysctl.py): the kernel's tunables that have no other home,
with Linux 6.1's defaults, and the constants some of them are computed from.

The values moss-py acts on live where they are used (fs.pipe-max-size in fs/pipe.py,
net.unix.max_dgram_qlen in net/unix.py, the IPC limits in the IPC namespace). The ones here
are stored so that a program that sets one reads back what it wrote, as on Linux, and meets
the ranges Linux checks; most change nothing yet (pid_max: pids are never reused; printk:
there is no console log level).

randomize_va_space is 0 because moss-py places mappings without randomization (Linux
defaults to 2); threads-max is Linux's default for the machine's memory (fork_init: RAM /
(8 * THREAD_SIZE), 16 KiB kernel stacks), half of which is the default RLIMIT_NPROC.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

def random_uuid() -> bytes:
    """A random (version 4) UUID as kernel/random/uuid prints it, without the uuid module
    (its import, and platform's with it, took 2 ms of every run)."""
    b = bytearray(os.urandom(16))
    b[6] = b[6] & 0x0F | 0x40                   # version 4
    b[8] = b[8] & 0x3F | 0x80                   # the RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".encode()


PID_MAX_DEFAULT = 32768         # PID_MAX_DEFAULT (fewer than 32 CPUs)
PID_MAX_LIMIT = 4 * 1024 * 1024  # PID_MAX_LIMIT on 64-bit
RESERVED_PIDS = 300
THREAD_SIZE = 16 << 10
MIN_THREADS, MAX_THREADS = 20, 0x3FFFFFFF          # fork.c: FUTEX_TID_MASK
PIPE_USER_PAGES_SOFT = 16384    # 1024 pipes of 16 pages per user before pipes shrink (pipe.c)
NR_OPEN_DEFAULT = 1024 * 1024   # sysctl_nr_open
NR_OPEN_MIN, NR_OPEN_MAX = 64, 0x7FFFFFC0           # BITS_PER_LONG, INT_MAX & -BITS_PER_LONG
NR_FILE = 8192                  # the least file-max Linux computes
EP_ITEM_COST = 176              # sizeof(struct epitem) + sizeof(struct eppoll_entry) on arm64
CORENAME_MAX_SIZE = 128
CONSOLE_LOGLEVEL_DEFAULT, MESSAGE_LOGLEVEL_DEFAULT = 7, 4
CONSOLE_LOGLEVEL_MIN = 1
OVERFLOW_ID = 65534
NGROUPS_MAX = 65536
INT_MAX = (1 << 31) - 1
ULONG_MAX = (1 << 64) - 1


def threads_max(total_kb: int) -> int:
    return total_kb * 1024 // (8 * THREAD_SIZE)


def epoll_watches(total_kb: int) -> int:
    """eventpoll_init: 4% of the memory in epitem + eppoll_entry sized pieces (EP_ITEM_COST)."""
    return (total_kb // 4 // 25 * 4096) // EP_ITEM_COST


def file_max(free_kb: int) -> int:
    """files_maxfiles_init: a tenth of the memory not in use at boot, in kB, at least NR_FILE."""
    return max(free_kb // 10, NR_FILE)


@dataclass
class Tunables:
    """The stored sysctls, by Linux's variable names; None: computed from the machine until set."""
    pid_max: int = PID_MAX_DEFAULT
    max_threads: Optional[int] = None
    tainted: int = 0
    core_pattern: bytes = b"core"
    core_uses_pid: int = 0
    core_pipe_limit: int = 0
    suid_dumpable: int = 0
    printk: list[int] = field(default_factory=lambda: [CONSOLE_LOGLEVEL_DEFAULT, MESSAGE_LOGLEVEL_DEFAULT,
                                                       CONSOLE_LOGLEVEL_MIN, CONSOLE_LOGLEVEL_DEFAULT])
    printk_ratelimit: int = 5
    printk_ratelimit_burst: int = 10
    dmesg_restrict: int = 1                 # syslog(2) always asks for CAP_SYSLOG
    kptr_restrict: int = 0
    panic: int = 0
    panic_on_oops: int = 0
    print_fatal_signals: int = 0
    sched_child_runs_first: int = 0
    randomize_va_space: int = 0
    nr_open: int = NR_OPEN_DEFAULT
    files_max: Optional[int] = None
    epoll_watches: Optional[int] = None
    pipe_user_pages_hard: int = 0
    pipe_user_pages_soft: int = PIPE_USER_PAGES_SOFT
    overflowuid: int = OVERFLOW_ID
    overflowgid: int = OVERFLOW_ID
    overcommit_memory: int = 0
    overcommit_ratio: int = 50
    overcommit_kbytes: int = 0
    max_map_count: int = 65530
    swappiness: int = 60
    panic_on_oom: int = 0
    oom_kill_allocating_task: int = 0
    oom_dump_tasks: int = 1
    urandom_min_reseed_secs: int = 60
    write_wakeup_threshold: int = 256
    boot_id: bytes = field(default_factory=random_uuid)


TUNABLES = Tunables()
