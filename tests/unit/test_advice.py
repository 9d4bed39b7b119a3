"""madvise, mlock and mincore on the VMA and page side, without QEMU."""
import pytest

from moss_host.addr import PAGE_SIZE
from moss_host.errors import EINVAL, ENOMEM, EPERM, Errno
from moss_host.mm import advice
from moss_host.mm.address_space import AddressSpace
from moss_host.mm.memory import Memory
from moss_host.mm.vma import PROT_READ, PROT_WRITE, Vma

RAM = 64 << 20
BASE = 0x10_0000
VEC = 0x40_0000
P = PAGE_SIZE


def space() -> AddressSpace:
    mm = AddressSpace(Memory(bytearray(RAM), RAM))
    mm.add(Vma(BASE, BASE + 64 * P, PROT_READ | PROT_WRITE))
    mm.add(Vma(VEC, VEC + P, PROT_READ | PROT_WRITE))
    return mm


def residency(mm: AddressSpace, pages: int = 64) -> bytes:
    advice.mincore(mm, BASE, pages * P, VEC)
    return mm.read(VEC, pages)


def test_dontneed_drops_pages_that_then_read_as_zero():
    mm = space()
    mm.write(BASE, b"x" * 64 * P)
    assert residency(mm) == b"\1" * 64
    advice.madvise(mm, BASE + 16 * P, 32 * P, advice.MADV_DONTNEED)
    assert residency(mm) == b"\1" * 16 + b"\0" * 32 + b"\1" * 16
    assert mm.read(BASE + 20 * P, 1) == b"\0" and mm.read(BASE, 1) == b"x"


def test_madvise_advises_the_mapped_part_then_reports_the_hole():
    mm = space()
    mm.write(BASE, b"x" * 4 * P)
    mm.unmap(BASE + 2 * P, BASE + 3 * P)
    with pytest.raises(Errno) as e:
        advice.madvise(mm, BASE, 4 * P, advice.MADV_DONTNEED)
    assert e.value.code == ENOMEM and BASE not in mm.resident


@pytest.mark.parametrize("adv", [7, 26, 99, -1])
def test_unknown_advice_is_einval_even_for_an_empty_range(adv):
    with pytest.raises(Errno) as e:
        advice.madvise(space(), BASE, 0, adv)
    assert e.value.code == EINVAL


def test_mlock_populates_and_checks_the_limit_only_without_privilege():
    mm = space()
    advice.mlock(mm, BASE, 8 * P, 0, 8 << 20, privileged=False)
    assert residency(mm, 8) == b"\1" * 8
    with pytest.raises(Errno) as e:
        advice.mlock(mm, BASE, P, 0, 0, privileged=False)
    assert e.value.code == EPERM
    with pytest.raises(Errno) as e:
        advice.mlock(mm, BASE, 64 * P, 0, 4 * P, privileged=False)
    assert e.value.code == ENOMEM
    advice.mlock(mm, BASE, 64 * P, 0, 0, privileged=True)


def test_dontfork_leaves_the_mapping_out_of_the_child_and_wipeonfork_gives_it_empty():
    mm = space()
    mm.write(BASE, b"x" * 64 * P)
    advice.madvise(mm, BASE, 8 * P, advice.MADV_DONTFORK)
    advice.madvise(mm, BASE + 16 * P, 8 * P, advice.MADV_WIPEONFORK)
    child = mm.fork()
    assert child.vmas.find(BASE) is None and child.vmas.find(BASE + 8 * P) is not None
    assert child.read(BASE + 16 * P, 1) == b"\0" and child.read(BASE + 8 * P, 1) == b"x"
    assert mm.read(BASE + 16 * P, 1) == b"x"


def test_mlock_marks_only_the_range_and_the_child_does_not_inherit_it():
    mm = space()
    advice.mlock(mm, BASE + 4 * P, 2 * P, 0, 8 << 20, privileged=True)
    assert mm.vmas.locked_bytes() == 2 * P and len(mm.vmas.overlapping(BASE, BASE + 64 * P)) == 3
    assert mm.fork().vmas.locked_bytes() == 0
    advice.munlock(mm, BASE, 64 * P)
    assert mm.vmas.locked_bytes() == 0 and len(mm.vmas.overlapping(BASE, BASE + 64 * P)) == 1
