"""reboot(2): power off, halt or restart the machine, and the Ctrl-Alt-Del setting.

Follows Linux's kernel/reboot.c: root only (CAP_SYS_BOOT), then the magic numbers, then
the command. Power off and halt end the run as a machine that switched itself off:
`moss-host boot` exits with status 0 (Linux would halt the CPU and wait for a reset on
HALT; a moss-host that waits for nothing would only hang the user's terminal). Restart
ends the run with a restart request, and cli.py's boot loop starts a fresh kernel on
the same image. Before either, the writable mounted filesystems are flushed
(Superblock.sync: ext4 writes its dirty state back, memory filesystems have none), as
kernel_power_off's device shutdown leaves the disks consistent.

The call that powers off never returns: as in Linux (kernel_power_off(); do_exit(0)),
the caller exits with status 0 while the kernel stops the machine. That matters for
BusyBox init, which calls reboot(2) in a vfork child: the child's exit lets init go on
rather than sleep on the vfork through the shutdown.
"""
from __future__ import annotations

import logging

from typing import TYPE_CHECKING

from moss_host.cred import CAP_SYS_BOOT, capable
from moss_host.errors import EINVAL, EPERM, Errno
from moss_host.proc.task import TaskExit

from .args import Hex, Ptr
from .table import syscall

if TYPE_CHECKING:
    from moss_host.kernel import Kernel

log = logging.getLogger("moss.reboot")

LINUX_REBOOT_MAGIC1 = 0xFEE1DEAD
LINUX_REBOOT_MAGIC2 = 672274793             # 0x28121969
LINUX_REBOOT_MAGIC2A = 85072278
LINUX_REBOOT_MAGIC2B = 369367448
LINUX_REBOOT_MAGIC2C = 537993216
MAGIC2 = (LINUX_REBOOT_MAGIC2, LINUX_REBOOT_MAGIC2A, LINUX_REBOOT_MAGIC2B, LINUX_REBOOT_MAGIC2C)

LINUX_REBOOT_CMD_RESTART = 0x01234567
LINUX_REBOOT_CMD_HALT = 0xCDEF0123
LINUX_REBOOT_CMD_CAD_ON = 0x89ABCDEF
LINUX_REBOOT_CMD_CAD_OFF = 0x00000000
LINUX_REBOOT_CMD_POWER_OFF = 0x4321FEDC
LINUX_REBOOT_CMD_RESTART2 = 0xA1B2C3D4
LINUX_REBOOT_CMD_SW_SUSPEND = 0xD000FCE2
LINUX_REBOOT_CMD_KEXEC = 0x45584543

# What Linux prints on the console for each (kernel_restart/kernel_halt/kernel_power_off).
MESSAGES = {"restart": "reboot: Restarting system", "halt": "reboot: System halted",
            "power_off": "reboot: Power down"}


@syscall("reboot")
async def reboot(task, magic1: "Hex", magic2: "Hex", cmd: "Hex", arg: "Ptr") -> int:
    """Reboot, halt or power off (never returns then), or switch Ctrl-Alt-Del handling."""
    if not capable(task.creds, CAP_SYS_BOOT):
        raise Errno(EPERM)
    magic1, magic2, cmd = magic1 & 0xFFFF_FFFF, magic2 & 0xFFFF_FFFF, cmd & 0xFFFF_FFFF
    if magic1 != LINUX_REBOOT_MAGIC1 or magic2 not in MAGIC2:
        raise Errno(EINVAL)
    kernel = task.kernel
    if cmd == LINUX_REBOOT_CMD_CAD_ON:
        kernel.ctrl_alt_del_reboots = True      # the key reboots at once (Linux's C_A_D = 1)
        return 0
    if cmd == LINUX_REBOOT_CMD_CAD_OFF:
        kernel.ctrl_alt_del_reboots = False     # the key sends SIGINT to init
        return 0
    if cmd in (LINUX_REBOOT_CMD_RESTART, LINUX_REBOOT_CMD_RESTART2):
        how = "restart"
    elif cmd == LINUX_REBOOT_CMD_HALT:
        how = "halt"
    elif cmd == LINUX_REBOOT_CMD_POWER_OFF:
        how = "power_off"
    else:
        raise Errno(EINVAL)             # SW_SUSPEND and KEXEC: not configured here, as in a kernel without them
    sync_filesystems(kernel)
    log.info("%s", MESSAGES[how])
    kernel.power_off(restart=how == "restart")
    raise TaskExit(0)


def sync_filesystems(kernel: Kernel) -> None:
    """Flush every mounted filesystem that keeps dirty state (ksys_sync before a power off)."""
    root_fs = kernel.root_fs
    if root_fs is None:
        return
    seen = set()
    for mount in root_fs.ns.mounts():
        sb = mount.sb
        if id(sb) in seen or sb.read_only:
            continue
        seen.add(id(sb))
        try:
            sb.sync()                   # nothing to do for a memory filesystem
        except Exception as e:          # a flush that fails must not keep the machine up
            log.warning("reboot: flushing %s: %s", sb.fstype, e)
