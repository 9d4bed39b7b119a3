"""/sys/kernel and /sys/fs: the few kernel-wide attributes tools read, and /sys/fs/cgroup,
the empty directory a cgroup2 filesystem is mounted on (there are no cgroups yet).

Transparent huge pages do not exist in moss-py: `enabled` says never."""
from __future__ import annotations

from .nodes import SysDir

HPAGE_PMD_SIZE = 2 << 20        # a PMD maps 2 MiB with 4 KiB pages


def build_kernel(root: SysDir) -> None:
    kernel = root.subdir(b"kernel")
    kernel.add_text(b"uevent_seqnum", "0")
    kernel.add_text(b"fscaps", "1")
    kernel.add_text(b"profiling", "0", 0o644)
    thp = kernel.subdir(b"mm/transparent_hugepage")
    thp.add_text(b"enabled", "always madvise [never]", 0o644)
    thp.add_text(b"defrag", "always defer defer+madvise madvise [never]", 0o644)
    thp.add_text(b"hpage_pmd_size", str(HPAGE_PMD_SIZE))
    thp.add_text(b"use_zero_page", "1", 0o644)
    thp.add_text(b"shmem_enabled", "always within_size advise [never] deny force", 0o644)


def build_fs(root: SysDir) -> None:
    root.subdir(b"fs/cgroup", 0o555)
