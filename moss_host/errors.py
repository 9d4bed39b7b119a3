"""The kernel's error currency: Errno is raised anywhere below a syscall and becomes -errno at the boundary.

Errno numbers are Linux's generic ones (the same on arm64 and on the x86 host), so
Python's own `errno` module is the table.
"""
import errno as _errno
from errno import *  # noqa: F401,F403  (re-export EFAULT, ENOENT, ... for callers)


class Errno(Exception):
    """A Linux error to return to user space as -code."""

    def __init__(self, code: int, why: str = ""):
        super().__init__(code, why)
        self.code = code
        self.why = why

    def __str__(self) -> str:
        name = _errno.errorcode.get(self.code, str(self.code))
        return f"{name}{': ' + self.why if self.why else ''}"


class KernelPanic(Exception):
    """An unrecoverable condition in the kernel or the guest stub; the host stops with this message."""
