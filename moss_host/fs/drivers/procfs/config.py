"""/proc/config.gz (CONFIG_IKCONFIG_PROC): the kernel configuration, gzip-compressed, as a
harness reads it (`zcat /proc/config.gz | grep ^CONFIG_`): what moss-py implements is `=y`,
what it answers as a kernel built without is `# CONFIG_X is not set`.

The list is kept by hand here (procfs sits below syscalls/, which records the syscalls it
answers "as a kernel without CONFIG_X" in syscalls/not_configured.py); the unit test
tests/unit/test_proc_config.py checks that every CONFIG_ named there is "not set" here.
"""
from __future__ import annotations

import gzip

# (symbol, value): "y", a number or a quoted string; None for "is not set".
OPTIONS: list[tuple[str, object]] = [
    ("CONFIG_ARM64", "y"), ("CONFIG_64BIT", "y"), ("CONFIG_MMU", "y"),
    ("CONFIG_ARM64_4K_PAGES", "y"), ("CONFIG_ARM64_VA_BITS_48", "y"), ("CONFIG_ARM64_VA_BITS", 48),
    ("CONFIG_ARM64_TAGGED_ADDR_ABI", None), ("CONFIG_COMPAT", None),
    ("CONFIG_SMP", "y"), ("CONFIG_NR_CPUS", 256), ("CONFIG_HZ_250", "y"), ("CONFIG_HZ", 250),
    ("CONFIG_LOCALVERSION", '""'), ("CONFIG_DEFAULT_HOSTNAME", '"(none)"'),
    ("CONFIG_MODULES", None), ("CONFIG_KEXEC", None), ("CONFIG_KEXEC_FILE", None), ("CONFIG_SWAP", None),
    ("CONFIG_UCLAMP_TASK", None),
    # process and credentials
    ("CONFIG_MULTIUSER", "y"), ("CONFIG_FUTEX", "y"), ("CONFIG_FUTEX_PI", "y"), ("CONFIG_RSEQ", "y"),
    ("CONFIG_POSIX_TIMERS", "y"), ("CONFIG_HIGH_RES_TIMERS", "y"), ("CONFIG_MEMBARRIER", "y"),
    ("CONFIG_CHECKPOINT_RESTORE", None), ("CONFIG_KCMP", "y"), ("CONFIG_CROSS_MEMORY_ATTACH", "y"),
    ("CONFIG_PROC_PID_CPUSET", None), ("CONFIG_SECCOMP", "y"), ("CONFIG_SECCOMP_FILTER", "y"), ("CONFIG_NAMESPACES", None),
    ("CONFIG_USER_NS", None), ("CONFIG_CGROUPS", None), ("CONFIG_PERF_EVENTS", None),
    ("CONFIG_BPF_SYSCALL", None), ("CONFIG_BSD_PROCESS_ACCT", "y"), ("CONFIG_BSD_PROCESS_ACCT_V3", "y"), ("CONFIG_TASK_IO_ACCOUNTING", None),
    ("CONFIG_SECURITY", None), ("CONFIG_SECURITY_YAMA", None), ("CONFIG_SECURITY_LANDLOCK", None),
    ("CONFIG_KEYS", None), ("CONFIG_AUDIT", None), ("CONFIG_PRINTK", "y"), ("CONFIG_SECURITY_DMESG_RESTRICT", "y"),
    # IPC and event files
    ("CONFIG_SYSVIPC", "y"), ("CONFIG_SYSVIPC_SYSCTL", "y"), ("CONFIG_POSIX_MQUEUE", "y"),
    ("CONFIG_POSIX_MQUEUE_SYSCTL", "y"), ("CONFIG_EPOLL", "y"), ("CONFIG_SIGNALFD", "y"),
    ("CONFIG_TIMERFD", "y"), ("CONFIG_EVENTFD", "y"), ("CONFIG_AIO", "y"), ("CONFIG_IO_URING", None),
    ("CONFIG_ADVISE_SYSCALLS", "y"), ("CONFIG_MEMFD_CREATE", "y"), ("CONFIG_SECRETMEM", None),
    ("CONFIG_USERFAULTFD", None), ("CONFIG_NUMA", None), ("CONFIG_ARCH_HAS_PKEYS", None),
    # files
    ("CONFIG_FILE_LOCKING", "y"), ("CONFIG_FHANDLE", "y"), ("CONFIG_INOTIFY_USER", "y"),
    ("CONFIG_FANOTIFY", None), ("CONFIG_DNOTIFY", None), ("CONFIG_QUOTA", None), ("CONFIG_QUOTACTL", None),
    ("CONFIG_PROC_FS", "y"), ("CONFIG_PROC_SYSCTL", "y"), ("CONFIG_PROC_PAGE_MONITOR", "y"),
    ("CONFIG_IKCONFIG", "y"), ("CONFIG_IKCONFIG_PROC", "y"), ("CONFIG_SYSFS", "y"),
    ("CONFIG_DEVTMPFS", "y"), ("CONFIG_DEVTMPFS_MOUNT", "y"), ("CONFIG_TMPFS", "y"), ("CONFIG_TMPFS_XATTR", "y"),
    ("CONFIG_EXT4_FS", "y"), ("CONFIG_VFAT_FS", "y"), ("CONFIG_FAT_FS", "y"), ("CONFIG_BLK_DEV", "y"),
    ("CONFIG_BLK_DEV_LOOP", "y"), ("CONFIG_VIRTIO_BLK", "y"),
    # terminals
    ("CONFIG_TTY", "y"), ("CONFIG_UNIX98_PTYS", "y"), ("CONFIG_LEGACY_PTYS", None), ("CONFIG_VT", None),
    # networking: local sockets, IPv4 and IPv6 (TCP, UDP, ping), netlink
    ("CONFIG_NET", "y"), ("CONFIG_UNIX", "y"), ("CONFIG_UNIX_SCM", "y"), ("CONFIG_AF_UNIX_OOB", "y"),
    ("CONFIG_INET", "y"), ("CONFIG_IPV6", "y"), ("CONFIG_PACKET", None), ("CONFIG_NETLINK_DIAG", None),
]


def config_text() -> bytes:
    lines = ["#", "# Automatically generated file; DO NOT EDIT.", "# Linux/arm64 6.1.0 Kernel Configuration (moss-py)",
             "#"]
    for name, value in OPTIONS:
        lines.append(f"# {name} is not set" if value is None else f"{name}={value}")
    return ("\n".join(lines) + "\n").encode()


def config_gz() -> bytes:
    """The compressed file, the same bytes at every read (mtime 0)."""
    return gzip.compress(config_text(), mtime=0)
