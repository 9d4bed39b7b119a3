"""The vDSO in a process: mapped into every new process image read+exec (below the mmap
area, where Linux's get_unmapped_area puts it) and announced in auxv as AT_SYSINFO_EHDR,
with its data pages ([vvar], read-only and never writable) right below it, as Linux
arm64's __setup_additional_pages lays them out.

The image itself is arch/arm64/vdso.py's. Each process gets private copies of its pages,
filled like a file mapping, so the frames are fresh and TCG's translation cache never
sees them rewritten. The first [vvar] page is the machine's one data page (proc/vvar.py),
the same frame in every process; the second (Linux's time-namespace page) reads as zeros.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Optional

from moss_host.addr import PA, PAGE_SIZE, page_up
from moss_host.arch.arm64.vdso import VDSO_PATH, VVAR_PAGES, VdsoImage
from moss_host.loader.elf import ElfError, dynamic_functions, parse_elf
from moss_host.mm.address_space import AddressSpace
from moss_host.mm.backing import Backing
from moss_host.mm.vma import MAP_PRIVATE, PROT_EXEC, PROT_READ, Vma

from .vvar import Vvar, vvar_of

log = logging.getLogger("moss.vdso")

VDSO_NAME = "[vdso]"
VVAR_NAME = "[vvar]"
VVAR_SIZE = VVAR_PAGES * PAGE_SIZE


@lru_cache(maxsize=None)
def load_image(path: Path = VDSO_PATH) -> VdsoImage | None:
    """Read vdso.so once (loader/elf.py: its PT_LOAD and its .dynsym, not pyelftools, whose
    import took 20-25 ms of every boot); None (and one warning) if it has not been built."""
    try:
        raw = path.read_bytes()
    except OSError:
        log.warning("no vDSO at %s (run `just stub`): signal handlers need SA_RESTORER", path)
        return None
    try:
        image = parse_elf(raw)
        symbols = dynamic_functions(raw)
    except ElfError as e:
        raise ValueError(f"{path}: a broken ELF file ({e}): rebuild it with `just stub`") from None
    segments = image.segments
    if len(segments) != 1 or segments[0].vaddr != 0 or segments[0].file_offset != 0:
        raise ValueError(f"{path}: expected one PT_LOAD at address 0")
    return VdsoImage(raw[:segments[0].filesz], page_up(segments[0].memsz), symbols)


def map_vdso(mm: AddressSpace, image: VdsoImage | None = None) -> int | None:
    """Map [vvar] and the vDSO above it into mm; returns the vDSO's base for
    AT_SYSINFO_EHDR, or None when there is no vDSO."""
    image = image or load_image()
    if image is None:
        return None
    vvar = mm.vmas.find_free(VVAR_SIZE + image.size, top=mm.mmap_top)
    # Pages that mprotect can never make writable or executable (VM_READ|VM_MAYREAD only).
    mm.add(Vma(vvar, vvar + VVAR_SIZE, PROT_READ, MAP_PRIVATE, _VvarPages(vvar_of(mm.mem)), 0, VVAR_NAME,
               max_prot=PROT_READ))
    base = vvar + VVAR_SIZE
    mm.add(Vma(base, base + image.size, PROT_READ | PROT_EXEC, MAP_PRIVATE, _VdsoPages(image), 0, VDSO_NAME))
    mm.vdso_base = base
    return base


class _VdsoPages(Backing):
    """The vDSO image as a VMA's backing (private pages, filled from the image)."""
    name = VDSO_NAME

    def __init__(self, image: VdsoImage):
        self.image = image

    def read(self, offset: int, n: int) -> bytes:
        return self.image.read(offset, n)


class _VvarPages(Backing):
    """[vvar] as a VMA's backing: the data page shared by all, then a page of zeros."""
    name = VVAR_NAME

    def __init__(self, vvar: Vvar):
        self.vvar = vvar

    def shared_frame(self, offset: int) -> Optional[PA]:
        return self.vvar.pa if offset == 0 else None

    def read(self, offset: int, n: int) -> bytes:
        return bytes(n)


def sigreturn_address(mm: AddressSpace) -> int:
    """__kernel_rt_sigreturn in mm (0 if there is no vDSO: the handler's return faults)."""
    image = load_image()
    if image is None or mm.vdso_base is None:
        return 0
    return mm.vdso_base + image.sigreturn_offset
