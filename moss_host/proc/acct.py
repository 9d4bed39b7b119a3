"""BSD process accounting (kernel/acct.c, CONFIG_BSD_PROCESS_ACCT_V3): while acct(2) has a
file set, every process that ends appends one struct acct_v3 to it -- its command name,
ids, exit code, start time, elapsed, user and system time (comp_t, AHZ = 100 ticks a
second), average memory, minor faults, and flags: AFORK (forked, never exec'd), ACORE,
AXSIG. Not here: ASU (Linux marks a process whose capability checks succeeded; moss-py's
capability checks leave no trace on the task), the I/O counts (0), and acct's suspension
when the disk runs low.
"""
from __future__ import annotations

import struct
import time
from typing import TYPE_CHECKING, Optional

from moss_host.errors import Errno
from moss_host.fs.file import InodeFile

if TYPE_CHECKING:
    from .task import Task

AFORK, ASU, ACORE, AXSIG = 0x01, 0x02, 0x08, 0x10
ACCT_VERSION = 3
AHZ = 100
_ACCT_V3 = struct.Struct("<BBHIIIIIIIHHHHHHHH16s")     # 64 bytes


class Accounting:
    """The kernel's accounting file (one per pid namespace on Linux; moss-py has one)."""

    def __init__(self) -> None:
        self.file: Optional[InodeFile] = None

    def switch(self, f: Optional[InodeFile]) -> None:
        """acct_on / acct(NULL): records go to f (a reference it holds) from now on, or nowhere;
        the previous file is closed."""
        old, self.file = self.file, f
        if old is not None:
            old.put()

    def process_exited(self, task: Task, status: int, vsize: int) -> None:
        """acct_process for the process `task` ends (its last thread, status its wait status)."""
        f = self.file
        if f is None:
            return
        try:
            inode = f.inode
            inode.write(inode.size, record(task, status, vsize))
        except Errno:
            pass                                # (a full disk: Linux drops the record too)


def record(task: Task, status: int, vsize: int) -> bytes:
    """fill_ac: the struct acct_v3 of a process that ends now."""
    group = task.group
    leader = group.leader or task
    elapsed_ns = max(0, int((task.kernel.sched.uptime() - leader.start_time) * 1e9))
    elapsed = elapsed_ns * AHZ // 1_000_000_000
    btime = min(max(int(time.time()) - elapsed // AHZ, 0), 0xFFFF_FFFF)
    utime, stime = group.cpu_times()
    min_flt, maj_flt = group.fault_counts()     # acct_collect: each thread's, as it exits
    flags = 0 if group.did_exec else AFORK
    if status & 0x7F:
        flags |= AXSIG | (ACORE if status & 0x80 else 0)
    tty = group.ctty.rdev & 0xFFFF if group.ctty is not None else 0
    parent = group.parent
    return _ACCT_V3.pack(flags, ACCT_VERSION, tty, status, task.creds.uid, task.creds.gid, group.tgid,
                         parent.tgid if parent is not None else 0, btime, encode_float(elapsed),
                         encode_comp_t(utime * AHZ // 1_000_000_000), encode_comp_t(stime * AHZ // 1_000_000_000),
                         encode_comp_t(vsize // 1024), 0, 0, encode_comp_t(min_flt), encode_comp_t(maj_flt), 0,
                         task.comm[:15].ljust(16, b"\0"))


def encode_comp_t(value: int) -> int:
    """A 13-bit mantissa with a base-8 exponent in 3 bits, rounded as kernel/acct.c does."""
    exp = rnd = 0
    while value > 0x1FFF:
        rnd = value & 4
        value >>= 3
        exp += 1
    if rnd:
        value += 1
        if value > 0x1FFF:
            value >>= 3
            exp += 1
    if exp > 7:
        return 0xFFFF
    return exp << 13 | value


def encode_float(value: int) -> int:
    """ac_etime's IEEE single precision bits, as kernel/acct.c builds them from an integer."""
    if value == 0:
        return 0
    exp = 190
    value &= (1 << 64) - 1
    while not value >> 63:
        value <<= 1
        exp -= 1
    return (value >> 40) & 0x7FFFFF | exp << 23
