"""The vDSO: guest_stub/vdso.S linked into build/guest_stub/vdso.so, mapped into every new
process image read+exec and announced in auxv as AT_SYSINFO_EHDR.

It exports `__kernel_rt_sigreturn` (version LINUX_2.6.39), where a signal handler
installed without SA_RESTORER returns to (glibc on arm64 never passes SA_RESTORER).
Each process gets private copies of its pages, filled like a file mapping, so the
frames are fresh and TCG's translation cache never sees them rewritten.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from moss_host.addr import page_up
from moss_host.mm.vma import MAP_PRIVATE, PROT_EXEC, PROT_READ, Vma

log = logging.getLogger("moss.vdso")

VDSO_PATH = Path(__file__).resolve().parents[2] / "build" / "guest_stub" / "vdso.so"
VDSO_NAME = "[vdso]"
SIGRETURN_SYMBOL = "__kernel_rt_sigreturn"


@dataclass(frozen=True)
class VdsoImage:
    data: bytes           # the PT_LOAD contents (from file offset 0, linked at address 0)
    size: int             # bytes mapped: the PT_LOAD rounded up to pages
    symbols: dict         # exported name -> offset from the base

    def read(self, offset: int, n: int) -> bytes:
        """Vma backing: the image bytes, zeros past the end."""
        return self.data[offset:offset + n]


@lru_cache(maxsize=None)
def load(path: Path = VDSO_PATH) -> VdsoImage | None:
    """Parse vdso.so once; None (and one warning) if it has not been built."""
    from elftools.elf.elffile import ELFFile
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
    symbols = {sym.name: sym["st_value"] for sym in elf.get_section_by_name(".dynsym").iter_symbols()
               if sym.name and sym["st_shndx"] != "SHN_UNDEF" and sym["st_info"]["type"] == "STT_FUNC"}
    return VdsoImage(raw[:seg["p_filesz"]], page_up(seg["p_memsz"]), symbols)


def map_vdso(mm, image: VdsoImage | None = None) -> int | None:
    """Map the vDSO into mm below the mmap area (where Linux's get_unmapped_area puts it);
    returns its base for AT_SYSINFO_EHDR, or None when there is no vDSO."""
    image = image or load()
    if image is None:
        return None
    base = mm.vmas.find_free(image.size, top=mm.mmap_top)
    mm.add(Vma(base, base + image.size, PROT_READ | PROT_EXEC, MAP_PRIVATE, image, 0, VDSO_NAME))
    mm.vdso_base = base
    return base


def base_of(mm) -> int | None:
    """Where mm has the vDSO (also after fork, which copies the VMA but not attributes)."""
    base = getattr(mm, "vdso_base", None)
    if base is None:
        for vma in mm.vmas:
            if vma.name == VDSO_NAME and vma.offset == 0:
                base = mm.vdso_base = vma.start
                break
    return base


def sigreturn_address(mm) -> int:
    """__kernel_rt_sigreturn in mm (0 if there is no vDSO: the handler's return faults)."""
    image = load()
    base = base_of(mm)
    if image is None or base is None:
        return 0
    return base + image.symbols[SIGRETURN_SYMBOL]


