"""Where guest RAM lives: on 2 MiB host pages when the machine offers them.

QEMU's TCG refills its softmmu TLB by walking the host's page tables, so the host page
size under guest RAM decides how fast user code reaches memory. Guest RAM is a file both
QEMU and the host map; on /dev/shm Debian backs it with 4 KiB pages (`shmem_enabled` is
`never`), while Linux booted in the same QEMU gets transparent huge pages for its anonymous
RAM: a memory-bound user loop ran 1.4-1.7x slower under moss-py for that reason alone.
`scripts/setup.sh` (as root) mounts a tmpfs with `huge=always` at HUGE_RAM_DIR; a tmpfs
mount's own `huge=` option applies whatever `shmem_enabled` says, short of `deny`.
Without that mount, RAM stays in /dev/shm, said once in the log.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("moss.machine")

HUGE_RAM_DIR = Path("/run/moss-py-ram")
FALLBACK_DIR = Path("/dev/shm")
HUGE_OPTIONS = ("huge=always", "huge=within_size")


def mounted_huge(path: Path, mounts: str) -> bool:
    """Whether `mounts` (the text of /proc/self/mounts) has a tmpfs at `path` giving huge pages."""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[1] == str(path) and fields[2] == "tmpfs":
            return any(opt in HUGE_OPTIONS for opt in fields[3].split(","))
    return False


def _shmem_policy() -> str:
    try:
        text = Path("/sys/kernel/mm/transparent_hugepage/shmem_enabled").read_text()
    except OSError:
        return "unsupported"
    return next((w[1:-1] for w in text.split() if w.startswith("[")), "unknown")


def guest_ram_dir() -> Path:
    """The folder for the guest RAM file: the huge-page tmpfs when usable, else /dev/shm."""
    try:
        mounts = Path("/proc/self/mounts").read_text()
    except OSError:
        mounts = ""
    if mounted_huge(HUGE_RAM_DIR, mounts) and os.access(HUGE_RAM_DIR, os.W_OK | os.X_OK):
        return HUGE_RAM_DIR
    log.info("guest RAM on 4 KiB host pages (no huge-page tmpfs at %s; shmem THP %s): "
             "memory-bound user code runs slower; scripts/setup.sh as root mounts one",
             HUGE_RAM_DIR, _shmem_policy())
    return FALLBACK_DIR if FALLBACK_DIR.is_dir() else Path(os.environ.get("TMPDIR", "/tmp"))
