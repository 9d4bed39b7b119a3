"""moss-host's own memory: glibc's malloc giving back what Python has freed.

CPython takes every block above 512 bytes (and its own 1 MiB object arenas' bookkeeping)
from glibc's malloc. Out of the box glibc keeps most of what is freed: it returns memory to
the host only from the top of its heap, and it raises its mmap threshold to the largest
block freed so far (up to 32 MiB), so once exec has read a 2 MiB program and freed it,
every later program read is carved out of the heap and fragments it. Under stress-ng's exec
stressor moss-host's RssAnon went from 32 MiB to 224-400 MiB with 30-80 MiB of live Python
objects (tracemalloc), and stayed there.

Linux's own answer for a kernel heap is its shrinkers; for a host process it is these two
(no mallopt: any fixed threshold turns glibc's dynamic mmap threshold off, and then every
buffer past 128-256 KiB -- large read(2)s, exec's program reads -- is new pages each time: a
256 KiB copy took 145 us instead of 9; the quick bench's shell_loop took 40-58 ms with a fixed
threshold against 28-31 ms without, tcp_loopback_stream 1.3-1.8 against 0.8-0.9 ms, while
just stress ended as far above its start either way, +23.5 to +37 MiB after drop_caches):
  * Trimmer: malloc_trim(0) once a second from a loop timer, when more than TRIM_SLACK has
    been freed in the heap since the last trim: it gives back the free pages in the middle of
    the heap too. A trim walks the free lists (mallinfo2 as well): about a millisecond for
    a 50 MiB heap, so not every second while nothing is freed.
  * drop_caches(), for /proc/sys/vm/drop_caches: the caches that registered a shrinker drop
    what they can -- bit 1 the page cache and the block devices' clean blocks, bit 2 the
    unused dentries (fs/dcache.py, as prune_dcache) and inodes (ext4's inode cache, as
    prune_icache_sb) -- then the heap is trimmed. A leak check compares memory after a drop
    at the start and at the end, as on Linux. The Trimmer runs the same shrinkers when the
    host itself runs short of memory.
Where the C library is not glibc (mallinfo2 missing), the malloc parts do nothing.

What a just stress run (20 s per stressor) leaves after drop_caches, measured with
MOSS_MEMDUMP: RssAnon +17 MiB, of which CPython's object arenas 15 MiB (20 -> 35 arenas of
1 MiB: +0.55 MiB of live blocks, 5.4 MiB of free blocks in pools still in use, 9.7 MiB of
empty pools that pymalloc never gives back while their arena holds any live block) and
glibc's heap +1.6 MiB in use (its free pages trimmed). The dentries and inodes the shrinkers
drop were a few hundred (0.4 MiB): stress-ng removes what it creates.
"""
from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import os
import sys
import weakref
from collections import Counter
from typing import Callable, Optional

log = logging.getLogger("moss.machine")

TRIM_SLACK = 4 << 20            # freed bytes in the heap worth a malloc_trim
TRIM_PERIOD_S = 1.0
LOW_MEMORY_PART = 16            # MemAvailable under a 16th of MemTotal: the host is short
SHRINK_PERIOD_S = 30.0          # a shrink under host memory pressure, at most this often


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def _glibc() -> Optional[ctypes.CDLL]:
    libc = ctypes.CDLL(None)    # (this process's symbols hold libc's: find_library runs ldconfig, 6 ms)
    try:
        libc.mallinfo2.restype = _MallInfo2
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except AttributeError:      # musl, macOS, glibc before 2.33: nothing to tune
        return None
    return libc


_libc = _glibc()


def heap_free() -> int:
    """Bytes free inside glibc's heap (mallinfo2's fordblks), given back to the host or not:
    a trim releases their pages but leaves them free."""
    return _libc.mallinfo2().fordblks if _libc is not None else 0


def trim() -> bool:
    """malloc_trim(0): give the heap's free pages back to the host; whether any went."""
    return bool(_libc.malloc_trim(0)) if _libc is not None else False


# Each cache's drop method, held weakly (a cache goes when its owner does: an unmounted
# disk), and whether it is a slab cache (drop_caches' bit 2: dentries and inodes) or a page
# cache (bit 1). Slab shrinkers run in registration order: the dentry tree's (fs/dcache.py,
# registered at import) before the filesystems' inode caches, whose inodes it releases.
_shrinkers: list[tuple[weakref.WeakMethod, bool]] = []


def register_shrinker(drop: Callable[[], object], slab: bool = False) -> None:
    """`drop` (a bound method) gives back what its cache can spare at a drop_caches."""
    _shrinkers[:] = [(ref, kind) for ref, kind in _shrinkers if ref() is not None]
    _shrinkers.append((weakref.WeakMethod(drop), slab))     # type: ignore[arg-type]


def drop_caches(pagecache: bool, slab: bool = False) -> None:
    """/proc/sys/vm/drop_caches (drop_pagecache_sb, then drop_slab): with `pagecache` (bit 1)
    the page caches drop their clean pages, with `slab` (bit 2) the dentry tree and the inode
    caches their unused entries; then, for either bit, cyclic garbage is collected (objects
    of ended tasks waiting for a full collection, which the trap path leaves rare: 4 MiB
    after a stress run) and the freed memory goes back to the host."""
    for wanted in (False, True):
        if (slab if wanted else pagecache):
            for ref, kind in list(_shrinkers):
                drop = ref()
                if kind == wanted and drop is not None:
                    drop()
    collected = gc.collect()
    trim()
    if DUMP_PREFIX:
        dump_state(DUMP_PREFIX, collected)


# MOSS_MEMDUMP=PREFIX: every drop_caches writes PREFIX.N.txt (RssAnon, malloc's figures, the
# live objects by type, CPython's arena statistics) and, when tracing (PYTHONTRACEMALLOC=1),
# PREFIX.N.snap, a tracemalloc snapshot: a leak hunt diffs the first and the last.
DUMP_PREFIX = os.environ.get("MOSS_MEMDUMP", "")
_dumps = 0


def dump_state(prefix: str, collected: int) -> None:
    global _dumps
    _dumps += 1
    base = f"{prefix}.{_dumps}"
    import tracemalloc          # (a debugging aid: not imported by every run, with its pickle)
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(base + ".snap")
    with open("/proc/self/status") as f:
        rss = [line for line in f if line.startswith("Rss")]
    types = Counter(type(o).__name__ for o in gc.get_objects())
    with open(base + ".txt", "w") as out:
        out.writelines(rss)
        out.write(f"garbage collected: {collected} objects\n")
        if _libc is not None:
            info = _libc.mallinfo2()
            out.write(" ".join(f"{n}={getattr(info, n)}" for n, _ in info._fields_) + "\n")
        out.writelines(f"{n:8} {name}\n" for name, n in types.most_common(60))
        out.flush()
        saved = os.dup(2)           # _debugmallocstats writes to the C stderr
        try:
            sys.stderr.flush()
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def host_memory_low(meminfo: str = "/proc/meminfo") -> bool:
    """The host is short of memory: MemAvailable below 1/LOW_MEMORY_PART of MemTotal."""
    try:
        with open(meminfo, "rb") as f:
            fields = dict(line.split(b":", 1) for line in f.read().splitlines() if b":" in line)
        total, available = (int(fields[k].split()[0]) for k in (b"MemTotal", b"MemAvailable"))
    except (OSError, KeyError, ValueError):
        return False
    return available * LOW_MEMORY_PART < total


class Trimmer:
    """Trims the heap from the event loop, once a period at most, when enough is free; and
    when the host runs short of memory, has every cache shrink as at a drop_caches (what
    kswapd's shrinking is to Linux), once a SHRINK_PERIOD_S at most."""

    def __init__(self, period_s: float = TRIM_PERIOD_S, slack: int = TRIM_SLACK,
                 memory_low: Callable[[], bool] = host_memory_low) -> None:
        self.period_s = period_s
        self.slack = slack
        self.trims = 0
        self.shrinks = 0
        self.memory_low = memory_low
        self.next_shrink = 0.0          # loop time before which no pressure shrink runs again
        self.low = heap_free()          # the least free seen since the last trim
        self.handle: Optional[asyncio.TimerHandle] = None

    def start(self) -> None:
        if _libc is not None:
            self.handle = asyncio.get_running_loop().call_later(self.period_s, self._tick)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def _tick(self) -> None:
        now = asyncio.get_running_loop().time()
        if now >= self.next_shrink and self.memory_low():
            self.next_shrink = now + SHRINK_PERIOD_S
            self.shrinks += 1
            log.info("host memory low: shrinking the caches")
            drop_caches(pagecache=True, slab=True)      # trims too
            self.low = heap_free()
        free = heap_free()
        if free - self.low > self.slack:     # reused since, then freed again: pages to give back
            trim()
            self.trims += 1
            self.low = free
        else:
            self.low = min(self.low, free)
        self.handle = asyncio.get_running_loop().call_later(self.period_s, self._tick)
