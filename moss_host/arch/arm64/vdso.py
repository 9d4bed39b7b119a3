"""The vDSO image: guest_stub/vdso.S linked into build/guest_stub/vdso.so.

It exports `__kernel_rt_sigreturn` (version LINUX_2.6.39), where a signal handler
installed without SA_RESTORER returns to (glibc on arm64 never passes SA_RESTORER), and
the clock calls `__kernel_clock_gettime`, `__kernel_gettimeofday`, `__kernel_clock_getres`,
which read the counter and the [vvar] page below the image (proc/vvar.py writes it).
This module knows the file and its layout; proc/vdso.py maps it into address spaces.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from moss_host.addr import page_up

log = logging.getLogger("moss.vdso")

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


@lru_cache(maxsize=None)
def load(path: Path = VDSO_PATH) -> VdsoImage | None:
    """Parse vdso.so once; None (and one warning) if it has not been built."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection
    try:
        raw = path.read_bytes()
    except OSError:
        log.warning("no vDSO at %s (run `just stub`): signal handlers need SA_RESTORER", path)
        return None
    elf = ELFFile(io.BytesIO(raw))
    loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
    if len(loads) != 1 or loads[0]["p_vaddr"] != 0 or loads[0]["p_offset"] != 0:
        raise ValueError(f"{path}: expected one PT_LOAD at address 0")
    seg = loads[0]
    dynsym = elf.get_section_by_name(".dynsym")
    if not isinstance(dynsym, SymbolTableSection):
        raise ValueError(f"{path}: no .dynsym")
    symbols = {sym.name: sym["st_value"] for sym in dynsym.iter_symbols()
               if sym.name and sym["st_shndx"] != "SHN_UNDEF" and sym["st_info"]["type"] == "STT_FUNC"}
    return VdsoImage(raw[:seg["p_filesz"]], page_up(seg["p_memsz"]), symbols)
