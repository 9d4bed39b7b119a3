"""The kernel's copies to and from user memory (AddressSpace.read/write/read_cstring), without QEMU:
contiguous and scattered frames, page boundaries, EFAULT, and the `writable` set that lets
copy_to_user skip the table walk staying exact through fork, mprotect and munmap."""
import pytest

from moss_host.addr import PAGE_SIZE
from moss_host.arch.arm64 import pagetable as pt
from moss_host.errors import Errno
from moss_host.mm.address_space import AddressSpace
from moss_host.mm.memory import Memory
from moss_host.mm.vma import MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, Vma

RAM = 64 << 20
BASE = 0x40_0000
PAGES = 32


def space(flags: int = MAP_PRIVATE | MAP_ANONYMOUS, prot: int = PROT_READ | PROT_WRITE) -> AddressSpace:
    mm = AddressSpace(Memory(bytearray(RAM), RAM))
    mm.add(Vma(BASE, BASE + PAGES * PAGE_SIZE, prot, flags))
    return mm


def pattern(n: int, seed: int = 0) -> bytes:
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


def assert_writable_set_exact(mm: AddressSpace) -> None:
    """Every page in `writable` is resident with an EL0-writable descriptor (the set may lag, never lead)."""
    for va in mm.writable:
        assert va in mm.resident
        assert pt.desc_is_writable(mm.table.lookup(va)), hex(va)


@pytest.mark.parametrize("offset, n", [(0, 1), (100, 3000), (PAGE_SIZE - 5, 10), (123, 64 * 1024),
                                       (0, PAGES * PAGE_SIZE), (PAGE_SIZE - 1, 2 * PAGE_SIZE + 2)])
def test_what_is_written_reads_back_at_any_offset_and_length(offset, n):
    mm = space()
    data = pattern(n, offset)
    mm.write(BASE + offset, data)
    assert mm.read(BASE + offset, n) == data
    if offset:
        assert mm.read(BASE + offset - 1, 1) == b"\0"
    if offset + n < PAGES * PAGE_SIZE:
        assert mm.read(BASE + offset + n, 1) == b"\0"


def test_copies_across_scattered_frames():
    mm = space()
    # Populate page by page from the top (no fault-around), from frames handed out in
    # ascending order, so that neighbouring user pages sit in frames that are not neighbours.
    vma = mm.vmas.find(BASE)
    for i in reversed(range(PAGES)):
        mm._populate(vma, BASE + i * PAGE_SIZE)
    runs = mm._runs(BASE, PAGES * PAGE_SIZE, write=True)
    assert len(runs) > 1
    data = pattern(PAGES * PAGE_SIZE - 300, 5)
    mm.write(BASE + 150, data)
    assert mm.read(BASE + 150, len(data)) == data
    assert sum(end - start for start, end in mm._runs(BASE + 150, len(data), write=False)) == len(data)


def test_write_accepts_memoryviews_and_bytearrays():
    mm = space()
    data = bytearray(pattern(3 * PAGE_SIZE))
    mm.write(BASE + 10, memoryview(data)[5:])
    assert mm.read(BASE + 10, len(data) - 5) == bytes(data[5:])
    mm.write(BASE + 1, data[:7])
    assert mm.read(BASE + 1, 7) == bytes(data[:7])


def test_a_copy_that_runs_off_the_mapping_is_efault_and_writes_nothing():
    mm = space()
    end = BASE + PAGES * PAGE_SIZE
    with pytest.raises(Errno):
        mm.write(end - 100, b"y" * 200)
    assert mm.read(end - 100, 100) == bytes(100)
    with pytest.raises(Errno):
        mm.read(end - 100, 200)
    with pytest.raises(Errno):
        mm.read(-4096, 10)
    with pytest.raises(Errno):
        mm.write(BASE - 4096, b"z")


def test_read_only_mapping_refuses_kernel_writes():
    mm = space(prot=PROT_READ)
    assert mm.read(BASE, 10) == bytes(10)
    with pytest.raises(Errno):
        mm.write(BASE, b"no")
    assert not mm.writable


def test_read_cstring_stops_at_the_nul_even_before_an_unmapped_page():
    mm = space()
    end = BASE + PAGES * PAGE_SIZE
    mm.write(end - 6, b"hello\0")
    assert mm.read_cstring(end - 6) == b"hello"
    mm.write(BASE + PAGE_SIZE - 3, b"abcdef\0")       # across a page boundary
    assert mm.read_cstring(BASE + PAGE_SIZE - 3) == b"abcdef"
    mm.write(BASE + 8, b"b" * 1000 + b"\0")            # longer than the first, short read
    assert mm.read_cstring(BASE + 8) == b"b" * 1000
    mm.write(BASE, b"a" * 20)
    with pytest.raises(Errno):
        mm.read_cstring(BASE, limit=10)


def test_fork_takes_pages_out_of_the_writable_set_and_a_kernel_write_breaks_cow():
    parent = space()
    parent.write(BASE, pattern(PAGES * PAGE_SIZE))
    assert len(parent.writable) == PAGES
    child = parent.fork()
    assert not parent.writable and not child.writable
    assert_writable_set_exact(parent)
    child.write(BASE + PAGE_SIZE + 10, b"child")           # as read(2) into the child's buffer
    assert parent.read(BASE + PAGE_SIZE + 10, 5) == pattern(PAGES * PAGE_SIZE)[PAGE_SIZE + 10:PAGE_SIZE + 15]
    assert child.read(BASE + PAGE_SIZE + 10, 5) == b"child"
    assert child.resident[BASE + PAGE_SIZE] != parent.resident[BASE + PAGE_SIZE]
    parent.write(BASE + PAGE_SIZE, b"parent")
    assert child.read(BASE + PAGE_SIZE + 10, 5) == b"child"
    for mm in (parent, child):
        assert_writable_set_exact(mm)


def test_shared_mapping_stays_writable_in_both_after_fork():
    parent = space(MAP_SHARED | MAP_ANONYMOUS)
    parent.write(BASE, b"s" * PAGE_SIZE)
    child = parent.fork()
    assert BASE in child.writable
    child.write(BASE, b"both")
    assert parent.read(BASE, 4) == b"both"
    assert_writable_set_exact(child)


def test_mprotect_and_munmap_keep_the_writable_set_exact():
    mm = space()
    mm.write(BASE, pattern(4 * PAGE_SIZE))
    mm.protect(BASE, BASE + 2 * PAGE_SIZE, PROT_READ)
    assert_writable_set_exact(mm)
    with pytest.raises(Errno):
        mm.write(BASE, b"ro")
    mm.protect(BASE, BASE + 2 * PAGE_SIZE, PROT_READ | PROT_WRITE)
    mm.write(BASE, b"rw")
    assert mm.read(BASE, 2) == b"rw"
    mm.unmap(BASE + PAGE_SIZE, BASE + 3 * PAGE_SIZE)
    assert_writable_set_exact(mm)
    assert BASE + PAGE_SIZE not in mm.writable
    with pytest.raises(Errno):
        mm.write(BASE + PAGE_SIZE, b"gone")
    mm.destroy()
    assert not mm.writable


def test_the_same_buffer_again_is_retranslated_after_fork_mprotect_and_munmap():
    """_runs keeps its last answer for a read(2) loop; every mapping change must void it."""
    parent = space()
    buf, n = BASE + 100, 3 * PAGE_SIZE
    parent.write(buf, b"a" * n)
    parent.write(buf, b"b" * n)                     # the kept translation
    child = parent.fork()
    parent.write(buf, b"c" * n)                     # must break copy-on-write, not reuse frames
    assert child.read(buf, n) == b"b" * n
    assert parent.read(buf, n) == b"c" * n
    parent.protect(BASE, BASE + PAGES * PAGE_SIZE, PROT_READ)
    with pytest.raises(Errno):
        parent.write(buf, b"d" * n)
    parent.protect(BASE, BASE + PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE)
    parent.write(buf, b"e" * n)
    parent.unmap(BASE, BASE + 4 * PAGE_SIZE)
    with pytest.raises(Errno):
        parent.write(buf, b"f" * n)
    with pytest.raises(Errno):
        parent.read(buf, n)
    assert child.read(buf, n) == b"b" * n
