"""Buddy frame allocator: exhaustion, coalescing, double free, alignment, refcounts."""
import random

import pytest
from hypothesis import given, settings, strategies as st

from moss_host.addr import PAGE_SIZE
from moss_host.mm.frames import MAX_ORDER, FrameAllocator, OutOfMemory

RAM = 0x4000_0000
MIB = 1 << 20


def test_fresh_pool_counts_all_frames_free():
    fa = FrameAllocator(RAM, 8 * MIB)
    assert fa.total_frames == 2048
    assert fa.free_frames == 2048


def test_order0_allocations_are_distinct_pages_inside_the_pool():
    fa = FrameAllocator(RAM, 64 * PAGE_SIZE)
    pas = [fa.alloc() for _ in range(64)]
    assert len(set(pas)) == 64
    assert all(RAM <= pa < RAM + 64 * PAGE_SIZE and pa % PAGE_SIZE == 0 for pa in pas)
    assert fa.free_frames == 0


def test_exhaustion_raises_out_of_memory_and_recovers_after_free():
    fa = FrameAllocator(RAM, 16 * PAGE_SIZE)
    pas = [fa.alloc() for _ in range(16)]
    with pytest.raises(OutOfMemory):
        fa.alloc()
    fa.free(pas[5])
    assert fa.alloc() == pas[5]


def test_high_order_request_fails_when_memory_is_fragmented():
    fa = FrameAllocator(RAM, 4 * PAGE_SIZE)
    pas = [fa.alloc() for _ in range(4)]
    fa.free(pas[0])
    fa.free(pas[2])                  # two free frames, but not buddies
    assert fa.free_frames == 2
    with pytest.raises(OutOfMemory):
        fa.alloc(1)
    fa.free(pas[1])                  # pas[0]+pas[1] coalesce into an order-1 block
    assert fa.alloc(1) == pas[0]


def test_freeing_everything_coalesces_back_to_max_order_blocks():
    size = 2 * (PAGE_SIZE << MAX_ORDER)          # exactly two order-10 blocks
    fa = FrameAllocator(RAM, size)
    pas = [fa.alloc() for _ in range(fa.total_frames)]
    random.Random(7).shuffle(pas)
    for pa in pas:
        fa.free(pa)
    assert fa.free_frames == fa.total_frames
    a = fa.alloc(MAX_ORDER)
    b = fa.alloc(MAX_ORDER)
    assert {a, b} == {RAM, RAM + (PAGE_SIZE << MAX_ORDER)}
    with pytest.raises(OutOfMemory):
        fa.alloc()


@pytest.mark.parametrize("order", range(MAX_ORDER + 1))
def test_blocks_are_aligned_to_their_size_in_physical_address_space(order):
    # Pool starting one page above a 4 MiB boundary: alignment is absolute, not pool-relative.
    fa = FrameAllocator(RAM + PAGE_SIZE, 16 * MIB)
    fa.alloc(0)                                  # disturb the lists a little
    pa = fa.alloc(order)
    assert pa % (PAGE_SIZE << order) == 0
    assert RAM + PAGE_SIZE <= pa and pa + (PAGE_SIZE << order) <= RAM + PAGE_SIZE + 16 * MIB


def test_unaligned_pool_edges_are_usable_as_small_blocks():
    fa = FrameAllocator(RAM + 3 * PAGE_SIZE, 5 * PAGE_SIZE)   # frames 3..7
    got = sorted(fa.alloc() for _ in range(5))
    assert got == [RAM + i * PAGE_SIZE for i in range(3, 8)]


def test_double_free_raises():
    fa = FrameAllocator(RAM, 1 * MIB)
    pa = fa.alloc()
    fa.free(pa)
    with pytest.raises(ValueError):
        fa.free(pa)
    assert fa.free_frames == fa.total_frames


def test_free_with_wrong_order_or_interior_address_raises():
    fa = FrameAllocator(RAM, 1 * MIB)
    pa = fa.alloc(2)
    with pytest.raises(ValueError):
        fa.free(pa, 0)
    with pytest.raises(ValueError):
        fa.free(pa + PAGE_SIZE, 0)
    with pytest.raises(ValueError):
        fa.free(pa + 8, 2)
    fa.free(pa, 2)
    assert fa.free_frames == fa.total_frames


def test_free_of_never_allocated_frame_raises():
    fa = FrameAllocator(RAM, 1 * MIB)
    with pytest.raises(ValueError):
        fa.free(RAM)


def test_bad_pool_or_order_is_rejected():
    with pytest.raises(ValueError):
        FrameAllocator(RAM + 1, MIB)
    with pytest.raises(ValueError):
        FrameAllocator(RAM, MIB + 5)
    fa = FrameAllocator(RAM, MIB)
    with pytest.raises(ValueError):
        fa.alloc(MAX_ORDER + 1)
    with pytest.raises(ValueError):
        fa.alloc(-1)


def test_refcount_put_frees_only_at_zero():
    fa = FrameAllocator(RAM, 1 * MIB)
    pa = fa.alloc()
    assert fa.get_ref(pa) == 1
    assert fa.inc_ref(pa) == 2
    assert fa.inc_ref(pa) == 3
    before = fa.free_frames
    assert fa.put(pa) == 2
    assert fa.put(pa) == 1
    assert fa.free_frames == before
    assert fa.put(pa) == 0
    assert fa.free_frames == before + 1
    assert fa.get_ref(pa) == 0
    with pytest.raises(ValueError):
        fa.put(pa)


def test_free_of_shared_frame_raises():
    fa = FrameAllocator(RAM, 1 * MIB)
    pa = fa.alloc()
    fa.inc_ref(pa)
    with pytest.raises(ValueError):
        fa.free(pa)
    fa.put(pa)
    fa.free(pa)
    assert fa.free_frames == fa.total_frames


def test_inc_ref_of_free_frame_raises():
    fa = FrameAllocator(RAM, 1 * MIB)
    with pytest.raises(ValueError):
        fa.inc_ref(RAM)


def test_put_of_high_order_block_frees_whole_block():
    fa = FrameAllocator(RAM, 1 * MIB)
    pa = fa.alloc(3)
    fa.inc_ref(pa)
    fa.put(pa)
    assert fa.free_frames == fa.total_frames - 8
    fa.put(pa)
    assert fa.free_frames == fa.total_frames


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 4), st.integers(0, 1000)), max_size=80))
def test_random_alloc_free_never_overlaps_and_counts_match(ops):
    fa = FrameAllocator(RAM, 64 * PAGE_SIZE)
    live: dict[int, int] = {}                    # pa -> order
    for is_alloc, order, pick in ops:
        if is_alloc or not live:
            try:
                pa = fa.alloc(order)
            except OutOfMemory:
                # Only legal if no aligned run of 2**order free frames exists.
                used = {p + i * PAGE_SIZE for p, o in live.items() for i in range(1 << o)}
                n = 1 << order
                for s in range(RAM, RAM + 64 * PAGE_SIZE, n * PAGE_SIZE):
                    assert any(s + i * PAGE_SIZE in used for i in range(n))
                continue
            assert pa % (PAGE_SIZE << order) == 0
            for p, o in live.items():
                assert pa + (PAGE_SIZE << order) <= p or p + (PAGE_SIZE << o) <= pa
            live[pa] = order
        else:
            pa = sorted(live)[pick % len(live)]
            fa.free(pa, live.pop(pa))
        assert fa.free_frames == 64 - sum(1 << o for o in live.values())


def test_alloc_many_carves_ascending_runs_and_stops_when_the_pool_is_empty():
    fa = FrameAllocator(RAM, 64 * PAGE_SIZE)
    pas = fa.alloc_many(40)
    assert pas == sorted(pas) and len(set(pas)) == 40          # ascending, distinct
    assert pas[-1] - pas[0] == 39 * PAGE_SIZE                   # one contiguous run here
    assert fa.free_frames == 24
    rest = fa.alloc_many(100)
    assert len(rest) == 24 and fa.free_frames == 0 and fa.alloc_many(5) == []
    fa.free(pas[3])                                             # each is an order-0 block
    assert fa.get_ref(pas[4]) == 1


def test_put_many_frees_whole_blocks_drops_shared_references_and_coalesces():
    size = 2 * (PAGE_SIZE << MAX_ORDER)
    fa = FrameAllocator(RAM, size)
    pas = fa.alloc_many(fa.total_frames)
    assert len(pas) == fa.total_frames
    shared = pas[7]
    fa.inc_ref(shared)
    random.Random(3).shuffle(pas)
    fa.put_many(pas)
    assert fa.free_frames == fa.total_frames - 1 and fa.get_ref(shared) == 1
    fa.put_many([shared])                                       # the last reference
    assert fa.free_frames == fa.total_frames
    assert {fa.alloc(MAX_ORDER), fa.alloc(MAX_ORDER)} == {RAM, RAM + (PAGE_SIZE << MAX_ORDER)}


def test_put_many_of_a_frame_not_allocated_raises():
    fa = FrameAllocator(RAM, 16 * PAGE_SIZE)
    pas = fa.alloc_many(4)
    fa.put_many(pas[:2])
    with pytest.raises(ValueError):
        fa.put_many(pas[1:])
