"""sched_setattr and sched_getattr: the extensible struct sched_attr form of sched_setscheduler
(kernel/sched/core.c, Linux 6.1), sharing its checks (sched.py).

The struct grows by size: 48 bytes (SCHED_ATTR_SIZE_VER0) or 56 (VER1, utilization clamps);
a larger one is accepted when its tail is zero, else E2BIG with the kernel's size written
back. A fair policy takes its nice value from the struct, and its sched_runtime as the
task's requested slice, clamped to 0.1 .. 100 ms, as Linux 6.12 (sched/eevdf.py); 0 is the
base slice. sched_getattr still reports sched_runtime 0 for a fair task, as Linux 6.1 (the
differential tests' oracle), where 6.12 reports the slice. SCHED_DEADLINE keeps runtime,
deadline and period as given once __checkparam_dl accepts them (root only). The scheduler
runs every task by EEVDF whatever its policy (sched/policy.py), so no bandwidth is
reserved: Linux's admission test (EBUSY past 95% of a CPU) is not made. Utilization clamps
answer EOPNOTSUPP as a kernel without CONFIG_UCLAMP_TASK (Debian's arm64 6.1).
"""
from __future__ import annotations

import struct
from typing import NoReturn

from moss_host.addr import PAGE_SIZE, USER_VA_END
from moss_host.cred import CAP_SYS_NICE, capable
from moss_host.errors import E2BIG, EFAULT, EINVAL, EOPNOTSUPP, EPERM, Errno
from moss_host.sched import policy as P

from .args import Hex, Int, Ptr, UInt, c_int
from .sched import RLIMIT_NICE, _check_unprivileged, _target
from .table import syscall

SCHED_ATTR = struct.Struct("<IIQiIQQQII")   # size, policy, flags, nice, priority, runtime, deadline, period, util_min/max
SCHED_ATTR_SIZE_VER0 = 48
SCHED_FLAG_RESET_ON_FORK, SCHED_FLAG_RECLAIM, SCHED_FLAG_DL_OVERRUN = 0x01, 0x02, 0x04
SCHED_FLAG_KEEP_POLICY, SCHED_FLAG_KEEP_PARAMS = 0x08, 0x10
SCHED_FLAG_UTIL_CLAMP = 0x20 | 0x40
SCHED_FLAG_ALL = 0x7F
SCHED_FLAG_SUGOV = 0x1000_0000
SCHED_DL_FLAGS = SCHED_FLAG_RECLAIM | SCHED_FLAG_DL_OVERRUN | SCHED_FLAG_SUGOV
DL_SCALE = 10
DL_PERIOD_MIN_NS, DL_PERIOD_MAX_NS = 100 * 1000, (1 << 22) * 1000   # kernel.sched_deadline_period_{min,max}_us
MIN_NICE, MAX_NICE = -20, 19
FAIR_POLICIES = (P.SCHED_OTHER, P.SCHED_BATCH)     # fair_policy(): SCHED_IDLE's nice is not the struct's


def _copy_attr(task, uattr: int) -> list:
    """sched_copy_attr: the struct's fields, zero past a short size; E2BIG (the kernel's size
    written back) for a size below VER0, above a page, or with a non-zero tail."""
    size = int.from_bytes(task.mm.read(uattr, 4), "little") or SCHED_ATTR_SIZE_VER0
    if size < SCHED_ATTR_SIZE_VER0 or size > PAGE_SIZE:
        return _too_big(task, uattr)
    raw = task.mm.read(uattr, size)
    if any(raw[SCHED_ATTR.size:]):
        return _too_big(task, uattr)
    attr = list(SCHED_ATTR.unpack(raw[:SCHED_ATTR.size].ljust(SCHED_ATTR.size, b"\0")))
    if attr[2] & SCHED_FLAG_UTIL_CLAMP and size < SCHED_ATTR.size:
        raise Errno(EINVAL)                 # the clamps need the VER1 struct
    attr[3] = min(max(attr[3], MIN_NICE), MAX_NICE)
    return attr


def _too_big(task, uattr: int) -> NoReturn:
    task.mm.write(uattr, SCHED_ATTR.size.to_bytes(4, "little"))
    raise Errno(E2BIG)


def _check_dl(flags: int, runtime: int, deadline: int, period: int) -> bool:
    """__checkparam_dl: runtime <= deadline <= period, within the sysctl period bounds."""
    if flags & SCHED_FLAG_SUGOV:
        return True
    if deadline == 0 or runtime < 1 << DL_SCALE or (deadline | period) >> 63:
        return False
    period = period or deadline
    return deadline <= period and runtime <= deadline and DL_PERIOD_MIN_NS <= period <= DL_PERIOD_MAX_NS


@syscall("sched_setattr")
async def sched_setattr(task, pid: "Int", uattr: "Ptr", flags: "Hex") -> int:
    """Set pid's policy and its parameters from a struct sched_attr (sched_setattr(2))."""
    pid = c_int(pid)
    if not uattr or pid < 0 or flags & 0xFFFF_FFFF:
        raise Errno(EINVAL)
    size, policy, aflags, nice, priority, runtime, deadline, period, _, _ = _copy_attr(task, uattr)
    if policy >> 31:
        raise Errno(EINVAL)
    t = _target(task, pid)
    if aflags & SCHED_FLAG_KEEP_POLICY:
        policy, reset_on_fork = t.sched_policy, t.sched_reset_on_fork
    else:
        reset_on_fork = bool(aflags & SCHED_FLAG_RESET_ON_FORK)
        if P.priority_range(policy) is None:
            raise Errno(EINVAL)
    if aflags & SCHED_FLAG_KEEP_PARAMS:         # get_params: the present ones of t's policy
        if t.sched_policy == P.SCHED_DEADLINE:
            runtime, deadline, period, dl_flags = t.sched_dl
            aflags |= dl_flags
        elif t.sched_policy in P.RT_POLICIES:
            priority = t.sched_priority
        else:
            nice = t.nice
    if aflags & ~(SCHED_FLAG_ALL | SCHED_FLAG_SUGOV) or priority > P.MAX_RT_PRIO - 1:
        raise Errno(EINVAL)
    if (policy == P.SCHED_DEADLINE and not _check_dl(aflags, runtime, deadline, period)) or \
            (policy in P.RT_POLICIES) != (priority != 0):
        raise Errno(EINVAL)
    if not capable(task.creds, CAP_SYS_NICE):
        if policy in FAIR_POLICIES and nice < t.nice and 20 - nice > t.rlimits[RLIMIT_NICE][0]:
            raise Errno(EPERM)
        if policy == P.SCHED_DEADLINE:
            raise Errno(EPERM)
        _check_unprivileged(task, t, policy, priority, reset_on_fork)
    if aflags & SCHED_FLAG_SUGOV:
        raise Errno(EINVAL)
    if aflags & SCHED_FLAG_UTIL_CLAMP:
        raise Errno(EOPNOTSUPP)                 # uclamp_validate without CONFIG_UCLAMP_TASK
    t.sched_reset_on_fork = reset_on_fork
    if aflags & SCHED_FLAG_KEEP_PARAMS:
        return 0                # __sched_setscheduler changes neither the policy nor its parameters
    t.sched_policy, t.sched_priority = policy, priority
    if policy in FAIR_POLICIES:
        t.nice = nice
        P.request_slice(t, runtime)
    P.apply(t)
    if policy == P.SCHED_DEADLINE:
        t.sched_dl = (runtime, deadline, period or deadline, aflags & SCHED_DL_FLAGS)
    return 0


@syscall("sched_getattr")
async def sched_getattr(task, pid: "Int", uattr: "Ptr", usize: "UInt", flags: "Hex") -> int:
    """pid's policy and parameters as a struct sched_attr of at most usize bytes; the size
    field says how much the kernel wrote."""
    pid, usize = c_int(pid), usize & 0xFFFF_FFFF
    if not uattr or pid < 0 or usize > PAGE_SIZE or usize < SCHED_ATTR_SIZE_VER0 or flags & 0xFFFF_FFFF:
        raise Errno(EINVAL)
    t = _target(task, pid)
    aflags = SCHED_FLAG_RESET_ON_FORK if t.sched_reset_on_fork else 0
    nice = priority = runtime = deadline = period = 0
    if t.sched_policy == P.SCHED_DEADLINE:
        runtime, deadline, period, dl_flags = t.sched_dl
        aflags |= dl_flags
    elif t.sched_policy in P.RT_POLICIES:
        priority = t.sched_priority
    else:
        nice = t.nice
    size = min(usize, SCHED_ATTR.size)
    if uattr + usize > USER_VA_END:
        raise Errno(EFAULT)
    task.mm.write(uattr, SCHED_ATTR.pack(size, t.sched_policy, aflags & SCHED_FLAG_ALL, nice, priority,
                                         runtime, deadline, period, 0, 0)[:size])
    return 0
