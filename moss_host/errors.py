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


# Kernel-internal restart codes (include/linux/errno.h): a syscall interrupted by a signal
# returns one of these; signal delivery turns it into EINTR or a restart before user space
# sees it. ERESTARTSYS restarts only with SA_RESTART; ERESTARTNOINTR always restarts;
# ERESTARTNOHAND restarts only when no handler runs; ERESTART_RESTARTBLOCK restarts
# through restart_syscall(2) when no handler runs.
ERESTARTSYS = 512
ERESTARTNOINTR = 513
ERESTARTNOHAND = 514
ERESTART_RESTARTBLOCK = 516
RESTART_CODES = frozenset((ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK))
