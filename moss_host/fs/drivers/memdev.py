"""The memory character devices of major 1, with Linux's numbers and semantics:
/dev/null (1:3), /dev/zero (1:5), /dev/full (1:7), /dev/random (1:8), /dev/urandom (1:9).

The device nodes live in whatever filesystem holds them (the initramfs has /dev/null);
opening one comes here through the registry in fs/file.py.
"""
from __future__ import annotations

import os
import stat as S

from moss_host.errors import ENOSPC, Errno
from moss_host.fs.file import InodeFile, register_device

MEM_MAJOR = 1
MAX_CHUNK = 1 << 20


class NullFile(InodeFile):
    """Reads see end of file; writes vanish and succeed."""

    async def read(self, n: int) -> bytes:
        return b""

    async def pread(self, offset: int, n: int) -> bytes:
        return b""

    async def write(self, data: bytes) -> int:
        return len(data)

    async def pwrite(self, offset: int, data: bytes) -> int:
        return len(data)

    def lseek(self, offset: int, whence: int) -> int:
        return 0


class ZeroFile(NullFile):
    """Reads return zero bytes; writes vanish."""

    async def read(self, n: int) -> bytes:
        return bytes(min(n, MAX_CHUNK))

    async def pread(self, offset: int, n: int) -> bytes:
        return bytes(min(n, MAX_CHUNK))


class FullFile(ZeroFile):
    """Like /dev/zero for reads; every write fails with ENOSPC."""

    async def write(self, data: bytes) -> int:
        raise Errno(ENOSPC)

    async def pwrite(self, offset: int, data: bytes) -> int:
        raise Errno(ENOSPC)


class RandomFile(NullFile):
    """Reads return bytes from the host's CSPRNG; writes are accepted (as entropy, ignored)."""

    async def read(self, n: int) -> bytes:
        return os.urandom(min(n, MAX_CHUNK))

    async def pread(self, offset: int, n: int) -> bytes:
        return os.urandom(min(n, MAX_CHUNK))


DEVICES = {3: NullFile, 5: ZeroFile, 7: FullFile, 8: RandomFile, 9: RandomFile}

# The files whose write(2) takes nothing from the buffer (write_null, write_zero; random's
# entropy is ignored here): the syscall answers the count without reading user memory, as
# Linux's write_null never touches it (an unmapped buffer is no EFAULT).
DISCARDS_WRITES: frozenset[type] = frozenset((NullFile, ZeroFile, RandomFile))


def register() -> None:
    for minor, cls in DEVICES.items():
        async def opener(loc, flags, cls=cls):
            return cls(loc, flags)
        register_device(S.S_IFCHR, MEM_MAJOR, minor, opener)


register()
