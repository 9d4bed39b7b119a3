"""Guest RAM faulted in on the host ahead of its use (RamWarmer), off the trap path."""
from __future__ import annotations

import ctypes
import logging
import mmap
import os
import threading

from . import layout as L
from .hugeram import MADV_POPULATE_WRITE
from .pressure import CONTENDED_PERCENT, CpuPressure

log = logging.getLogger("moss.machine")

# The top of the pool (where the allocator starts) that the host faults in at boot, while
# QEMU starts (Machine.start begins it before it starts QEMU: begun after, it ran beside
# the first traps of init, and a program's first CPU-pressure window read 94-96%, putting
# its first 20-40 ms in block mode): what a program may touch in a burst (the pagefault
# benchmark's 16 MiB) finds host memory ready. Only at boot: warming ahead of the allocator
# later (tried: a cue each time it had used half of the reserve) ran during the very burst
# that moved it, a third thread taking a core and the GIL from the guest and the trap path
# (pagefault 1 16 at 90% CPU pressure: median 8 us/page with it, 4.8 without). A program
# that goes past the reserve faults its first touches in itself, as before. Only when the
# host's CPUs are not contended (machine/pressure.py): the warming costs the host ~70 ms
# of system time, most of it for RAM a short run never uses, and under contention that
# time is taken from everyone else (moss-host runs of /bin/true at 90% pressure). Nor while
# other guests run (`warm` False: machine/hugeram.py counts their RAM files): several started
# at once find pressure low for their first seconds and each warmed 32 MiB where a shell loop
# of /bin/true touches 6: 4 such runs together cost 0.918 s of host CPU per guest warming
# against 0.845 s not (5 interleaved pairs, 96% pressure).
WARM_RESERVE = 32 << 20
WARM_CHUNK = 8 << 20            # one madvise per chunk (the GIL is taken between two)

_libc = ctypes.CDLL(None, use_errno=True)
_madvise = _libc.madvise
_madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_madvise.restype = ctypes.c_int


class RamWarmer:
    """Has the host fault guest RAM in, in a thread, before the kernel hands it out.

    The first touch of a page of the RAM file is a host page fault that allocates and
    clears it (2 MiB at once on the huge-page tmpfs). Where the host is itself a VM whose
    free memory goes back to its hypervisor (free page reporting, as on this project's
    Firecracker machines), that first touch also faults in the hypervisor: 3-50 ms per
    2 MiB measured here, against 0.12 ms for touching it again. A page fault of the guest
    that first touches 2 MiB then costs the guest 10-20 us per page instead of 2-3, and
    how often that happens depends on the host's memory, not on moss-py: the pagefault
    benchmark swung between 2.8 and 26 us per page from run to run.

    The frame allocator hands out the pool from the top of RAM down (mm/frames.py), so the
    RAM about to be used is known: `warm_down_to(offset)` asks for everything from there
    to the end of RAM to be resident (mm/memory.py asks at boot), and a daemon thread does
    it with madvise(MADV_POPULATE_WRITE), one WARM_CHUNK at a time from the top, without
    the GIL (ctypes releases it around the call). `floor` is the offset from which RAM is
    warm. Warming pages that are resident already costs only the walk. Where the host
    refuses the advice (a kernel before 5.14), the warmer stops and the first touch stays
    where it was, in the fault that needs the page.
    """

    def __init__(self, ram: mmap.mmap, lowest: int) -> None:
        self._view = ctypes.c_char.from_buffer(ram)        # RAM's address (kept exported while we live)
        self._addr = ctypes.addressof(self._view)
        self.lowest = lowest                                # never below (the frame pool's start)
        self.floor = len(ram)                               # [floor, end of RAM) is resident
        self.target = self.floor                            # ... and should be from here
        self.available = True
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def warm_down_to(self, offset: int) -> None:
        """Make RAM from `offset` (rounded down to a chunk) to its end resident, in the background."""
        offset = max(self.lowest, offset & -WARM_CHUNK)
        if offset >= self.target or not self.available:
            return
        self.target = offset
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="moss-ram-warmer", daemon=True)
            self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """No more warming (the thread ends after the chunk it is at)."""
        self.available = False
        self._wake.set()

    def _run(self) -> None:
        while self.available:
            self._wake.wait()
            self._wake.clear()
            while self.floor > self.target and self.available:
                lo = max(self.target, self.floor - WARM_CHUNK)
                if _madvise(self._addr + lo, self.floor - lo, MADV_POPULATE_WRITE) != 0:
                    err = ctypes.get_errno()
                    self.available = False
                    log.info("guest RAM is not faulted in ahead: madvise(MADV_POPULATE_WRITE): %s",
                             os.strerror(err))
                    return
                self.floor = lo


def boot_warmer(ram: mmap.mmap, ram_size: int, warm: bool) -> RamWarmer:
    """The warmer of a machine's guest RAM, already faulting in the top WARM_RESERVE of the
    frame pool when `warm` (no other guests run) and the host's CPUs are not contended."""
    warmer = RamWarmer(ram, L.FRAME_POOL_BASE - L.RAM_BASE)
    # (avg10, the last 10 s: a CpuPressure's own first reading only starts its window, and
    # asked that way this check said "not contended" every time)
    if warm and CpuPressure().some_avg10() < CONTENDED_PERCENT:
        warmer.warm_down_to(ram_size - WARM_RESERVE)
    return warmer
