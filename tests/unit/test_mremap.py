"""mremap on the VMA and page side, without QEMU: frames move with their descriptors (no copy),
the old addresses are invalidated, and Linux's errno cases."""
import pytest

from moss_host.addr import PAGE_SIZE
from moss_host.arch.arm64 import pagetable as pt
from moss_host.errors import EFAULT, EINVAL, ENOMEM, Errno
from moss_host.mm.address_space import AddressSpace
from moss_host.mm.memory import Memory
from moss_host.mm.remap import MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, mremap
from moss_host.mm.vma import PROT_READ, PROT_WRITE, Vma

RAM = 64 << 20
BASE = 0x10_0000
P = PAGE_SIZE


def space(pages: int = 4) -> AddressSpace:
    mm = AddressSpace(Memory(bytearray(RAM), RAM))
    mm.add(Vma(BASE, BASE + pages * P, PROT_READ | PROT_WRITE))
    for i in range(pages):
        mm.write(BASE + i * P, bytes([0x41 + i]) * P)
    return mm


def test_a_move_takes_the_frames_and_descriptors_along_and_flushes_the_old_addresses():
    mm = space()
    frames = [mm.resident[BASE + i * P] for i in range(4)]
    mm.mem.tlbi_vas.clear()
    new = mremap(mm, BASE, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 64 * P)
    assert new == BASE + 64 * P
    assert [mm.resident[new + i * P] for i in range(4)] == frames      # moved, not copied
    assert all(BASE + i * P not in mm.resident for i in range(4))
    assert mm.table.lookup(BASE) == 0 and pt.desc_is_writable(mm.table.lookup(new))
    assert new in mm.writable and BASE not in mm.writable
    assert len(mm.mem.tlbi_vas) == 4
    assert mm.vmas.find(BASE) is None and mm.read(new + 3 * P, 1) == b"D"


def test_grow_in_place_extends_the_vma_and_shrink_unmaps_the_tail():
    mm = space()
    assert mremap(mm, BASE, 4 * P, 6 * P, 0, 0) == BASE
    assert mm.vmas.find(BASE).end == BASE + 6 * P and mm.read(BASE + 5 * P, 1) == b"\0"
    assert mremap(mm, BASE, 6 * P, P, 0, 0) == BASE
    assert mm.vmas.find(BASE + P) is None and len(mm.resident) == 1


def test_dontunmap_leaves_the_old_range_mapped_and_empty():
    mm = space(2)
    new = mremap(mm, BASE, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0)
    assert new != BASE and mm.read(new, 1) == b"A"
    assert mm.vmas.find(BASE) is not None and mm.read(BASE, 1) == b"\0"


@pytest.mark.parametrize("args, errno", [
    ((BASE, P, P, 8, 0), EINVAL),                                   # unknown flag
    ((BASE, P, 2 * P, MREMAP_FIXED, BASE + 64 * P), EINVAL),        # FIXED needs MAYMOVE
    ((BASE, P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0), EINVAL),
    ((BASE + 1, P, P, 0, 0), EINVAL),
    ((BASE, P, 0, 0, 0), EINVAL),
    ((BASE + 64 * P, P, 2 * P, 0, 0), EFAULT),                       # nothing mapped there
    ((BASE, 8 * P, 9 * P, MREMAP_MAYMOVE, 0), EFAULT),               # old range past the VMA
    ((BASE, 0, P, MREMAP_MAYMOVE, 0), EINVAL),                      # duplicating a private mapping
    ((BASE, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + P), EINVAL),   # overlap
])
def test_errors_as_linux(args, errno):
    mm = space()
    with pytest.raises(Errno) as e:
        mremap(mm, *args)
    assert e.value.code == errno


def test_growing_into_a_neighbour_without_maymove_is_enomem():
    mm = space()
    mm.add(Vma(BASE + 4 * P, BASE + 5 * P, PROT_READ))
    with pytest.raises(Errno) as e:
        mremap(mm, BASE, 4 * P, 8 * P, 0, 0)
    assert e.value.code == ENOMEM
