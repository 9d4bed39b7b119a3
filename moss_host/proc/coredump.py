"""Core dumps (fs/coredump.c do_coredump, fs/binfmt_elf.c elf_core_dump): a process killed by
a signal whose default action dumps core leaves an ELF core file that gdb reads, when
RLIMIT_CORE and the dumpable flag allow (rlimits.core_dump_allowed).

The file is named by kernel.core_pattern (%p %P %i %I %u %g %s %t %h %e %% expanded; a
relative name is in the process's working directory; kernel.core_uses_pid appends .PID when
the pattern has no %p), replacing a file of that name, created 0600 (less the umask: a umask
that takes the owner's read or write bit away makes Linux give up, as here) and owned by the
fs ids. A pattern that pipes to a program ("|...") gets no core: moss-py runs no user-mode
helper. The wait status says "core dumped" once the file is created, even if RLIMIT_CORE cuts
it short (as Linux: has_dumped is set before the writing).

Contents, as Linux 6.1 writes them on arm64: an ELF64 ET_CORE header, a PT_NOTE segment, then
one PT_LOAD per mapping. Notes: per thread (the dumping one first) NT_PRSTATUS, then for the
first one NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE, then the thread's NT_PRFPREG, NT_ARM_TLS,
NT_ARM_SYSTEM_CALL and NT_ARM_TAGGED_ADDR_CTRL (no hardware break/watchpoint notes). Memory
(coredump_filter 0x33): anonymous and [vdso]/[vvar] mappings whole, written private file
mappings whole, the first page of an ELF file mapped at offset 0, shared file mappings not;
pages never touched are holes in the file.
"""
from __future__ import annotations

import logging
import struct
import time
from typing import TYPE_CHECKING, Optional

from moss_host.addr import PAGE_SIZE
from moss_host.arch.arm64.sigframe import pack_siginfo
from moss_host.cred import fs_cred
from moss_host.errors import Errno
from moss_host.fs import path as fspath
from moss_host.fs.drivers.procfs.sysctl_values import TUNABLES
from moss_host.fs.vfs import vfs_create, vfs_unlink
from moss_host.mm.vma import PROT_EXEC, PROT_READ, PROT_WRITE

from .rlimits import RLIMIT_CORE, core_dump_allowed

if TYPE_CHECKING:
    from moss_host.mm.vma import Vma

    from .signals import SigInfo
    from .task import Task

log = logging.getLogger("moss.coredump")

NT_PRSTATUS, NT_PRFPREG, NT_PRPSINFO, NT_AUXV = 1, 2, 3, 6
NT_SIGINFO, NT_FILE = 0x53494749, 0x46494C45
NT_ARM_TLS, NT_ARM_SYSTEM_CALL, NT_ARM_TAGGED_ADDR_CTRL = 0x401, 0x404, 0x409
ET_CORE, EM_AARCH64, PT_LOAD, PT_NOTE = 4, 183, 1, 4
_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_NOTE = struct.Struct("<III")
_PRSTATUS = struct.Struct("<iiih2xQQiiii8q34Qi4x")        # 392 bytes
_PRPSINFO = struct.Struct("<bcbb4xQIIiiii16s80s")         # 136 bytes
_FPREGS_TAIL = struct.Struct("<II8x")
ELF_PRARGSZ = 80
_SPECIAL = ("[vdso]", "[vvar]")


def dump(task: Task, signo: int, info: Optional[SigInfo]) -> bool:
    """do_coredump for `task`'s process, killed by signo: True if a core was written."""
    if not core_dump_allowed(task):
        return False
    pattern = TUNABLES.core_pattern
    if pattern.startswith(b"|"):
        log.warning("pid %d: core_pattern pipes to a program: no core (no user-mode helpers)", task.tid)
        return False
    name = _core_name(task, signo, pattern)
    try:
        return _write(task, name, _Core(task, signo, info))
    except Errno as e:
        log.warning("pid %d: core dump to %s failed: errno %d", task.tid, name.decode(errors="replace"), e.code)
        return False


def _core_name(task: Task, signo: int, pattern: bytes) -> bytes:
    """format_corename: the pattern's %-specifiers expanded (unknown ones dropped)."""
    uid, gid = task.creds.uid, task.creds.gid
    values = {ord("p"): task.tgid, ord("P"): task.tgid, ord("i"): task.tid, ord("I"): task.tid,
              ord("u"): uid, ord("g"): gid, ord("s"): signo, ord("t"): int(time.time()),
              ord("h"): task.uts.nodename,
              ord("e"): task.comm.replace(b"/", b"!"), ord("%"): b"%"}
    out, i, has_pid = bytearray(), 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == ord("%") and i + 1 < len(pattern):
            spec = pattern[i + 1]
            has_pid |= spec == ord("p")
            value = values.get(spec, b"")
            out += value if isinstance(value, bytes) else str(value).encode()
            i += 2
            continue
        out.append(c)
        i += 1
    if TUNABLES.core_uses_pid and not has_pid:
        out += b".%d" % task.tgid
    return bytes(out)


class _Core:
    """The core's layout: header, program headers, notes, then each mapping's pages."""

    def __init__(self, task: Task, signo: int, info: Optional[SigInfo]):
        self.task = task
        mm = task.mm
        self.vmas = list(mm.vmas)
        notes = self._notes(task, signo, info)
        phnum = len(self.vmas) + 1
        notes_at = _EHDR.size + phnum * _PHDR.size
        data_at = -(-(notes_at + len(notes)) // PAGE_SIZE) * PAGE_SIZE
        self.segments: list[tuple[int, Vma, int]] = []        # (file offset, vma, bytes dumped)
        phdrs = [_PHDR.pack(PT_NOTE, 0, notes_at, 0, 0, len(notes), 0, 0)]
        offset = data_at
        for vma in self.vmas:
            size = self._dump_size(vma)
            flags = (4 if vma.prot & PROT_READ else 0) | (2 if vma.prot & PROT_WRITE else 0) | \
                (1 if vma.prot & PROT_EXEC else 0)
            phdrs.append(_PHDR.pack(PT_LOAD, flags, offset, vma.start, 0, size, vma.end - vma.start, PAGE_SIZE))
            self.segments.append((offset, vma, size))
            offset += size
        ident = b"\x7fELF" + bytes([2, 1, 1, 0])
        header = _EHDR.pack(ident, ET_CORE, EM_AARCH64, 1, 0, _EHDR.size, 0, 0, _EHDR.size, _PHDR.size, phnum,
                            64, 0, 0)
        self.head = header + b"".join(phdrs) + notes
        self.size = offset

    def _dump_size(self, vma: Vma) -> int:
        """vma_dump_size with the default coredump_filter (0x33)."""
        length = vma.end - vma.start
        if vma.name in _SPECIAL or vma.backing is None:
            return length                           # anonymous (private or shared), special mappings
        if vma.shared:
            return 0
        if vma.prot & PROT_WRITE:
            return length                           # a private file mapping written to (data, relro)
        if vma.offset == 0 and vma.prot & PROT_READ and self._page(vma.start)[:4] == b"\x7fELF":
            return PAGE_SIZE                        # an ELF file's headers
        return 0

    def _page(self, va: int) -> bytes:
        """A resident page's bytes, or b"" for one never touched (a hole in the file)."""
        mm = self.task.mm
        pa = mm.resident.get(va)
        if pa is None:
            return b""
        physmem = mm.mem.physmem
        start = pa - physmem.base
        return physmem.mv[start:start + PAGE_SIZE].tobytes()

    def pages(self):
        """(file offset, bytes) of every resident page of the dumped ranges."""
        for offset, vma, size in self.segments:
            for va in range(vma.start, vma.start + size, PAGE_SIZE):
                data = self._page(va)
                if data:
                    yield offset + (va - vma.start), data

    # -- notes --

    def _notes(self, task: Task, signo: int, info: Optional[SigInfo]) -> bytes:
        threads = [task] + [t for t in task.group.threads if t is not task]
        out = []
        for n, t in enumerate(threads):
            regs = t.regs().read_regs()
            out.append(_note(b"CORE", NT_PRSTATUS, self._prstatus(t, signo, regs)))
            if n == 0:
                out.append(_note(b"CORE", NT_PRPSINFO, self._prpsinfo(task)))
                if info is not None:
                    out.append(_note(b"CORE", NT_SIGINFO, pack_siginfo(info)))
                out.append(_note(b"CORE", NT_AUXV, task.mm.saved_auxv))
                files = self._nt_file()
                if files:
                    out.append(_note(b"CORE", NT_FILE, files))
            fp = b"".join(v.to_bytes(16, "little") for v in regs.v) + _FPREGS_TAIL.pack(regs.fpsr, regs.fpcr)
            out.append(_note(b"CORE", NT_PRFPREG, fp))
            out.append(_note(b"LINUX", NT_ARM_TLS, struct.pack("<Q", t.regs().tpidr)))
            out.append(_note(b"LINUX", NT_ARM_SYSTEM_CALL, struct.pack("<i", -1)))
            out.append(_note(b"LINUX", NT_ARM_TAGGED_ADDR_CTRL, struct.pack("<Q", 0)))
        return b"".join(out)

    @staticmethod
    def _prstatus(t: Task, signo: int, regs) -> bytes:
        """struct elf_prstatus: the signal, pending and blocked sets, ids, times, registers."""
        if t.tid == t.tgid:
            utime, stime = t.group.cpu_times()      # the leader reports the whole process
        else:
            utime, stime = t.utime_ns, t.stime_ns
        times = []
        for ns in (utime, stime, t.group.cutime_ns, t.group.cstime_ns):
            times += [ns // 1_000_000_000, ns % 1_000_000_000 // 1000]
        return _PRSTATUS.pack(signo, 0, 0, signo, t.sigpending, t.blocked, t.tid, t.parent.tgid if t.parent else 0,
                              t.pgid, t.sid, *times, *regs.x, regs.sp, regs.pc, regs.pstate, 1)

    @staticmethod
    def _prpsinfo(task: Task) -> bytes:
        """struct elf_prpsinfo: state, nice, ids, command name and the start of its arguments."""
        mm = task.mm
        try:
            args = mm.read(mm.arg_start, min(mm.arg_end - mm.arg_start, ELF_PRARGSZ - 1))
        except Errno:
            args = b""
        args = args.replace(b"\0", b" ")            # every NUL, the last one too, as Linux
        return _PRPSINFO.pack(0, b"R", 0, task.nice, 0, task.creds.uid, task.creds.gid, task.tgid,
                              task.parent.tgid if task.parent else 0, task.pgid, task.sid,
                              task.comm[:15], args[:ELF_PRARGSZ - 1])

    def _nt_file(self) -> bytes:
        """NT_FILE: each file mapping's range and page offset, then the paths."""
        mapped = [v for v in self.vmas if v.backing is not None and v.name.startswith("/")]
        if not mapped:
            return b""
        head = struct.pack("<QQ", len(mapped), PAGE_SIZE)
        ranges = b"".join(struct.pack("<QQQ", v.start, v.end, v.offset // PAGE_SIZE) for v in mapped)
        names = b"".join(v.name.encode() + b"\0" for v in mapped)
        return head + ranges + names


def _note(name: bytes, kind: int, desc: bytes) -> bytes:
    """One ELF note: namesz, descsz, type, the name and the descriptor each padded to 4."""
    name += b"\0"
    return (_NOTE.pack(len(name), len(desc), kind) + name.ljust(-(-len(name) // 4) * 4, b"\0")
            + desc.ljust(-(-len(desc) // 4) * 4, b"\0"))


def _write(task: Task, name: bytes, core: _Core) -> bool:
    """Replace the file `name` with the core (O_CREAT|O_EXCL, 0600 less the umask, the fs ids
    owning it), up to RLIMIT_CORE bytes: a core cut short there still says "core dumped"."""
    cred = fs_cred(task.creds)
    parent = fspath.Walker(task.fs, cred, task).resolve_parent(task.fs.cwd, name)
    try:
        vfs_unlink(parent.dir, parent.name, cred)
    except Errno:
        pass                                        # (none there; other trouble shows at create)
    mode = 0o600 & ~task.fs.umask
    if mode != 0o600:
        return False                                # Linux: "cannot preserve file mode"
    loc = vfs_create(parent.dir, parent.name, mode, cred)
    inode = loc.inode
    limit = task.rlimits[RLIMIT_CORE][0]
    for offset, data in [(0, core.head), *core.pages()]:
        room = limit - offset
        if room <= 0:
            break
        inode.write(offset, data[:room])
    inode.truncate(min(core.size, limit))
    return True                                     # (elf_core_dump's has_dumped: a short core counts)
