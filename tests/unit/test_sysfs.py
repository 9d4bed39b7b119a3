"""sysfs (moss_host/fs/drivers/sysfs): the tree under /sys, its attribute formats and modes,
mounted at boot and by mount(2) as one shared instance. Values are Linux 6.1's in the same
QEMU (tests/qemu/test_sysfs.py compares them against it)."""
from __future__ import annotations

import errno
import stat as S

import pytest

from moss_host.errors import Errno
from moss_host.fs.boot_mounts import mount_boot_filesystems
from moss_host.fs.drivers.procfs import ProcFs
from moss_host.fs.drivers.sysfs import SYSFS_MAGIC, SysFs
from moss_host.fs.drivers.sysfs.block import Disk, build_disks
from moss_host.fs.drivers.sysfs.cpu import build_cpus, cpu_list, cpu_mask
from moss_host.fs.drivers.sysfs.nodes import SysDir
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.filesystems import MountContext, new_superblock
from moss_host.fs.namespace import MountTable
from moss_host.fs.path import lookup
from moss_host.fs.stat import makedev
from moss_host.fs.vfs import FsContext
from moss_host.net import interfaces  # noqa: F401  (hands sysfs the interface table)
from moss_host.proc.pidtable import PidTable
from moss_host.sched.scheduler import Scheduler
from moss_host.tty.devpts import Devpts
from moss_host.tty.tty import JobControl


class FakeKernel:
    def __init__(self, root_fs):
        self.pids = PidTable()
        self.sched = Scheduler()
        self.root_fs = root_fs


@pytest.fixture
def fs():
    root = FsContext(MountTable(Tmpfs(mode=0o755)).root_location())
    kernel = FakeKernel(root)
    mount_boot_filesystems(root, lambda: Devpts(JobControl()), lambda: ProcFs(kernel))
    return root


def read(fs, path: bytes) -> bytes:
    return lookup(fs, path).inode.read(0, 1 << 16)


def names(fs, path: bytes) -> list[bytes]:
    return [e.name for e in lookup(fs, path).inode.readdir(0)][2:]


def test_sysfs_is_mounted_on_sys_at_boot_with_the_created_mountpoint_read_only_for_all(fs):
    sys_ = lookup(fs, b"/sys").inode
    assert isinstance(sys_.sb, SysFs) and sys_.sb.statfs().f_type == SYSFS_MAGIC
    assert sys_.getattr().st_mode == S.S_IFDIR | 0o555
    assert {b"block", b"class", b"dev", b"devices", b"fs", b"kernel"} <= set(names(fs, b"/sys"))
    # a directory's link count is 2 plus its subdirectories, as kernfs counts
    assert sys_.nlink == 2 + sum(1 for n in names(fs, b"/sys") if lookup(fs, b"/sys/" + n).inode.is_dir)


def test_cpu_lists_say_one_cpu_and_kernel_max_is_nr_cpus_minus_one(fs):
    for name in (b"online", b"possible", b"present"):
        assert read(fs, b"/sys/devices/system/cpu/" + name) == b"0\n"
    assert read(fs, b"/sys/devices/system/cpu/offline") == b"\n"
    assert read(fs, b"/sys/devices/system/cpu/kernel_max") == b"255\n"
    assert read(fs, b"/sys/devices/system/cpu/cpu0/regs/identification/midr_el1") == b"0x00000000410fd083\n"
    assert read(fs, b"/sys/devices/system/cpu/cpu0/topology/core_siblings_list") == b"0\n"
    with pytest.raises(Errno) as e:                 # arm64's boot CPU cannot go offline
        lookup(fs, b"/sys/devices/system/cpu/cpu0/online")
    assert e.value.code == errno.ENOENT
    assert lookup(fs, b"/sys/bus/cpu/devices/cpu0").inode.is_dir


def test_more_cpus_show_as_ranges_and_masks():
    assert cpu_list(range(4)) == "0-3" and cpu_list(range(2, 3)) == "2"
    assert cpu_mask(range(1)) == "1" and cpu_mask(range(40)) == "ff,ffffffff"
    root = SysDir(Tmpfs(), None, 0o555)             # any superblock will do to hang nodes on
    build_cpus(root, 4)
    cpu = root.lookup(b"devices").lookup(b"system").lookup(b"cpu")
    assert cpu.lookup(b"online").read(0, 99) == b"0-3\n"
    assert cpu.lookup(b"cpu3").lookup(b"online").read(0, 99) == b"1\n"
    assert cpu.lookup(b"cpu3").lookup(b"topology").lookup(b"package_cpus").read(0, 99) == b"f\n"


def test_attribute_files_have_size_4096_no_blocks_and_refuse_writes(fs):
    inode = lookup(fs, b"/sys/kernel/mm/transparent_hugepage/enabled").inode
    st = inode.getattr()
    assert st.st_size == 4096 and st.st_blocks == 0 and st.st_mode == S.S_IFREG | 0o644
    assert inode.read(0, 99) == b"always madvise [never]\n"
    with pytest.raises(Errno) as e:
        inode.write(0, b"always")
    assert e.value.code == errno.EACCES
    assert read(fs, b"/sys/kernel/mm/transparent_hugepage/hpage_pmd_size") == b"2097152\n"


def test_the_interfaces_are_the_net_tables_lo_up_and_eth0(fs):
    """/sys/class/net is built from moss_host.net.interfaces' table (lo always up, eth0 of the
    user network), as `ip link` shows it; lo's speed is EINVAL as on Linux."""
    assert names(fs, b"/sys/class/net") == [b"lo", b"eth0"]
    assert lookup(fs, b"/sys/class/net/lo", follow=False).inode.readlink() == b"../../devices/virtual/net/lo"
    assert read(fs, b"/sys/class/net/lo/flags") == b"0x9\n"
    assert read(fs, b"/sys/class/net/lo/mtu") == b"65536\n"
    assert read(fs, b"/sys/class/net/lo/operstate") == b"unknown\n"
    assert read(fs, b"/sys/class/net/lo/carrier") == b"1\n"
    assert read(fs, b"/sys/class/net/eth0/address") == b"52:54:00:12:34:56\n"
    assert read(fs, b"/sys/class/net/eth0/flags") == b"0x1003\n"
    assert read(fs, b"/sys/class/net/eth0/ifindex") == b"2\n"
    assert read(fs, b"/sys/class/net/lo/statistics/rx_packets").strip().isdigit()
    with pytest.raises(Errno) as e:
        read(fs, b"/sys/class/net/lo/speed")
    assert e.value.code == errno.EINVAL


def test_a_disk_shows_its_size_in_sectors_and_its_links(fs):
    sb = lookup(fs, b"/sys").inode.sb
    root = SysDir(sb, None, 0o555)
    build_disks(root, [Disk(b"vda", makedev(254, 0), lambda: 727711744, False)])
    vda = root.lookup(b"devices").lookup(b"platform").lookup(b"a003e00.virtio_mmio").lookup(b"virtio0") \
        .lookup(b"block").lookup(b"vda")
    assert vda.lookup(b"size").read(0, 99) == b"1421312\n"
    assert vda.lookup(b"dev").read(0, 99) == b"254:0\n"
    assert vda.lookup(b"ro").read(0, 99) == b"0\n"
    assert vda.lookup(b"queue").lookup(b"logical_block_size").read(0, 99) == b"512\n"
    assert vda.lookup(b"uevent").read(0, 99) == b"MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n"
    assert root.lookup(b"block").lookup(b"vda").readlink() == \
        b"../devices/platform/a003e00.virtio_mmio/virtio0/block/vda"
    assert root.lookup(b"dev").lookup(b"block").lookup(b"254:0").readlink() == \
        b"../../devices/platform/a003e00.virtio_mmio/virtio0/block/vda"


def test_a_root_on_tmpfs_has_no_disks(fs):
    assert names(fs, b"/sys/block") == []


def test_mounting_sysfs_again_gives_the_same_instance(fs):
    def ctx(new_sys):
        return MountContext(ns=fs.ns, resolve=lambda p: lookup(fs, p), uid=0, gid=0, umask=0o22,
                            ram_bytes=1 << 30, new_proc=lambda: None, new_sys=new_sys)
    sb = new_superblock("sysfs", "sysfs", b"", 0, ctx(lambda: pytest.fail("a second sysfs")))
    assert sb is lookup(fs, b"/sys").inode.sb
    with pytest.raises(Errno) as e:             # a kernel that does not hand one in: no sysfs
        new_superblock("sysfs", "sysfs", b"", 0, ctx(None))
    assert e.value.code == errno.ENODEV
