"""devfs: the filesystem mounted on /dev, like Linux's devtmpfs.

A tmpfs that starts out holding the nodes every Linux system has, with Linux's
numbers (Documentation/admin-guide/devices.txt) and devtmpfs's modes. It stays an
ordinary tmpfs afterwards: mknod, mkdir and symlink work in it, as in devtmpfs.

Opening a node goes through fs/file.py's device registry: memdev.py serves major 1;
the tty layer registers 5:0 (tty), 5:1 (console) and 5:2 (ptmx). A node whose
driver is not registered opens with ENXIO, as in Linux.

The fd/stdin/stdout/stderr symlinks point into /proc/self, so they need procfs on /proc.
"""
from __future__ import annotations

import stat as S

from ..stat import makedev
from .tmpfs import Tmpfs

# name -> (major, minor, permission bits): character devices.
CHAR_DEVICES = {
    b"null": (1, 3, 0o666),
    b"zero": (1, 5, 0o666),
    b"full": (1, 7, 0o666),
    b"random": (1, 8, 0o666),
    b"urandom": (1, 9, 0o666),
    b"tty": (5, 0, 0o666),
    b"console": (5, 1, 0o600),
    b"ptmx": (5, 2, 0o666),
}
# name -> mode: directories (devpts and the POSIX shared-memory tmpfs are mounted on them in Linux).
DIRECTORIES = {b"pts": 0o755, b"shm": 0o1777}
# name -> target: the links udev/systemd (and devtmpfs setups) create.
SYMLINKS = {
    b"fd": b"/proc/self/fd",
    b"stdin": b"/proc/self/fd/0",
    b"stdout": b"/proc/self/fd/1",
    b"stderr": b"/proc/self/fd/2",
}


class Devfs(Tmpfs):
    """A devtmpfs-like tmpfs, populated at creation."""
    fstype = "devtmpfs"
    source = "devtmpfs"

    def __init__(self):
        super().__init__(mode=0o755)
        root = self.root
        for name, (major, minor, mode) in CHAR_DEVICES.items():
            root.create(name, S.S_IFCHR | mode, 0, 0, makedev(major, minor))
        for name, mode in DIRECTORIES.items():
            root.mkdir(name, S.S_IFDIR | mode, 0, 0)
        for name, target in SYMLINKS.items():
            root.symlink(name, target, 0, 0)
        # What /proc/mounts shows after rw: devtmpfs is a tmpfs the kernel made, with mode 755.
        self.mount_options = self.show_options(mode=0o755)
