"""The syscalls every Linux 6.1 has that moss-py does not implement yet. They answer -ENOSYS
(what a kernel older than the call answers, so programs take their fallback: glibc and
util-linux use openat/mount when these are missing) and log one line; the reasons are what
docs/syscalls.md shows. Nothing here is registered in the table."""
from .table import not_yet

not_yet("the file-descriptor mount API (fs contexts, detached mount trees); mount(2) and umount2(2) "
        "do the same jobs and util-linux 2.38 uses them", "fsopen", "fsconfig", "fsmount", "move_mount",
        "open_tree", "fspick", "mount_setattr")
