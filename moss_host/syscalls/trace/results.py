"""The part after ` = `: errno names with their message, addresses in hex, and the
decorations strace adds for some calls (fcntl's flags, poll's ready set, "Timeout")."""
from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Callable, Optional

from . import flags as F
from . import structs

if TYPE_CHECKING:
    from .call import Call

# The kernel-internal restart codes strace names (they never reach user space).
RESTARTS = {512: ("ERESTARTSYS", "To be restarted if SA_RESTART is set"),
            513: ("ERESTARTNOINTR", "To be restarted"),
            514: ("ERESTARTNOHAND", "To be restarted if no handler"),
            516: ("ERESTART_RESTARTBLOCK", "Interrupted by signal")}
_NAMES = {**errno.errorcode, errno.EOPNOTSUPP: "EOPNOTSUPP", errno.EAGAIN: "EAGAIN",
          errno.EDEADLK: "EDEADLK"}

Result = Callable[["Call", int], str]


def errno_name(code: int) -> str:
    if code in RESTARTS:
        return RESTARTS[code][0]
    return _NAMES.get(code, str(code))


def error(code: int) -> str:
    """`-1 ENOENT (No such file or directory)`, or `? ERESTARTSYS (...)` for a restart."""
    if code in RESTARTS:
        name, msg = RESTARTS[code]
        return f"? {name} ({msg})"
    return f"-1 {errno_name(code)} ({os.strerror(code)})"


def decimal(c: "Call", r: int) -> str:
    return str(r)


def octal(c: "Call", r: int) -> str:
    return F.octal(r)


def address(c: "Call", r: int) -> str:
    return hex(r) if r else "0"


def fcntl(c: "Call", r: int) -> str:
    cmd = c.args[1] & 0xFFFF_FFFF
    if cmd == 1:                                 # F_GETFD
        return f"{r:#x} (flags {F.flags(r, F.FD_FLAGS)})" if r else "0"
    if cmd == 3:                                 # F_GETFL
        return f"{r:#x} (flags {F.open_flags(r)})"
    if cmd == 1034:                              # F_GET_SEALS
        return hex(r) if r else "0"
    return str(r)


def poll(c: "Call", r: int) -> str:
    """ppoll: the count, the ready descriptors and the time left."""
    if r == 0:
        return "0 (Timeout)"
    fds = structs.pollfds(c.task, c.args[0], c.args[1], revents=True)
    left = f", left {structs.timespec(c.task, c.args[2])}" if c.args[2] else ""
    return f"{r} ({fds}{left})"


def select(c: "Call", r: int) -> str:
    return "0 (Timeout)" if r == 0 else str(r)


def format_result(c: Optional["Call"], r: int, how: Result = decimal) -> str:
    if -4096 < r < 0:
        return error(-r)
    return how(c, r) if c is not None else (hex(r) if r > 0xFFFF else str(r))
