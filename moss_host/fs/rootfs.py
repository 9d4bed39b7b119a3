"""The root filesystem: an initramfs unpacked into a tmpfs, or an ext2/3/4 disk image.

With a disk (`moss-host run/boot --disk IMG`) the image is the root, read-write, and
everything written reaches the image file: at sync(2)/fsync(2), and at the end of
the run, when every mounted filesystem is unmounted (power off, the last process
exiting, Ctrl-C, SIGTERM of the host, even a kernel panic: the on-disk structures are
consistent after every syscall, so writing them out is always safe).
"""
from __future__ import annotations

import logging
from pathlib import Path

from moss_host.errors import Errno

from .namespace import DEFAULT_MNT_FLAGS, MountTable
from .vfs import FsContext

log = logging.getLogger("moss.fs")


class RootError(Exception):
    """The root image is missing or unusable; the message says which and why."""


def root_from_disk(path: Path, read_only: bool = False) -> FsContext:
    """Mount the ext2/3/4 filesystem in the image file at `path` as /."""
    from .blockdev import BlockDevice
    from .drivers.ext4 import mount_ext4
    try:
        dev = BlockDevice(str(path), read_only=read_only)
    except Errno as e:
        raise RootError(e.why or f"disk image {path}: {e}") from None
    try:
        sb = mount_ext4(dev, read_only=read_only)
    except Errno as e:
        dev.close()
        raise RootError(e.why or f"disk image {path} cannot be mounted: {e}") from None
    # Linux's mount_root mounts the root disk through a node it makes, /dev/root: /proc/mounts
    # and df name it so.
    sb.source = "/dev/root"
    # Linux mounts a root disk with init_mount, which gives it relatime (the rootfs has none).
    return FsContext(MountTable(sb, root_flags=DEFAULT_MNT_FLAGS).root_location())


def unmount_all(fs: FsContext | None) -> None:
    """Unmount every filesystem of the namespace, innermost first; write-back happens here."""
    if fs is None:
        return
    for sb in reversed(fs.ns.superblocks()):
        try:
            sb.unmount()
        except Exception as e:          # one broken filesystem must not keep the others dirty
            log.error("unmounting %s failed: %s", sb.fstype, e)
        if sb.blockdev is not None:
            sb.blockdev.close()
