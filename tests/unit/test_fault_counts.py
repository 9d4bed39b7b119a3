"""Page faults counted as Linux's mm_account_fault would (mm/fault_counts.py): one per private
anonymous page made present, one per file fault-around window, one per copy-on-write break,
a major fault when the disk was read; none for populating what is already there."""
import asyncio

from moss_host.addr import PAGE_SIZE
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.file import O_RDWR, InodeFile
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import FsContext, vfs_create
from moss_host.mm.address_space import FAULT_AROUND, AddressSpace
from moss_host.mm.backing import FileBacking
from moss_host.mm.fault_counts import FaultCounts
from moss_host.mm.memory import Memory
from moss_host.mm.shmem import SharedAnon
from moss_host.mm.vma import MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, Vma

RAM = 64 << 20
BASE = 0x4000_0000
P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE


def space(pages=64, backing=None, flags=0):
    mm = AddressSpace(Memory(bytearray(RAM), RAM))
    mm.add(Vma(BASE, BASE + pages * P, RW, flags, backing, 0, ""))
    return mm


def test_each_anonymous_page_made_present_is_one_minor_fault():
    mm, task = space(pages=1024), FaultCounts()
    for page in range(1024):                      # an in-order toucher: windows that grow
        if BASE + page * P not in mm.resident:
            mm.fault(BASE + page * P, True, False, True, task)
    assert (task.min_flt, task.maj_flt) == (1024, 0)
    assert mm.charge.min_flt == 0                 # all the CPU's: none charged to the process


def test_a_copy_on_write_break_is_a_minor_fault_and_populating_a_present_page_none():
    mm, task = space(), FaultCounts()
    mm.fault(BASE, True, False, True, task)
    child = mm.fork()
    mm.fault(BASE, True, False, True, task)       # write-protected by the fork: copied
    assert task.min_flt == FAULT_AROUND + 1
    mm.fault(BASE + P, False, False)              # MAP_POPULATE finds it present: no fault
    assert mm.charge.min_flt == 0
    child.write(BASE, b"x")                       # the kernel's copy_to_user breaks the child's copy
    assert child.charge.min_flt == 1


def test_shared_anonymous_memory_counts_each_new_page_then_one_per_window():
    obj = SharedAnon(Memory(bytearray(RAM), RAM))
    a = AddressSpace(obj.mem)
    a.add(Vma(BASE, BASE + 32 * P, RW, MAP_SHARED, obj, 0, ""))
    b = AddressSpace(obj.mem)
    b.add(Vma(BASE, BASE + 32 * P, RW, MAP_SHARED, obj, 0, ""))
    ta, tb = FaultCounts(), FaultCounts()
    a.fault(BASE, True, False, True, ta)
    b.fault(BASE, True, False, True, tb)
    assert (ta.min_flt, tb.min_flt) == (FAULT_AROUND, 1)   # b's window was all in the object


def new_file(data):
    root = FsContext(MountTable(Tmpfs()).root_location()).root
    f = InodeFile(vfs_create(root, b"f", 0o644, None), O_RDWR)
    asyncio.run(f.write(data))
    return f


class Disk:
    """A block device's read count (BlockDevice.reads)."""
    reads = 0


def test_a_file_fault_is_one_minor_fault_per_window_and_major_when_the_disk_is_read():
    f = new_file(b"x" * 64 * P)
    mm, task = space(pages=64, backing=FileBacking(f.inode, "/f"), flags=MAP_PRIVATE), FaultCounts()
    for page in range(0, 32):
        if BASE + page * P not in mm.resident:
            mm.fault(BASE + page * P, False, False, True, task)
    assert (task.min_flt, task.maj_flt) == (2, 0)
    disk = f.inode.sb.blockdev = Disk()
    read = f.inode.read

    def read_from_disk(offset, n):
        disk.reads += 1
        return read(offset, n)
    f.inode.read = read_from_disk
    mm.fault(BASE + 40 * P, False, False, True, task)       # not cached: read
    mm.fault(BASE + 8 * P, True, False, True, task)         # cached, written: a private copy
    assert (task.min_flt, task.maj_flt) == (3, 1)
