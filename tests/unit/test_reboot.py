"""reboot(2) without QEMU: Linux's checks in order, the commands, and the flush before power off."""
import asyncio
import errno
from types import SimpleNamespace

import pytest

from moss_host.cred import Creds
from moss_host.errors import Errno
from moss_host.fs.vfs import Superblock
from moss_host.proc.task import TaskExit
from moss_host.syscalls import reboot as R

MAGIC1, MAGIC2 = R.LINUX_REBOOT_MAGIC1, R.LINUX_REBOOT_MAGIC2


class FakeKernel:
    def __init__(self, superblocks=()):
        self.stopped = None
        self.ctrl_alt_del_reboots = True
        mounts = [SimpleNamespace(sb=sb) for sb in superblocks]
        self.root_fs = SimpleNamespace(ns=SimpleNamespace(mounts=lambda: mounts))

    def power_off(self, restart=False):
        self.stopped = "restart" if restart else "off"


def task(kernel, euid=0):
    return SimpleNamespace(creds=Creds(uid=euid, euid=euid, suid=euid), kernel=kernel)


def call(t, magic1, magic2, cmd):
    return asyncio.run(R.reboot(t, magic1, magic2, cmd, 0))


def errno_of(t, *args):
    with pytest.raises(Errno) as e:
        call(t, *args)
    return e.value.code


def test_only_root_may_reboot_and_that_is_checked_before_the_magic():
    assert errno_of(task(FakeKernel(), euid=1000), 0, 0, R.LINUX_REBOOT_CMD_POWER_OFF) == errno.EPERM


def test_bad_magic_numbers_are_einval():
    k = FakeKernel()
    assert errno_of(task(k), 0xDEAD, MAGIC2, R.LINUX_REBOOT_CMD_POWER_OFF) == errno.EINVAL
    assert errno_of(task(k), MAGIC1, 12345, R.LINUX_REBOOT_CMD_POWER_OFF) == errno.EINVAL
    assert k.stopped is None


def test_every_second_magic_linux_accepts_works_and_magic1_may_arrive_sign_extended():
    for magic2 in R.MAGIC2:
        assert call(task(FakeKernel()), MAGIC1 | 0xFFFFFFFF_00000000, magic2, R.LINUX_REBOOT_CMD_CAD_ON) == 0


def test_unknown_commands_are_einval():
    assert errno_of(task(FakeKernel()), MAGIC1, MAGIC2, 0x12345678) == errno.EINVAL
    assert errno_of(task(FakeKernel()), MAGIC1, MAGIC2, R.LINUX_REBOOT_CMD_KEXEC) == errno.EINVAL


def test_ctrl_alt_del_setting():
    k = FakeKernel()
    assert call(task(k), MAGIC1, MAGIC2, R.LINUX_REBOOT_CMD_CAD_ON) == 0 and k.ctrl_alt_del_reboots
    assert call(task(k), MAGIC1, MAGIC2, R.LINUX_REBOOT_CMD_CAD_OFF) == 0 and not k.ctrl_alt_del_reboots
    assert k.stopped is None


@pytest.mark.parametrize("cmd,how", [(R.LINUX_REBOOT_CMD_POWER_OFF, "off"), (R.LINUX_REBOOT_CMD_HALT, "off"),
                                     (R.LINUX_REBOOT_CMD_RESTART, "restart"),
                                     (R.LINUX_REBOOT_CMD_RESTART2, "restart")])
def test_power_off_halt_and_restart_stop_the_kernel_and_the_caller_exits_0(cmd, how):
    k = FakeKernel()
    with pytest.raises(TaskExit) as e:
        call(task(k), MAGIC1, MAGIC2, cmd)
    assert e.value.status == 0 and k.stopped == how


def test_writable_filesystems_are_flushed_once_before_power_off_and_read_only_ones_are_not():
    flushed = []
    disk = SimpleNamespace(read_only=False, fstype="ext4", sync=lambda: flushed.append("disk"))
    ro = SimpleNamespace(read_only=True, fstype="ext4", sync=lambda: flushed.append("ro"))
    tmp = Superblock()                  # a memory filesystem: its sync has nothing to write
    k = FakeKernel([disk, tmp, ro, disk])
    with pytest.raises(TaskExit):
        call(task(k), MAGIC1, MAGIC2, R.LINUX_REBOOT_CMD_POWER_OFF)
    assert flushed == ["disk"]


def test_a_failing_flush_does_not_keep_the_machine_up():
    def broken():
        raise OSError("disk gone")
    k = FakeKernel([SimpleNamespace(read_only=False, fstype="ext4", sync=broken)])
    with pytest.raises(TaskExit):
        call(task(k), MAGIC1, MAGIC2, R.LINUX_REBOOT_CMD_POWER_OFF)
    assert k.stopped == "off"
