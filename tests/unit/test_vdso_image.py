"""The vDSO image's reader (proc/vdso.py with loader/elf.py, not pyelftools) against
pyelftools, on the vdso.so the build links (just test builds it first)."""
import io

import pytest
from elftools.elf.elffile import ELFFile

from moss_host.addr import PAGE_SIZE
from moss_host.arch.arm64 import vdso
from moss_host.proc.vdso import load_image


def test_the_image_and_its_functions_are_what_pyelftools_reads():
    raw = vdso.VDSO_PATH.read_bytes()
    elf = ELFFile(io.BytesIO(raw))
    (seg,) = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
    functions = {sym.name: sym["st_value"] for sym in elf.get_section_by_name(".dynsym").iter_symbols()
                 if sym.name and sym["st_shndx"] != "SHN_UNDEF" and sym["st_info"]["type"] == "STT_FUNC"}
    image = load_image.__wrapped__(vdso.VDSO_PATH)
    assert image.symbols == functions
    assert vdso.SIGRETURN_SYMBOL in image.symbols and "__kernel_clock_gettime" in image.symbols
    assert image.data == raw[:seg["p_filesz"]]
    assert image.size == -(-seg["p_memsz"] // PAGE_SIZE) * PAGE_SIZE


def test_a_file_cut_short_is_a_readable_error(tmp_path):
    cut = tmp_path / "vdso.so"
    cut.write_bytes(vdso.VDSO_PATH.read_bytes()[:900])
    with pytest.raises(ValueError, match="a broken ELF file"):
        load_image.__wrapped__(cut)
