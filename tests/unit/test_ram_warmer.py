"""Guest RAM faulted in on the host ahead of the frame allocator (machine/ram_warmer.py,
Memory._warm_ahead), and fresh frames taken as the zeros they still are (Memory.alloc_zeroed*)."""
import mmap
import time

from moss_host.addr import PAGE_SIZE
from moss_host.machine import layout as L
from moss_host.machine.pressure import CpuPressure
from moss_host.machine.ram_warmer import WARM_RESERVE, RamWarmer
from moss_host.mm.frames import FrameAllocator
from moss_host.mm.memory import Memory

MIB = 1 << 20
P = PAGE_SIZE


def settled(warmer: RamWarmer, timeout: float = 10.0) -> int:
    end = time.monotonic() + timeout
    while warmer.floor > warmer.target and warmer.available and time.monotonic() < end:
        time.sleep(0.001)
    return warmer.floor


def test_the_warmer_makes_ram_resident_from_the_top_down_to_what_was_asked():
    ram = mmap.mmap(-1, 32 * MIB)
    warmer = RamWarmer(ram, 4 * MIB)
    assert warmer.floor == 32 * MIB                 # nothing asked yet: no thread either
    warmer.warm_down_to(20 * MIB + 5)               # rounded down to a whole chunk
    assert warmer.target == 16 * MIB
    assert settled(warmer) == 16 * MIB
    warmer.warm_down_to(0)                          # never below the pool
    assert settled(warmer) == 4 * MIB
    warmer.warm_down_to(24 * MIB)                   # warm already: nothing to do
    assert warmer.target == 4 * MIB
    warmer.stop()


def test_a_stopped_warmer_ends_its_thread():
    ram = mmap.mmap(-1, 16 * MIB)
    warmer = RamWarmer(ram, 4 * MIB)
    warmer.warm_down_to(8 * MIB)
    settled(warmer)
    thread = warmer._thread
    assert thread is not None and thread.is_alive()     # waiting for the next cue
    warmer.stop()                                       # (Machine.kill_now: a machine that ends)
    thread.join(5)
    assert not thread.is_alive()


def test_the_allocator_hands_out_the_pool_from_the_top_down_and_notes_the_lowest_frame():
    fa = FrameAllocator(0x4000_0000, 16 * MIB)
    top = fa.low_pfn
    first = fa.alloc()
    assert fa.low_pfn == first >> 12 < top
    assert first >= 0x4000_0000 + 12 * MIB          # in the top 4 MiB block
    pas = fa.alloc_many(2048)
    assert fa.low_pfn == min(pas) >> 12 < first >> 12
    fa.put_many(pas)
    fa.alloc_many(1024)                             # freed frames come back first: no lower
    assert fa.low_pfn == min(pas) >> 12


def test_frames_never_handed_out_are_taken_as_zero_and_used_ones_are_zeroed():
    ram = bytearray(64 * MIB)
    mem = Memory(ram, len(ram))
    assert mem.warmer is None                       # a test's RAM is resident already
    used = mem.alloc_frame()
    mem.physmem.write(used, b"\xAA" * P)
    mem.release(used)
    fresh_lo = mem.frames.low_pfn << 12
    # Contract check: RAM never handed out is not written (a fresh RAM file is zeros);
    # mark it to see that no store went there.
    mem.physmem.write(fresh_lo - 64 * P, b"\x55" * (64 * P))
    pas = mem.alloc_zeroed_run(64)
    assert used in pas or mem.physmem.read(used, P) == b"\xAA" * P
    for pa in pas:
        data = mem.physmem.read(pa, P)
        assert data == (b"\x55" * P if pa < fresh_lo else bytes(P))


def test_memory_over_real_ram_has_the_top_of_the_pool_faulted_in_at_boot(monkeypatch):
    monkeypatch.setattr(CpuPressure, "some_avg10", lambda self: 0.0)
    size = 256 * MIB
    ram = mmap.mmap(-1, size)
    mem = Memory(ram, size)
    warmer = mem.warmer
    assert warmer is not None
    assert warmer.target == size - WARM_RESERVE
    assert settled(warmer) == size - WARM_RESERVE
    assert warmer.floor >= L.FRAME_POOL_BASE - L.RAM_BASE
    warmer.stop()


def test_memory_leaves_ram_cold_while_the_hosts_cpus_are_contended(monkeypatch):
    monkeypatch.setattr(CpuPressure, "some_avg10", lambda self: 60.0)     # the last 10 s
    size = 64 * MIB
    mem = Memory(mmap.mmap(-1, size), size)
    assert mem.warmer is not None and mem.warmer.target == size    # nothing asked
