"""The page cache: file pages shared between mappings, copied on write, bounded."""
from moss_host.addr import PAGE_SIZE
from moss_host.mm.address_space import AddressSpace
from moss_host.mm.backing import Backing
from moss_host.mm.memory import Memory
from moss_host.mm.page_cache import PageCache
from moss_host.mm.vma import MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, Vma

RAM = 64 << 20
BASE = 0x40_0000


class FileBacking(Backing):
    """A file of two pages, version 1."""
    data = b"A" * PAGE_SIZE + b"B" * 100

    def read(self, offset, n):
        return self.data[offset:offset + n]

    def page_key(self, offset):
        return ("file", 1), offset


def mapped(mem, prot):
    mm = AddressSpace(mem)
    mm.add(Vma(BASE, BASE + 2 * PAGE_SIZE, prot, MAP_PRIVATE, FileBacking(), 0, "file"))
    return mm


def test_two_mappings_of_a_file_share_frames():
    mem = Memory(bytearray(RAM), RAM)
    a, b = mapped(mem, PROT_READ | PROT_EXEC), mapped(mem, PROT_READ | PROT_EXEC)
    assert a.read(BASE, 4) == b"AAAA" and b.read(BASE + PAGE_SIZE, 101) == b"B" * 100 + b"\0"
    assert a.resident[BASE] == b.resident[BASE]
    assert mem.page_cache.hits >= 1


def test_writing_a_private_file_page_copies_it_and_leaves_the_cache_alone():
    mem = Memory(bytearray(RAM), RAM)
    a, b = mapped(mem, PROT_READ | PROT_WRITE), mapped(mem, PROT_READ | PROT_WRITE)
    a.write(BASE, b"xyz")
    assert a.read(BASE, 4) == b"xyzA"
    assert b.read(BASE, 4) == b"AAAA"
    assert a.resident[BASE] != b.resident[BASE]


def test_cache_is_bounded_and_frames_outlive_eviction_while_mapped():
    mem = Memory(bytearray(RAM), RAM)
    mem.page_cache = PageCache(mem, limit=1)
    a = mapped(mem, PROT_READ)
    assert a.read(BASE, 1) == b"A" and a.read(BASE + PAGE_SIZE, 1) == b"B"
    assert len(mem.page_cache) == 1
    assert a.read(BASE, 1) == b"A"            # still mapped after its cache entry went


def test_no_frames_leak_when_mappings_and_cache_go():
    mem = Memory(bytearray(RAM), RAM)
    free = mem.free_frames
    a = mapped(mem, PROT_READ)
    a.read(BASE, 2 * PAGE_SIZE)
    a.destroy()
    mem.page_cache.shrink(len(mem.page_cache))
    assert mem.free_frames == free
