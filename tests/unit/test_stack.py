"""The initial process stack (moss_host/loader/stack.py) and the arm64 auxv.

The stack image is parsed back independently here.  The layout is Linux's
create_elf_tables()/copy_strings() one; from the top of the stack down:

    8 zero bytes | execfn | envp strings | argv strings | align 16 (minus the ASLR
    offset) | platform string | 16 AT_RANDOM bytes | <16-byte gap | auxv..AT_NULL |
    envp ptrs, NULL | argv ptrs, NULL | argc  <- sp (16-aligned)

test_layout_is_byte_identical_to_the_host_linux_kernel checks that claim against the
real Linux kernel this test runs on: a static x86-64 program dumps its own initial
stack and the builder must reproduce it byte for byte from the same inputs (the
algorithm is arch-independent generic code; only the auxv contents and the platform
string differ on arm64).
"""
import re
import struct
import subprocess
from pathlib import Path

import pytest

from moss_host.arch.arm64 import hwcap as H
from moss_host.arch.arm64.hwcap import CORTEX_A72_HWCAP
from moss_host.arch.arm64.sigframe import SIGNAL_MINSIGSTKSZ
from moss_host.errors import E2BIG, Errno
from moss_host.loader import auxv as A
from moss_host.loader.auxv import (
    AT_BASE, AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_EXECFN, AT_FLAGS, AT_GID,
    AT_HWCAP, AT_HWCAP2, AT_IGNORE, AT_MINSIGSTKSZ, AT_NULL, AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM,
    AT_PLATFORM, AT_RANDOM, AT_SECURE, AT_SYSINFO_EHDR, AT_UID,
)
from moss_host.loader.elf import DEFAULT_INTERP_BASE, DEFAULT_PIE_BASE, parse_elf
from moss_host.loader.stack import (
    ARG_LIMIT, EXECFN_PTR, MAX_ARG_STRLEN, PLATFORM_PTR, RANDOM_PTR, InitialStack,
    build_initial_stack, standard_auxv,
)

TOP = 0x0000_FFFF_FFFF_F000
RAND = bytes(range(0xA0, 0xB0))
HEADERS = Path("/usr/aarch64-linux-gnu/include")


class Parsed:
    """An initial stack read back the way a C runtime reads it, starting from sp."""

    def __init__(self, image: bytes, base: int, sp: int):
        self.image, self.base = image, base
        a = sp
        self.argc = self.u64(a)
        a += 8
        self.argv_ptrs = [self.u64(a + 8 * i) for i in range(self.argc)]
        a += 8 * self.argc
        assert self.u64(a) == 0, "argv not NULL-terminated"
        a += 8
        self.envp_ptrs = []
        while self.u64(a):
            self.envp_ptrs.append(self.u64(a))
            a += 8
        a += 8
        self.auxv_ptr = a
        self.auxv = []
        while True:
            k, v = self.u64(a), self.u64(a + 8)
            a += 16
            self.auxv.append((k, v))
            if k == AT_NULL:
                break
        self.auxv_end = a
        self.argv = [self.cstr(p) for p in self.argv_ptrs]
        self.envp = [self.cstr(p) for p in self.envp_ptrs]
        self.aux = dict(self.auxv)

    def u64(self, addr: int) -> int:
        return struct.unpack_from("<Q", self.image, addr - self.base)[0]

    def cstr(self, addr: int) -> bytes:
        off = addr - self.base
        return self.image[off:self.image.index(b"\0", off)]

    def raw(self, addr: int, n: int) -> bytes:
        return self.image[addr - self.base:addr - self.base + n]


def parsed(st: InitialStack) -> Parsed:
    assert st.image_base == st.sp
    return Parsed(st.image, st.image_base, st.sp)


def small_auxv() -> list[tuple[int, int]]:
    return [(AT_PAGESZ, 4096), (AT_RANDOM, RANDOM_PTR), (AT_EXECFN, EXECFN_PTR), (AT_PLATFORM, PLATFORM_PTR)]


# ---------------------------------------------------------------------- layout

def test_round_trip_argc_argv_envp_auxv_and_strings():
    argv = [b"/bin/prog", b"hello world", b"", b"-x"]
    envp = [b"PATH=/bin", b"HOME=/root", b"E="]
    st = build_initial_stack(TOP, argv, envp, small_auxv(), RAND, execfn=b"/bin/prog")
    p = parsed(st)
    assert p.argc == 4 and p.argv == argv and p.envp == envp
    assert p.argv_ptrs == st.argv_ptrs and p.envp_ptrs == st.envp_ptrs
    assert st.sp % 16 == 0
    assert len(st.image) == TOP - st.sp
    assert [k for k, _ in p.auxv] == [AT_PAGESZ, AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_NULL]
    assert p.auxv[-1] == (AT_NULL, 0)
    assert p.auxv == st.auxv and p.auxv_ptr == st.auxv_ptr
    assert p.raw(p.aux[AT_RANDOM], 16) == RAND == p.raw(st.random_ptr, 16)
    assert p.cstr(p.aux[AT_EXECFN]) == b"/bin/prog"
    assert p.cstr(p.aux[AT_PLATFORM]) == b"aarch64"


def test_strings_sit_at_the_top_in_linux_order():
    argv, envp = [b"a1", b"argument-two"], [b"E1=1", b"E2=22"]
    st = build_initial_stack(TOP, argv, envp, small_auxv(), RAND, execfn=b"/usr/bin/x")
    p = parsed(st)
    assert p.raw(TOP - 8, 8) == bytes(8)                                      # bprm->p = vm_end - 8
    assert st.execfn_ptr == TOP - 8 - len(b"/usr/bin/x\0")
    assert p.envp_ptrs[-1] + len(b"E2=22\0") == st.execfn_ptr == st.env_end    # envp directly below execfn
    assert p.envp_ptrs[0] == st.env_start == st.arg_end
    assert p.argv_ptrs[-1] + len(b"argument-two\0") == st.env_start            # argv directly below envp
    assert p.argv_ptrs[0] == st.arg_start
    assert p.argv_ptrs == sorted(p.argv_ptrs) and p.envp_ptrs == sorted(p.envp_ptrs)
    # create_elf_tables: platform right under the 16-aligned arg_start, random right under it.
    assert st.platform_ptr + len(b"aarch64\0") == st.arg_start & ~15
    assert st.random_ptr + 16 == st.platform_ptr
    # auxv follows the envp NULL directly; what STACK_ROUND leaves over is a gap below AT_RANDOM.
    assert p.auxv_ptr == st.sp + 8 * (1 + len(argv) + 1 + len(envp) + 1)
    assert 0 <= st.random_ptr - p.auxv_end < 16
    assert p.raw(p.auxv_end, st.random_ptr - p.auxv_end) == bytes(st.random_ptr - p.auxv_end)


def test_exact_addresses_for_a_worked_example():
    """Worked by hand from create_elf_tables (top 0x1000_0000)."""
    top = 0x1000_0000
    auxv = [(AT_PAGESZ, 4096), (AT_RANDOM, RANDOM_PTR), (AT_EXECFN, EXECFN_PTR)]
    st = build_initial_stack(top, [b"/bin/prog", b"-x"], [b"A=1"], auxv, RAND, execfn=b"/bin/prog")
    # p = top-8 = 0xffffff8; execfn (10) -> 0xfffffee; "A=1\0" (4) -> 0xfffffea;
    # "/bin/prog\0-x\0" (13) -> 0xfffffdd; align -> 0xfffffd0; "aarch64\0" -> 0xfffffc8;
    # random -> 0xfffffb8; auxv 3+1 pairs = 64 bytes, items = 3+2+1 = 6 words = 48 bytes:
    # sp = (0xfffffb8 - 112) & ~15 = 0xfffff40.
    assert (st.execfn_ptr, st.env_start, st.arg_start) == (0xFFFFFEE, 0xFFFFFEA, 0xFFFFFDD)
    assert st.argv_ptrs == [0xFFFFFDD, 0xFFFFFE7] and st.envp_ptrs == [0xFFFFFEA]
    assert (st.platform_ptr, st.random_ptr, st.sp) == (0xFFFFFC8, 0xFFFFFB8, 0xFFFFF40)
    assert st.auxv == [(AT_PAGESZ, 4096), (AT_RANDOM, 0xFFFFFB8), (AT_EXECFN, 0xFFFFFEE), (AT_NULL, 0)]
    assert st.auxv_ptr == 0xFFFFF40 + 6 * 8
    words = struct.unpack_from("<6Q", st.image, 0)
    assert words == (2, 0xFFFFFDD, 0xFFFFFE7, 0, 0xFFFFFEA, 0)


@pytest.mark.parametrize("nargs,nenv", [(1, 0), (1, 1), (2, 0), (2, 1), (3, 3), (5, 8)])
def test_sp_is_16_aligned_and_gap_small_for_every_parity(nargs, nenv):
    argv = [b"x" * (i + 1) for i in range(nargs)]
    envp = [b"E%d=%s" % (i, b"v" * i) for i in range(nenv)]
    for extra in range(3):
        auxv = small_auxv() + [(AT_UID, 0)] * extra
        st = build_initial_stack(TOP, argv, envp, auxv, RAND, execfn=b"/p")
        p = parsed(st)
        assert st.sp % 16 == 0
        assert p.argv == argv and p.envp == envp
        assert 0 <= st.random_ptr - p.auxv_end < 16


def test_empty_argv_becomes_one_empty_string_like_linux():
    st = build_initial_stack(TOP, [], [b"A=1"], small_auxv(), RAND, execfn=b"/bin/prog")
    p = parsed(st)
    assert p.argc == 1 and p.argv == [b""]


def test_markers_are_resolved_and_other_values_kept():
    auxv = [(AT_UID, 1000), (AT_RANDOM, RANDOM_PTR), (AT_EXECFN, EXECFN_PTR), (AT_PLATFORM, PLATFORM_PTR), (AT_NULL, 0)]
    st = build_initial_stack(TOP, [b"a"], [], auxv, RAND, execfn=b"/a")
    assert st.auxv == [(AT_UID, 1000), (AT_RANDOM, st.random_ptr), (AT_EXECFN, st.execfn_ptr),
                       (AT_PLATFORM, st.platform_ptr), (AT_NULL, 0)]
    assert all(v < 1 << 64 for _, v in st.auxv)


def test_no_platform_string_when_none_requested():
    st = build_initial_stack(TOP, [b"a"], [], [(AT_RANDOM, RANDOM_PTR)], RAND, platform=None, execfn=b"/a")
    assert st.platform_ptr is None and st.random_ptr + 16 == st.arg_start & ~15
    with pytest.raises(ValueError):
        build_initial_stack(TOP, [b"a"], [], [(AT_PLATFORM, PLATFORM_PTR)], RAND, platform=None, execfn=b"/a")


def test_bad_inputs_are_kernel_bugs_not_errnos():
    for kwargs in [dict(stack_top=TOP + 8), dict(random_bytes=b"short"), dict(argv=[b"nul\0inside"]),
                   dict(auxv=[(AT_UID, -1)]), dict(auxv=[(AT_NULL, 0), (AT_UID, 0)])]:
        args = dict(stack_top=TOP, argv=[b"a"], envp=[], auxv=[], random_bytes=RAND, execfn=b"/a")
        args.update(kwargs)
        with pytest.raises(ValueError):
            build_initial_stack(**args)


# ---------------------------------------------------------------------- E2BIG

def test_single_string_limit_is_max_arg_strlen_including_nul():
    ok = b"a" * (MAX_ARG_STRLEN - 1)
    st = build_initial_stack(TOP, [b"p", ok], [], small_auxv(), RAND, execfn=b"/p")
    assert parsed(st).argv[1] == ok
    with pytest.raises(Errno) as ei:
        build_initial_stack(TOP, [b"p"], [ok + b"a"], small_auxv(), RAND, execfn=b"/p")
    assert ei.value.code == E2BIG


def test_total_strings_limited_to_2_mib_minus_pointers():
    full = b"v" * (MAX_ARG_STRLEN - 1)                      # takes exactly 128 KiB with its NUL
    # argc 1 + envc 16 pointers; strings: execfn "/p\0", argv "p\0", 15 full envp, one remainder.
    room = ARG_LIMIT - 8 * (1 + 16) - len(b"/p\0") - len(b"p\0") - 15 * MAX_ARG_STRLEN
    envp = [full] * 15 + [b"w" * (room - 1)]
    st = build_initial_stack(TOP, [b"p"], envp, small_auxv(), RAND, execfn=b"/p")   # exactly at the limit
    assert parsed(st).envp == envp
    with pytest.raises(Errno) as ei:
        build_initial_stack(TOP, [b"p"], envp[:-1] + [envp[-1] + b"w"], small_auxv(), RAND, execfn=b"/p")
    assert ei.value.code == E2BIG
    with pytest.raises(Errno):
        build_initial_stack(TOP, [b"p"], [full] * 16, small_auxv(), RAND, execfn=b"/p")


def test_too_many_pointers_is_e2big_even_with_empty_strings():
    with pytest.raises(Errno) as ei:
        build_initial_stack(TOP, [b"p"], [b""] * (ARG_LIMIT // 8), small_auxv(), RAND, execfn=b"/p")
    assert ei.value.code == E2BIG


# ---------------------------------------------------------------------- auxv

def test_standard_auxv_order_matches_linux_arm64(tmp_path):
    subprocess.run(["/usr/bin/aarch64-linux-gnu-gcc", "-static-pie", "-fPIE", "-x", "c", "-", "-o",
                           str(tmp_path / "p")], input=b"int main(void){return 0;}", check=True)
    img = parse_elf((tmp_path / "p").read_bytes())
    bias = DEFAULT_PIE_BASE
    auxv = standard_auxv(img, bias, None, CORTEX_A72_HWCAP, 1000, 1001, 100, 101, False,
                         sysinfo_ehdr=0xFFFF_F7FF_0000)
    # create_elf_tables() + arm64 ARCH_DLINFO, Linux 6.1 (Debian bookworm):
    assert [k for k, _ in auxv] == [
        AT_SYSINFO_EHDR, AT_MINSIGSTKSZ, AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, AT_PHENT, AT_PHNUM,
        AT_BASE, AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE, AT_RANDOM,
        AT_HWCAP2, AT_EXECFN, AT_PLATFORM]
    a = dict(auxv)
    assert a[AT_SYSINFO_EHDR] == 0xFFFF_F7FF_0000 and a[AT_MINSIGSTKSZ] == SIGNAL_MINSIGSTKSZ == 4720
    assert a[AT_HWCAP] == CORTEX_A72_HWCAP and a[AT_HWCAP2] == 0
    assert (a[AT_PAGESZ], a[AT_CLKTCK], a[AT_FLAGS], a[AT_BASE]) == (4096, 100, 0, 0)
    assert a[AT_PHDR] == bias + img.phdr_vaddr and a[AT_PHENT] == 56 and a[AT_PHNUM] == img.phnum
    assert a[AT_ENTRY] == bias + img.entry
    assert (a[AT_UID], a[AT_EUID], a[AT_GID], a[AT_EGID], a[AT_SECURE]) == (1000, 1001, 100, 101, 0)
    assert (a[AT_RANDOM], a[AT_EXECFN], a[AT_PLATFORM]) == (RANDOM_PTR, EXECFN_PTR, PLATFORM_PTR)


def test_standard_auxv_with_interpreter_and_without_vdso():
    ldso = parse_elf(Path("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1").read_bytes())
    auxv = standard_auxv(ldso, 0x5555_0000_0000, DEFAULT_INTERP_BASE, 0, 0, 0, 0, 0, True, minsigstksz=None)
    assert auxv[0] == (AT_IGNORE, 0)                 # no vDSO entry, minsigstksz unknown -> AT_IGNORE
    a = dict(auxv)
    assert a[AT_BASE] == DEFAULT_INTERP_BASE and a[AT_SECURE] == 1
    st = build_initial_stack(TOP, [b"prog"], [], auxv, RAND, execfn=b"/prog")
    assert dict(st.auxv)[AT_RANDOM] == st.random_ptr


def _header_defines(path: Path, prefix: str) -> dict[str, int]:
    out = {}
    for m in re.finditer(rf"#define\s+({prefix}\w+)\s+\(?(\d+)(?:UL)?\s*(?:<<\s*(\d+))?\)?", path.read_text()):
        out[m[1]] = int(m[2]) << int(m[3]) if m[3] else int(m[2])
    return out


def test_at_constants_match_the_kernel_uapi_headers():
    defs = _header_defines(HEADERS / "linux/auxvec.h", "AT_") | _header_defines(HEADERS / "asm/auxvec.h", "AT_")
    defs.pop("AT_VECTOR_SIZE_ARCH")
    assert len(defs) >= 25
    for name, value in defs.items():
        assert getattr(A, name) == value, name


def test_hwcap_constants_match_the_kernel_uapi_header():
    defs = _header_defines(HEADERS / "asm/hwcap.h", "HWCAP_")
    assert len(defs) >= 32
    for name, value in defs.items():
        assert getattr(H, name) == value, name
    assert CORTEX_A72_HWCAP == 0b1000_1111_1011     # FP ASIMD AES PMULL SHA1 SHA2 CRC32 CPUID


def test_minsigstksz_matches_the_uapi_ucontext_size(tmp_path):
    """4720 = round16(sizeof(siginfo) + sizeof(struct ucontext)) + 16 (frame record) + 16; checked by the compiler."""
    src = tmp_path / "m.c"
    src.write_text("#include <signal.h>\n#include <asm/sigcontext.h>\n"
                   "struct kuc { unsigned long f; void *l; stack_t st; unsigned long mask;"
                   " unsigned char unused[1024 / 8 - 8]; struct sigcontext mc; };\n"
                   "_Static_assert(((sizeof(siginfo_t) + sizeof(struct kuc) + 15) & ~15) + 16 + 16 == %d, \"size\");\n"
                   % SIGNAL_MINSIGSTKSZ)
    subprocess.run(["/usr/bin/aarch64-linux-gnu-gcc", "-c", "-o", str(tmp_path / "m.o"), str(src)], check=True)


# ---------------------------------------------------------------------- differential: the real kernel

DUMP_C = r"""
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    unsigned long *sp = (unsigned long *)argv - 1, top = 0, lo;
    char line[512];
    FILE *f = fopen("/proc/self/maps", "r");
    while (fgets(line, sizeof line, f))
        if (strstr(line, "[stack]")) sscanf(line, "%lx-%lx", &lo, &top);
    printf("%lx %lx\n", (unsigned long)sp, top);
    for (unsigned char *p = (unsigned char *)sp; p < (unsigned char *)top; p++) printf("%02x", *p);
    printf("\n");
    return 0;
}
"""


def test_layout_is_byte_identical_to_the_host_linux_kernel(tmp_path):
    src, exe = tmp_path / "dump.c", tmp_path / "dump"
    src.write_text(DUMP_C)
    subprocess.run(["gcc", "-static", "-O1", "-o", str(exe), str(src)], check=True)
    argv = [str(exe), "one", "", "three with spaces", "x" * 300]
    env = {"A": "1", "LONGER_VARIABLE": "some value", "EMPTY": ""}
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout.split("\n")
    sp, top = (int(x, 16) for x in out[0].split())
    real = Parsed(bytes.fromhex(out[1]), sp, sp)
    assert real.argv == [a.encode() for a in argv]

    markers = {AT_RANDOM: RANDOM_PTR, AT_EXECFN: EXECFN_PTR, AT_PLATFORM: PLATFORM_PTR}
    aux_in = [(k, markers.get(k, v)) for k, v in real.auxv if k != AT_NULL]
    platform = real.cstr(real.aux[AT_PLATFORM])
    execfn = real.cstr(real.aux[AT_EXECFN])
    # The one random input: how far arch_align_stack moved p below the strings.
    arg_start = real.argv_ptrs[0]
    stack_rand = arg_start - (real.aux[AT_PLATFORM] + len(platform) + 1)
    ours = build_initial_stack(top, real.argv, real.envp, aux_in, real.raw(real.aux[AT_RANDOM], 16),
                               platform=platform, execfn=execfn, stack_rand=stack_rand)
    assert ours.sp == sp
    assert ours.auxv == real.auxv
    assert ours.image == real.image
