"""ELF parsing and page planning (moss_host/loader/elf.py), on real aarch64 binaries and broken ones.

Binaries are compiled here with the aarch64 cross gcc; binutils' readelf is the
independent oracle for program headers.  Malformed inputs must give ElfError with a
readable message, never another exception.
"""
import random
import re
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from moss_host.addr import PAGE_SIZE, page_down, page_up
from moss_host.loader.elf import (
    DEFAULT_INTERP_BASE, DEFAULT_PIE_BASE, ElfError, ElfImage, PageFill, Segment,
    choose_load_bias, parse_elf, segment_pages,
)

REPO = Path(__file__).resolve().parents[2]
CC = "/usr/bin/aarch64-linux-gnu-gcc"
READELF = "/usr/bin/aarch64-linux-gnu-readelf"
LDSO = "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1"

PROGRAM = r"""
char marker[] = "MOSS-DATA-MARKER";
char big_bss[200000];
int main(void) { big_bss[5] = marker[0]; return big_bss[5] == 'M' ? 0 : 1; }
"""

PHDR = struct.Struct("<IIQQQQQQ")  # p_type p_flags p_offset p_vaddr p_paddr p_filesz p_memsz p_align


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("elf")
    src = d / "prog.c"
    src.write_text(PROGRAM)
    out = {}
    for name, flags in [("static", ["-static", "-no-pie"]), ("static_pie", ["-static-pie", "-fPIE"]),
                        ("dynamic", ["-pie", "-fPIE"]), ("object", ["-c"])]:
        out[name] = d / name
        subprocess.run([CC, "-O1", *flags, "-o", str(out[name]), str(src)], check=True)
    return out


@pytest.fixture(scope="module")
def busybox() -> Path:
    """Debian's static arm64 busybox, as scripts/setup.sh (fetch_debs.sh) extracts it."""
    path = REPO / "build" / "debs" / "root" / "bin" / "busybox"
    assert path.exists(), f"{path} is missing: run scripts/setup.sh (it runs scripts/fetch_debs.sh)"
    return path


def readelf_loads(path: Path) -> tuple[int, list[tuple], bytes | None]:
    """(entry, [(offset, vaddr, filesz, memsz, 'RWE')...], interp) from binutils' readelf."""
    text = subprocess.run([READELF, "-lW", str(path)], check=True, capture_output=True, text=True).stdout
    entry = int(re.search(r"Entry point (0x[0-9a-f]+)", text).group(1), 16)
    loads = []
    for m in re.finditer(r"^\s*LOAD\s+(0x\S+)\s+(0x\S+)\s+0x\S+\s+(0x\S+)\s+(0x\S+)\s+([RWE ]{3})", text, re.M):
        loads.append((int(m[1], 16), int(m[2], 16), int(m[3], 16), int(m[4], 16), m[5]))
    im = re.search(r"Requesting program interpreter: ([^\]]+)\]", text)
    return entry, loads, im.group(1).encode() if im else None


def assert_matches_readelf(img: ElfImage, path: Path) -> None:
    entry, loads, interp = readelf_loads(path)
    assert img.entry == entry
    assert img.interp == interp
    got = [(s.file_offset, s.vaddr, s.filesz, s.memsz,
            ("R" if s.readable else " ") + ("W" if s.writable else " ") + ("E" if s.executable else " "))
           for s in img.segments]
    assert got == sorted(loads, key=lambda l: l[1])


def load_into_memory(img: ElfImage, data: bytes, bias: int) -> dict[int, bytearray]:
    """A toy loader following segment_pages to the letter: page VA -> contents."""
    mem = {}
    for seg in img.segments:
        for pf in segment_pages(seg, bias):
            page = bytearray(PAGE_SIZE)
            page[pf.page_offset:pf.page_offset + pf.length] = data[pf.file_offset:pf.file_offset + pf.length]
            mem[pf.va] = page
    return mem


def read_mem(mem: dict[int, bytearray], va: int, n: int) -> bytes:
    out = bytearray()
    while n:
        page = mem[page_down(va)]
        off = va % PAGE_SIZE
        take = min(n, PAGE_SIZE - off)
        out += page[off:off + take]
        va, n = va + take, n - take
    return bytes(out)


def symbol(path: Path, name: str) -> tuple[int, int]:
    with open(path, "rb") as f:
        sym = ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name(name)[0]
        return sym["st_value"], sym["st_size"]


# ---------------------------------------------------------------------- real binaries

def test_static_binary_is_exec_with_no_interp_and_matches_readelf(built):
    img = parse_elf(built["static"].read_bytes())
    assert img.kind == "exec"
    assert img.interp is None
    assert_matches_readelf(img, built["static"])
    assert choose_load_bias(img, DEFAULT_PIE_BASE) == 0
    text = [s for s in img.segments if s.executable]
    assert any(s.vaddr <= img.entry < s.vaddr + s.memsz for s in text)
    with open(built["static"], "rb") as f:
        assert img.phent == 56 and img.phnum == ELFFile(f).num_segments()
    assert img.min_vaddr == page_down(img.segments[0].vaddr)
    assert img.max_vaddr == page_up(max(s.vaddr + s.memsz for s in img.segments))


def test_static_pie_is_dyn_and_gets_the_pie_base(built):
    img = parse_elf(built["static_pie"].read_bytes())
    assert img.kind == "dyn"
    assert img.interp is None
    assert_matches_readelf(img, built["static_pie"])
    assert img.min_vaddr == 0
    bias = choose_load_bias(img, DEFAULT_PIE_BASE)
    assert bias == DEFAULT_PIE_BASE            # 64 KiB aligned already, image starts at 0
    assert bias % img.max_align == 0


def test_dynamic_pie_names_glibc_interpreter(built):
    img = parse_elf(built["dynamic"].read_bytes())
    assert img.kind == "dyn"
    assert img.interp == b"/lib/ld-linux-aarch64.so.1"
    assert_matches_readelf(img, built["dynamic"])


def test_phdr_vaddr_points_at_the_program_headers_in_memory(built):
    for name in ("static", "static_pie", "dynamic"):
        data = built[name].read_bytes()
        img = parse_elf(data)
        bias = choose_load_bias(img, DEFAULT_PIE_BASE)
        mem = load_into_memory(img, data, bias)
        e_phoff = struct.unpack_from("<Q", data, 32)[0]
        table = img.phnum * img.phent
        assert read_mem(mem, img.phdr_vaddr + bias, table) == data[e_phoff:e_phoff + table], name


def test_glibc_ld_so_parses_as_dyn_and_loads_at_interp_base():
    data = Path(LDSO).read_bytes()
    img = parse_elf(data)
    assert img.kind == "dyn" and img.interp is None
    assert_matches_readelf(img, Path(LDSO))
    bias = choose_load_bias(img, DEFAULT_INTERP_BASE)
    assert bias == DEFAULT_INTERP_BASE
    assert bias + img.max_vaddr < 1 << 48


def test_debian_busybox_static_parses_like_readelf(busybox):
    img = parse_elf(busybox.read_bytes())
    assert img.kind == "exec"
    assert img.interp is None
    assert img.stack_executable is False
    assert_matches_readelf(img, busybox)
    assert img.phdr_vaddr == img.segments[0].vaddr + 64   # phdrs right after the ELF header
    assert img.max_align == 0x10000


def test_pie_bias_respects_64k_alignment_when_hint_is_unaligned(built):
    img = parse_elf(built["static_pie"].read_bytes())
    bias = choose_load_bias(img, DEFAULT_PIE_BASE + 0x5000)
    assert bias == DEFAULT_PIE_BASE


def test_exec_stack_flag_follows_pt_gnu_stack(built, tmp_path):
    exe = tmp_path / "execstack"
    subprocess.run([CC, "-static", "-z", "execstack", "-o", str(exe), str(built["static"].parent / "prog.c")],
                   check=True, capture_output=True)
    assert parse_elf(exe.read_bytes()).stack_executable is True
    assert parse_elf(built["static"].read_bytes()).stack_executable is False


def make_elf(phdrs: list[tuple], *, e_type: int = 2, entry: int = 0x401000, size: int = 0x3000) -> bytes:
    """A minimal ELF64 AArch64 file: header, program headers at 0x40, zero padding to `size`.

    Each phdr is (p_type, p_flags, p_offset, p_vaddr, p_filesz, p_memsz, p_align).
    """
    out = bytearray(size)
    out[:16] = b"\x7fELF\x02\x01\x01" + bytes(9)
    struct.pack_into("<HHIQQQIHHHHHH", out, 16, e_type, 183, 1, entry, 0x40, 0, 0, 64, 56, len(phdrs), 64, 0, 0)
    for i, (t, fl, off, va, fsz, msz, al) in enumerate(phdrs):
        PHDR.pack_into(out, 0x40 + 56 * i, t, fl, off, va, va, fsz, msz, al)
    return bytes(out)


def test_phdr_vaddr_comes_from_the_load_that_maps_e_phoff_not_the_first_load():
    img = parse_elf(make_elf([
        (1, 5, 0x1000, 0x401000, 0x100, 0x100, 0x1000),   # lowest, but does not hold the phdrs
        (1, 6, 0x0, 0x500000, 0x200, 0x200, 0x1000),      # file offset 0 holds them at 0x40
    ]))
    assert img.phdr_vaddr == 0x500040


def test_phdr_vaddr_ignores_a_disagreeing_pt_phdr_but_uses_it_as_fallback():
    loads = [(1, 5, 0x0, 0x400000, 0x200, 0x200, 0x1000)]
    assert parse_elf(make_elf([(6, 4, 0x40, 0x777000, 0x70, 0x70, 8), *loads])).phdr_vaddr == 0x400040
    not_mapped = [(1, 5, 0x1000, 0x401000, 0x200, 0x200, 0x1000)]
    assert parse_elf(make_elf([(6, 4, 0x40, 0x400040, 0x70, 0x70, 8), *not_mapped])).phdr_vaddr == 0x400040
    assert parse_elf(make_elf(not_mapped)).phdr_vaddr is None


def test_segments_are_sorted_and_span_is_page_rounded():
    img = parse_elf(make_elf([
        (1, 6, 0x1800, 0x411800, 0x100, 0x2000, 0x1000),
        (1, 5, 0x0, 0x400000, 0x800, 0x800, 0x1000),
    ]))
    assert [s.vaddr for s in img.segments] == [0x400000, 0x411800]
    assert (img.min_vaddr, img.max_vaddr) == (0x400000, 0x414000)
    assert [(s.readable, s.writable, s.executable) for s in img.segments] == [(True, False, True), (True, True, False)]


def test_first_pt_interp_wins_like_linux():
    data = bytearray(make_elf([
        (3, 4, 0x200, 0, 6, 6, 1), (3, 4, 0x300, 0, 6, 6, 1),
        (1, 5, 0x0, 0x400000, 0x400, 0x400, 0x1000),
    ]))
    data[0x200:0x206] = b"/ld-a\0"
    data[0x300:0x306] = b"/ld-b\0"
    assert parse_elf(bytes(data)).interp == b"/ld-a"


def test_dyn_image_that_cannot_fit_at_the_hint_is_refused():
    img = parse_elf(make_elf([(1, 5, 0x0, 0x0, 0x400, 0x20000, 0x10000)], e_type=3, entry=0x100))
    assert choose_load_bias(img, 0x10_0000) == 0x10_0000
    with pytest.raises(ElfError):
        choose_load_bias(img, (1 << 48) - 0x8000)


def test_too_many_program_headers_like_elf_read_phdrs():
    ok = make_elf([(1, 5, 0x0, 0x400000, 0x100, 0x100, 0x1000)] + [(0, 0, 0, 0, 0, 0, 0)] * 72)   # 73 * 56 <= 4096
    assert parse_elf(ok).phnum == 73
    too_many = make_elf([(1, 5, 0x0, 0x400000, 0x100, 0x100, 0x1000)] + [(0, 0, 0, 0, 0, 0, 0)] * 73, size=0x4000)
    expect_elf_error(too_many, "too many program headers")


# ---------------------------------------------------------------------- page plans

def test_data_segment_bss_is_zero_after_filesz_even_when_the_file_continues(built):
    """The classic bug: bss that starts mid-page must not show the file's following bytes."""
    data = bytearray(built["static"].read_bytes())
    img = parse_elf(bytes(data))
    seg = max(img.segments, key=lambda s: s.vaddr)
    assert seg.writable and seg.memsz > seg.filesz
    file_end = seg.file_offset + seg.filesz
    tail = page_up(seg.vaddr + seg.filesz) - (seg.vaddr + seg.filesz)
    assert tail > 0, "the test needs bss that starts mid-page"
    # Make the bytes following the segment in the file loud garbage (they are
    # non-segment bytes: .comment, .symtab...), so a loader that copied whole file
    # pages would put 0xAA in the bss.
    data[file_end:file_end + tail] = b"\xaa" * min(tail, len(data) - file_end)
    mem = load_into_memory(img, bytes(data), 0)
    assert read_mem(mem, seg.vaddr, seg.filesz) == bytes(data[seg.file_offset:file_end])
    assert read_mem(mem, seg.vaddr + seg.filesz, seg.memsz - seg.filesz) == bytes(seg.memsz - seg.filesz)
    addr, size = symbol(built["static"], "big_bss")
    assert size == 200000 and read_mem(mem, addr, size) == bytes(size)
    addr, size = symbol(built["static"], "marker")
    assert read_mem(mem, addr, size) == b"MOSS-DATA-MARKER\0"


def test_segment_pages_math_for_mid_page_data_and_bss():
    seg = Segment(vaddr=0x10FD30, memsz=0x3000, file_offset=0xFD30, filesz=0x500,
                  readable=True, writable=True, executable=False)
    pages = segment_pages(seg, 0)
    assert pages == [
        PageFill(va=0x10F000, file_offset=0xF000, length=0x1000, page_offset=0),   # head bytes from the file too
        PageFill(va=0x110000, file_offset=0x10000, length=0x230, page_offset=0),   # 0x10fd30+0x500 = 0x110230
        PageFill(va=0x111000, file_offset=0, length=0, page_offset=0),
        PageFill(va=0x112000, file_offset=0, length=0, page_offset=0),             # memsz ends at 0x112d30
    ]
    assert pages[0].zero_ranges() == []
    assert pages[1].zero_ranges() == [(0x230, 0xDD0)]
    assert pages[2].zero_ranges() == [(0, PAGE_SIZE)]


def test_segment_pages_with_bias_and_file_only_segment():
    seg = Segment(vaddr=0x0, memsz=0x1800, file_offset=0, filesz=0x1800,
                  readable=True, writable=False, executable=True)
    pages = segment_pages(seg, 0xAAAA_AAAA_0000)
    assert [(p.va, p.file_offset, p.length) for p in pages] == [
        (0xAAAA_AAAA_0000, 0, 0x1000), (0xAAAA_AAAA_1000, 0x1000, 0x800)]
    assert pages[1].zero_ranges() == [(0x800, 0x800)]
    with pytest.raises(ValueError):
        segment_pages(seg, 0x123)


def test_segment_pages_pure_bss_segment_and_empty_segment():
    bss = Segment(vaddr=0x5000, memsz=0x1001, file_offset=0x5000, filesz=0,
                  readable=True, writable=True, executable=False)
    assert [(p.va, p.length) for p in segment_pages(bss, 0)] == [(0x5000, 0), (0x6000, 0)]
    empty = Segment(vaddr=0x5000, memsz=0, file_offset=0, filesz=0,
                    readable=True, writable=False, executable=False)
    assert segment_pages(empty, 0) == []


def test_page_fill_zero_ranges_with_offset_inside_page():
    pf = PageFill(va=0x1000, file_offset=0x30, length=0x100, page_offset=0x30)
    assert pf.zero_ranges() == [(0, 0x30), (0x130, PAGE_SIZE - 0x130)]


# ---------------------------------------------------------------------- malformed input

def expect_elf_error(data: bytes, *words: str) -> str:
    with pytest.raises(ElfError) as ei:
        parse_elf(data)
    msg = str(ei.value)
    assert msg and "Traceback" not in msg and "Container" not in msg
    for w in words:
        assert w.lower() in msg.lower(), f"{w!r} not in {msg!r}"
    return msg


def phdr_offsets(data: bytes) -> list[int]:
    e_phoff, = struct.unpack_from("<Q", data, 32)
    e_phnum, = struct.unpack_from("<H", data, 56)
    return [e_phoff + i * 56 for i in range(e_phnum)]


def patch_phdr(data: bytes, index_of_type: tuple[int, int], **fields) -> bytes:
    """Change fields of the n-th program header of type t."""
    t, n = index_of_type
    names = ["p_type", "p_flags", "p_offset", "p_vaddr", "p_paddr", "p_filesz", "p_memsz", "p_align"]
    out = bytearray(data)
    hits = [o for o in phdr_offsets(data) if PHDR.unpack_from(data, o)[0] == t]
    o = hits[n]
    vals = dict(zip(names, PHDR.unpack_from(data, o)))
    vals.update(fields)
    PHDR.pack_into(out, o, *(vals[k] for k in names))
    return bytes(out)


def test_zero_length_file():
    expect_elf_error(b"", "empty")


def test_random_bytes_are_not_elf():
    expect_elf_error(random.Random(1).randbytes(4096), "not an ELF")


def test_truncated_elf_header(built):
    expect_elf_error(built["static"].read_bytes()[:40], "truncated", "header")


def test_x86_64_binary_is_rejected_by_machine(tmp_path):
    src, exe = tmp_path / "native.c", tmp_path / "native"
    src.write_text("int main(void) { return 0; }\n")
    subprocess.run(["gcc", "-o", str(exe), str(src)], check=True)       # the host's own gcc: x86-64
    expect_elf_error(exe.read_bytes(), "x86-64", "AArch64")


def test_32_bit_and_big_endian_are_rejected(built):
    data = bytearray(built["static"].read_bytes())
    data[4] = 1
    expect_elf_error(bytes(data), "32-bit")
    data[4], data[5] = 2, 2
    expect_elf_error(bytes(data), "big-endian")


def test_relocatable_object_is_not_executable(built):
    expect_elf_error(built["object"].read_bytes(), "ET_REL")


def test_truncated_program_headers(built):
    data = built["static"].read_bytes()
    expect_elf_error(data[:64 + 56 + 20], "program headers truncated")


def test_bad_phentsize_and_zero_phnum(built):
    data = bytearray(built["static"].read_bytes())
    struct.pack_into("<H", data, 54, 32)
    expect_elf_error(bytes(data), "e_phentsize")
    data = bytearray(built["static"].read_bytes())
    struct.pack_into("<H", data, 56, 0)
    expect_elf_error(bytes(data), "no program headers")


def test_filesz_larger_than_memsz(built):
    data = built["static"].read_bytes()
    seg = parse_elf(data).segments[1]
    expect_elf_error(patch_phdr(data, (1, 1), p_memsz=seg.filesz - 1), "p_filesz", "p_memsz")


def test_overlapping_load_segments(built):
    data = built["static"].read_bytes()
    first, second = parse_elf(data).segments
    # Keep p_vaddr congruent with p_offset so only the overlap is wrong.
    inside = first.vaddr + second.file_offset % second.align
    assert inside < first.vaddr + first.memsz
    expect_elf_error(patch_phdr(data, (1, 1), p_vaddr=inside), "overlap")


def test_align_not_power_of_two_and_incongruent_offset(built):
    data = built["static"].read_bytes()
    expect_elf_error(patch_phdr(data, (1, 1), p_align=0x3000), "power of two")
    second = parse_elf(data).segments[1]
    expect_elf_error(patch_phdr(data, (1, 1), p_vaddr=second.vaddr + 0x10), "page offset")
    expect_elf_error(patch_phdr(data, (1, 1), p_vaddr=second.vaddr + 0x1000), "p_align")


def test_segment_past_end_of_file(built):
    data = built["static"].read_bytes()
    expect_elf_error(patch_phdr(data, (1, 1), p_filesz=len(data), p_memsz=len(data)), "past the end")


def test_segment_beyond_user_address_space(built):
    data = built["static"].read_bytes()
    second = parse_elf(data).segments[1]
    high = 0xFFFF_FFFF_0000 + second.file_offset % second.align
    assert high + second.memsz > 1 << 48
    expect_elf_error(patch_phdr(data, (1, 1), p_vaddr=high), "beyond the user address space")


def test_no_pt_load(built):
    data = built["static"].read_bytes()
    data = patch_phdr(patch_phdr(data, (1, 1), p_type=0), (1, 0), p_type=0)
    expect_elf_error(data, "no PT_LOAD")


def test_interp_not_nul_terminated(built):
    data = built["dynamic"].read_bytes()
    o = [o for o in phdr_offsets(data) if PHDR.unpack_from(data, o)[0] == 3][0]
    _, _, off, _, _, filesz, _, _ = PHDR.unpack_from(data, o)
    bad = bytearray(data)
    bad[off + filesz - 1] = ord("x")
    expect_elf_error(bytes(bad), "PT_INTERP", "NUL")


def test_corrupted_headers_give_elf_error_or_image_never_other_exceptions(built):
    data = built["dynamic"].read_bytes()
    rng = random.Random(7)
    span = 64 + 56 * len(phdr_offsets(data))
    outcomes = set()
    for _ in range(400):
        bad = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            bad[rng.randrange(span)] = rng.randrange(256)
        try:
            parse_elf(bytes(bad))
            outcomes.add("ok")
        except ElfError as e:
            assert str(e)
            outcomes.add("error")
    assert outcomes == {"ok", "error"}
