"""Fault-around of private anonymous memory, batched (AddressSpace._populate_anon,
Memory.alloc_zeroed_run): the same pages, frames, zeroes and descriptors as page-by-page."""
import pytest

from moss_host.addr import PAGE_SIZE
from moss_host.arch.arm64 import pagetable as pt
from moss_host.mm.address_space import FAULT_AROUND, FAULT_AROUND_MAX, AddressSpace
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
    mm._populate_around(mm.vmas.find(BASE), BASE, mm.charge)
    assert len(mm.resident) == 16 and mm.table.lookup(BASE) == 0


def test_short_memory_maps_the_faulting_page_first(monkeypatch):
    mm = space()
    mm.fault(BASE + 48 * P, is_write=True, is_exec=False)     # the page tables exist now
    frames = mm.mem.frames
    real = frames.alloc_many
    monkeypatch.setattr(frames, "alloc_many", lambda n: real(min(n, 3)))
    mm.fault(BASE + 9 * P, is_write=True, is_exec=False)
    assert BASE + 9 * P in mm.resident and len(mm.resident) == 16 + 3
    for va, pa in mm.resident.items():
        assert mm.table.lookup(va) == pt.user_page_desc(pa, True, True, False)
    monkeypatch.setattr(frames, "alloc_many", lambda n: [])
    monkeypatch.setattr(mm.mem, "alloc_frame", lambda: (_ for _ in ()).throw(OutOfMemory("test")))
    with pytest.raises(OutOfMemory):
        mm.fault(BASE + 40 * P, is_write=True, is_exec=False)
    assert BASE + 40 * P not in mm.resident


def test_faults_in_order_double_the_window_up_to_the_cap_and_the_vma_end():
    pages = 16 + 32 + 64 + 128 + 256 + FAULT_AROUND_MAX + 100
    mm = space(pages=pages)
    sizes = []
    va = BASE
    while va < BASE + pages * P:
        before = len(mm.resident)
        mm.fault(va, is_write=True, is_exec=False)
        sizes.append(len(mm.resident) - before)
        va = max(mm.resident) + P
    assert sizes == [16, 32, 64, 128, 256, FAULT_AROUND_MAX, 100]
    assert len(set(mm.resident.values())) == pages
    for va, pa in mm.resident.items():
        assert mm.table.lookup(va) == pt.user_page_desc(pa, True, True, False)


def test_a_fault_out_of_order_gets_the_small_aligned_window_again():
    mm = space(pages=256)
    mm.fault(BASE, is_write=True, is_exec=False)
    mm.fault(BASE + 16 * P, is_write=True, is_exec=False)         # in order: 32 pages
    assert len(mm.resident) == 48
    mm.fault(BASE + 200 * P + 8, is_write=False, is_exec=False)   # elsewhere: 16, aligned
    assert len(mm.resident) == 64 and BASE + 192 * P in mm.resident


def test_shared_and_file_mappings_keep_the_fixed_window():
    mm = AddressSpace(Memory(bytearray(RAM), RAM))
    from moss_host.mm.shmem import SharedAnon
    mm.add(Vma(BASE, BASE + 256 * P, PROT_READ | PROT_WRITE, flags=0x01 | 0x20,
               backing=SharedAnon(mm.mem)))
    for i in range(0, 64, 16):
        mm.fault(BASE + i * P, is_write=True, is_exec=False)
    assert len(mm.resident) == 64


def test_frames_are_released_on_unmap():
    mm = space()
    free = mm.mem.free_frames
    mm.fault(BASE, is_write=True, is_exec=False)
    mm.unmap(BASE, BASE + 64 * P)
    assert mm.mem.free_frames >= free - 8         # page tables may stay
    assert not mm.resident and not mm.writable


def test_a_large_unmap_clears_descriptors_flushes_the_asid_and_frees_whole_blocks():
    mm = space(pages=1024)
    free = mm.mem.free_frames
    for va in range(BASE, BASE + 1024 * P, P):
        if va not in mm.resident:
            mm.fault(va, is_write=True, is_exec=False)
    shared = mm.resident[BASE + 5 * P]
    mm.mem.share(shared)                                   # another mapping holds one frame
    mm.unmap(BASE, BASE + 1024 * P)
    assert not mm.resident and not mm.writable and mm.table.mapped_pages() == 0
    assert mm.asid in mm.mem.tlbi_asids                    # too many for single-VA flushes
    assert mm.mem.frames.get_ref(shared) == 1
    mm.mem.release(shared)
    assert mm.mem.free_frames >= free - 8                  # page tables may stay


def test_a_small_unmap_flushes_single_pages():
    mm = space()
    mm.fault(BASE, is_write=True, is_exec=False)
    mm.mem.take_guest_work()
    mm.unmap(BASE, BASE + 12 * P)
    assert len(mm.mem.tlbi_vas) == 12 and not mm.mem.tlbi_asids
    assert len(mm.resident) == 4
