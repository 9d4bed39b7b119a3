"""The address space exec builds, mapping by mapping, as Linux's load_elf_binary and
arm64's vDSO setup leave it: each PT_LOAD's file mapping ends with the page holding
p_filesz's end and the rest of its bss is a separate anonymous mapping; [vvar] (two
read-only pages) sits right below [vdso]; the stack is the argument page plus 128 KiB."""
import struct
import subprocess
from dataclasses import dataclass

import pytest

from moss_host.addr import PAGE_SIZE, page_up
from moss_host.arch.arm64.vdso import VdsoImage
from moss_host.errors import EACCES, Errno
from moss_host.loader.elf import Segment, parse_elf, segment_extent
from moss_host.mm.address_space import AddressSpace
from moss_host.mm.memory import Memory
from moss_host.mm.stack import STACK_NAME
from moss_host.mm.vma import PROT_EXEC, PROT_READ, PROT_WRITE
from moss_host.proc.exec import load_program
from moss_host.proc.vdso import VVAR_NAME, map_vdso

RAM = 64 << 20
CC = "/usr/bin/aarch64-linux-gnu-gcc"
PROGRAM = r"""
char data[5000] = "MOSS-DATA";
char bss[100000];
int main(void) { return data[0] + bss[1]; }
"""


@dataclass
class Creds:
    uid: int = 0
    euid: int = 0
    gid: int = 0
    egid: int = 0


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> bytes:
    d = tmp_path_factory.mktemp("exec_layout")
    (d / "p.c").write_text(PROGRAM)
    subprocess.run([CC, "-O1", "-static", "-no-pie", "-o", str(d / "p"), str(d / "p.c")], check=True)
    return (d / "p").read_bytes()


def load(data: bytes) -> AddressSpace:
    loaded = load_program(Memory(bytearray(RAM), RAM), data, "/p", [b"/p"], [b"HOME=/"], Creds(),
                          read_interp=None)
    return loaded.mm


def test_segment_extent_splits_file_pages_from_the_bss():
    seg = Segment(vaddr=0x41_0D30, memsz=0x2_0000, file_offset=0xD30, filesz=0x1500,
                  readable=True, writable=True, executable=False)
    ext = segment_extent(seg, 0)
    assert (ext.start, ext.file_end, ext.end) == (0x41_0000, 0x41_3000, 0x43_1000)
    only_bss = Segment(vaddr=0x50_0000, memsz=0x100, file_offset=0, filesz=0,
                       readable=True, writable=True, executable=False)
    ext = segment_extent(only_bss, 0)
    assert (ext.start, ext.file_end, ext.end) == (0x50_0000, 0x50_0000, 0x50_1000)


def test_the_bss_past_the_last_file_page_is_its_own_anonymous_mapping(program):
    image = parse_elf(program)
    seg = max(image.segments, key=lambda s: s.memsz - s.filesz)
    mm = load(program)
    file_end = page_up(seg.vaddr + seg.filesz)
    file_vma, bss_vma = mm.vmas.find(file_end - 1), mm.vmas.find(file_end)
    assert (file_vma.end, file_vma.name, file_vma.backing is not None) == (file_end, "/p", True)
    assert (bss_vma.start, bss_vma.end) == (file_end, page_up(seg.vaddr + seg.memsz))
    assert (bss_vma.name, bss_vma.backing, bss_vma.prot) == ("", None, PROT_READ | PROT_WRITE)
    assert bss_vma.maps_line().endswith(" 0 ")
    # The file's bytes stop at p_filesz: the rest of that page reads as zeros (padzero), like the bss.
    tail = seg.vaddr + seg.filesz
    assert mm.read(tail, file_end - tail) == bytes(file_end - tail)
    assert mm.read(file_end, 64) == bytes(64)
    assert mm.brk_start == bss_vma.end


def test_the_stack_is_the_argument_page_plus_128k(program):
    mm = load(program)
    stack = [v for v in mm.vmas if v.name == STACK_NAME]
    assert len(stack) == 1 and stack[0].length == 132 << 10


def test_vvar_is_two_read_only_pages_right_below_the_vdso():
    mm = AddressSpace(Memory(bytearray(RAM), RAM))
    base = map_vdso(mm, VdsoImage(b"\x7fELF" + bytes(100), PAGE_SIZE, {}))
    vvar, vdso = mm.vmas.find(base - 1), mm.vmas.find(base)
    assert (vvar.name, vvar.start, vvar.end, vvar.prot) == (VVAR_NAME, base - 2 * PAGE_SIZE, base, PROT_READ)
    assert vdso.prot == PROT_READ | PROT_EXEC and mm.read(base, 4) == b"\x7fELF"
    # the data page: an even sequence count, "calibrating" until vDSO calls measured the
    # counter (proc/vvar.py); the time-namespace page: zeros
    seq, mode = struct.unpack("<II", mm.read(vvar.start, 8))
    assert seq % 2 == 0 and seq and mode == 1
    assert mm.read(vvar.start + PAGE_SIZE, 16) == bytes(16)
    other = AddressSpace(mm.mem)
    map_vdso(other, VdsoImage(b"\x7fELF" + bytes(100), PAGE_SIZE, {}))
    assert other.read(other.vdso_base - 2 * PAGE_SIZE, 64) == mm.read(vvar.start, 64)  # one page for all
    with pytest.raises(Errno) as e:
        mm.protect(vvar.start, vvar.end, PROT_READ | PROT_WRITE)
    assert e.value.code == EACCES


def test_code_data_and_stack_start_are_load_elf_binary_s(program):
    """/proc/pid/stat's startcode, endcode, start_data, end_data: from the PT_LOADs (text:
    the executable one's vaddr and file end; data: the highest vaddr and file end); startstack:
    the initial sp."""
    image = parse_elf(program)
    text = next(s for s in image.segments if s.executable)
    last = max(image.segments, key=lambda s: s.vaddr)
    loaded = load_program(Memory(bytearray(RAM), RAM), program, "/p", [b"/p"], [], Creds(), read_interp=None)
    mm = loaded.mm
    assert (mm.start_code, mm.end_code) == (text.vaddr, text.vaddr + text.filesz)
    assert (mm.start_data, mm.end_data) == (last.vaddr, last.vaddr + last.filesz)
    assert mm.start_stack == loaded.sp


def test_shared_anonymous_memory_shows_on_linux_s_internal_shmem_device():
    from moss_host.mm.shmem import SharedAnon
    from moss_host.mm.vma import MAP_ANONYMOUS, MAP_SHARED, Vma
    a, b = SharedAnon(Memory(bytearray(RAM), RAM)), SharedAnon(Memory(bytearray(RAM), RAM))
    vma = Vma(0x100_0000, 0x100_2000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, a, 0, a.name)
    line = vma.maps_line(*a.maps_ids())
    assert line.startswith(f"01000000-01002000 rw-s 00000000 00:01 {a.ino} ") and line.endswith(" /dev/zero (deleted)")
    assert a.ino != b.ino
