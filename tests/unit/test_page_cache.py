"""The page cache: one frame per file page, shared by every mapping, coherent with read(2)
and write(2) (InodeFile), copied on write by private mappings, bounded without dropping
mapped or unsaved pages, never written in place once it may hold translated code."""
import asyncio

from moss_host.addr import PAGE_SIZE
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.file import O_RDWR, InodeFile
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import FsContext, vfs_create
from moss_host.errors import EFAULT, Errno
from moss_host.mm.address_space import AddressSpace, UserFault
from moss_host.mm.backing import Backing, FileBacking
from moss_host.mm.memory import Memory
from moss_host.mm.page_cache import PageCache, truncate_file, write_back_superblock
from moss_host.mm.shmem import SharedAnon
from moss_host.mm.vma import MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE, Vma
from moss_host.mm.writeback import write_back

RAM = 64 << 20
BASE = 0x40_0000
CONTENTS = b"A" * PAGE_SIZE + b"B" * 100


def run(coro):
    return asyncio.run(coro)


def new_file(data=CONTENTS):
    """An open tmpfs file holding data, as read(2)/write(2) see it."""
    root = FsContext(MountTable(Tmpfs()).root_location()).root
    f = InodeFile(vfs_create(root, b"f", 0o644, None), O_RDWR)
    run(f.write(data))
    f.pos = 0
    return f


def mapped(mem, f, prot, flags, pages=2):
    mm = AddressSpace(mem)
    mm.add(Vma(BASE, BASE + pages * PAGE_SIZE, prot, flags, FileBacking(f.inode, "/f"), 0, "/f"))
    return mm


RW = PROT_READ | PROT_WRITE


def test_two_shared_mappings_of_a_file_map_one_frame_and_see_each_others_stores():
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    a, b = mapped(mem, f, RW, MAP_SHARED), mapped(mem, f, RW, MAP_SHARED)
    a.write(BASE + 1, b"xyz")
    assert b.read(BASE, 5) == b"AxyzA"
    assert a.resident[BASE] == b.resident[BASE]


def test_read_sees_a_store_through_a_mapping_without_msync():
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    a = mapped(mem, f, RW, MAP_SHARED)
    a.write(BASE + PAGE_SIZE, b"hello")
    assert run(f.pread(PAGE_SIZE, 6)) == b"helloB"
    assert f.inode.size == len(CONTENTS)            # a mapping never extends its file


def test_write_is_seen_through_shared_and_untouched_private_mappings_at_once():
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    shared, private = mapped(mem, f, RW, MAP_SHARED), mapped(mem, f, RW, MAP_PRIVATE)
    assert shared.read(BASE, 1) == private.read(BASE, 1) == b"A"
    run(f.pwrite(2, b"new"))
    assert shared.read(BASE, 6) == private.read(BASE, 6) == b"AAnewA"


def test_a_private_mapping_stops_seeing_writes_to_a_page_it_wrote():
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    private = mapped(mem, f, RW, MAP_PRIVATE)
    private.write(BASE, b"mine")
    run(f.pwrite(0, b"file"))
    assert private.read(BASE, 4) == b"mine"
    assert run(f.pread(0, 4)) == b"file"


def test_a_private_store_never_reaches_the_file_or_the_shared_mappings():
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    shared, private = mapped(mem, f, RW, MAP_SHARED), mapped(mem, f, RW, MAP_PRIVATE)
    private.write(BASE, b"xx")
    assert shared.read(BASE, 2) == b"AA" and run(f.pread(0, 2)) == b"AA"


def test_msync_writes_only_changed_pages_back():
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    a = mapped(mem, f, RW, MAP_SHARED)
    a.read(BASE, 2 * PAGE_SIZE)
    assert write_back(a) == 0
    a.write(BASE, b"Z")
    assert write_back(a) == 1
    assert f.inode.read(0, 2) == b"ZA"


def test_sync_of_the_filesystem_writes_back_a_mapping_that_is_gone():
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    a = mapped(mem, f, RW, MAP_SHARED)
    a.write(BASE, b"Q")
    a.destroy()                                     # exit, without msync
    write_back_superblock(f.inode.sb)
    assert f.inode.read(0, 2) == b"QA"
    assert not f.inode.page_cache.maybe_dirty       # unmapped and saved: clean now


def test_ftruncate_drops_pages_past_the_end_from_every_mapping():
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    a = mapped(mem, f, RW, MAP_SHARED)
    a.write(BASE + PAGE_SIZE, b"x")
    truncate_file(f.inode, 10)
    assert BASE + PAGE_SIZE not in a.resident
    assert a.read(BASE + 8, 4) == b"AA\0\0"         # the partial page's tail reads zeros
    run(f.pwrite(PAGE_SIZE, b"again"))
    assert a.read(BASE + PAGE_SIZE, 5) == b"again"


def test_truncate_and_rewrite_is_seen_by_a_mapping():
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    a = mapped(mem, f, PROT_READ, MAP_SHARED)
    assert a.read(BASE, 1) == b"A"
    truncate_file(f.inode, 0)
    run(f.pwrite(0, b"C" * 10))
    assert a.read(BASE, 11) == b"C" * 10 + b"\0"


def test_writing_a_page_that_held_code_gives_it_a_new_frame_and_the_mappings_follow():
    """QEMU would keep running translations of the old bytes if the host stored in place."""
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    code = mapped(mem, f, PROT_READ | PROT_EXEC, MAP_PRIVATE)
    assert code.read(BASE, 1) == b"A"
    old = code.resident[BASE]
    run(f.pwrite(0, b"ret"))
    assert BASE not in code.resident or code.resident[BASE] != old
    assert code.read(BASE, 4) == b"retA"
    assert code.resident[BASE] != old and old in mem._scrub_queue


def test_a_forked_child_maps_the_cache_frames_and_follows_truncation():
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    parent = mapped(mem, f, RW, MAP_SHARED)
    parent.read(BASE, 2 * PAGE_SIZE)
    child = parent.fork()
    child.write(BASE, b"c")
    assert parent.read(BASE, 1) == b"c" and run(f.pread(0, 1)) == b"c"
    truncate_file(f.inode, 100)
    assert BASE + PAGE_SIZE not in child.resident


def test_the_bound_keeps_mapped_pages_and_writes_dirty_ones_back_before_dropping_them():
    mem, f = Memory(bytearray(RAM), RAM), new_file(b"A" * 3 * PAGE_SIZE)
    mem.page_cache = PageCache(mem, limit=1)
    a = mapped(mem, f, RW, MAP_SHARED, pages=3)
    a.write(BASE, b"dirty")
    a.read(BASE + PAGE_SIZE, 2 * PAGE_SIZE)
    assert len(mem.page_cache) == 3                 # all mapped: the bound gives way
    a.unmap(BASE, BASE + 3 * PAGE_SIZE)             # (without write-back: the cache must do it)
    other = new_file(b"z" * PAGE_SIZE)
    b = mapped(mem, other, PROT_READ, MAP_SHARED, pages=1)
    assert b.read(BASE, 1) == b"z"
    assert len(mem.page_cache) == 1
    assert f.inode.read(0, 5) == b"dirty"


def test_no_frames_leak_when_mappings_and_cache_go():
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    free = mem.free_frames
    a, b = mapped(mem, f, RW, MAP_SHARED), mapped(mem, f, PROT_READ, MAP_PRIVATE)
    a.write(BASE, b"x")
    b.read(BASE, 2 * PAGE_SIZE)
    a.destroy()
    b.destroy()
    mem.page_cache.shrink(len(mem.page_cache))
    assert mem.free_frames == free


class SegmentLike(Backing):
    """A backing that is not a file, cached under its own key (an exec'd program's segment)."""
    data = CONTENTS

    def read(self, offset, n):
        return self.data[offset:offset + n]

    def page_key(self, offset):
        return ("file", 1), offset


def test_keyed_pages_are_shared_by_private_mappings_and_copied_on_write():
    mem = Memory(bytearray(RAM), RAM)
    a, b = AddressSpace(mem), AddressSpace(mem)
    for mm in (a, b):
        mm.add(Vma(BASE, BASE + 2 * PAGE_SIZE, RW, MAP_PRIVATE, SegmentLike(), 0, "seg"))
    assert a.read(BASE, 4) == b"AAAA" and b.read(BASE + PAGE_SIZE, 101) == b"B" * 100 + b"\0"
    assert a.resident[BASE] == b.resident[BASE]
    a.write(BASE, b"xyz")
    assert a.read(BASE, 4) == b"xyzA" and b.read(BASE, 4) == b"AAAA"


def test_shared_futex_keys_meet_in_the_backing_object():
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    a, b = mapped(mem, f, RW, MAP_SHARED), AddressSpace(mem)
    b.add(Vma(BASE + 0x10000, BASE + 0x12000, RW, MAP_SHARED, FileBacking(f.inode, "/f"), 0, "/f"))
    assert a.shared_futex_key(BASE + 8) == b.shared_futex_key(BASE + 0x10008)
    anon = SharedAnon(mem)
    a.add(Vma(BASE + 0x20000, BASE + 0x21000, RW, MAP_SHARED, anon, 0))
    child = a.fork()
    assert a.shared_futex_key(BASE + 0x20004) == child.shared_futex_key(BASE + 0x20004)
    private = mapped(mem, f, RW, MAP_PRIVATE)
    assert private.shared_futex_key(BASE) == (id(private), BASE)
    assert a.shared_futex_key(BASE) != a.shared_futex_key(BASE + 0x20000)


def test_a_page_past_the_end_of_the_file_is_sigbus_for_the_cpu_and_efault_for_the_kernel():
    mem, f = Memory(bytearray(RAM), RAM), new_file(b"x" * 10)
    a = mapped(mem, f, RW, MAP_SHARED)
    assert a.read(BASE, 11) == b"x" * 10 + b"\0"    # the last page's tail is there
    assert BASE + PAGE_SIZE not in a.resident       # fault-around stops at the end of the file
    try:
        a.fault(BASE + PAGE_SIZE, False, False, user=True)
        raise AssertionError("no fault")
    except UserFault as fault:
        assert fault.past_eof
    try:
        a.read(BASE + PAGE_SIZE, 1)
        raise AssertionError("no EFAULT")
    except Errno as e:
        assert e.code == EFAULT
    a.fault(BASE + PAGE_SIZE, False, False)         # MAP_POPULATE and mlock map it anyway


def test_shrinking_the_file_unmaps_private_copies_past_the_end_too():
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    private = mapped(mem, f, RW, MAP_PRIVATE)
    private.write(BASE, b"p0")
    private.write(BASE + PAGE_SIZE, b"p1")
    truncate_file(f.inode, 100)
    assert private.read(BASE, 2) == b"p0"           # before the end: its own copy stays
    assert BASE + PAGE_SIZE not in private.resident


def test_drop_caches_frees_the_pages_no_mapping_maps_and_writes_dirty_ones_back():
    from moss_host.machine import hostmem
    mem, f = Memory(bytearray(RAM), RAM), new_file()
    free = mem.free_frames
    a, b = mapped(mem, f, RW, MAP_SHARED, pages=1), mapped(mem, f, PROT_READ, MAP_SHARED)
    a.write(BASE, b"dirty")
    b.read(BASE, 2 * PAGE_SIZE)
    b.destroy()                                     # page 1 now mapped by nobody
    hostmem.drop_caches(pagecache=True)
    assert len(mem.page_cache) == 1                 # page 0: a still maps it
    a.unmap(BASE, BASE + PAGE_SIZE)                 # (without write-back: the drop must do it)
    a.destroy()
    hostmem.drop_caches(pagecache=True)
    assert len(mem.page_cache) == 0 and mem.free_frames == free
    assert f.inode.read(0, 5) == b"dirty"
