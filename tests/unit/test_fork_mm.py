"""Copy-on-write address spaces for fork, without QEMU: isolation, sharing, and no leaks."""
from moss_host.addr import PAGE_SIZE
from moss_host.arch.arm64 import pagetable as pt
from moss_host.mm.address_space import AddressSpace
from moss_host.mm.memory import Memory
from moss_host.mm.vma import MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, Vma

RAM = 64 << 20
BASE = 0x10_0000
PAGES = 64


def space_with_data(mem: Memory, flags: int = MAP_PRIVATE | MAP_ANONYMOUS) -> AddressSpace:
    mm = AddressSpace(mem)
    mm.add(Vma(BASE, BASE + PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, flags))
    mm.write(BASE, b"\xaa" * (PAGES * PAGE_SIZE))
    return mm


def test_child_writes_to_every_page_leave_the_parent_data_alone():
    mem = Memory(bytearray(RAM), RAM)
    parent = space_with_data(mem)
    child = parent.fork()
    assert child.read(BASE, PAGES * PAGE_SIZE) == b"\xaa" * (PAGES * PAGE_SIZE)
    child.write(BASE, b"\x55" * (PAGES * PAGE_SIZE))
    assert parent.read(BASE, PAGES * PAGE_SIZE) == b"\xaa" * (PAGES * PAGE_SIZE)
    assert child.read(BASE, PAGES * PAGE_SIZE) == b"\x55" * (PAGES * PAGE_SIZE)


def test_fork_write_protects_private_pages_in_both_spaces():
    mem = Memory(bytearray(RAM), RAM)
    parent = space_with_data(mem)
    child = parent.fork()
    for mm in (parent, child):
        desc = mm.table.lookup(BASE)
        assert desc & pt.DESC_VALID and not pt.desc_is_writable(desc)
    assert parent.resident[BASE] == child.resident[BASE]


def test_last_owner_takes_the_page_back_without_copying():
    mem = Memory(bytearray(RAM), RAM)
    parent = space_with_data(mem)
    child = parent.fork()
    frame = parent.resident[BASE]
    child.destroy()
    parent.write(BASE, b"x")
    assert parent.resident[BASE] == frame         # refcount 1 again: written in place


def test_memory_comes_back_after_the_child_exits():
    mem = Memory(bytearray(RAM), RAM)
    parent = space_with_data(mem)
    before = mem.free_frames
    child = parent.fork()
    child.write(BASE, b"\x55" * (PAGES * PAGE_SIZE))      # a private copy of every page
    assert mem.free_frames < before - PAGES
    child.release()
    assert mem.free_frames == before


def test_shared_mappings_stay_shared_after_fork():
    mem = Memory(bytearray(RAM), RAM)
    parent = space_with_data(mem, MAP_SHARED | MAP_ANONYMOUS)
    child = parent.fork()
    child.write(BASE, b"child was here")
    assert parent.read(BASE, 14) == b"child was here"


def test_shared_anonymous_memory_is_one_set_of_frames_freed_with_the_last_mapping():
    from moss_host.mm.shmem import SharedAnon
    mem = Memory(bytearray(RAM), RAM)
    free = mem.free_frames
    parent = AddressSpace(mem)
    parent.add(Vma(BASE, BASE + PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   SharedAnon(mem), 0, "/dev/zero (deleted)"))
    parent.write(BASE, b"before")
    child = parent.fork()
    child.write(BASE + 10 * PAGE_SIZE, b"child's page")       # first touched after the fork
    assert parent.read(BASE + 10 * PAGE_SIZE, 12) == b"child's page"
    assert child.read(BASE, 6) == b"before"
    child.destroy()
    assert parent.read(BASE + 10 * PAGE_SIZE, 12) == b"child's page"
    parent.destroy()
    assert mem.free_frames == free


def test_a_page_written_after_one_fork_is_copied_at_the_next():
    mem = Memory(bytearray(RAM), RAM)
    parent = space_with_data(mem)
    before = mem.free_frames
    first = parent.fork()
    first.write(BASE, b"c")                     # the child's copy-on-write fault: a hot page
    first.release()
    second = parent.fork()
    assert second.resident[BASE] != parent.resident[BASE]
    for mm in (parent, second):                 # each has its own, writable, copy
        assert pt.desc_is_writable(mm.table.lookup(BASE)) and BASE in mm.writable
    assert second.read(BASE, 2) == b"\xaa\xaa" and parent.read(BASE, 2) == b"\xaa\xaa"
    parent.write(BASE, b"p")
    second.write(BASE, b"s")
    assert (parent.read(BASE, 1), second.read(BASE, 1)) == (b"p", b"s")
    assert second.resident[BASE + PAGE_SIZE] == parent.resident[BASE + PAGE_SIZE]   # the rest: shared
    third = parent.fork()                       # still hot: the second child had no fault to tell
    assert third.resident[BASE] != parent.resident[BASE]
    second.release()
    third.release()
    assert mem.free_frames == before


def test_a_hot_page_another_child_still_shares_stays_copy_on_write_in_the_parent():
    mem = Memory(bytearray(RAM), RAM)
    parent = space_with_data(mem)
    a = parent.fork()
    b = parent.fork()
    a.write(BASE, b"a")                         # hot now; parent's frame is still b's too
    c = parent.fork()
    assert c.resident[BASE] != parent.resident[BASE] == b.resident[BASE]
    assert not pt.desc_is_writable(parent.table.lookup(BASE)) and BASE not in parent.writable
    parent.write(BASE, b"p")
    assert [mm.read(BASE, 1) for mm in (parent, a, b, c)] == [b"p", b"a", b"\xaa", b"\xaa"]


def test_destroying_a_space_that_maps_one_frame_twice_drops_both_references():
    mem = Memory(bytearray(RAM), RAM)
    parent = space_with_data(mem, MAP_SHARED | MAP_ANONYMOUS)
    before = mem.free_frames
    child = parent.fork()
    frame = parent.resident[BASE]
    child.resident[BASE + PAGE_SIZE] = frame    # (as two mappings of one shared page)
    mem.share(frame)
    child.release()
    assert mem.frames.get_ref(frame) == 1 and mem.free_frames == before


def test_a_code_frame_mapped_twice_is_scrubbed_when_both_places_let_go():
    mem = Memory(bytearray(RAM), RAM)
    pa = mem.alloc_frame()
    mem.share(pa)                               # two mappings in one space
    mem.exec_frames.add(pa)
    other = mem.alloc_frame()
    mem.release_many([pa, other, pa])
    assert mem.take_guest_work()[3] == [pa]     # to the guest's scrub queue, once, not freed
