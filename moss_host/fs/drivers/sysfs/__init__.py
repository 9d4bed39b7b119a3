"""sysfs: the kernel's devices and settings as a tree under /sys (Linux's sysfs on kernfs).

    /sys/devices/system/cpu       cpu.py: online/possible/present, cpuN/topology, regs
    /sys/block, /sys/dev/block    block.py: the disk (vda) with its size and queue limits
    /sys/class/net                net.py: the loopback only (no network devices exist)
    /sys/kernel, /sys/fs/cgroup   kernel_dir.py

The tree is built when the filesystem is made, from what the kernel has then (its CPU count,
the disks under the root); the values that change (a disk's size) are read when a file is.
Like Linux's, one sysfs instance is shared by every mount of it. Read-only: attribute
writes are refused (EACCES), and nothing can be created in it.
"""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Optional, Protocol

from ...blockdev import BlockDevice
from ...loopdev import InodeBlockDevice
from ...vfs import StatFs, Superblock
from .block import Disk, build_disks
from .cpu import build_cpus
from .kernel_dir import build_fs, build_kernel
from .net import build_net
from .nodes import SysDir

if TYPE_CHECKING:
    from moss_host.fs.vfs import FsContext
    from moss_host.sched.scheduler import Scheduler

SYSFS_MAGIC = 0x62656572


class SysView(Protocol):
    """What sysfs reads of the kernel (kernel.py's Kernel, procfs's KernelView, are ones)."""
    sched: Scheduler                    # its cpu_count
    root_fs: Optional[FsContext]        # the namespace whose disks are listed


class SysFs(Superblock):
    fstype = "sysfs"
    source = "sysfs"

    def __init__(self, kernel: SysView):
        super().__init__()
        root = self.root = SysDir(self, None, 0o555)
        for name in (b"block", b"bus", b"class", b"dev", b"devices", b"firmware", b"fs", b"kernel",
                     b"module", b"power"):
            root.subdir(name)
        build_cpus(root, kernel.sched.cpu_count)
        build_disks(root, host_disks(kernel))
        build_net(root)
        build_kernel(root)
        build_fs(root)

    def statfs(self) -> StatFs:
        return StatFs(SYSFS_MAGIC, 4096, 0, 0, 0, 0, 0, 255, 4096)


def host_disks(kernel: SysView) -> list[Disk]:
    """The disk images the machine has (the --disk root), in the order they were attached.
    Images mounted from files inside the tree are loop devices in Linux, not listed here."""
    if kernel.root_fs is None:
        return []
    disks: list[Disk] = []
    for sb in kernel.root_fs.ns.superblocks():
        dev = sb.blockdev
        if dev is not None and not isinstance(dev, InodeBlockDevice):
            disks.append(Disk(b"vd" + bytes([ord("a") + len(disks)]), sb.dev, partial(_size, dev), dev.read_only))
    return disks


def _size(dev: BlockDevice) -> int:
    return dev.size


__all__ = ["SysFs", "SysView", "SYSFS_MAGIC"]
