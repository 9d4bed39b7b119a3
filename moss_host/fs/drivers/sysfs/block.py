"""/sys/block, /sys/class/block and /sys/dev/block: the disks, as lsblk and udev read them.

moss-py's disk is the image given with --disk; it shows up as QEMU's first virtio disk
does in Linux (vda, 254:0, under the virtio-mmio device at 0xa003e00). Sizes are in
512-byte sectors whatever the logical block size, as Linux's `size` attribute is.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from ...stat import major, minor
from .nodes import SysDir

VIRTIO_DEVICE = b"platform/a003e00.virtio_mmio/virtio0"
SECTOR = 512


class Disk(NamedTuple):
    name: bytes             # vda, vdb, ...
    dev: int                # its device number (the st_dev of the filesystem on it)
    size: Callable[[], int]     # bytes, asked at each read
    read_only: bool


def build_disks(root: SysDir, disks: list[Disk]) -> None:
    root.subdir(b"block")
    root.subdir(b"class/block")
    root.subdir(b"dev/block")
    root.subdir(b"dev/char")
    for n, disk in enumerate(disks):
        device = b"devices/" + VIRTIO_DEVICE.replace(b"virtio0", f"virtio{n}".encode())
        path = device + b"/block/" + disk.name
        build_disk(root.subdir(path), disk)
        root.add_link(b"block/" + disk.name, b"../" + path)
        root.add_link(b"class/block/" + disk.name, b"../../" + path)
        root.add_link(f"dev/block/{major(disk.dev)}:{minor(disk.dev)}".encode(), b"../../" + path)


def build_disk(d: SysDir, disk: Disk) -> None:
    maj, mnr = major(disk.dev), minor(disk.dev)
    d.add_text(b"dev", f"{maj}:{mnr}")
    d.add_file(b"size", lambda: f"{disk.size() // SECTOR}\n".encode())
    d.add_text(b"ro", str(int(disk.read_only)))
    for name, value in ((b"removable", "0"), (b"hidden", "0"), (b"capability", "0"), (b"range", "16"),
                        (b"ext_range", "256"), (b"alignment_offset", "0"), (b"discard_alignment", "0")):
        d.add_text(name, value)
    d.add_text(b"uevent", f"MAJOR={maj}\nMINOR={mnr}\nDEVNAME={disk.name.decode()}\nDEVTYPE=disk", 0o644)
    queue = d.subdir(b"queue")
    for name, value in ((b"logical_block_size", "512"), (b"physical_block_size", "512"),
                        (b"hw_sector_size", "512"), (b"minimum_io_size", "512"), (b"optimal_io_size", "0"),
                        (b"rotational", "1"), (b"read_ahead_kb", "128"), (b"max_sectors_kb", "1280"),
                        (b"nr_requests", "256"), (b"discard_granularity", "512"), (b"dax", "0"),
                        (b"zoned", "none"), (b"scheduler", "none")):
        queue.add_text(name, value)
    d.subdir(b"holders")
    d.subdir(b"slaves")
    d.add_link(b"subsystem", b"../../../../../../class/block")
