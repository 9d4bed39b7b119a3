"""RLIMIT_CPU, enforced as Linux's check_process_timers does: when a process's CPU time
(user + system, all its threads) reaches the soft limit it gets SIGXCPU and the soft limit
moves up a second (so SIGXCPU comes again every second); at the hard limit, SIGKILL.

RLIMIT_RTTIME the same way (check_thread_timers), for the CPU time a SCHED_FIFO/SCHED_RR
thread has used since it last woke from a sleep (sched/rt.c's watchdog; the scheduler
notes the thread's CPU time at each wake-up of a real-time thread, Task.rt_woken_ns), in
microseconds. Linux counts that time in the ticks the guest takes while the thread runs
(rt.timeout), so a stall of the whole virtual machine on a loaded host (no steal time under
QEMU) counts one tick, not its length. Here a thread's CPU time is wall time on a CPU, stalls
included (0.7 s seen at 96% host CPU pressure, the looks late by as much): each look counts
at most LOOK_MAX_NS of the thread's time since the previous one.

Linux checks on its tick; here one loop timer looks at every process with a finite limit
every CHECK_S seconds (a process never trapping still gets its signal: the time of its
current slice is counted too).
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Optional

from moss_host.sched.policy import RT_POLICIES
from moss_host.uapi import NSEC_PER_SEC

from .posix_timers import process_cpu_ns, thread_cpu_ns
from .rlimits import RLIM_INFINITY, RLIMIT_CPU, RLIMIT_RTTIME
from .signals import SI_KERNEL, SIGKILL, SIGXCPU, SigInfo, send_signal

if TYPE_CHECKING:
    from .pidtable import PidTable
    from .task import Task

CHECK_S = 0.05
LOOK_MAX_NS = int(2 * CHECK_S * NSEC_PER_SEC)   # a look counts this much at most: a late one, a stall


class CpuLimitWatch:
    """The loop timer that enforces RLIMIT_CPU for every process of a pid table."""

    def __init__(self, pids: PidTable):
        self.pids: PidTable = pids
        self.handle: Optional[asyncio.TimerHandle] = None

    def start(self) -> None:
        self.handle = asyncio.get_running_loop().call_later(CHECK_S, self._tick)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def _tick(self) -> None:
        for leader in self.pids.processes():
            rlimits = leader.group.rlimits
            if rlimits[RLIMIT_CPU][0] != RLIM_INFINITY and leader.group.threads:
                check(leader)
            if rlimits[RLIMIT_RTTIME][0] != RLIM_INFINITY and leader.group.threads:
                check_rttime(leader)
        self.start()


def check(leader: Task) -> None:
    """One look at a process with a finite RLIMIT_CPU soft limit."""
    group = leader.group
    soft, hard = group.rlimits[RLIMIT_CPU]
    used = process_cpu_ns(group)
    if hard != RLIM_INFINITY and used >= hard * NSEC_PER_SEC:
        send_signal(leader, SIGKILL, SigInfo(SIGKILL, SI_KERNEL))
        return
    if used >= soft * NSEC_PER_SEC:
        send_signal(leader, SIGXCPU, SigInfo(SIGXCPU, SI_KERNEL))
        group.rlimits[RLIMIT_CPU] = (soft + 1, hard)      # the next one a second later


def check_rttime(leader: Task) -> None:
    """One look at the real-time threads of a process with a finite RLIMIT_RTTIME soft limit:
    SIGKILL at the hard limit, else SIGXCPU at the soft one, which moves up a second."""
    group = leader.group
    for t in list(group.threads):
        if t.sched_policy not in RT_POLICIES:
            continue
        soft, hard = group.rlimits[RLIMIT_RTTIME]
        used_us = rt_time_ns(t) // 1000
        if hard != RLIM_INFINITY and used_us >= hard:
            send_signal(leader, SIGKILL, SigInfo(SIGKILL, SI_KERNEL))
            return
        if used_us >= soft:
            send_signal(leader, SIGXCPU, SigInfo(SIGXCPU, SI_KERNEL))
            group.rlimits[RLIMIT_RTTIME] = (soft + 1_000_000, hard)


def rt_time_ns(t: Task) -> int:
    """The real-time thread t's CPU time since it last woke (rt.timeout), as of this look."""
    now = thread_cpu_ns(t)
    if t.rt_woken_ns != t.rt_look_woken:    # woken since the last look: count from the wake-up
        t.rt_look_woken = t.rt_woken_ns
        t.rt_counted_ns = 0
        since = t.rt_woken_ns
    else:
        since = t.rt_look_ns
    t.rt_counted_ns += max(0, min(now - since, LOOK_MAX_NS))
    t.rt_look_ns = now
    return t.rt_counted_ns
