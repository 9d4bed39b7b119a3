"""proc/vvar.py: the vDSO's data page and the counter calibration behind it."""
import struct

from moss_host.mm.memory import Memory
from moss_host.proc import vvar
from moss_host.proc.vvar import MODE_CALIBRATE, MODE_COUNTER, MODE_SYSCALL, PERIOD_NS, Vvar

RAM = 16 << 20


def page(v: Vvar) -> tuple:
    seq, mode, cycle_last, mult, shift = struct.unpack_from("<IIQII", v.physmem.read(v.pa, 24))
    bases = struct.unpack_from("<12Q", v.physmem.read(v.pa, 128), 32)
    return seq, mode, cycle_last, mult, shift, bases


def calibrate(v: Vvar, offset: int, latency: int, pairs: int) -> None:
    """Calls of the vDSO at host times where the counter is (t - offset) / PERIOD_NS."""
    t = 1_000_000_000
    for _ in range(pairs):
        v.arrived(7, (t - offset) // PERIOD_NS, t + latency, second=False)
        t += 2 * latency
        v.replying(7, t)
        t += latency                                    # the reply reaches the guest
        v.arrived(7, (t - offset) // PERIOD_NS, t + latency, second=True)
        t += 2 * latency
        v.replying(7, t)
        t += 10_000


def test_the_page_starts_calibrating_and_is_written_under_an_even_sequence():
    v = Vvar(Memory(bytearray(RAM), RAM))
    seq, mode, _, mult, shift, _ = page(v)
    assert seq % 2 == 0 and mode == MODE_CALIBRATE and (mult, shift) == (PERIOD_NS, 0)


def test_the_greatest_lower_bound_keeps_the_vdso_behind_the_host_by_the_fastest_way_seen():
    v = Vvar(Memory(bytearray(RAM), RAM))
    calibrate(v, offset=5_000_000_123, latency=1000, pairs=vvar.FIRST_SAMPLES)
    assert v.mode == MODE_COUNTER and page(v)[1] == MODE_COUNTER
    assert v.lower is not None and v.lower <= 5_000_000_123 <= v.lower + 1000 + PERIOD_NS
    assert v.spread_ns is not None and 0 < v.spread_ns <= 2000 + PERIOD_NS
    assert page(v)[5][vvar.CLOCK_MONOTONIC] == v.lower


def test_a_recalibration_never_lowers_the_bound_and_gdb_keeps_the_vdso_on_syscalls():
    v = Vvar(Memory(bytearray(RAM), RAM))
    calibrate(v, offset=5_000_000_000, latency=1000, pairs=vvar.FIRST_SAMPLES)
    before = v.lower
    v.recalibrate()
    assert v.mode == MODE_CALIBRATE
    calibrate(v, offset=5_000_000_000, latency=5000, pairs=vvar.AGAIN_SAMPLES)   # slower samples
    assert v.mode == MODE_COUNTER and v.lower == before
    v.counter_stops()
    assert v.mode == MODE_SYSCALL and page(v)[1] == MODE_SYSCALL and not vvar.calibrating
    calibrate(v, offset=5_000_000_000, latency=1000, pairs=10)
    assert v.mode == MODE_SYSCALL


def test_inconsistent_bounds_keep_the_clocks_on_syscalls():
    v = Vvar(Memory(bytearray(RAM), RAM))
    v.wanted = 1
    v.arrived(1, 1000, 10_000, second=False)        # upper bound 10,000 - 16,000
    v.replying(1, 90_000)
    v.arrived(1, 1000, 95_000, second=True)         # lower bound 90,000 - 16,000: above it
    assert v.mode == MODE_SYSCALL


def test_calibration_waits_while_the_machine_is_contended():
    v = Vvar(Memory(bytearray(RAM), RAM))
    v.contended(True)
    assert v.mode == MODE_SYSCALL and page(v)[1] == MODE_SYSCALL      # one plain svc a call
    v.contended(False)
    assert v.mode == MODE_CALIBRATE and page(v)[1] == MODE_CALIBRATE
    calibrate(v, offset=5_000_000_123, latency=1000, pairs=vvar.FIRST_SAMPLES)
    v.contended(True)
    assert v.mode == MODE_COUNTER                   # calibrated: the counter stays trusted
    gdb = Vvar(Memory(bytearray(RAM), RAM))
    gdb.counter_stops()
    gdb.contended(False)
    assert gdb.mode == MODE_SYSCALL                 # never trusted: never calibrates
