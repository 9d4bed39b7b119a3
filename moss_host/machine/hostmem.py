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
  * drop_caches(), for /proc/sys/vm/drop_caches: the caches that registered a shrinker (the
    page cache, the block devices' clean blocks) drop what they can, then the heap is trimmed.
    A leak check compares memory after a drop at the start and at the end, as on Linux.
Where the C library is not glibc (mallinfo2 missing), the malloc parts do nothing.
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import weakref
from typing import Callable, Optional

log = logging.getLogger("moss.machine")

TRIM_SLACK = 4 << 20            # freed bytes in the heap worth a malloc_trim
TRIM_PERIOD_S = 1.0


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def _glibc() -> Optional[ctypes.CDLL]:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
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


# Each cache's drop method, held weakly: a cache goes when its owner does (an unmounted disk).
_shrinkers: list[weakref.WeakMethod] = []


def register_shrinker(drop: Callable[[], object]) -> None:
    """`drop` (a bound method) gives back what its cache can spare at a drop_caches."""
    _shrinkers[:] = [ref for ref in _shrinkers if ref() is not None]
    _shrinkers.append(weakref.WeakMethod(drop))     # type: ignore[arg-type]


def drop_caches(pagecache: bool) -> None:
    """/proc/sys/vm/drop_caches: with `pagecache` (its bit 1) every registered cache drops
    what it can; then, for either bit, cyclic garbage is collected (objects of ended tasks
    waiting for a full collection, which the trap path leaves rare: 4 MiB after a stress
    run) and the freed memory goes back to the host."""
    if pagecache:
        for ref in list(_shrinkers):
            drop = ref()
            if drop is not None:
                drop()
    gc.collect()
    trim()


class Trimmer:
    """Trims the heap from the event loop, once a period at most, when enough is free."""

    def __init__(self, period_s: float = TRIM_PERIOD_S, slack: int = TRIM_SLACK) -> None:
        self.period_s = period_s
        self.slack = slack
        self.trims = 0
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
        free = heap_free()
        if free - self.low > self.slack:     # reused since, then freed again: pages to give back
            trim()
            self.trims += 1
            self.low = free
        else:
            self.low = min(self.low, free)
        self.handle = asyncio.get_running_loop().call_later(self.period_s, self._tick)
