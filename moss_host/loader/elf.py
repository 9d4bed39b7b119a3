"""Parse an AArch64 ELF executable into what exec needs, and plan its page-by-page mapping.

Pure logic: no address space, no QEMU.  `parse_elf` checks the file the way Linux's
load_elf_binary / elf_read_phdrs do (and a little stricter where Linux would only fail
later, at mmap time), and raises ElfError with a sentence a user can read.  The mm
layer turns the result into VMAs, using `choose_load_bias` for position-independent
images and `segment_pages` for the exact bytes each page starts with.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

from moss_host.addr import PAGE_SIZE, USER_VA_END, UA, page_down, page_up

EM_AARCH64 = 183
ET_EXEC, ET_DYN = 2, 3
PT_LOAD, PT_INTERP, PT_PHDR, PT_GNU_STACK = 1, 3, 6, 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4
ELF64_EHDR_SIZE = 64
ELF64_PHDR_SIZE = 56
PN_XNUM = 0xFFFF
PATH_MAX = 4096
# elf_read_phdrs(): the whole table must fit in ELF_MIN_ALIGN (one page) and 64 KiB.
MAX_PHDR_TABLE = min(PAGE_SIZE, 65536)

# Where position-independent images go (see choose_load_bias).
# Linux arm64: ELF_ET_DYN_BASE = 2 * DEFAULT_MAP_WINDOW_64 / 3 = 0xAAAA_AAAA_AAAA for a
# 48-bit VA, which load_elf_binary then aligns down to the image's largest p_align;
# arm64 toolchains link with 64 KiB max-page-size, hence ...A_0000.
DEFAULT_PIE_BASE = 0xAAAA_AAAA_0000
# Linux places the interpreter with an ordinary top-down mmap just below mmap_base
# (TASK_SIZE minus the stack gap), which lands ld.so around 0xffff_xxxx_x000.  We use a
# fixed spot 2 GiB below the top of user space: above anything brk or a PIE will
# reach, and leaving room for the stack (8 MiB rlimit, guard gap) above it.
DEFAULT_INTERP_BASE = 0xFFFF_8000_0000

_MACHINES = {3: "x86 (i386)", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 40: "ARM (32-bit)",
             62: "x86-64", 243: "RISC-V", 258: "LoongArch"}
_TYPES = {0: "ET_NONE (no file type)", 1: "ET_REL (a relocatable object, not linked)",
          4: "ET_CORE (a core dump)"}


class ElfError(Exception):
    """The file is not an ELF image this kernel can execute; the message says why (exec returns ENOEXEC)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One PT_LOAD: [vaddr, vaddr+memsz) gets file[file_offset, file_offset+filesz), rest zero.

    vaddr is unbiased (add the load bias for ET_DYN images).
    """
    vaddr: int
    memsz: int
    file_offset: int
    filesz: int
    readable: bool
    writable: bool
    executable: bool
    align: int = PAGE_SIZE


@dataclass(frozen=True, slots=True)
class ElfImage:
    kind: str                   # "exec" (ET_EXEC, loads at its vaddrs) or "dyn" (ET_DYN: PIE, ld.so)
    entry: int                  # e_entry, unbiased
    segments: list[Segment]     # PT_LOADs in ascending vaddr order
    phdr_vaddr: int | None      # unbiased address of the program headers in memory (AT_PHDR - bias);
                                # None if no PT_LOAD maps them and there is no PT_PHDR
    phent: int                  # e_phentsize (always 56)
    phnum: int                  # e_phnum
    interp: bytes | None        # PT_INTERP path without its NUL, e.g. b"/lib/ld-linux-aarch64.so.1"
    stack_executable: bool      # PT_GNU_STACK has PF_X (no PT_GNU_STACK: not executable on arm64)
    min_vaddr: int              # page_down(lowest PT_LOAD vaddr), unbiased
    max_vaddr: int              # page_up(highest PT_LOAD vaddr + memsz), unbiased
    max_align: int              # largest PT_LOAD p_align, at least PAGE_SIZE
    file_size: int


@dataclass(frozen=True, slots=True)
class PageFill:
    """How one page of a segment starts life: copy file bytes in, zero everything else.

    The page at `va` receives file[file_offset : file_offset+length] at byte
    `page_offset`; every byte of the page outside [page_offset, page_offset+length) is
    zero.  length == 0 means an all-zero (bss) page.
    """
    va: UA
    file_offset: int
    length: int
    page_offset: int

    def zero_ranges(self) -> list[tuple[int, int]]:
        """(offset, length) pairs within the page that must be zero."""
        if self.length == 0:
            return [(0, PAGE_SIZE)]
        out = []
        if self.page_offset:
            out.append((0, self.page_offset))
        end = self.page_offset + self.length
        if end < PAGE_SIZE:
            out.append((end, PAGE_SIZE - end))
        return out


# The fields exec reads, straight from the bytes: e_type, e_entry, e_phoff (Elf64_Ehdr at
# offsets 16, 24, 32) and each Elf64_Phdr (p_type, p_flags, p_offset, p_vaddr, p_paddr,
# p_filesz, p_memsz, p_align). _check_ident_and_header has checked that they all lie in
# the file, so unpacking cannot fail: one unpack per header, no parser objects per exec.
_EHDR = struct.Struct("<H6xQQ")          # e_type, (e_machine, e_version), e_entry, e_phoff
_PHDR = struct.Struct("<IIQQQQQQ")


class _Phdr(NamedTuple):
    p_type: int
    p_flags: int
    p_offset: int
    p_vaddr: int
    p_paddr: int
    p_filesz: int
    p_memsz: int
    p_align: int


def parse_elf(data: bytes) -> ElfImage:
    """Check and describe an AArch64 ELF64 executable or shared object; ElfError if unusable."""
    _check_ident_and_header(data)
    e_type, e_entry, e_phoff = _EHDR.unpack_from(data, 16)
    e_phnum = int.from_bytes(data[56:58], "little")
    phdrs = [_Phdr._make(_PHDR.unpack_from(data, e_phoff + i * ELF64_PHDR_SIZE)) for i in range(e_phnum)]

    segments: list[Segment] = []
    interp = None
    phdr_from_pt_phdr = None
    phdr_from_load = None
    stack_exec = False
    for i, ph in enumerate(phdrs):
        kind = ph.p_type
        if kind == PT_LOAD:
            seg = _check_load(i, ph, len(data))
            segments.append(seg)
            # load_elf_binary: the PT_LOAD whose file range holds e_phoff maps the phdrs
            # (no break in Linux's loop: the last such segment wins).
            if ph.p_offset <= e_phoff < ph.p_offset + ph.p_filesz:
                phdr_from_load = e_phoff - ph.p_offset + ph.p_vaddr
        elif kind == PT_INTERP and interp is None:   # Linux uses the first PT_INTERP
            interp = _read_interp(i, ph, data)
        elif kind == PT_PHDR and phdr_from_pt_phdr is None:
            phdr_from_pt_phdr = ph.p_vaddr
        elif kind == PT_GNU_STACK:
            stack_exec = bool(ph.p_flags & PF_X)

    if not segments:
        raise ElfError("no PT_LOAD segment: nothing to load")
    segments.sort(key=lambda s: s.vaddr)
    _check_overlaps(segments)
    live = [s for s in segments if s.memsz]
    if not live:
        raise ElfError("every PT_LOAD segment is empty (p_memsz == 0)")
    return ElfImage(
        kind="exec" if e_type == ET_EXEC else "dyn",
        entry=e_entry,
        segments=segments,
        # Linux (since 5.18) derives AT_PHDR from the PT_LOAD that maps e_phoff and
        # ignores PT_PHDR; we only fall back to PT_PHDR when no PT_LOAD maps the table.
        phdr_vaddr=phdr_from_load if phdr_from_load is not None else phdr_from_pt_phdr,
        phent=ELF64_PHDR_SIZE,
        phnum=e_phnum,
        interp=interp,
        stack_executable=stack_exec,
        min_vaddr=page_down(live[0].vaddr),
        max_vaddr=page_up(max(s.vaddr + s.memsz for s in live)),
        max_align=max([PAGE_SIZE] + [s.align for s in segments]),
        file_size=len(data),
    )


_SHDR = struct.Struct("<IIQQQQIIQQ")     # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, ...
_SYM = struct.Struct("<IBBHQQ")         # st_name, st_info, st_other, st_shndx, st_value, st_size
SHT_DYNSYM = 11
STT_FUNC = 2


def dynamic_functions(data: bytes) -> dict[str, int]:
    """The defined functions of an image's .dynsym (the section of type SHT_DYNSYM) by name,
    with their values (st_value); ElfError if the file has none or is cut short. (The vDSO's
    symbols: exec itself never reads sections.)"""
    try:
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        headers = [_SHDR.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
        dynsym = next((h for h in headers if h[1] == SHT_DYNSYM), None)
        if dynsym is None or dynsym[6] >= shnum:
            raise ElfError("no .dynsym")
        strtab = headers[dynsym[6]]
        strings = data[strtab[4]:strtab[4] + strtab[5]]
        functions = {}
        for offset in range(dynsym[4], dynsym[4] + dynsym[5], _SYM.size):
            name, info, _, shndx, value, _ = _SYM.unpack_from(data, offset)
            if name and shndx != 0 and info & 0xF == STT_FUNC:
                functions[strings[name:strings.index(b"\0", name)].decode()] = value
    except (struct.error, ValueError) as e:     # (cut short, or an index past the end)
        raise ElfError(f"a broken section table or .dynsym ({e})") from None
    return functions


def choose_load_bias(image: ElfImage, mmap_base_hint: int = DEFAULT_PIE_BASE) -> int:
    """The amount to add to every vaddr of `image`: 0 for ET_EXEC.

    For ET_DYN (a static-PIE, a PIE run through ld.so, or ld.so itself) the image's
    lowest page goes at `mmap_base_hint` rounded down to the image's largest p_align,
    as load_elf_binary does with ELF_ET_DYN_BASE.  Pass DEFAULT_PIE_BASE for the main
    program and DEFAULT_INTERP_BASE for the interpreter.
    """
    if image.kind == "exec":
        return 0
    align = image.max_align
    base = mmap_base_hint & ~(align - 1)
    bias = base - (image.min_vaddr & ~(align - 1))
    if bias < 0 or bias + image.max_vaddr > USER_VA_END:
        raise ElfError(f"image of {image.max_vaddr - image.min_vaddr:#x} bytes does not fit at {mmap_base_hint:#x}")
    return bias


@dataclass(frozen=True, slots=True)
class CodeAndData:
    """mm->start_code/end_code/start_data/end_data as load_elf_binary sets them (/proc/pid/stat):
    the lowest and highest file end of the executable PT_LOADs, the highest PT_LOAD's vaddr
    and the highest file end of any, all biased."""
    start_code: int
    end_code: int
    start_data: int
    end_data: int


def code_and_data(image: ElfImage, bias: int) -> CodeAndData:
    """Linux's figures for the main program (start_code stays ~0 + bias without an executable
    segment, wrapping as the kernel's unsigned arithmetic does)."""
    code = [s for s in image.segments if s.executable]
    start_code = min((s.vaddr for s in code), default=(1 << 64) - 1)
    end_code = max((s.vaddr + s.filesz for s in code), default=0)
    start_data = max([0] + [s.vaddr for s in image.segments])
    end_data = max([0] + [s.vaddr + s.filesz for s in image.segments])
    mask = (1 << 64) - 1
    return CodeAndData((start_code + bias) & mask, (end_code + bias) & mask, (start_data + bias) & mask,
                       (end_data + bias) & mask)


@dataclass(frozen=True, slots=True)
class SegmentExtent:
    """Where one PT_LOAD lands, page-aligned, as load_elf_binary maps it: elf_map maps the
    file over [start, file_end) (to the page holding p_filesz's end, whose tail reads as
    zeros: padzero), set_brk adds anonymous memory over [file_end, end) for the rest of
    the bss. An empty range is not mapped."""
    start: int
    file_end: int
    end: int


def segment_extent(seg: Segment, bias: int) -> SegmentExtent:
    """The extent of `seg` loaded at `bias`. A segment without file bytes is all anonymous
    from its first page (Linux would leave a mid-page start unmapped and fail in padzero)."""
    start = page_down(seg.vaddr + bias)
    end = page_up(seg.vaddr + bias + seg.memsz) if seg.memsz else start
    file_end = page_up(seg.vaddr + bias + seg.filesz) if seg.filesz else start
    return SegmentExtent(start, file_end, end)


def segment_pages(seg: Segment, bias: int) -> list[PageFill]:
    """The pages of `seg` loaded at `bias`, each with the file bytes it receives.

    As in Linux, the file is mapped from the start of the first page, so bytes of the
    first page below vaddr come from the file too (file_offset - vaddr%PAGE_SIZE on).
    Everything from vaddr+filesz up is zero: the rest of the last file page (Linux's
    padzero, the classic "bss starting mid-page" bug) and whole anonymous pages up to
    vaddr+memsz.  Unlike Linux, the tail of the last file page is zeroed even when
    memsz == filesz (Linux would show the file's following bytes there; nothing may
    rely on bytes outside a segment).
    """
    if bias % PAGE_SIZE:
        raise ValueError(f"load bias {bias:#x} is not page aligned")
    if seg.memsz == 0:
        return []
    start = seg.vaddr + bias
    file_end = start + seg.filesz            # first VA that is not file-backed
    head = start % PAGE_SIZE
    first_file_off = seg.file_offset - head  # file offset that lands at page_down(start)
    pages = []
    for va in range(page_down(start), page_up(start + seg.memsz), PAGE_SIZE):
        copy_end = min(va + PAGE_SIZE, file_end)
        if seg.filesz and copy_end > va:
            pages.append(PageFill(UA(va), first_file_off + (va - page_down(start)), copy_end - va, 0))
        else:
            pages.append(PageFill(UA(va), 0, 0, 0))
    return pages


# ---------------------------------------------------------------------------- checks

def _check_ident_and_header(data: bytes) -> None:
    """Everything about e_ident and the ELF header, before the program headers are read."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("parse_elf wants bytes")
    if len(data) == 0:
        raise ElfError("empty file (0 bytes), not an ELF executable")
    if data[:4] != b"\x7fELF":
        raise ElfError(f"not an ELF file (starts with {bytes(data[:4])!r}, expected b'\\x7fELF')")
    if len(data) < 16:
        raise ElfError(f"truncated ELF identification ({len(data)} bytes)")
    ei_class, ei_data = data[4], data[5]
    if ei_class != 2:
        what = "32-bit (ELFCLASS32)" if ei_class == 1 else f"of unknown class {ei_class}"
        raise ElfError(f"ELF file is {what}; only 64-bit AArch64 is supported")
    if ei_data != 1:
        what = "big-endian (ELFDATA2MSB)" if ei_data == 2 else f"of unknown byte order {ei_data}"
        raise ElfError(f"ELF file is {what}; only little-endian AArch64 is supported")
    if len(data) < ELF64_EHDR_SIZE:
        raise ElfError(f"truncated ELF header ({len(data)} bytes, need {ELF64_EHDR_SIZE})")
    e_type = int.from_bytes(data[16:18], "little")
    e_machine = int.from_bytes(data[18:20], "little")
    if e_machine != EM_AARCH64:
        name = _MACHINES.get(e_machine, "unknown")
        raise ElfError(f"ELF file is for machine {e_machine} ({name}), not AArch64 ({EM_AARCH64})")
    if e_type not in (ET_EXEC, ET_DYN):
        name = _TYPES.get(e_type, f"type {e_type:#x}")
        raise ElfError(f"ELF file is {name}; only ET_EXEC and ET_DYN can be executed")
    e_phoff = int.from_bytes(data[32:40], "little")
    e_phentsize = int.from_bytes(data[54:56], "little")
    e_phnum = int.from_bytes(data[56:58], "little")
    if e_phnum == 0:
        raise ElfError("ELF file has no program headers (e_phnum == 0)")
    if e_phentsize != ELF64_PHDR_SIZE:
        raise ElfError(f"bad program header size e_phentsize={e_phentsize} (ELF64 needs {ELF64_PHDR_SIZE})")
    if e_phnum == PN_XNUM or e_phnum * ELF64_PHDR_SIZE > MAX_PHDR_TABLE:
        raise ElfError(f"too many program headers ({e_phnum}; the table must fit in {MAX_PHDR_TABLE} bytes)")
    if e_phoff + e_phnum * ELF64_PHDR_SIZE > len(data):
        raise ElfError(f"program headers truncated: {e_phnum} entries at offset {e_phoff:#x} "
                       f"run past the end of the {len(data)}-byte file")


def _check_load(i: int, ph: _Phdr, file_size: int) -> Segment:
    where = f"PT_LOAD (program header {i})"
    vaddr, memsz, off, filesz, align = ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz, ph.p_align
    if filesz > memsz:
        raise ElfError(f"{where}: p_filesz {filesz:#x} is larger than p_memsz {memsz:#x}")
    if off + filesz > file_size:
        raise ElfError(f"{where}: file range {off:#x}+{filesz:#x} runs past the end of the {file_size}-byte file")
    if vaddr + memsz > USER_VA_END:
        raise ElfError(f"{where}: [{vaddr:#x}, {vaddr + memsz:#x}) is beyond the user address space")
    if align > 1 and align & (align - 1):
        raise ElfError(f"{where}: p_align {align:#x} is not a power of two")
    if (vaddr - off) % PAGE_SIZE:
        raise ElfError(f"{where}: p_vaddr {vaddr:#x} and p_offset {off:#x} differ in their page offset, "
                       "so the segment cannot be mapped")
    if align > 1 and (vaddr - off) % align:
        raise ElfError(f"{where}: p_vaddr {vaddr:#x} and p_offset {off:#x} are not congruent modulo p_align {align:#x}")
    return Segment(vaddr=vaddr, memsz=memsz, file_offset=off, filesz=filesz,
                   readable=bool(ph.p_flags & PF_R), writable=bool(ph.p_flags & PF_W),
                   executable=bool(ph.p_flags & PF_X), align=max(align, 1))


def _check_overlaps(segments: list[Segment]) -> None:
    prev = None
    for s in segments:
        if s.memsz == 0:
            continue
        if prev is not None and s.vaddr < prev.vaddr + prev.memsz:
            raise ElfError(f"PT_LOAD segments overlap: [{prev.vaddr:#x}, {prev.vaddr + prev.memsz:#x}) "
                           f"and [{s.vaddr:#x}, {s.vaddr + s.memsz:#x})")
        prev = s


def _read_interp(i: int, ph: _Phdr, data: bytes) -> bytes:
    off, size = ph.p_offset, ph.p_filesz
    # load_elf_binary: 2 <= p_filesz <= PATH_MAX, and the string is NUL-terminated.
    if size < 2 or size > PATH_MAX:
        raise ElfError(f"PT_INTERP (program header {i}): bad size {size}")
    if off + size > len(data):
        raise ElfError(f"PT_INTERP (program header {i}): runs past the end of the file")
    raw = bytes(data[off:off + size])
    if raw[-1] != 0:
        raise ElfError(f"PT_INTERP (program header {i}): interpreter path is not NUL-terminated")
    return raw[:raw.index(0)]
