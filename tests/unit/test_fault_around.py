"""Fault-around of private anonymous memory, batched (AddressSpace._populate_anon,
Memory.alloc_zeroed_run): the same pages, frames, zeroes and descriptors as page-by-page."""
import pytest

from moss_host.addr import PAGE_SIZE
from moss_host.arch.arm64 import pagetable as pt
from moss_host.mm.address_space import FAULT_AROUND, AddressSpace
from moss_host.mm.frames import OutOfMemory
from moss_host.mm.memory import Memory
from moss_host.mm.vma import PROT_EXEC, PROT_READ, PROT_WRITE, Vma

RAM = 64 << 20
BASE = 0x4000_0000
P = PAGE_SIZE


def space(prot=PROT_READ | PROT_WRITE, pages=64):
    mm = AddressSpace(Memory(bytearray(RAM), RAM))
    mm.add(Vma(BASE, BASE + pages * P, prot))
    return mm


def test_a_fault_maps_the_aligned_window_zeroed_and_writable():
    mm = space()
    dirty = mm.mem.alloc_frame()                 # a recycled frame full of garbage
    mm.mem.physmem.write(dirty, b"\xAA" * P)
    mm.mem.release(dirty)
    mm.fault(BASE + 5 * P + 8, is_write=True, is_exec=False)
    assert sorted(mm.resident) == [BASE + i * P for i in range(FAULT_AROUND)]
    assert mm.writable == set(mm.resident)
    for va, pa in mm.resident.items():
        assert mm.mem.physmem.read(pa, P) == bytes(P)
        assert mm.table.lookup(va) == pt.user_page_desc(pa, True, True, False)
    assert len(set(mm.resident.values())) == FAULT_AROUND


def test_the_window_stops_at_the_vma_end_and_skips_resident_pages():
    mm = space(pages=20)
    mm.fault(BASE + 17 * P, is_write=False, is_exec=False)
    assert sorted(mm.resident) == [BASE + i * P for i in range(16, 20)]
    mm.write(BASE + 3 * P, b"x")                  # another window: 0..15
    assert len(mm.resident) == 20


def test_read_only_and_exec_mappings_get_their_descriptors():
    mm = space(prot=PROT_READ | PROT_EXEC, pages=16)
    mm.fault(BASE, is_write=False, is_exec=True)
    assert not mm.writable
    for va, pa in mm.resident.items():
        assert mm.table.lookup(va) == pt.user_page_desc(pa, True, False, True)
        assert pa in mm.mem.exec_frames


def test_prot_none_maps_nothing_but_keeps_frames_resident_like_install():
    mm = space(prot=0, pages=16)
    mm._populate_around(mm.vmas.find(BASE), BASE)
    assert len(mm.resident) == 16 and mm.table.lookup(BASE) == 0


def test_short_memory_maps_the_faulting_page_first(monkeypatch):
    mm = space()
    mm.fault(BASE + 48 * P, is_write=True, is_exec=False)     # the page tables exist now
    left = [3]
    real = mm.mem.alloc_frame

    def scarce():
        if not left[0]:
            raise OutOfMemory("test")
        left[0] -= 1
        return real()

    monkeypatch.setattr(mm.mem, "alloc_frame", scarce)
    mm.fault(BASE + 9 * P, is_write=True, is_exec=False)
    assert BASE + 9 * P in mm.resident and len(mm.resident) == 16 + 3
    left[0] = 0
    with pytest.raises(OutOfMemory):
        mm.fault(BASE + 40 * P, is_write=True, is_exec=False)
    assert BASE + 40 * P not in mm.resident


def test_frames_are_released_on_unmap():
    mm = space()
    free = mm.mem.free_frames
    mm.fault(BASE, is_write=True, is_exec=False)
    mm.unmap(BASE, BASE + 64 * P)
    assert mm.mem.free_frames >= free - 8         # page tables may stay
    assert not mm.resident and not mm.writable
