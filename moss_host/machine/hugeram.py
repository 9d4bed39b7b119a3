"""Where guest RAM lives: on 2 MiB host pages when the machine offers them.

QEMU's TCG refills its softmmu TLB by walking the host's page tables, so the host page
size under guest RAM decides how fast user code reaches memory. Guest RAM is a file both
QEMU and the host map; on /dev/shm Debian backs it with 4 KiB pages (`shmem_enabled` is
`never`), while Linux booted in the same QEMU gets transparent huge pages for its anonymous
RAM: a memory-bound user loop ran 1.4-1.7x slower under moss-py for that reason alone.
`scripts/setup.sh` (as root) mounts a tmpfs with `huge=always` at HUGE_RAM_DIR; a tmpfs
mount's own `huge=` option applies whatever `shmem_enabled` says, short of `deny`.
Without that mount, RAM stays in /dev/shm, said once in the log.

The mount asks for huge pages; the host gives them only while it has free 2 MiB blocks.
With THP `defrag` at `madvise` (Debian's default) a fault compacts memory for one only in a
mapping advised MADV_HUGEPAGE: QEMU advises its own mapping of RAM, and `advise_huge` does
the same for the host's, through which the kernel writes fresh frames and the warmer
(machine/ram_warmer.py) faults RAM in. Where a 2 MiB block still cannot be had, the pages
are 4 KiB ones; `huge_mapped` lets the warmer see that and say it once.
"""
from __future__ import annotations

import logging
import mmap
import os
from pathlib import Path

log = logging.getLogger("moss.machine")

HUGE_RAM_DIR = Path("/run/moss-py-ram")
FALLBACK_DIR = Path("/dev/shm")
HUGE_OPTIONS = ("huge=always", "huge=within_size")
HUGE_PAGE = 2 << 20
MADV_POPULATE_WRITE = 23        # Linux 5.14: fault a range in writable, as a write would


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


def advise_huge(ram: mmap.mmap) -> None:
    """Ask for 2 MiB pages (with compaction when the host is short of them) under the host's
    mapping of guest RAM, as QEMU does under its own. Harmless where THP is off."""
    try:
        ram.madvise(mmap.MADV_HUGEPAGE)
    except (OSError, AttributeError):       # no THP in this kernel, or no madvise: 4 KiB pages
        pass


def check_huge(ram: mmap.mmap, folder: Path) -> bool:
    """Advise huge pages under `ram` and fault its top 2 MiB in (the frame pool starts there:
    the kernel writes it first) to see whether the host really gives a 2 MiB page; when it
    does not, say so once. True when it did (or where that cannot be asked)."""
    advise_huge(ram)
    if folder != HUGE_RAM_DIR or len(ram) < HUGE_PAGE:
        return False
    try:
        ram.madvise(MADV_POPULATE_WRITE, len(ram) - HUGE_PAGE, HUGE_PAGE)
    except OSError:                         # before Linux 5.14: the first write faults it in
        return True
    if huge_mapped() >= HUGE_PAGE:
        return True
    log.info("guest RAM on 4 KiB host pages although %s asks for 2 MiB ones: the host has no "
             "free 2 MiB block (memory fragmented; `echo 1 > /proc/sys/vm/compact_memory` as "
             "root may help): memory-bound user code runs slower", HUGE_RAM_DIR)
    return False


def other_guests(folder: Path, own_unnamed: bool) -> int:
    """How many other guests have their RAM in `folder` now (0 where that cannot be told).
    A guest's RAM file is unnamed (O_TMPFILE, machine/qemu.py) but uses one of the tmpfs's
    inodes: the inodes in use that no directory entry names, less the folder's own and ours
    (`own_unnamed`). Only on HUGE_RAM_DIR, which holds nothing else."""
    if folder != HUGE_RAM_DIR:
        return 0
    try:
        st = os.statvfs(folder)
        with os.scandir(folder) as entries:
            named = sum(1 for _ in entries)
    except OSError:
        return 0
    return max(0, st.f_files - st.f_ffree - 1 - named - own_unnamed)


def huge_mapped() -> int:
    """Bytes of shared memory this process maps with 2 MiB entries (ShmemPmdMapped):
    of the host's mapping of guest RAM, the part on huge pages."""
    try:
        with open("/proc/self/smaps_rollup") as f:
            for line in f:
                if line.startswith("ShmemPmdMapped:"):
                    return int(line.split()[1]) << 10
    except (OSError, ValueError, IndexError):
        pass
    return -1
