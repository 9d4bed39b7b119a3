"""vhangup: hang up the calling process's controlling terminal (tty_vhangup_self)."""
from __future__ import annotations

from moss_host.cred import CAP_SYS_TTY_CONFIG, capable
from moss_host.errors import EPERM, Errno
from moss_host.tty.tty import Tty

from .table import syscall


@syscall("vhangup")
def vhangup(task) -> int:
    """Needs CAP_SYS_TTY_CONFIG (EPERM); without a controlling terminal there is nothing to do."""
    if not capable(task.creds, CAP_SYS_TTY_CONFIG):
        raise Errno(EPERM)
    tty = task.group.ctty
    if isinstance(tty, Tty):
        tty.hang_up()
    return 0
