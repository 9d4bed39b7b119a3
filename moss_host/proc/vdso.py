"""The vDSO in a process: mapped into every new process image read+exec (below the mmap
area, where Linux's get_unmapped_area puts it) and announced in auxv as AT_SYSINFO_EHDR.

The image itself is arch/arm64/vdso.py's. Each process gets private copies of its pages,
filled like a file mapping, so the frames are fresh and TCG's translation cache never
sees them rewritten.
"""
from __future__ import annotations

from moss_host.arch.arm64 import vdso as arm64_vdso
from moss_host.arch.arm64.vdso import VdsoImage
from moss_host.mm.address_space import AddressSpace
from moss_host.mm.backing import Backing
from moss_host.mm.vma import MAP_PRIVATE, PROT_EXEC, PROT_READ, Vma

VDSO_NAME = "[vdso]"


def map_vdso(mm: AddressSpace, image: VdsoImage | None = None) -> int | None:
    """Map the vDSO into mm; returns its base for AT_SYSINFO_EHDR, or None when there is
    no vDSO."""
    image = image or arm64_vdso.load()
    if image is None:
        return None
    base = mm.vmas.find_free(image.size, top=mm.mmap_top)
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


def sigreturn_address(mm: AddressSpace) -> int:
    """__kernel_rt_sigreturn in mm (0 if there is no vDSO: the handler's return faults)."""
    image = arm64_vdso.load()
    if image is None or mm.vdso_base is None:
        return 0
    return mm.vdso_base + image.sigreturn_offset
