"""The vDSO image: guest_stub/vdso.S linked into build/guest_stub/vdso.so.

It exports `__kernel_rt_sigreturn` (version LINUX_2.6.39), where a signal handler
installed without SA_RESTORER returns to (glibc on arm64 never passes SA_RESTORER), and
the clock calls `__kernel_clock_gettime`, `__kernel_gettimeofday`, `__kernel_clock_getres`,
which read the counter and the [vvar] page below the image (proc/vvar.py writes it).
This module knows the file and its layout; proc/vdso.py maps it into address spaces.
"""
from __future__ import annotations

import logging
import struct
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
    try:
        raw = path.read_bytes()
    except OSError:
        log.warning("no vDSO at %s (run `just stub`): signal handlers need SA_RESTORER", path)
        return None
    if raw[:4] != b"\x7fELF":
        raise ValueError(f"{path}: not an ELF file")
    try:
        loads = program_loads(raw)
        symbols = dynamic_functions(raw, path)
    except (struct.error, ValueError) as e:     # (cut short, or an index past the end)
        raise ValueError(f"{path}: a broken ELF file ({e}): rebuild it with `just stub`") from None
    if len(loads) != 1 or loads[0][1] != 0 or loads[0][0] != 0:
        raise ValueError(f"{path}: expected one PT_LOAD at address 0")
    _, _, filesz, memsz = loads[0]
    return VdsoImage(raw[:filesz], page_up(memsz), symbols)


# Read here with struct, not pyelftools: importing that took 20-25 ms of every boot.
_PHDR = struct.Struct("<IIQQQQQQ")      # p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align
_SHDR = struct.Struct("<IIQQQQIIQQ")     # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, ...
_SYM = struct.Struct("<IBBHQQ")         # st_name, st_info, st_other, st_shndx, st_value, st_size
PT_LOAD = 1
SHT_DYNSYM = 11
STT_FUNC = 2


def program_loads(raw: bytes) -> list[tuple[int, int, int, int]]:
    """(p_offset, p_vaddr, p_filesz, p_memsz) of each PT_LOAD."""
    phoff, = struct.unpack_from("<Q", raw, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", raw, 0x36)
    headers = [_PHDR.unpack_from(raw, phoff + i * phentsize) for i in range(phnum)]
    return [(h[2], h[3], h[5], h[6]) for h in headers if h[0] == PT_LOAD]


def dynamic_functions(raw: bytes, path: Path) -> dict[str, int]:
    """The defined functions of the image's .dynsym (the section of type SHT_DYNSYM), by
    name: their offsets from the base."""
    shoff, = struct.unpack_from("<Q", raw, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", raw, 0x3A)
    headers = [_SHDR.unpack_from(raw, shoff + i * shentsize) for i in range(shnum)]
    dynsym = next((h for h in headers if h[1] == SHT_DYNSYM), None)
    if dynsym is None or dynsym[6] >= shnum:
        raise ValueError(f"{path}: no .dynsym")
    strtab = headers[dynsym[6]]
    strings = raw[strtab[4]:strtab[4] + strtab[5]]
    symbols = {}
    for offset in range(dynsym[4], dynsym[4] + dynsym[5], _SYM.size):
        name, info, _, shndx, value, _ = _SYM.unpack_from(raw, offset)
        if name and shndx != 0 and info & 0xF == STT_FUNC:
            symbols[strings[name:strings.index(b"\0", name)].decode()] = value
    return symbols
