"""/proc/[pid]/mem: the task's memory at the file offset (Linux's fs/proc/base.c mem_rw).

A read copies page by page and stops at the first page it cannot read: a short count, or
EIO if nothing could be copied. A write stores as ptrace's POKEDATA does (FOLL_FORCE):
into read-only code too, in a fresh frame (AddressSpace.write_forced), so code that
already ran sees it. A process whose memory is gone (a zombie) reads and writes nothing.
Who may open it is checked by the directory (ptrace's access rule, as for environ).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ....addr import PAGE_SIZE
from ....errors import EIO, Errno
from .nodes import ProcNode, Reader

if TYPE_CHECKING:
    from ....mm.address_space import AddressSpace


class MemFile(ProcNode):
    def __init__(self, sb, path: bytes, mm_of: Callable[[Reader], "AddressSpace | None"], uid: int, gid: int,
                 caller: Reader = None):
        super().__init__(sb, path, 0o100600, uid, gid, caller)
        self.mm_of = mm_of              # the task's live address space, after the access check

    def read(self, offset: int, n: int) -> bytes:
        mm = self.mm_of(self.caller)
        if mm is None or n <= 0:
            return b""
        out: list[bytes] = []
        while n > 0:
            step = min(n, PAGE_SIZE - (offset & (PAGE_SIZE - 1)))
            try:
                out.append(mm.read(offset, step))
            except Errno:
                break
            offset, n = offset + step, n - step
        if not out:
            raise Errno(EIO)
        return b"".join(out)

    def write(self, offset: int, data: bytes) -> int:
        mm = self.mm_of(self.caller)
        if mm is None:
            return 0
        done = 0
        while done < len(data):
            step = min(len(data) - done, PAGE_SIZE - ((offset + done) & (PAGE_SIZE - 1)))
            try:
                mm.write_forced(offset + done, bytes(data[done:done + step]))
            except Errno:
                break
            done += step
        if not done and data:
            raise Errno(EIO)
        return done

    def truncate(self, size: int) -> None:
        """O_TRUNC changes nothing (Linux's mem has no setattr for size)."""
