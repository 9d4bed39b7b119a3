"""The filesystems mounted at boot on top of the root: devfs on /dev, procfs on /proc.

Filled in by the devfs/procfs work; the kernel calls mount_boot_filesystems() once,
right after the root filesystem is built.
"""
from __future__ import annotations


def mount_boot_filesystems(root_fs, kernel) -> None:
    """Mount the boot-time filesystems into root_fs (an FsContext). Nothing yet."""
