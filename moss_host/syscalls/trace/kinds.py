"""Argument kinds: how one argument (or result) of a traced call prints.

An `Arg` is a decoder `(call, value) -> text` plus whether it is read after the call
(an output buffer or struct, shown only once the call filled it). A decoder that returns
None leaves the argument out (openat's mode without O_CREAT, fcntl's unused third)."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from moss_host.errors import Errno

from . import flags as F
from . import signames, structs
from .text import MAX_STRLEN, buffer, cstring, path, pointer

if TYPE_CHECKING:
    from .call import Call

Decoder = Callable[["Call", int], Optional[str]]


@dataclass(frozen=True)
class Arg:
    decode: Decoder
    out: bool = False          # filled by the call: decoded at exit (the pointer if it failed)
    name: str = ""             # strace's `name=` label (clone)


def c_int(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v & 0x8000_0000 else v


def c_long(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


def _in(fn: Decoder) -> Arg:
    return Arg(fn)


def _out(fn: Callable[["Call", int], str]) -> Arg:
    """An output argument: NULL stays NULL, a failed call leaves the pointer."""
    def decode(c: "Call", v: int) -> str:
        if v == 0:
            return "NULL"
        if c.result is None or c.result < 0:
            return hex(v)
        return fn(c, v)
    return Arg(decode, out=True)


# -- scalars ------------------------------------------------------------------------------
FD = _in(lambda c, v: str(c_int(v)))
DIRFD = _in(lambda c, v: "AT_FDCWD" if c_int(v) == F.AT_FDCWD else str(c_int(v)))
INT = _in(lambda c, v: str(c_int(v)))
UINT = _in(lambda c, v: str(v & 0xFFFF_FFFF))
LONG = _in(lambda c, v: str(c_long(v)))
ULONG = _in(lambda c, v: str(v))
HEX = _in(lambda c, v: hex(v) if v else "0")
PTR = _in(lambda c, v: pointer(v))
PATH = _in(lambda c, v: path(c.task, v))
STR = _in(lambda c, v: cstring(c.task, v))
MODE = _in(lambda c, v: F.creat_mode(v & 0xFFFF_FFFF))
SIGNO = _in(lambda c, v: signames.name(c_int(v)) if c_int(v) > 0 else str(c_int(v)))


def flags(table: F.FlagTable, zero: str = "0") -> Arg:
    return _in(lambda c, v: F.flags(v & 0xFFFF_FFFF, table, zero))


def enum(table: dict[int, str], signed: bool = True) -> Arg:
    return _in(lambda c, v: F.enum(c_int(v) if signed else v, table))


# -- buffers and strings ------------------------------------------------------------------

def buf_in(size_arg: int, hexed: bool = False) -> Arg:
    """A buffer the call reads: `size_arg`'s bytes (write, send)."""
    return _in(lambda c, v: buffer(c.task, v, c.args[size_arg], hexed))


def buf_out(hexed: bool = False) -> Arg:
    """A buffer the call fills: as many bytes as it returned (read, recv)."""
    return _out(lambda c, v: buffer(c.task, v, c.result or 0, hexed))


def struct_in(fn: Callable) -> Arg:
    return _in(lambda c, v: "NULL" if v == 0 else fn(c.task, v))


def struct_out(fn: Callable) -> Arg:
    return _out(lambda c, v: fn(c.task, v))


def only_if(cond: Callable[["Call"], bool], arg: Arg) -> Arg:
    """`arg` shown only when `cond` holds for the call's arguments."""
    return Arg(lambda c, v: arg.decode(c, v) if cond(c) else None, arg.out, arg.name)


def named(name: str, arg: Arg) -> Arg:
    return Arg(arg.decode, arg.out, name)


def string_array(c: "Call", addr: int) -> str:
    """execve's argv: ["a", "b"], at most MAX_STRLEN strings."""
    if addr == 0:
        return "NULL"
    items = []
    try:
        for i in range(MAX_STRLEN + 1):
            p, = struct.unpack("<Q", c.task.mm.read(addr + 8 * i, 8))
            if p == 0:
                break
            if i == MAX_STRLEN:
                items.append("...")
                break
            items.append(cstring(c.task, p))
    except Errno:
        return hex(addr)
    return "[" + ", ".join(items) + "]"


def env_count(c: "Call", addr: int) -> str:
    """execve's envp: the pointer and how many strings it holds, as strace does without -v."""
    if addr == 0:
        return "NULL"
    n = 0
    try:
        while struct.unpack("<Q", c.task.mm.read(addr + 8 * n, 8))[0] and n < 4096:
            n += 1
    except Errno:
        return hex(addr)
    return f"{addr:#x} /* {n} var{'s' if n != 1 else ''} */"
