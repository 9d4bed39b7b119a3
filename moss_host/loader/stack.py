"""The initial user stack of a new program, byte for byte as Linux/arm64 builds it.

Pure logic: `build_initial_stack` returns the bytes to write just below the stack top
and the resulting sp; it never touches an address space.  The layout reproduces
fs/exec.c (do_execveat_common, copy_strings, bprm->p = vm_end - sizeof(void *)) and
fs/binfmt_elf.c (create_elf_tables); the random offset of arch_align_stack() is the
caller's `stack_rand` (0 by default).  From high addresses to low:

    stack_top   ->  8 zero bytes              (bprm->p starts one pointer below the top)
                    execfn string + NUL       (copy_string_kernel(bprm->filename))
                    envp strings + NULs       (copy_strings(envc, envp): envp[0] lowest)
    arg_start   ->  argv strings + NULs       (copy_strings(argc, argv): argv[0] lowest)
                    stack_rand + 0..15 zeros  (arch_align_stack: p -= rand; p &= ~15)
    platform    ->  b"aarch64\\0"             (AT_PLATFORM, ELF_PLATFORM)
    random      ->  16 random bytes           (AT_RANDOM)
                    0..15 zero bytes          (STACK_ROUND left the gap here, above auxv)
                    auxv pairs, AT_NULL pair  (copied right after envp's NULL)
                    envp pointers, NULL
                    argv pointers, NULL
    sp          ->  argc (u64)                (sp is 16-byte aligned)

Auxv entries that point into the stack are filled in here: callers put the marker
values RANDOM_PTR, EXECFN_PTR and PLATFORM_PTR in their auxv list (standard_auxv
does) and the builder replaces them with the addresses it chose.  The markers are
above 2**64, so they can never be mistaken for a real value.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from moss_host.addr import PAGE_SIZE, UA
from moss_host.arch.arm64.sigframe import SIGNAL_MINSIGSTKSZ
from moss_host.errors import E2BIG, Errno
from moss_host.loader.auxv import (
    AT_BASE, AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_EXECFN, AT_FLAGS, AT_GID,
    AT_HWCAP, AT_HWCAP2, AT_IGNORE, AT_MINSIGSTKSZ, AT_NULL, AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM,
    AT_PLATFORM, AT_RANDOM, AT_SECURE, AT_SYSINFO_EHDR, AT_UID,
)
from moss_host.loader.elf import ElfImage

# Auxv placeholder values resolved by build_initial_stack.
RANDOM_PTR = (1 << 64) + 1     # -> address of the 16 AT_RANDOM bytes
EXECFN_PTR = (1 << 64) + 2     # -> address of the execfn string
PLATFORM_PTR = (1 << 64) + 3   # -> address of the platform string
_MARKERS = (RANDOM_PTR, EXECFN_PTR, PLATFORM_PTR)

MAX_ARG_STRLEN = 32 * PAGE_SIZE      # one string, NUL included (include/uapi/linux/binfmts.h)
MAX_ARG_STRINGS = 0x7FFFFFFF
# bprm_stack_limits(): strings + pointers may use a quarter of RLIMIT_STACK (8 MiB by
# default), capped at 3/4 of _STK_LIM and never below ARG_MAX (32 pages).
ARG_LIMIT = 2 * 1024 * 1024
PTR = 8


@dataclass(frozen=True, slots=True)
class InitialStack:
    sp: UA                       # initial sp: points at argc, 16-byte aligned
    image: bytes                 # bytes to write at image_base .. stack_top
    image_base: UA               # == sp
    argv_ptrs: list[int]         # where each argv string lives
    envp_ptrs: list[int]
    arg_start: int               # mm->arg_start/arg_end/env_start/env_end, for /proc/<pid>/cmdline, environ
    arg_end: int
    env_start: int
    env_end: int
    execfn_ptr: int
    random_ptr: int
    platform_ptr: int | None
    auxv: list[tuple[int, int]]  # as written, markers resolved, ending with (AT_NULL, 0): /proc/<pid>/auxv
    auxv_ptr: int                # address of the first auxv pair


def build_initial_stack(stack_top: int, argv: list[bytes], envp: list[bytes],
                        auxv: list[tuple[int, int]], random_bytes: bytes,
                        platform: bytes | None = b"aarch64", *, execfn: bytes,
                        arg_limit: int = ARG_LIMIT, stack_rand: int = 0) -> InitialStack:
    """Lay out strings, AT_RANDOM bytes, argc/argv/envp and auxv below `stack_top`.

    auxv is the list without its terminator (a trailing (AT_NULL, 0) is tolerated);
    marker values are resolved (see the module docstring).  An empty argv becomes
    [b""], as Linux does since 5.18.  Raises Errno(E2BIG) when a string is longer
    than MAX_ARG_STRLEN or strings plus pointers exceed `arg_limit`.  `stack_rand`
    is the offset arch_align_stack() subtracts below the strings (Linux: random, under
    one page on arm64, when ASLR is on); 0 gives a reproducible layout.
    """
    if stack_top % 16:
        raise ValueError(f"stack_top {stack_top:#x} is not 16-byte aligned")
    if stack_rand < 0:
        raise ValueError("stack_rand must be >= 0")
    if len(random_bytes) != 16:
        raise ValueError("AT_RANDOM needs exactly 16 bytes")
    auxv = list(auxv)
    if auxv and auxv[-1] == (AT_NULL, 0):
        auxv.pop()
    for key, val in auxv:
        if key == AT_NULL:
            raise ValueError("AT_NULL in the middle of auxv")
        if not 0 <= val < 1 << 64 and val not in _MARKERS:
            raise ValueError(f"auxv value {val:#x} for key {key} is not a u64")
    if any(val == PLATFORM_PTR for _, val in auxv) and not platform:
        raise ValueError("auxv asks for AT_PLATFORM but no platform string was given")

    # do_execveat_common(): count, bprm_stack_limits(), then copy the strings.
    if len(argv) > MAX_ARG_STRINGS or len(envp) > MAX_ARG_STRINGS:
        raise Errno(E2BIG, "too many argument strings")
    ptr_size = (max(len(argv), 1) + len(envp)) * PTR
    if arg_limit <= ptr_size:
        raise Errno(E2BIG, f"{len(argv)} arguments and {len(envp)} environment pointers exceed the argument space")
    room = arg_limit - ptr_size
    for s in [execfn, *envp, *argv]:
        if b"\0" in s:
            raise ValueError(f"argument string contains NUL: {s[:40]!r}")
        if len(s) + 1 > MAX_ARG_STRLEN:
            raise Errno(E2BIG, f"a {len(s) + 1}-byte argument string exceeds MAX_ARG_STRLEN ({MAX_ARG_STRLEN})")
    if not argv:
        argv = [b""]   # "exec: Force single empty string when argv is empty" (Linux 5.18)
    total = len(execfn) + 1 + sum(len(s) + 1 for s in envp) + sum(len(s) + 1 for s in argv)
    if total > room:
        raise Errno(E2BIG, f"argument and environment strings take {total} bytes, limit {room}")

    p = stack_top - PTR                     # 8 zero bytes at the very top
    p -= len(execfn) + 1
    execfn_ptr = p
    env_block = b"".join(s + b"\0" for s in envp)
    arg_block = b"".join(s + b"\0" for s in argv)
    env_start = p - len(env_block)
    arg_start = env_start - len(arg_block)
    argv_ptrs, envp_ptrs = _offsets(arg_start, argv), _offsets(env_start, envp)

    # create_elf_tables()
    p = (arg_start - stack_rand) & ~15      # arch_align_stack()
    platform_ptr = None
    if platform:
        p -= len(platform) + 1
        platform_ptr = p
    p -= 16
    random_ptr = p
    resolved = [(k, _resolve(v, random_ptr, execfn_ptr, platform_ptr)) for k, v in auxv] + [(AT_NULL, 0)]
    words = 2 * len(resolved)
    items = (len(argv) + 1) + (len(envp) + 1) + 1
    sp = (p - words * PTR - items * PTR) & ~15    # STACK_ADD then STACK_ROUND

    vector = [len(argv), *argv_ptrs, 0, *envp_ptrs, 0]
    auxv_ptr = sp + len(vector) * PTR
    for k, v in resolved:
        vector += [k, v]
    img = bytearray(stack_top - sp)

    def put(addr: int, blob: bytes) -> None:
        img[addr - sp:addr - sp + len(blob)] = blob

    put(sp, struct.pack(f"<{len(vector)}Q", *vector))
    put(random_ptr, bytes(random_bytes))
    if platform_ptr is not None:
        assert platform is not None             # platform_ptr is set only for a platform string
        put(platform_ptr, platform + b"\0")
    put(arg_start, arg_block)
    put(env_start, env_block)
    put(execfn_ptr, execfn + b"\0")
    return InitialStack(
        sp=UA(sp), image=bytes(img), image_base=UA(sp), argv_ptrs=argv_ptrs, envp_ptrs=envp_ptrs,
        arg_start=arg_start, arg_end=env_start, env_start=env_start, env_end=execfn_ptr,
        execfn_ptr=execfn_ptr, random_ptr=random_ptr, platform_ptr=platform_ptr,
        auxv=resolved, auxv_ptr=auxv_ptr,
    )


def standard_auxv(image: ElfImage, bias: int, interp_bias: int | None, hwcap: int,
                  uid: int, euid: int, gid: int, egid: int, secure: bool,
                  clktck: int = 100, pagesz: int = PAGE_SIZE, sysinfo_ehdr: int | None = None,
                  minsigstksz: int | None = SIGNAL_MINSIGSTKSZ, hwcap2: int = 0,
                  flags: int = 0) -> list[tuple[int, int]]:
    """The auxv create_elf_tables() writes for arm64 (Linux 6.1 order), without AT_NULL.

    `image`/`bias` describe the main program; `interp_bias` is where the interpreter
    was loaded (AT_BASE), None when there is none.  AT_RANDOM, AT_EXECFN and
    AT_PLATFORM carry markers that build_initial_stack resolves.  AT_SYSINFO_EHDR
    comes first when a vDSO is mapped; a falsy minsigstksz gives (AT_IGNORE, 0), as
    ARCH_DLINFO does.  Newer kernels append AT_RSEQ_* (6.3) and AT_HWCAP3/4 (6.13);
    glibc does not need them.
    """
    out: list[tuple[int, int]] = []
    if sysinfo_ehdr is not None:          # ARCH_DLINFO
        out.append((AT_SYSINFO_EHDR, sysinfo_ehdr))
    out.append((AT_MINSIGSTKSZ, minsigstksz) if minsigstksz else (AT_IGNORE, 0))
    out += [
        (AT_HWCAP, hwcap),
        (AT_PAGESZ, pagesz),
        (AT_CLKTCK, clktck),
        (AT_PHDR, (image.phdr_vaddr or 0) + bias),
        (AT_PHENT, image.phent),
        (AT_PHNUM, image.phnum),
        (AT_BASE, interp_bias or 0),
        (AT_FLAGS, flags),
        (AT_ENTRY, image.entry + bias),
        (AT_UID, uid),
        (AT_EUID, euid),
        (AT_GID, gid),
        (AT_EGID, egid),
        (AT_SECURE, int(bool(secure))),
        (AT_RANDOM, RANDOM_PTR),
        (AT_HWCAP2, hwcap2),
        (AT_EXECFN, EXECFN_PTR),
        (AT_PLATFORM, PLATFORM_PTR),
    ]
    return out


def _offsets(base: int, strings: list[bytes]) -> list[int]:
    out = []
    for s in strings:
        out.append(base)
        base += len(s) + 1
    return out


def _resolve(val: int, random_ptr: int, execfn_ptr: int, platform_ptr: int | None) -> int:
    if val == RANDOM_PTR:
        return random_ptr
    if val == EXECFN_PTR:
        return execfn_ptr
    if val == PLATFORM_PTR:
        assert platform_ptr is not None
        return platform_ptr
    return val
