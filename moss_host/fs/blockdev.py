"""A block device backed by a disk-image file the host opens.

The kernel's disks are host files (DESIGN.md: "disk images are files the host
opens"). A BlockDevice reads and writes whole blocks through a small page cache:
`cache` maps block number -> bytearray, `dirty` is the set of blocks changed
since the last flush(). flush() is what sync(2), fsync(2) and unmount call;
nothing reaches the image before it.

Clean blocks are evicted when the cache is full, except those handed out by block()
for editing since the last flush (pinned), so an edit is never made to a forgotten copy.

The block size starts at 1024 (enough to read an ext2/3/4 superblock at byte
1024) and a filesystem driver raises it with set_block_size() once it knows it.

Every failure is a BlockDeviceError: an Errno (EIO, ENOENT, EACCES, EROFS) with
a sentence naming the image, so a bad image is a readable message at boot and
an -EIO at the syscall boundary, never a host traceback.
"""
from __future__ import annotations

import os
from typing import Callable, Optional

from ..errors import EACCES, EINVAL, EIO, ENOENT, EROFS, Errno
from ..machine.hostmem import register_shrinker

DEFAULT_CACHE_BLOCKS = 16384      # clean blocks kept (64 MiB at 4 KiB); dirty blocks are never evicted


class BlockDeviceError(Errno):
    """A disk-image problem: missing, unreadable, too short, or written while read-only."""


class BlockDevice:
    def __init__(self, path: str, read_only: bool = False, block_size: int = 1024,
                 cache_blocks: int = DEFAULT_CACHE_BLOCKS):
        self.path = path
        self.read_only = read_only
        self.block_size = block_size
        self.cache_blocks = cache_blocks
        self.cache: dict[int, bytearray] = {}
        self.dirty: set[int] = set()
        # A journal's size watch (ext4 fs.py): on_dirty_limit runs each time `dirty` grows to
        # dirty_limit blocks (0: never), so a transaction can be closed before it outgrows the log.
        self.dirty_limit = 0
        self.on_dirty_limit: Optional[Callable[[], None]] = None
        self._pinned: set[int] = set()     # handed out by block() since the last flush
        self.reads = 0                      # reads from the image (a page fault that needs one is major)
        self._fd = self._open(path, read_only)
        self.size = os.fstat(self._fd).st_size
        register_shrinker(self.drop_clean)         # /proc/sys/vm/drop_caches

    @staticmethod
    def _open(path: str, read_only: bool) -> int:
        try:
            return os.open(path, os.O_RDONLY if read_only else os.O_RDWR)
        except FileNotFoundError:
            raise BlockDeviceError(ENOENT, f"disk image {path!r} does not exist") from None
        except PermissionError:
            how = "reading" if read_only else "reading and writing (try a read-only mount)"
            raise BlockDeviceError(EACCES, f"disk image {path!r} cannot be opened for {how}") from None
        except IsADirectoryError:
            raise BlockDeviceError(EINVAL, f"disk image {path!r} is a directory") from None
        except OSError as e:
            raise BlockDeviceError(EIO, f"disk image {path!r}: {e.strerror}") from None

    @property
    def num_blocks(self) -> int:
        return self.size // self.block_size

    def set_block_size(self, block_size: int) -> None:
        """Switch to the filesystem's block size (drops the clean cache; there must be nothing dirty)."""
        if self.dirty:
            raise BlockDeviceError(EINVAL, "block size changed with unflushed writes")
        self.cache.clear()
        self._pinned.clear()
        self.block_size = block_size

    # -- raw access (the superblock probe, before the block size is known)
    def pread(self, offset: int, n: int) -> bytes:
        """Exactly n bytes at offset, bypassing the cache; EIO if the image is shorter."""
        try:
            data = os.pread(self._fd, n, offset)
            self.reads += 1
        except OSError as e:
            raise BlockDeviceError(EIO, f"disk image {self.path!r}: read at {offset}: {e.strerror}") from None
        if len(data) != n:
            raise BlockDeviceError(EIO, f"disk image {self.path!r} is too short: wanted {n} bytes at "
                                        f"offset {offset}, the image has {self.size}")
        return data

    # -- cached block access
    def read_block(self, blk: int) -> bytes:
        return bytes(self._get(blk))

    def block(self, blk: int) -> bytearray:
        """The cached buffer of block blk, for in-place edits; call mark_dirty(blk) after changing it.
        The buffer stays cached (pinned) until the next flush, so an edit made after other
        block reads is never lost to eviction."""
        buf = self._get(blk)
        self._pinned.add(blk)
        return buf

    def write_block(self, blk: int, data: bytes | bytearray) -> None:
        """Replace a whole block (shorter data is zero-padded)."""
        if len(data) > self.block_size:
            raise BlockDeviceError(EINVAL, f"write of {len(data)} bytes into one block")
        self._check_range(blk)
        buf = bytearray(data)
        buf.extend(bytes(self.block_size - len(buf)))
        self._insert(blk, buf)
        self.mark_dirty(blk)

    def mark_dirty(self, blk: int) -> None:
        if self.read_only:
            raise BlockDeviceError(EROFS, f"disk image {self.path!r} is open read-only")
        dirty = self.dirty
        dirty.add(blk)
        if len(dirty) == self.dirty_limit and self.on_dirty_limit is not None:
            self.on_dirty_limit()

    def _check_range(self, blk: int) -> None:
        if blk < 0 or (blk + 1) * self.block_size > self.size:
            raise BlockDeviceError(EIO, f"disk image {self.path!r} is too short: block {blk} "
                                        f"(size {self.block_size}) is past its end ({self.size} bytes)")

    def _get(self, blk: int) -> bytearray:
        buf = self.cache.get(blk)
        if buf is None:
            self._check_range(blk)
            buf = bytearray(self.pread(blk * self.block_size, self.block_size))
            self._insert(blk, buf)
        return buf

    def _insert(self, blk: int, buf: bytearray) -> None:
        if len(self.cache) >= self.cache_blocks:
            self._evict()
        self.cache[blk] = buf

    def _evict(self) -> None:
        """Drop the oldest half of the clean, unpinned blocks (dicts keep insertion order)."""
        clean = [b for b in self.cache if b not in self.dirty and b not in self._pinned]
        if not clean:
            return
        for b in clean[:max(1, len(clean) // 2)]:
            del self.cache[b]

    def drop_clean(self) -> None:
        """Forget every clean, unpinned block (drop_caches): the cache is a copy of the image."""
        keep = self.dirty | self._pinned
        for b in [b for b in self.cache if b not in keep]:
            del self.cache[b]

    # -- write-back
    def flush(self) -> None:
        """Write every dirty block to the image, in block order, and fsync it."""
        self._pinned.clear()
        if not self.dirty:
            return
        for blk in sorted(self.dirty):
            try:
                os.pwrite(self._fd, self.cache[blk], blk * self.block_size)
            except OSError as e:
                raise BlockDeviceError(EIO, f"disk image {self.path!r}: write of block {blk}: "
                                            f"{e.strerror}") from None
        self.dirty.clear()
        os.fsync(self._fd)

    def write_through(self, blk: int, data: bytes | bytearray) -> None:
        """Write one whole block to the image now, outside the dirty set (a journal's own
        blocks and ordered write-out); a cached copy is kept in step. No fsync: see barrier()."""
        self._check_range(blk)
        cached = self.cache.get(blk)
        if cached is not None and cached is not data:
            cached[:] = data
        try:
            os.pwrite(self._fd, data, blk * self.block_size)
        except OSError as e:
            raise BlockDeviceError(EIO, f"disk image {self.path!r}: write of block {blk}: {e.strerror}") from None

    def barrier(self) -> None:
        """Everything written so far is on stable storage before anything written after (fsync)."""
        os.fsync(self._fd)

    def close(self) -> None:
        """Flush and close; the device is unusable afterwards."""
        if self._fd >= 0:
            self.flush()
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "BlockDevice":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

