"""Strings and buffers as strace prints them: quoted, C escapes, truncated at `-s 32`."""
from __future__ import annotations

from moss_host.errors import Errno

MAX_STRLEN = 32          # strace's default -s
PATH_MAX = 4096          # paths are never truncated by -s (strace's printpath)

_ESCAPES = {0x09: "\\t", 0x0A: "\\n", 0x0B: "\\v", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"}


def quote(data: bytes, hexed: bool = False) -> str:
    """`data` between double quotes: printable ASCII as is, C escapes, other bytes in octal
    (three digits when a digit follows, so the escape cannot swallow it), or all in hex."""
    if hexed:
        return '"' + "".join(f"\\x{b:02x}" for b in data) + '"'
    out = []
    for i, b in enumerate(data):
        esc = _ESCAPES.get(b)
        if esc is not None:
            out.append(esc)
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        elif i + 1 < len(data) and 0x30 <= data[i + 1] <= 0x39:
            out.append(f"\\{b:03o}")
        else:
            out.append(f"\\{b:o}")
    return '"' + "".join(out) + '"'


def buffer(task, addr: int, size: int, hexed: bool = False) -> str:
    """`size` bytes at `addr`: the first MAX_STRLEN quoted, `...` after if there were more."""
    if size <= 0:
        return '""' if addr else "NULL"
    try:
        data = task.mm.read(addr, min(size, MAX_STRLEN))
    except Errno:
        return hex(addr)
    return quote(data, hexed) + ("..." if size > MAX_STRLEN else "")


def cstring(task, addr: int, limit: int = MAX_STRLEN) -> str:
    """A NUL-terminated string, truncated at `limit` bytes with `...`."""
    if addr == 0:
        return "NULL"
    try:
        s = task.mm.read_cstring(addr, limit + 1)
    except Errno:
        return hex(addr)
    if len(s) > limit:
        return quote(s[:limit]) + "..."
    return quote(s)


def path(task, addr: int) -> str:
    return cstring(task, addr, PATH_MAX)


def pointer(value: int) -> str:
    return "NULL" if value == 0 else hex(value)
