"""The filesystems mounted at boot on top of the root: devfs on /dev, devpts on /dev/pts,
procfs on /proc, sysfs on /sys.

The kernel calls mount_boot_filesystems() once, right after the root filesystem is built
and before the first process starts (what Linux's devtmpfs automount and an init's
`mount -t proc proc /proc` and `mount -t sysfs sysfs /sys` do). A missing mountpoint directory is created.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..errors import ENOENT, Errno
from .vfs import FsContext, Location, child_of, vfs_mkdir

if TYPE_CHECKING:
    from ..tty.devpts import Devpts
    from .drivers.procfs import ProcFs

# Permission bits of a mountpoint the image lacks (Linux images use these).
MOUNTPOINT_MODES = {b"dev": 0o755, b"proc": 0o555, b"pts": 0o755, b"sys": 0o555}


def mount_boot_filesystems(root_fs: FsContext, make_devpts: Callable[[], Devpts],
                           make_procfs: Callable[[], ProcFs]) -> None:
    """Mount devfs on /dev, devpts on /dev/pts, procfs on /proc and sysfs on /sys of root_fs.

    The caller says how to build devpts and procfs: they take what they need of the layers
    above (job control for the ptys, the task table for /proc). They are built here, in the
    order Linux sets them up, because a filesystem gets its anonymous device number when it
    is made: devtmpfs, then proc, then devpts (Linux 6.1 here: 0:5, 0:21, 0:24; rootfs 0:2).
    sysfs reads the same kernel view as procfs; made last, it shifts none of those numbers."""
    from .drivers.devfs import Devfs
    from .drivers.sysfs import SysFs

    devfs = Devfs()
    procfs = make_procfs()
    devpts = make_devpts()
    ns = root_fs.ns
    dev = ns.mount(devfs, mountpoint(root_fs.root, b"dev"))
    pts = ns.mount(devpts, mountpoint(Location(dev, dev.root), b"pts"))
    devpts.mount_location = Location(pts, pts.root)
    ns.mount(procfs, mountpoint(root_fs.root, b"proc"))
    ns.mount(SysFs(procfs.kernel), mountpoint(root_fs.root, b"sys"))


def mountpoint(root: Location, name: bytes) -> Location:
    """The directory `name` under root, created if missing; ENOTDIR if it is something else."""
    try:
        return child_of(root, name)
    except Errno as e:
        if e.code != ENOENT:
            raise
    return vfs_mkdir(root, name, MOUNTPOINT_MODES[name], None)
