"""[vvar]: the data page the vDSO's clock calls read (Linux's vdso_data), and its calibration.

The vDSO (guest_stub/vdso.S) answers clock_gettime, gettimeofday and clock_getres in user
space: ns(clock) = base[clock] + (((CNTVCT - cycle_last) * mult) >> shift). One frame per
machine holds the page; every process maps it read-only right below its vDSO (proc/vdso.py)
and the kernel rewrites it under a sequence count (odd while writing), as Linux's
vdso_write_begin/end.

The counter. Under QEMU TCG the guest's CNTVCT is QEMU_CLOCK_VIRTUAL / period, and that
clock is the host's CLOCK_MONOTONIC minus the time the VM was stopped: it runs at the rate
of the kernel's own clock (time.monotonic_ns), only the offset o* = host_mono - period *
CNTVCT is unknown. The host cannot read the counter, so the vDSO tells it: while the page
says "calibrating" (VVAR_MODE) every served call goes to the kernel three times in a row
(vdso.S's calibrating_svc), each time with the counter it read just before the svc (x2,
marked by VDSO_CALIBRATE + 0, 1, 2 in x3). Each such trap gives
  - an upper bound on o*: the host's clock when the trap arrived, minus period * counter;
and the second and third
  - a lower bound: the host's clock read last before the reply to the one before (which
    the guest saw before it read the counter again), minus period * counter.
The page takes the greatest lower bound: the vDSO reads (o* - o) + quantisation behind the
host's clock, never ahead of it, so a vDSO read followed by a syscall read (or a timer, or a
file timestamp) never goes backwards. The other order could go backwards only if the way
from a kernel clock read through a reply to the next vDSO counter read were faster than the
fastest way observed while calibrating, and the calibration's is the shortest there is (a
reply straight to the counter read, no handler work after the clock read, no user code):
FIRST_SAMPLES samples (12,288 traps, about 0.05-0.25 s of the first clock calls after boot)
find its floor. With 2048 the calibration sometimes ended while the trap path was in its
slower (blocking) mode, 16 us of spread instead of 8.6 (95% CPU pressure), and then a
syscall read followed by a vDSO read went up to 5 us backwards in 1 read of 200; with 8192,
four runs of four ended at 8.6-8.9 us and the closest such pair was still 0.6 us apart.
`spread_ns` (upper minus lower bound) is what the calibration left open.

The bound only grows, so a recalibration never moves a vDSO clock backwards. When the VM
was stopped (the kernel console's pause) the offset grows by the stopped time: the kernel
calls `recalibrate()` on resume. Under a gdbstub (which stops the VM without telling the
kernel) the counter is not trusted at all: `counter_stops()` keeps the vDSO asking the kernel,
as Linux's vDSO does with VDSO_CLOCKMODE_NONE.

The other clocks are fixed offsets from the monotonic one, sampled as lower bounds too:
REALTIME (and TAI) from the host's wall clock plus clock_settime's offset (moss_host.clock;
a set rewrites the page), BOOTTIME and MONOTONIC_RAW from the host's, which the kernel's own
reads of those two clocks use as well (`mono_offset`), so all agree with the page.
"""
from __future__ import annotations

import logging
import struct
import time
import weakref
from typing import TYPE_CHECKING, Optional

from moss_host.addr import PA, PAGE_SIZE
from moss_host.clock import REALTIME
from moss_host.machine import layout as L

if TYPE_CHECKING:
    from moss_host.mm.memory import Memory

log = logging.getLogger("moss.vdso")

# The layout guest_stub/vdso.S reads.
VVAR_SEQ = 0                            # u32
VVAR_MODE = 4                           # u32: 0 the counter formula holds; 1 calibrating; 2 syscalls
_BODY = struct.Struct("<IQIIii12Q")     # mode, cycle_last, mult, shift, tz, base[0..11]
_SEQ = struct.Struct("<I")
MODE_COUNTER, MODE_CALIBRATE, MODE_SYSCALL = 0, 1, 2
VDSO_CALIBRATE = 0x6D6F7373             # x3 of a calibrating vDSO call ("moss")

PERIOD_NS = 1_000_000_000 // L.COUNTER_HZ     # QEMU 7.2's CNTFRQ_EL0 (GTIMER_SCALE 16 ns)
TICK_NSEC = 4_000_000                   # the coarse clocks' tick (HZ=250), as vdso.S's

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW = 0, 1, 4
CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_TAI = 5, 6, 7, 11
COARSE_OF = {CLOCK_REALTIME_COARSE: CLOCK_REALTIME, CLOCK_MONOTONIC_COARSE: CLOCK_MONOTONIC}

FIRST_SAMPLES = 8192                    # lower-bound samples before the counter is trusted
AGAIN_SAMPLES = 2048                    # after a recalibration (the earlier bound still holds)


def _offset_to_mono(clock: int) -> int:
    """A lower bound of host `clock` minus the host's CLOCK_MONOTONIC (the smallest bracket
    of three tries): read between two monotonic reads, the later one is used."""
    best = None
    for _ in range(3):
        m1 = time.monotonic_ns()
        c = time.clock_gettime_ns(clock)
        m2 = time.monotonic_ns()
        if best is None or m2 - m1 < best[0]:
            best = (m2 - m1, c - m2)
    assert best is not None
    return best[1]


# BOOTTIME and MONOTONIC_RAW as the kernel keeps them: the monotonic clock plus these, fixed
# when the kernel starts (a VM does not suspend; RAW would drift from the counter by the host's
# NTP frequency correction and then go backwards against the vDSO).
MONO_OFFSET = {
    CLOCK_MONOTONIC: 0,
    CLOCK_BOOTTIME: _offset_to_mono(time.CLOCK_BOOTTIME),
    CLOCK_MONOTONIC_RAW: _offset_to_mono(time.CLOCK_MONOTONIC_RAW),
}


def mono_offset(clock: int) -> Optional[int]:
    """What the kernel adds to its monotonic clock for `clock` (None: not such a clock)."""
    return MONO_OFFSET.get(clock)


class Vvar:
    """The page of one machine (its frame in guest RAM) and the calibration behind it."""

    def __init__(self, mem: "Memory"):
        self.physmem = mem.physmem              # (not mem: the registry is weak in it)
        self.pa: PA = mem.alloc_zeroed()        # held for the machine's life: one reference
        self.seq: int = 0
        self.mode: int = MODE_CALIBRATE
        self.trusted: bool = True               # False under a gdbstub: never leave calibration
        self.lower: Optional[int] = None        # greatest lower bound of o* (host_mono - period*counter)
        self.upper: Optional[int] = None        # least upper bound
        self.wanted: int = FIRST_SAMPLES
        self.samples: int = 0
        self.replied: dict[int, int] = {}       # tid -> host clock read for its last calibrating reply
        self._set_mode(MODE_CALIBRATE)
        self._write()

    @property
    def calibrating(self) -> bool:
        return self.mode == MODE_CALIBRATE

    def _set_mode(self, mode: int) -> None:
        global calibrating
        self.mode = mode
        calibrating = any(v.mode == MODE_CALIBRATE for v in list(_VVARS.values())) or mode == MODE_CALIBRATE

    @property
    def spread_ns(self) -> Optional[int]:
        """What the calibration leaves open: upper minus lower bound of the offset."""
        if self.lower is None or self.upper is None:
            return None
        return self.upper - self.lower

    # -- the kernel's side of a calibrating call

    def arrived(self, tid: int, counter: int, now: int, second: bool) -> None:
        """A calibrating vDSO call of thread tid read `counter`; the trap arrived at host time
        now. A second or third of its kind (`second`) read it right after the reply before."""
        ticks = counter * PERIOD_NS
        high = now - ticks
        if self.upper is None or high < self.upper:
            self.upper = high
        before = self.replied.pop(tid, None)
        if before is None or not second:
            return
        low = before - ticks
        if self.lower is None or low > self.lower:
            self.lower = low
        self.samples += 1
        if self.samples & (self.samples - 1) == 0:
            log.debug("vDSO calibration: %d samples, spread %s ns", self.samples, self.spread_ns)
        if self.samples >= self.wanted and self.trusted:
            self._calibrated()

    def replying(self, tid: int, now: int) -> None:
        """The host clock read last before the reply to a calibrating call of tid."""
        if self.calibrating:
            self.replied[tid] = now

    def _calibrated(self) -> None:
        assert self.lower is not None and self.upper is not None
        if self.lower > self.upper:             # the counter is not what we think: keep asking
            log.warning("vDSO: counter calibration inconsistent (%d > %d ns); clocks stay syscalls",
                        self.lower, self.upper)
            self.counter_stops()
            return
        log.debug("vDSO calibrated: offset %d ns, spread %d ns, %d samples", self.lower, self.spread_ns, self.samples)
        self.replied.clear()
        self._set_mode(MODE_COUNTER)
        self.publish()

    def recalibrate(self) -> None:
        """The VM was stopped: the counter fell behind by the stopped time; measure again."""
        self.samples, self.wanted, self.upper = 0, AGAIN_SAMPLES, None
        self._set_mode(MODE_CALIBRATE if self.trusted else MODE_SYSCALL)
        self.publish()

    def contended(self, yes: bool) -> None:
        """The machine's CPUs are contended (the governor: the trap path blocks), or no longer.
        A calibrating call costs three traps, each a wait for a core then (20 us to 1 ms
        against 2 us), and gives wide bounds: while contended the vDSO makes one plain svc
        a call (MODE_SYSCALL) and calibration waits for a quiet machine."""
        if not self.trusted:
            return
        if yes and self.mode == MODE_CALIBRATE:
            self.replied.clear()
            self._set_mode(MODE_SYSCALL)
            self.publish()
        elif not yes and self.mode == MODE_SYSCALL:
            self._set_mode(MODE_CALIBRATE)
            self.publish()

    def counter_stops(self) -> None:
        """The VM may stop without the kernel knowing (a gdbstub): the vDSO always asks the
        kernel, one plain svc a call (Linux's VDSO_CLOCKMODE_NONE)."""
        self.trusted = False
        self.recalibrate()

    # -- the page

    def bases(self) -> list[int]:
        """base[clock] for the clock ids 0..11 (0 for those the vDSO does not serve)."""
        o = self.lower or 0
        real = _offset_to_mono(time.CLOCK_REALTIME) + REALTIME.offset_ns
        tai = real + round((time.clock_gettime_ns(time.CLOCK_TAI) - time.time_ns()) / 1e9) * 1_000_000_000
        base = [0] * 12
        base[CLOCK_REALTIME] = base[CLOCK_REALTIME_COARSE] = o + real
        base[CLOCK_MONOTONIC] = base[CLOCK_MONOTONIC_COARSE] = o
        base[CLOCK_MONOTONIC_RAW] = o + MONO_OFFSET[CLOCK_MONOTONIC_RAW]
        base[CLOCK_BOOTTIME] = o + MONO_OFFSET[CLOCK_BOOTTIME]
        base[CLOCK_TAI] = o + tai
        return base

    def publish(self) -> None:
        """Rewrite the page (a set of the wall clock, the time zone, a calibration)."""
        self._write()

    def _write(self) -> None:
        """vdso_write_begin, the data, vdso_write_end (x86 stores are seen in order)."""
        physmem = self.physmem
        self.seq += 1
        physmem.write(self.pa, _SEQ.pack(self.seq & 0xFFFF_FFFF))
        tz = REALTIME.tz
        body = _BODY.pack(self.mode, 0, PERIOD_NS, 0, tz[0], tz[1],
                          *(b & 0xFFFF_FFFF_FFFF_FFFF for b in self.bases()))
        # (the bases as u64: a negative one wraps, and the guest's add wraps back)
        physmem.write(PA(self.pa + VVAR_MODE), body)
        self.seq += 1
        physmem.write(self.pa, _SEQ.pack(self.seq & 0xFFFF_FFFF))


_VVARS: "weakref.WeakKeyDictionary[object, Vvar]" = weakref.WeakKeyDictionary()


def vvar_of(mem: "Memory") -> Vvar:
    """The page of the machine whose memory is mem (made at its first vDSO mapping)."""
    vvar = _VVARS.get(mem)
    if vvar is None:
        vvar = _VVARS[mem] = Vvar(mem)
        if _counter_stops:
            vvar.counter_stops()
    return vvar


def existing(mem: "Memory") -> Optional[Vvar]:
    """The machine's page if some process mapped it yet (the syscalls' question)."""
    return _VVARS.get(mem)


_counter_stops = False
# Some page calibrates: the clock syscalls look for a calibrating vDSO call (one global read
# on their way; one kernel per host process).
calibrating = False


def counter_stops() -> None:
    """A gdbstub may stop the VM behind the kernel's back: never trust the counter."""
    global _counter_stops
    _counter_stops = True
    for vvar in list(_VVARS.values()):
        vvar.counter_stops()


def publish_all() -> None:
    """The wall clock or the time zone was set: every page anew."""
    for vvar in list(_VVARS.values()):
        vvar.publish()


REALTIME.on_set(publish_all)


def recalibrate() -> None:
    """The VM was stopped and runs again (the kernel console's pause)."""
    for vvar in list(_VVARS.values()):
        vvar.recalibrate()


assert PAGE_SIZE >= _SEQ.size + _BODY.size
