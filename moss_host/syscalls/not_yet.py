"""The syscalls every Linux 6.1 has that moss-py does not implement yet. They answer -ENOSYS
(what a kernel older than the call answers, so programs take their fallback: glibc and
util-linux use openat/mount when these are missing) and log one line; the reasons are what
docs/syscalls.md shows. Nothing here is registered in the table.

None at the moment (openat2, pivot_root and the fd mount API were the last); declare one as
    not_yet("why it is missing", "name", ...)
"""
from .table import not_yet  # noqa: F401  (the declaration above uses it)
