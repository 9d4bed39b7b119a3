"""The vDSO image: guest_stub/vdso.S linked into build/guest_stub/vdso.so.

It exports `__kernel_rt_sigreturn` (version LINUX_2.6.39), where a signal handler
installed without SA_RESTORER returns to (glibc on arm64 never passes SA_RESTORER), and
the clock calls `__kernel_clock_gettime`, `__kernel_gettimeofday`, `__kernel_clock_getres`,
which read the counter and the [vvar] page below the image (proc/vvar.py writes it).
This module knows the file and its layout; proc/vdso.py reads it (with loader/elf.py)
and maps it into address spaces.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VDSO_PATH = Path(__file__).resolve().parents[3] / "build" / "guest_stub" / "vdso.so"
SIGRETURN_SYMBOL = "__kernel_rt_sigreturn"
# Linux 6.1 arm64 maps the vDSO's data right below its text: VVAR_NR_PAGES pages (the
# vdso_data page and the time-namespace page), read-only. vdso.lds puts _vdso_data there.
VVAR_PAGES = 2


@dataclass(frozen=True)
class VdsoImage:
    data: bytes           # the PT_LOAD contents (from file offset 0, linked at address 0)
    size: int             # bytes mapped: the PT_LOAD rounded up to pages
    symbols: dict         # exported name -> offset from the base

    def read(self, offset: int, n: int) -> bytes:
        """Vma backing: the image bytes, zeros past the end."""
        return self.data[offset:offset + n]

    @property
    def sigreturn_offset(self) -> int:
        """__kernel_rt_sigreturn's offset from the base."""
        return self.symbols[SIGRETURN_SYMBOL]
