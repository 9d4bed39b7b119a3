"""/proc/<pid>/oom_score and oom_adj (fs/proc/base.c, mm/oom_kill.c of Linux 6.1).

oom_score is oom_badness scaled to 0..2000 as proc_oom_score does: the process's resident
pages plus oom_score_adj thousandths of all memory, (1000 + points * 1000 / total) * 2 / 3;
0 for init and for a process whose adj is -1000 (never chosen). oom_adj is the legacy
-17..15 view of the same oom_score_adj (the process's, ThreadGroup.oom_score_adj).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from ....errors import EINVAL, Errno

if TYPE_CHECKING:
    from moss_host.proc.task import Task

OOM_SCORE_ADJ_MIN, OOM_SCORE_ADJ_MAX = -1000, 1000
OOM_DISABLE, OOM_ADJUST_MAX = -17, 15
PAGE_KB = 4
_KSTRTOINT = re.compile(rb"([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")   # base 0: hex, octal, decimal


def _cdiv(a: int, b: int) -> int:
    """C's integer division (towards zero)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def kstrtoint(data: bytes) -> int:
    """kstrtoint(strstrip(buf), 0): EINVAL unless the whole text is one number."""
    match = _KSTRTOINT.fullmatch(data.strip())
    if match is None:
        raise Errno(EINVAL)
    digits = match[2]
    base = 16 if digits[:2] in (b"0x", b"0X") else 8 if digits[:1] == b"0" and len(digits) > 1 else 10
    value = int(digits, base) * (-1 if match[1] == b"-" else 1)
    if not -(1 << 31) <= value < 1 << 31:
        raise Errno(EINVAL)
    return value


def oom_score_text(task: Task, total_kb: Callable[[], int]) -> bytes:
    adj = task.group.oom_score_adj
    mm = task.mm
    if task.tgid == 1 or adj == OOM_SCORE_ADJ_MIN or mm is None or task.state.value in ("Z", "X"):
        return b"0\n"
    total = max(1, total_kb() // PAGE_KB)
    points = len(mm.resident) + adj * (total // 1000)
    return b"%d\n" % max(0, _cdiv((1000 + _cdiv(points * 1000, total)) * 2, 3))


def oom_adj_text(task: Task) -> bytes:
    adj = task.group.oom_score_adj
    value = OOM_ADJUST_MAX if adj == OOM_SCORE_ADJ_MAX else _cdiv(adj * -OOM_DISABLE, OOM_SCORE_ADJ_MAX)
    return b"%d\n" % value


def set_oom_adj(task: Task, data: bytes) -> int:
    """oom_adj_write: -17..15 (EINVAL otherwise), 15 meaning +1000, else scaled by 1000/17."""
    value = kstrtoint(data)
    if not OOM_DISABLE <= value <= OOM_ADJUST_MAX:
        raise Errno(EINVAL)
    task.group.oom_score_adj = (OOM_SCORE_ADJ_MAX if value == OOM_ADJUST_MAX
                                else _cdiv(value * OOM_SCORE_ADJ_MAX, -OOM_DISABLE))
    return len(data)
