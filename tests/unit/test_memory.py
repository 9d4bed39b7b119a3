"""The kernel's frame discipline for the TCG hazard, without QEMU."""
from moss_host.addr import PAGE_SIZE
from moss_host.machine import layout as L
from moss_host.mm.memory import Memory

RAM = 64 << 20


def make_memory() -> Memory:
    return Memory(bytearray(RAM), RAM)


def test_freed_code_frame_is_not_reused_until_the_guest_scrubbed_it():
    mem = make_memory()
    pa = mem.alloc_frame()
    mem.exec_frames.add(pa)
    mem.release(pa)
    assert mem.alloc_frame() != pa                 # queued for scrubbing, not free
    ops, _, _, scrub = mem.take_guest_work()
    assert ops & L.OP_SCRUB and scrub == [pa]
    assert mem.alloc_frame() != pa                 # the guest has not run the reply yet
    mem.guest_work_done()
    assert mem.alloc_frame() == pa                 # now clean, and the hottest free frame


def test_freed_data_frame_is_reused_at_once_newest_first():
    mem = make_memory()
    a, b = mem.alloc_frame(), mem.alloc_frame()
    mem.release(a)
    mem.release(b)
    assert mem.alloc_frame() == b and mem.alloc_frame() == a


def test_shared_frame_survives_until_the_last_reference_goes():
    mem = make_memory()
    pa = mem.alloc_frame()
    mem.share(pa)
    free = mem.free_frames
    mem.release(pa)
    assert mem.free_frames == free
    mem.release(pa)
    assert mem.free_frames == free + 1


def test_many_tlb_flushes_of_one_asid_become_an_asid_flush():
    mem = make_memory()
    for i in range(L.MB_MAX_TLBI_VA + 5):
        mem.flush_page(7, 0x400000 + i * PAGE_SIZE)
    ops, asid_operand, vas, _ = mem.take_guest_work()
    assert ops & L.OP_TLBI_ASID and asid_operand == 7 << 48
    assert len(vas) == L.MB_MAX_TLBI_VA
    assert mem.take_guest_work()[0] == 0          # drained
