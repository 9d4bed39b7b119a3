"""The sched_* family (policies, priorities, affinity, yielding), getcpu and membarrier.

As Linux's kernel/sched/core.c and kernel/sched/membarrier.c, errno checks in their order.
Policies and affinity masks are recorded per thread and reported back (sched/policy.py);
the scheduler runs every task by EEVDF (sched/eevdf.py) with the weight its nice value and
policy give (SCHED_IDLE: 3), so a real-time task is time-shared with the others here.
membarrier: the trap that brings the call into the kernel is a full barrier for the caller;
each other CPU running the threads concerned is kicked and waited for (its trap is the
barrier there, Scheduler.membarrier), as Linux's IPIs; with one CPU there is no other.
"""
from __future__ import annotations

import struct

from moss_host.cred import CAP_SYS_NICE, capable
from moss_host.errors import EFAULT, EINVAL, EPERM, ESRCH, Errno
from moss_host.sched import policy as P
from moss_host.uapi import TIMESPEC

from .args import Hex, Int, Ptr, UInt, c_int
from .table import syscall

RLIMIT_NICE, RLIMIT_RTPRIO = 13, 14
CPUMASK_SIZE = 8                  # bytes of a kernel cpumask (cpumask_size(): NR_CPUS bits in longs)
FAIR_SLICE_NS = 4_000_000         # sched_rr_get_interval of a CFS task alone on its CPU: one 4 ms tick
PARAM = struct.Struct("<i")       # struct sched_param


def _target(task, pid: int):
    """The thread pid names (0: the caller); ESRCH if none (find_process_by_pid)."""
    t = task.kernel.pids.get(pid) if pid else task
    if t is None:
        raise Errno(ESRCH)
    return t


def _same_owner(task, t) -> bool:
    """check_same_owner: the caller's euid is the target's euid or uid."""
    return task.creds.euid in (t.creds.euid, t.creds.uid)


# -- affinity ------------------------------------------------------------------------------------

def _online_mask(task) -> int:
    return (1 << task.kernel.sched.cpu_count) - 1


@syscall("sched_getaffinity")
async def sched_getaffinity(task, pid: "Int", length: "UInt", mask: "Ptr") -> int:
    """The CPUs pid may run on, as a mask of `length` bytes; returns the bytes written."""
    pid, length = c_int(pid), length & 0xFFFF_FFFF
    if length * 8 < task.kernel.sched.cpu_count or length % 8:
        raise Errno(EINVAL)
    t = _target(task, pid)
    written = min(length, CPUMASK_SIZE)
    task.mm.write(mask, (t.cpus_allowed & _online_mask(task)).to_bytes(written, "little"))
    return written


@syscall("sched_setaffinity")
async def sched_setaffinity(task, pid: "Int", length: "UInt", mask: "Ptr") -> int:
    """Restrict pid to the CPUs in mask (a shorter mask: the rest clear); EINVAL if none is online."""
    pid, length = c_int(pid), length & 0xFFFF_FFFF
    wanted = int.from_bytes(task.mm.read(mask, min(length, CPUMASK_SIZE)), "little")
    t = _target(task, pid)
    if not _same_owner(task, t) and not capable(task.creds, CAP_SYS_NICE):
        raise Errno(EPERM)
    if not wanted & _online_mask(task):
        raise Errno(EINVAL)
    t.cpus_allowed = wanted
    task.kernel.sched.affinity_changed(t)     # leaves a CPU it may no longer use
    return 0


# -- policies and priorities ----------------------------------------------------------------------

@syscall("sched_get_priority_max")
async def sched_get_priority_max(task, policy: "Int") -> int:
    limits = P.priority_range(c_int(policy))
    if limits is None:
        raise Errno(EINVAL)
    return limits[1]


@syscall("sched_get_priority_min")
async def sched_get_priority_min(task, policy: "Int") -> int:
    limits = P.priority_range(c_int(policy))
    if limits is None:
        raise Errno(EINVAL)
    return limits[0]


@syscall("sched_getscheduler")
async def sched_getscheduler(task, pid: "Int") -> int:
    pid = c_int(pid)
    if pid < 0:
        raise Errno(EINVAL)
    t = _target(task, pid)
    return t.sched_policy | (P.SCHED_RESET_ON_FORK if t.sched_reset_on_fork else 0)


@syscall("sched_getparam")
async def sched_getparam(task, pid: "Int", param: "Ptr") -> int:
    pid = c_int(pid)
    if not param or pid < 0:
        raise Errno(EINVAL)
    t = _target(task, pid)
    task.mm.write(param, PARAM.pack(t.sched_priority))
    return 0


@syscall("sched_setscheduler")
async def sched_setscheduler(task, pid: "Int", policy: "Int", param: "Ptr") -> int:
    """Set pid's policy and priority (SCHED_RESET_ON_FORK may be or'ed into the policy)."""
    policy = c_int(policy)
    if policy < 0:
        raise Errno(EINVAL)
    return _set(task, c_int(pid), policy, param)


@syscall("sched_setparam")
async def sched_setparam(task, pid: "Int", param: "Ptr") -> int:
    """Set pid's priority within its present policy."""
    return _set(task, c_int(pid), -1, param)


def _set(task, pid: int, policy: int, param: int) -> int:
    """do_sched_setscheduler and __sched_setscheduler; policy -1: keep the present one."""
    if not param or pid < 0:
        raise Errno(EINVAL)
    priority = int.from_bytes(task.mm.read(param, 4), "little")     # unsigned, as sched_attr's
    t = _target(task, pid)
    if policy < 0:
        policy, reset_on_fork = t.sched_policy, t.sched_reset_on_fork
    else:
        reset_on_fork = bool(policy & P.SCHED_RESET_ON_FORK)
        policy &= ~P.SCHED_RESET_ON_FORK
        if P.priority_range(policy) is None:
            raise Errno(EINVAL)
    if priority > P.MAX_RT_PRIO - 1 or policy == P.SCHED_DEADLINE or \
            (policy in P.RT_POLICIES) != (priority != 0):
        raise Errno(EINVAL)             # SCHED_DEADLINE: its zero runtime fails __checkparam_dl
    if not capable(task.creds, CAP_SYS_NICE):
        _check_unprivileged(task, t, policy, priority, reset_on_fork)
    t.sched_policy, t.sched_priority, t.sched_reset_on_fork = policy, priority, reset_on_fork
    P.apply(t)
    return 0


def _check_unprivileged(task, t, policy: int, priority: int, reset_on_fork: bool) -> None:
    """What a caller without CAP_SYS_NICE may not do (EPERM), in __sched_setscheduler's order."""
    if policy in P.RT_POLICIES:
        rtprio = t.rlimits[RLIMIT_RTPRIO][0]
        if policy != t.sched_policy and not rtprio:
            raise Errno(EPERM)
        if priority > t.sched_priority and priority > rtprio:
            raise Errno(EPERM)
    if t.sched_policy == P.SCHED_IDLE and policy != P.SCHED_IDLE and \
            20 - t.nice > t.rlimits[RLIMIT_NICE][0]:
        raise Errno(EPERM)              # leaving SCHED_IDLE needs can_nice at the present nice
    if not _same_owner(task, t):
        raise Errno(EPERM)
    if t.sched_reset_on_fork and not reset_on_fork:
        raise Errno(EPERM)


@syscall("sched_rr_get_interval")
async def sched_rr_get_interval(task, pid: "Int", interval: "Ptr") -> int:
    """The time slice pid's policy gives it: 100 ms under SCHED_RR, none under SCHED_FIFO, a
    fair share of the scheduler latency (one tick when alone) under the others."""
    pid = c_int(pid)
    if pid < 0:
        raise Errno(EINVAL)
    t = _target(task, pid)
    if t.sched_policy == P.SCHED_RR:
        ns = P.RR_TIMESLICE_NS
    elif t.sched_policy == P.SCHED_FIFO:
        ns = 0
    else:
        ns = FAIR_SLICE_NS
    task.mm.write(interval, TIMESPEC.pack(*divmod(ns, 1_000_000_000)))
    return 0


@syscall("sched_yield")
async def sched_yield(task) -> int:
    """The caller goes behind the other runnable tasks of its CPU, if any."""
    await task.kernel.sched.yield_turn(task)
    return 0


# -- getcpu ---------------------------------------------------------------------------------------

@syscall("getcpu")
async def getcpu(task, cpu: "Ptr", node: "Ptr", cache: "Ptr") -> int:
    """The CPU (task.last_cpu: the one it traps on) and NUMA node (0) the caller runs on;
    the cache argument is unused."""
    failed = False
    for ptr, value in ((cpu, task.last_cpu), (node, 0)):
        if ptr:
            try:
                task.mm.write(ptr, value.to_bytes(4, "little"))
            except Errno:
                failed = True           # the other is still written, as put_user's err |= ...
    if failed:
        raise Errno(EFAULT)
    return 0


# -- membarrier -----------------------------------------------------------------------------------

MEMBARRIER_CMD_QUERY = 0
MEMBARRIER_CMD_GLOBAL = 1 << 0
MEMBARRIER_CMD_GLOBAL_EXPEDITED = 1 << 1
MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED = 1 << 2
MEMBARRIER_CMD_PRIVATE_EXPEDITED = 1 << 3
MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 1 << 4
MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE = 1 << 5
MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 1 << 6
MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ = 1 << 7
MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ = 1 << 8
MEMBARRIER_CMD_FLAG_CPU = 1 << 0
MEMBARRIER_CMD_BITMASK = (1 << 9) - 1           # every command above but QUERY (arm64, 6.1)

# The expedited command each REGISTER_* command enables (the mm's membarrier_state bits).
REGISTERS = {MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: MEMBARRIER_CMD_GLOBAL_EXPEDITED,
             MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: MEMBARRIER_CMD_PRIVATE_EXPEDITED,
             MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
             MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ: MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ}
PRIVATE = (MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
           MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ)


@syscall("membarrier")
async def membarrier(task, cmd: "Int", flags: "Hex", cpu_id: "Int") -> int:
    """Memory barriers on the CPUs running the caller's threads (or every process's): each
    passes through the kernel before the call returns; EPERM before REGISTER_*."""
    cmd, flags = c_int(cmd), flags & 0xFFFF_FFFF
    allowed = MEMBARRIER_CMD_FLAG_CPU if cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ else 0
    if flags & ~allowed:
        raise Errno(EINVAL)
    if cmd == MEMBARRIER_CMD_QUERY:
        return MEMBARRIER_CMD_BITMASK
    if cmd in (MEMBARRIER_CMD_GLOBAL, MEMBARRIER_CMD_GLOBAL_EXPEDITED):
        await task.kernel.sched.membarrier(task, None)
        return 0
    if cmd in REGISTERS:
        task.mm.membarrier_state |= REGISTERS[cmd]
        return 0
    if cmd in PRIVATE:
        if not task.mm.membarrier_state & cmd:
            raise Errno(EPERM)
        await task.kernel.sched.membarrier(task, task.mm)
        return 0
    raise Errno(EINVAL)
