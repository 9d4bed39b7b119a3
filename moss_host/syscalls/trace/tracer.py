"""--trace: print every syscall with decoded arguments and its result, strace style."""
from __future__ import annotations

import errno
import os
import sys

from moss_host.errors import Errno


def _signed(v: int, bits: int = 64) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


class Tracer:
    def __init__(self, out=None):
        self.out = out or sys.stderr

    def format_arg(self, task, kind, value: int) -> str:
        if kind == "Fd":
            fd = _signed(value, 32)
            return "AT_FDCWD" if fd == -100 else str(fd)
        if kind == "CStr":
            if value == 0:
                return "NULL"
            try:
                s = task.mm.read_cstring(value, 4096)
            except Errno:
                return hex(value)
            text = repr(s[:64].decode(errors="backslashreplace"))[1:-1]
            return f'"{text}"' + ("..." if len(s) > 64 else "")
        if kind in ("Int",):
            return str(_signed(value))
        if kind in ("Size", "UInt"):
            return str(value)
        if kind in ("Ptr", "Hex"):
            return "NULL" if kind == "Ptr" and value == 0 else hex(value)
        return str(value) if value < 0x10000 else hex(value)

    def format_call(self, task, entry, args) -> str:
        shown = ", ".join(self.format_arg(task, k, v) for k, v in zip(entry.arg_kinds, args))
        return f"{entry.name}({shown})"

    @staticmethod
    def format_result(result: int) -> str:
        if -4096 < result < 0:
            code = -result
            return f"-1 {errno.errorcode.get(code, code)} ({os.strerror(code)})"
        return hex(result) if result > 0xFFFF else str(result)

    def line(self, task, text: str) -> None:
        self.out.write(f"[pid {task.tid}] {text}\n")
        self.out.flush()
