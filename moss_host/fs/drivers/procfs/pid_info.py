"""/proc/<pid>/{limits,personality,timerslack_ns,wchan,oom_score_adj,io}: small per-process
files in Linux 6.1's formats (fs/proc/base.c).

What moss-py does not track reads as a kernel with nothing to report: wchan is always "0"
(Linux prints a symbol only for a sleeping task, and only to those who may trace it), io's
counters are 0 (no task I/O accounting).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ....errors import EINVAL, Errno
from .oom import kstrtoint
from .pid import RLIM_INFINITY

if TYPE_CHECKING:
    from moss_host.proc.task import Task

# proc_pid_limits's lnames: (name, unit), by resource number.
LIMIT_NAMES = [
    ("Max cpu time", "seconds"), ("Max file size", "bytes"), ("Max data size", "bytes"),
    ("Max stack size", "bytes"), ("Max core file size", "bytes"), ("Max resident set", "bytes"),
    ("Max processes", "processes"), ("Max open files", "files"), ("Max locked memory", "bytes"),
    ("Max address space", "bytes"), ("Max file locks", "locks"), ("Max pending signals", "signals"),
    ("Max msgqueue size", "bytes"), ("Max nice priority", ""), ("Max realtime priority", ""),
    ("Max realtime timeout", "us")]
IO_FIELDS = ("rchar", "wchar", "syscr", "syscw", "read_bytes", "write_bytes", "cancelled_write_bytes")


def _limit(value: int) -> str:
    return f"{'unlimited' if value == RLIM_INFINITY else value:<20} "


def limits_text(task: Task) -> bytes:
    lines = [f"{'Limit':<25} {'Soft Limit':<20} {'Hard Limit':<20} {'Units':<10}\n"]
    for (name, unit), (soft, hard) in zip(LIMIT_NAMES, task.rlimits):
        lines.append(f"{name:<25} {_limit(soft)}{_limit(hard)}{f'{unit:<10}' if unit else ''}\n")
    return "".join(lines).encode()


def personality_text(task: Task) -> bytes:
    return f"{task.personality:08x}\n".encode()


def timerslack_text(task: Task) -> bytes:
    return f"{task.timer_slack_ns}\n".encode()


def set_timerslack(task: Task, data: bytes) -> int:
    """timerslack_ns_write: a decimal u64; 0 restores the task's default slack."""
    text = data[:-1] if data.endswith(b"\n") else data
    if not text.isdigit() or int(text) >= 1 << 64:
        raise Errno(EINVAL)                 # kstrtoull: digits, one trailing newline
    value = int(text)
    task.timer_slack_ns = value or task.default_timer_slack_ns
    return len(data)


def wchan_text(task: Task) -> bytes:
    return b"0"


def oom_score_adj_text(task: Task) -> bytes:
    return f"{task.group.oom_score_adj}\n".encode()


def set_oom_score_adj(task: Task, data: bytes) -> int:
    """__set_oom_adj: kstrtoint(strstrip(buf), 0) in [-1000, 1000] else EINVAL; the process's
    value, which the OOM killer weighs (proc/oom_kill.py). (The writer's CAP_SYS_RESOURCE
    check for lowering it is not made: procfs writers do not see the writer's credentials.)"""
    value = kstrtoint(data)
    if not -1000 <= value <= 1000:
        raise Errno(EINVAL)
    task.group.oom_score_adj = value
    return len(data)


def io_text(task: Task) -> bytes:
    return "".join(f"{name}: 0\n" for name in IO_FIELDS).encode()
