"""The user stack VMA (mm/stack.py): its size after exec (setup_arg_pages: the argument pages
plus 128 KiB, within RLIMIT_STACK) and its growth on a fault below it (expand_downwards:
within RLIMIT_STACK, keeping the guard gap from the mapping below), through the fault path
and the kernel's own accesses; and [vvar]-style mappings mprotect can never make writable."""
import pytest

from moss_host.addr import PAGE_SIZE
from moss_host.errors import EACCES, EFAULT, Errno
from moss_host.mm.address_space import AddressSpace, UserFault
from moss_host.mm.memory import Memory
from moss_host.mm.stack import (STACK_EXPAND, STACK_GUARD_GAP, STACK_NAME, STACK_RLIMIT, STACK_TOP,
                                initial_stack)
from moss_host.mm.vma import MAP_GROWSDOWN, PROT_EXEC, PROT_READ, PROT_WRITE, Vma

RAM = 64 << 20
KiB, MiB = 1 << 10, 1 << 20
RW = PROT_READ | PROT_WRITE


def new_space(limit: int = STACK_RLIMIT) -> AddressSpace:
    mm = AddressSpace(Memory(bytearray(RAM), RAM))
    mm.set_stack_limit(limit)
    mm.add(initial_stack(STACK_TOP, STACK_TOP - 100, STACK_TOP - 600, limit))
    return mm


def stack_of(mm: AddressSpace) -> Vma:
    vma = [v for v in mm.vmas if v.name == STACK_NAME]
    assert len(vma) == 1
    return vma[0]


# -- the stack exec leaves ----------------------------------------------------------------------

def test_initial_stack_is_the_argument_page_plus_128k():
    vma = initial_stack(STACK_TOP, STACK_TOP - 100, STACK_TOP - 600, STACK_RLIMIT)
    assert (vma.end, vma.length) == (STACK_TOP, 132 * KiB)
    assert vma.prot == RW and vma.flags & MAP_GROWSDOWN and vma.name == STACK_NAME


def test_initial_stack_covers_every_argument_page():
    strings = STACK_TOP - 3 * PAGE_SIZE - 10            # four pages of strings
    assert initial_stack(STACK_TOP, strings, strings - 500, STACK_RLIMIT).length == 4 * PAGE_SIZE + STACK_EXPAND


def test_initial_stack_stops_at_a_small_rlimit_but_never_short_of_sp():
    assert initial_stack(STACK_TOP, STACK_TOP - 100, STACK_TOP - 600, 64 * KiB + 5).length == 64 * KiB
    sp = STACK_TOP - 3 * PAGE_SIZE
    assert initial_stack(STACK_TOP, STACK_TOP - 100, sp, 2 * PAGE_SIZE).start == sp


# -- growth ---------------------------------------------------------------------------------------

def test_a_fault_below_the_stack_grows_it_to_the_faulting_page():
    mm = new_space()
    addr = STACK_TOP - 3 * MiB + 123
    mm.fault(addr, is_write=True, is_exec=False)
    vma = stack_of(mm)
    assert vma.start == addr & ~(PAGE_SIZE - 1) and vma.end == STACK_TOP and len(mm.vmas) == 1
    mm.write(addr, b"deep")
    assert mm.read(addr, 4) == b"deep"


def test_growth_stops_at_rlimit_stack_with_a_mapping_error():
    mm = new_space()
    mm.fault(STACK_TOP - STACK_RLIMIT, is_write=True, is_exec=False)          # exactly the limit
    with pytest.raises(UserFault) as e:
        mm.fault(STACK_TOP - STACK_RLIMIT - 1, is_write=True, is_exec=False)
    assert not e.value.mapped                                                   # SEGV_MAPERR
    assert stack_of(mm).length == STACK_RLIMIT


def test_a_fault_far_below_is_still_a_segfault():
    mm = new_space()
    with pytest.raises(UserFault):
        mm.fault(STACK_TOP - 64 * MiB, is_write=False, is_exec=False)
    assert stack_of(mm).length == 132 * KiB


def test_a_lower_rlimit_set_later_stops_growth():
    mm = new_space()
    mm.set_stack_limit(1 * MiB)
    with pytest.raises(UserFault):
        mm.fault(STACK_TOP - 2 * MiB, is_write=True, is_exec=False)
    mm.fault(STACK_TOP - 1 * MiB + 8, is_write=True, is_exec=False)


def test_growth_keeps_the_guard_gap_from_the_mapping_below():
    mm = new_space()
    bottom = stack_of(mm).start
    other = bottom - 2 * MiB
    mm.add(Vma(other, other + PAGE_SIZE, RW))
    with pytest.raises(UserFault):
        mm.fault(other + PAGE_SIZE + STACK_GUARD_GAP - 1, is_write=True, is_exec=False)
    mm.fault(other + PAGE_SIZE + STACK_GUARD_GAP, is_write=True, is_exec=False)
    assert stack_of(mm).start == other + PAGE_SIZE + STACK_GUARD_GAP


def test_an_inaccessible_mapping_below_needs_no_guard_gap():
    mm = new_space()
    guard = stack_of(mm).start - 2 * PAGE_SIZE
    mm.add(Vma(guard, guard + PAGE_SIZE, 0))                                    # PROT_NONE
    mm.fault(guard + PAGE_SIZE, is_write=True, is_exec=False)
    assert stack_of(mm).start == guard + PAGE_SIZE


def test_only_a_growsdown_mapping_grows():
    mm = AddressSpace(Memory(bytearray(RAM), RAM))
    base = 0x100_0000
    mm.add(Vma(base, base + 16 * PAGE_SIZE, RW))
    with pytest.raises(UserFault):
        mm.fault(base - 8, is_write=True, is_exec=False)


def test_the_kernel_writing_below_the_stack_grows_it_too():
    """copy_to_user into a stack buffer the program has not touched (read(2) into a big array)."""
    mm = new_space()
    buf = STACK_TOP - 1 * MiB
    mm.write(buf, b"x" * (64 * KiB))
    assert stack_of(mm).start == buf and mm.read(buf + 100, 1) == b"x"
    with pytest.raises(Errno) as e:
        mm.write(STACK_TOP - 16 * MiB, b"x")
    assert e.value.code == EFAULT


def test_a_forked_space_keeps_the_stack_limit():
    mm = new_space(limit=1 * MiB)
    child = mm.fork()
    with pytest.raises(UserFault):
        child.fault(STACK_TOP - 2 * MiB, is_write=True, is_exec=False)


# -- mappings mprotect may not widen ----------------------------------------------------------------

def test_mprotect_cannot_make_a_read_only_special_mapping_writable_or_executable():
    mm = AddressSpace(Memory(bytearray(RAM), RAM))
    base = 0x100_0000
    mm.add(Vma(base, base + 2 * PAGE_SIZE, PROT_READ, name="[vvar]", max_prot=PROT_READ))
    for prot in (RW, PROT_READ | PROT_EXEC):
        with pytest.raises(Errno) as e:
            mm.protect(base, base + PAGE_SIZE, prot)
        assert e.value.code == EACCES
    mm.protect(base, base + PAGE_SIZE, 0)
    assert mm.vmas.find(base).prot == 0
    with pytest.raises(Errno):
        mm.write(base + PAGE_SIZE, b"x")
