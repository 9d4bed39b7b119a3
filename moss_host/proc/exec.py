"""execve: build a fresh process image -- map an ELF (and its interpreter) into a new
address space and lay out the initial stack, as Linux's load_elf_binary does -- then put
it in place of the task's old one (exec_into).
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from moss_host.addr import PAGE_SIZE
from moss_host.arch.arm64.hwcap import HWCAP, HWCAP2
from moss_host.errors import ENOEXEC, Errno
from moss_host.fs.namespace import MS_NOEXEC, MS_NOSUID
from moss_host.fs.vfs import path_of
from moss_host.loader.elf import (DEFAULT_INTERP_BASE, DEFAULT_PIE_BASE, ElfError, ElfImage,
                                  choose_load_bias, code_and_data, parse_elf, segment_extent)
from moss_host.loader.stack import build_initial_stack, standard_auxv
from moss_host.machine.hostmem import register_shrinker
from moss_host.mm.address_space import AddressSpace
from moss_host.mm.backing import Backing
from moss_host.mm.page_cache import before_read, file_version
from moss_host.mm.stack import NO_LIMIT, STACK_RLIMIT, STACK_TOP, initial_stack
from moss_host.mm.vma import MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, Vma
from moss_host.arch.arm64.context import new_saved
from moss_host.mm.writeback import write_back
from moss_host.proc.vdso import map_vdso

from . import lifecycle, posix_timers, signals
from .caps import XATTR_NAME_CAPS, ExecFile, exec_creds, secure_exec
from .rlimits import RLIMIT_AS, RLIMIT_STACK

if TYPE_CHECKING:
    from moss_host.cred import Creds
    from moss_host.fs.vfs import FsContext, Location
    from moss_host.mm.memory import Memory

    from .task import Task


class ExecutableData(bytes):
    """A program file's bytes, with the file version its pages are cached under."""
    version: tuple | None = None
    file: ExecFile | None = None        # what decides the credentials it runs with


class SegmentBacking(Backing):
    """Page contents of one PT_LOAD: file bytes up to p_filesz, zeros after (the bss)."""

    def __init__(self, data: bytes, file_end: int):
        self.data = data
        self.file_end = file_end
        # A program read from a file is cached under its version; raw bytes (tests) are not.
        self.version = data.version if isinstance(data, ExecutableData) else None

    def read(self, offset: int, n: int) -> bytes:
        return self.data[offset:min(offset + n, self.file_end)]

    def page_key(self, offset: int):
        """The page-cache key of the page at file offset `offset`; None for pure bss."""
        valid = min(self.file_end - offset, PAGE_SIZE)
        if self.version is None or valid <= 0:
            return None
        return self.version, offset, valid


@dataclass
class LoadedImage:
    mm: AddressSpace
    entry: int
    sp: int
    bias: int


def map_elf(mm: AddressSpace, image: ElfImage, data: bytes, bias: int, name: str) -> int:
    """Per PT_LOAD a private VMA of the file and, for a bss past its last file page, an
    anonymous one (rw, x if the segment is: set_brk's); returns the end of the highest."""
    end = 0
    for seg in image.segments:
        ext = segment_extent(seg, bias)
        prot = (PROT_READ if seg.readable else 0) | (PROT_WRITE if seg.writable else 0) \
            | (PROT_EXEC if seg.executable else 0)
        backing = SegmentBacking(data, seg.file_offset + seg.filesz)
        offset = seg.file_offset - (seg.vaddr + bias - ext.start)
        try:
            if ext.file_end > ext.start:
                mm.add(Vma(ext.start, ext.file_end, prot, MAP_PRIVATE, backing, offset, name))
            if ext.end > ext.file_end:
                mm.add(Vma(ext.file_end, ext.end, PROT_READ | PROT_WRITE | (prot & PROT_EXEC)))
        except (ValueError, Errno):
            raise Errno(ENOEXEC, f"{name}: PT_LOAD segments share a page") from None
        end = max(end, ext.end)
    return end


def parse_or_enoexec(data: bytes, name: str) -> ElfImage:
    try:
        return parse_elf(data)
    except ElfError as e:
        raise Errno(ENOEXEC, f"{name}: {e}") from None


def bias_or_enoexec(image: ElfImage, base: int, name: str) -> int:
    try:
        return choose_load_bias(image, base)
    except ElfError as e:
        raise Errno(ENOEXEC, f"{name}: {e}") from None


def load_program(mem, data: bytes, path: str, argv: list[bytes], envp: list[bytes],
                 creds, read_interp, execfn: bytes | None = None, stack_limit: int = STACK_RLIMIT,
                 secure: bool = False, as_limit: int = NO_LIMIT) -> LoadedImage:
    """A new address space running `data`; `read_interp(path) -> bytes` opens PT_INTERP;
    `stack_limit` is the RLIMIT_STACK the stack starts and grows under, `as_limit` the
    RLIMIT_AS its growth also keeps to."""
    image = parse_or_enoexec(data, path)
    mm = AddressSpace(mem)
    try:
        bias = bias_or_enoexec(image, DEFAULT_PIE_BASE, path)
        mm.brk_start = mm.brk = map_elf(mm, image, data, bias, path)
        entry = image.entry + bias
        interp_bias = None
        if image.interp:
            interp_path = image.interp.decode(errors="replace")
            interp_data = read_interp(interp_path)
            interp = parse_or_enoexec(interp_data, interp_path)
            interp_bias = bias_or_enoexec(interp, DEFAULT_INTERP_BASE, interp_path)
            map_elf(mm, interp, interp_data, interp_bias, interp_path)
            entry = interp.entry + interp_bias
        vdso_base = map_vdso(mm)                                        # AT_SYSINFO_EHDR
        auxv = standard_auxv(image, bias, interp_bias, HWCAP, creds.uid, creds.euid, creds.gid,
                             creds.egid, secure=secure, hwcap2=HWCAP2,
                             sysinfo_ehdr=vdso_base)
        stack = build_initial_stack(STACK_TOP, argv, envp, auxv, os.urandom(16),
                                    execfn=execfn if execfn is not None else path.encode())
        mm.set_stack_limit(stack_limit)
        mm.set_as_limit(as_limit)
        mm.add(initial_stack(STACK_TOP, stack.arg_start, stack.sp, stack_limit))
        mm.write(stack.image_base, stack.image)
        mm.arg_start, mm.arg_end = stack.arg_start, stack.arg_end       # /proc/<pid>/cmdline
        mm.env_start, mm.env_end = stack.env_start, stack.env_end       # /proc/<pid>/environ
        mm.saved_auxv = struct.pack(f"<{2 * len(stack.auxv)}Q", *(w for pair in stack.auxv for w in pair))
        cd = code_and_data(image, bias)                                 # /proc/<pid>/stat
        mm.start_code, mm.end_code, mm.start_data, mm.end_data = cd.start_code, cd.end_code, cd.start_data, cd.end_data
        mm.start_stack = stack.sp
        mm.prefault_code(entry)
    except BaseException:
        mm.destroy()
        raise
    return LoadedImage(mm, entry, stack.sp, bias)


MAX_ARG_STRLEN = 131072
MAX_ARG_STRINGS = 0x7FFF_FFFF
ARG_SPACE = STACK_RLIMIT // 4        # Linux: a quarter of RLIMIT_STACK for argv + envp
BINPRM_BUF_SIZE = 256
MAX_SCRIPT_DEPTH = 4                 # interpreters of interpreters (Linux: 5 binfmt rounds)


def check_arg_size(argv: list[bytes], envp: list[bytes]) -> None:
    """E2BIG when the strings and their pointers would take more than a quarter of the stack."""
    size = sum(len(a) + 1 + 8 for a in argv) + sum(len(e) + 1 + 8 for e in envp)
    if size > ARG_SPACE:
        from moss_host.errors import E2BIG
        raise Errno(E2BIG)


def parse_shebang(head: bytes) -> tuple[bytes, bytes | None] | None:
    """(interpreter, optional argument) of a `#!` line, None if head is not a script.

    As binfmt_script: the line ends at a newline within the first 256 bytes (a longer
    line is cut there); blanks around the interpreter are skipped and everything after
    it, trimmed, is a single argument.
    """
    if not head.startswith(b"#!"):
        return None
    line = head[2:BINPRM_BUF_SIZE].split(b"\n", 1)[0].replace(b"\t", b" ").strip(b" \0")
    if not line:
        raise Errno(ENOEXEC, "empty #! line")
    interp, _, arg = line.partition(b" ")
    arg = arg.strip(b" ")
    return interp, (arg or None)


def resolve_scripts(read, path: bytes, argv: list[bytes], data=None) -> tuple[bytes, bytes, list[bytes]]:
    """Follow `#!` lines: (program to load, its bytes, the argv it gets).

    A script runs as `interpreter [arg] path argv[1:]...`; ELOOP when interpreters nest
    deeper than MAX_SCRIPT_DEPTH. `data`: path's bytes when the caller has read them already.
    """
    if data is None:
        data = read(path)
    for _ in range(MAX_SCRIPT_DEPTH + 1):
        shebang = parse_shebang(data[:BINPRM_BUF_SIZE])
        if shebang is None:
            return path, data, argv
        interp, arg = shebang
        argv = [interp] + ([arg] if arg is not None else []) + [path] + argv[1:]
        path = interp
        data = read(path)
    from moss_host.errors import ELOOP
    raise Errno(ELOOP)


def read_executable(fs: FsContext, path: bytes, creds: Creds, caller: Optional[Task] = None) -> bytes:
    """The bytes of the program at path, checked like execve does (EACCES unless regular and
    executable); `caller` is the task exec'ing (None: the kernel, starting init)."""
    from moss_host.fs.path import lookup
    from moss_host.cred import fs_cred

    return read_executable_at(lookup(fs, path, cred=fs_cred(creds), caller=caller), creds)


def read_executable_at(loc: Location, creds: Creds) -> bytes:
    """read_executable of the file at loc, found already (execveat)."""
    from moss_host.errors import EACCES
    from moss_host.cred import fs_cred
    from moss_host.fs.vfs import MAY_EXEC, permission

    cred = fs_cred(creds)
    inode = loc.inode
    if not inode.is_reg or loc.mount.flags & MS_NOEXEC:     # nothing on a noexec mount runs
        raise Errno(EACCES)
    permission(inode, cred, MAY_EXEC)
    before_read(inode, 0, inode.size)       # stores through shared mappings reach the file first
    version = file_version(inode)
    file = ExecFile(inode.mode, inode.uid, inode.gid, bool(loc.mount.flags & MS_NOSUID), _file_caps_xattr(inode))
    data = PROGRAMS.get(version, file)
    if data is None:
        data = ExecutableData(inode.read(0, inode.getattr().st_size))
        data.version, data.file = version, file
        PROGRAMS.put(data)
    return data


class ProgramCache:
    """The bytes of the programs exec'd last, shared by the processes that run the same
    version of a file, as Linux's page cache shares one copy of a program's text.

    A process's SegmentBackings hold its program's bytes for its life. Each exec used to
    read its own copy: stress-ng's exec stressor, its children exec'ing stress-ng again,
    took moss-host's RssAnon to 481 MiB in 10 s (834 MiB with fork, vfork and clone). The
    newest RECENT files stay here; drop_caches' slab bit empties it (the processes keep
    what they hold)."""

    RECENT = 8

    def __init__(self) -> None:
        self.recent: dict[tuple, ExecutableData] = {}      # file_version -> its bytes, oldest first

    def get(self, version: tuple, file: ExecFile) -> Optional[ExecutableData]:
        data = self.recent.pop(version, None)
        if data is None or data.file != file:               # (another mount's nosuid, new caps)
            return None
        self.recent[version] = data                         # the newest again
        return data

    def put(self, data: ExecutableData) -> None:
        assert data.version is not None
        self.recent[data.version] = data
        if len(self.recent) > self.RECENT:
            del self.recent[next(iter(self.recent))]

    def drop(self) -> None:
        self.recent.clear()


PROGRAMS = ProgramCache()
register_shrinker(PROGRAMS.drop, slab=True)


def _file_caps_xattr(inode) -> bytes | None:
    try:
        return inode.xattr_get(XATTR_NAME_CAPS)
    except Errno:
        return None


def read_string_array(mm, ptr: int) -> list[bytes]:
    """argv/envp from user memory: pointers up to NULL, each a NUL-terminated string."""
    from moss_host.errors import E2BIG
    out: list[bytes] = []
    while ptr:
        p = mm.read_u64(ptr + 8 * len(out))
        if not p:
            break
        if len(out) >= MAX_ARG_STRINGS:
            raise Errno(E2BIG)
        try:
            out.append(mm.read_cstring(p, MAX_ARG_STRLEN))
        except Errno as e:
            raise Errno(E2BIG) if e.code != 14 else e
    return out


# -- replacing a task's image ----------------------------------------------------------------

@dataclass
class NewImage:
    """A program loaded into a new address space, not yet given to any task."""
    loaded: LoadedImage
    path: str            # what execve was given (comm is its last component)
    prog: bytes          # the file that runs: path, or the interpreter of a #! script
    creds: Creds | None = None      # what the task runs it as (None: as it is)


def prepare_exec(mem: Memory, fs: FsContext, creds: Creds, path: str, argv: list[bytes],
                 envp: list[bytes], caller: Optional[Task] = None, at: Optional[Location] = None) -> NewImage:
    """Everything of execve that can fail, done before the old image is touched: find the
    program (following #! lines) and load it into a new address space. `at`: the program's
    file when execveat found it already; path is then only its name ("/dev/fd/3", ...)."""
    def read(p: bytes) -> bytes:
        return read_executable(fs, p, creds, caller)

    check_arg_size(argv, envp)
    first = read_executable_at(at, creds) if at is not None else None
    prog, data, argv = resolve_scripts(read, path.encode(), argv, first)
    if at is not None and data is first:        # /proc/pid/exe names the file, not "/dev/fd/N"
        prog = path_of(at, fs.root)[0]
    new_creds, secure = None, False
    if caller is not None and isinstance(data, ExecutableData) and data.file is not None:
        new_creds = exec_creds(creds, data.file, caller.no_new_privs)
        secure, creds = secure_exec(creds, new_creds, data.file), new_creds
    loaded = load_program(mem, data, prog.decode(errors="surrogateescape"), argv, envp,
                          creds, lambda p: read(p.encode()), execfn=path.encode(),
                          stack_limit=caller.rlimits[RLIMIT_STACK][0] if caller is not None else STACK_RLIMIT,
                          secure=secure,
                          as_limit=caller.rlimits[RLIMIT_AS][0] if caller is not None else NO_LIMIT)
    return NewImage(loaded, path, prog, new_creds)


def exec_into(task: Task, path: str, argv: list[bytes], envp: list[bytes], at: Optional[Location] = None) -> None:
    """execve: replace task's image with the program at path (an ELF or a #! script), or
    with the file at `at` (execveat) that path names.

    A failed exec returns to the caller's program unchanged (see prepare_exec).
    """
    old = task.mm
    image = prepare_exec(old.mem, task.fs, task.creds, path, argv, envp, task, at)
    lifecycle.de_thread(task)           # past the point of no return: the other threads go
    lifecycle.release_futexes(task)     # the old image's robust mutexes and clear_child_tid
    install_image(task, image)
    if old.users == 1:
        write_back(old)                 # the old image's shared file mappings
    old.release()
    lifecycle.release_vfork_parent(task)


def install_image(task: Task, image: NewImage) -> None:
    """The task runs image from its entry point on (its old address space is the caller's
    to release); what survives exec and what does not is Linux's begin_new_exec."""
    loaded = image.loaded
    # CLONE_SIGHAND needs CLONE_VM, and a sharer leaves the mm only by exec (taking its own
    # copy, below) or exit: handlers alone in the old mm are ours alone (unshare_sighand).
    sighand_shared = task.mm.users > 1
    task.mm = loaded.mm
    charge, loaded.mm.charge = loaded.mm.charge, task.group.faults
    task.min_flt += charge.min_flt      # the faults loading it took count as the caller's
    task.maj_flt += charge.maj_flt
    task.comm = os.path.basename(image.path).encode()[:15]
    task.exe = image.prog.decode(errors="surrogateescape")
    task.image_bias = loaded.bias
    task.group.did_exec = True
    if image.creds is not None:
        task.creds = c = image.creds            # commit_creds; set-ID programs do not dump
        task.dumpable = int(c.euid == c.uid and c.egid == c.gid)
    task.files.close_on_exec()
    if task.sighand is not None and sighand_shared:
        task.sighand = task.sighand.copy()      # unshare (CLONE_SIGHAND) before resetting
    signals.exec_reset(task)                    # caught signals to SIG_DFL, no altstack
    posix_timers.exit_itimers(task.group)
    task.rseq = (0, 0, 0)
    task.robust_list = (0, 0)
    task.clear_child_tid = 0
    ctx = new_saved(loaded.entry, loaded.sp)
    if task.on_cpu is not None:
        task.on_cpu.mailbox.load_context(ctx)
    else:
        task.context = ctx
