"""Argument kinds for syscall parameters: annotations that tell the tracer how to print an argument.

At run time every argument is the raw 64-bit register value (an int); these names
exist for documentation and --trace only. Import them and use them as quoted
annotations, e.g. `async def openat(task, dirfd: "Fd", path: "CStr", flags: "Hex", mode: "Hex")`.

They are plain aliases of int, so a type checker sees an int. The tracer reads the
annotation's text (syscalls/table.py, `inspect.signature(eval_str=False)`): keep them
quoted (or the module under `from __future__ import annotations`), since an evaluated
alias is just `int` and would lose its kind.

  Fd        signed 32-bit file descriptor (AT_FDCWD prints as such)
  CStr      pointer to a NUL-terminated string, printed as its contents
  Ptr       user pointer, printed in hex
  Int       signed 64-bit
  UInt      unsigned, printed in decimal
  Hex       flags or masks, printed in hex
  Size      byte count
"""
from typing import TypeAlias

Fd: TypeAlias = int
CStr: TypeAlias = int
Ptr: TypeAlias = int
Int: TypeAlias = int
UInt: TypeAlias = int
Hex: TypeAlias = int
Size: TypeAlias = int


def c_int(raw: int) -> int:
    """A C `int` argument: the low 32 bits, sign-extended (what SYSCALL_DEFINE's cast does)."""
    raw &= 0xFFFF_FFFF
    return raw - (1 << 32) if raw & 0x8000_0000 else raw


def c_uint(raw: int) -> int:
    """A C `unsigned int` argument: the low 32 bits."""
    return raw & 0xFFFF_FFFF
