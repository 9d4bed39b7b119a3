"""Guest physical memory as the host sees it: a writable buffer mapped at base_pa.

In production the buffer is the mmap of QEMU's shared RAM file (both sides see each
other's stores without flushing); in tests it is a bytearray. Every access is
bounds-checked and a bad physical address raises ValueError: PAs come from the
kernel itself (frame allocator, page tables), so a bad one is a kernel bug, never a
user error (user pointers are checked, and turned into EFAULT, by uaccess).

Hot-path callers (page tables) may use `mv` and `base` directly with offsets they
validated once; everyone else uses the methods.
"""
from __future__ import annotations

import ctypes
import struct

from moss_host.addr import PA, PAGE_SIZE

_U64 = struct.Struct("<Q")
_ZERO_PAGE = bytes(PAGE_SIZE)


class PhysMem:
    """Byte-addressed guest RAM [base, base + size) over `buf` (mmap, bytearray, ...)."""

    __slots__ = ("mv", "base", "size", "end", "_view", "_addr")

    def __init__(self, buf, base_pa: int):
        mv = memoryview(buf)
        if mv.readonly:
            raise ValueError("PhysMem needs a writable buffer")
        if mv.format != "B" or mv.ndim != 1:
            mv = mv.cast("B")
        if base_pa < 0:
            raise ValueError(f"negative base PA {base_pa:#x}")
        self.mv = mv
        self.base = base_pa
        self.size = len(mv)
        self.end = base_pa + self.size
        self._view = ctypes.c_char.from_buffer(mv)       # the buffer's address, for zero()
        self._addr = ctypes.addressof(self._view)

    def offset(self, pa: int, n: int = 1) -> int:
        """Buffer offset of pa, after checking that [pa, pa + n) is RAM."""
        off = pa - self.base
        if off < 0 or n < 0 or off + n > self.size:
            raise ValueError(f"PA range {pa:#x}+{n:#x} outside RAM "
                             f"[{self.base:#x}, {self.end:#x})")
        return off

    def read(self, pa: PA, n: int) -> bytes:
        off = self.offset(pa, n)
        return self.mv[off:off + n].tobytes()

    def write(self, pa: PA, data) -> None:
        n = len(data)
        off = self.offset(pa, n)
        self.mv[off:off + n] = data

    def read_u64(self, pa: PA) -> int:
        return _U64.unpack_from(self.mv, self.offset(pa, 8))[0]

    def write_u64(self, pa: PA, v: int) -> None:
        _U64.pack_into(self.mv, self.offset(pa, 8), v)

    def zero(self, pa: PA, n: int) -> None:
        off = self.offset(pa, n)
        if n == PAGE_SIZE:
            self.mv[off:off + n] = _ZERO_PAGE
        else:       # memset: bytes(n) of a fault-around's 2 MiB is a fresh mmap read page by page
            ctypes.memset(self._addr + off, 0, n)

    def copy(self, dst_pa: PA, src_pa: PA, n: int) -> None:
        """memmove within RAM (overlapping ranges are fine)."""
        d = self.offset(dst_pa, n)
        s = self.offset(src_pa, n)
        self.mv[d:d + n] = self.mv[s:s + n]
