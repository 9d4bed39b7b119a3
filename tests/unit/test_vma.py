"""VMAs: lookup, insert, munmap/mprotect splitting (file offsets), merging, placement."""
import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from moss_host.addr import PAGE_SIZE
from moss_host.errors import ENOMEM, Errno
from moss_host.mm.backing import Backing
from moss_host.mm.vma import (
    MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE,
    Vma, VmaSet, mergeable)

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
RX = PROT_READ | PROT_EXEC
ANON = MAP_PRIVATE | MAP_ANONYMOUS


class File(Backing):
    """A stand-in backing object."""

    def __init__(self, name):
        self.name = name

    def read(self, offset, n):
        return bytes(n)


def anon(start_pg, end_pg, prot=RW, name=""):
    return Vma(start_pg * P, end_pg * P, prot, ANON, name=name)


def filemap(start_pg, end_pg, f, off_pg, prot=RX, flags=MAP_PRIVATE):
    return Vma(start_pg * P, end_pg * P, prot, flags, backing=f, offset=off_pg * P, name=f.name)


# -- basics ------------------------------------------------------------------------------------


def test_find_uses_half_open_ranges():
    s = VmaSet()
    v = s.insert(anon(10, 12))
    assert s.find(9 * P + P - 1) is None
    assert s.find(10 * P) is v
    assert s.find(12 * P - 1) is v
    assert s.find(12 * P) is None
    assert VmaSet().find(0) is None


def test_insert_rejects_overlap_and_keeps_order():
    s = VmaSet(merge=False)
    s.insert(anon(20, 30))
    s.insert(anon(5, 10))
    for bad in (anon(29, 31), anon(15, 21), anon(0, 6), anon(22, 25), anon(0, 40)):
        with pytest.raises(ValueError):
            s.insert(bad)
    s.insert(anon(10, 20))
    assert [(v.start // P, v.end // P) for v in s] == [(5, 10), (10, 20), (20, 30)]


def test_vma_rejects_unaligned_or_empty_range_and_bad_prot():
    with pytest.raises(ValueError):
        Vma(0x1000, 0x1800, RW)
    with pytest.raises(ValueError):
        Vma(0x2000, 0x2000, RW)
    with pytest.raises(ValueError):
        Vma(0x1000, 0x2000, 8)


# -- munmap ------------------------------------------------------------------------------------


def test_munmap_middle_of_file_mapping_keeps_offsets_of_both_remainders():
    f = File("/bin/x")
    s = VmaSet()
    s.insert(filemap(100, 110, f, 3))            # file pages 3..12 at VA pages 100..109
    removed = s.remove_range(104 * P, 106 * P)
    assert [(r.start, r.end, r.offset) for r in removed] == [(104 * P, 106 * P, 7 * P)]
    left, right = list(s)
    assert (left.start, left.end, left.offset) == (100 * P, 104 * P, 3 * P)
    assert (right.start, right.end, right.offset) == (106 * P, 110 * P, 9 * P)
    assert right.backing is f and right.name == "/bin/x"
    assert s.find(105 * P) is None


def test_munmap_across_several_vmas_returns_clipped_pieces_in_order():
    f = File("/lib/y")
    s = VmaSet(merge=False)
    s.insert(filemap(10, 20, f, 0))
    s.insert(anon(20, 25))
    s.insert(anon(30, 40))
    removed = s.remove_range(15 * P, 35 * P)
    assert [(r.start // P, r.end // P, r.offset // P) for r in removed] == \
        [(15, 20, 5), (20, 25, 0), (30, 35, 0)]
    assert [(v.start // P, v.end // P) for v in s] == [(10, 15), (35, 40)]
    assert list(s)[1].offset == 5 * P             # anonymous offset moves too, harmlessly


def test_munmap_of_unmapped_range_is_a_no_op():
    s = VmaSet()
    s.insert(anon(10, 20))
    assert s.remove_range(30 * P, 40 * P) == []
    assert s.remove_range(0, 10 * P) == []
    assert len(s) == 1


def test_remove_range_rejects_unaligned_range():
    with pytest.raises(ValueError):
        VmaSet().remove_range(0x1000, 0x1800)


# -- mprotect ----------------------------------------------------------------------------------


def test_mprotect_middle_splits_in_three_with_file_offsets():
    f = File("/bin/z")
    s = VmaSet()
    s.insert(filemap(50, 60, f, 10, prot=RW))
    changed = s.protect_range(52 * P, 55 * P, PROT_READ)
    assert [(o.start // P, o.end // P, o.prot, n.prot, n.offset // P) for o, n in changed] == \
        [(52, 55, RW, PROT_READ, 12)]
    got = [(v.start // P, v.end // P, v.prot, v.offset // P) for v in s]
    assert got == [(50, 52, RW, 10), (52, 55, PROT_READ, 12), (55, 60, RW, 15)]


def test_mprotect_back_merges_into_one_vma():
    f = File("/bin/z")
    s = VmaSet()
    s.insert(filemap(50, 60, f, 10, prot=RW))
    s.protect_range(52 * P, 55 * P, PROT_READ)
    s.protect_range(52 * P, 55 * P, RW)
    assert [(v.start // P, v.end // P, v.offset // P) for v in s] == [(50, 60, 10)]


def test_mprotect_without_merge_leaves_pieces():
    s = VmaSet(merge=False)
    s.insert(anon(50, 60))
    s.protect_range(52 * P, 55 * P, PROT_READ)
    s.protect_range(52 * P, 55 * P, RW)
    assert len(s) == 3


def test_mprotect_over_a_hole_raises_enomem_and_changes_nothing():
    s = VmaSet()
    s.insert(anon(10, 20))
    s.insert(anon(21, 30))
    before = list(s)
    with pytest.raises(Errno) as e:
        s.protect_range(15 * P, 25 * P, PROT_READ)
    assert e.value.code == ENOMEM
    assert list(s) == before
    assert s.first_gap(15 * P, 25 * P) == 20 * P
    assert s.first_gap(10 * P, 20 * P) is None


def test_mprotect_with_same_prot_reports_nothing():
    s = VmaSet()
    s.insert(anon(10, 20))
    assert s.protect_range(12 * P, 14 * P, RW) == []
    assert len(s) == 1


# -- merging -----------------------------------------------------------------------------------


def test_adjacent_anonymous_inserts_merge_like_brk_growth():
    s = VmaSet()
    s.insert(anon(10, 12, name="[heap]"))
    v = s.insert(anon(12, 15, name="[heap]"))
    assert (v.start, v.end) == (10 * P, 15 * P)
    assert len(s) == 1
    s.insert(anon(15, 16))                         # unnamed: does not join the heap
    assert len(s) == 2


def test_insert_into_gap_merges_with_both_neighbours():
    s = VmaSet()
    s.insert(anon(10, 12))
    s.insert(anon(14, 16))
    v = s.insert(anon(12, 14))
    assert (v.start, v.end) == (10 * P, 16 * P) and len(s) == 1


def test_file_mappings_merge_only_with_contiguous_offsets():
    f, g = File("/a"), File("/b")
    assert mergeable(filemap(0, 2, f, 0), filemap(2, 4, f, 2))
    assert not mergeable(filemap(0, 2, f, 0), filemap(2, 4, f, 3))
    assert not mergeable(filemap(0, 2, f, 0), filemap(2, 4, g, 2))
    assert not mergeable(filemap(0, 2, f, 0), filemap(2, 4, f, 2, prot=RW))
    assert not mergeable(filemap(0, 2, f, 0), filemap(2, 4, f, 2, flags=MAP_SHARED))


# -- placement ---------------------------------------------------------------------------------


def test_find_free_top_down_takes_highest_gap_below_top():
    s = VmaSet(merge=False)
    s.insert(anon(90, 100))
    s.insert(anon(70, 85))
    assert s.find_free(5 * P, bottom=16 * P, top=100 * P) == 85 * P
    assert s.find_free(6 * P, bottom=16 * P, top=100 * P) == 64 * P
    assert s.find_free(3 * P, bottom=16 * P, top=95 * P) == 87 * P


def test_find_free_bottom_up_takes_lowest_gap():
    s = VmaSet(merge=False)
    s.insert(anon(16, 20))
    s.insert(anon(22, 30))
    assert s.find_free(2 * P, bottom=16 * P, top=100 * P, top_down=False) == 20 * P
    assert s.find_free(3 * P, bottom=16 * P, top=100 * P, top_down=False) == 30 * P
    assert s.find_free(2 * P, bottom=18 * P, top=100 * P, top_down=False) == 20 * P


def test_find_free_honours_a_free_hint_and_ignores_a_taken_one():
    s = VmaSet()
    s.insert(anon(40, 50))
    assert s.find_free(4 * P, hint=20 * P + 5, bottom=16 * P, top=100 * P) == 21 * P
    assert s.find_free(4 * P, hint=48 * P, bottom=16 * P, top=100 * P) == 96 * P
    # A hint above `top` is still fine if below `limit` (Linux: hint vs TASK_SIZE).
    assert s.find_free(4 * P, hint=200 * P, bottom=16 * P, top=100 * P) == 200 * P


def test_find_free_alignment():
    s = VmaSet()
    s.insert(anon(500, 512))
    got = s.find_free(4 * P, bottom=16 * P, top=512 * P, align=256 * P)
    assert got == 256 * P


def test_find_free_without_room_raises_enomem():
    s = VmaSet()
    s.insert(anon(16, 100))
    with pytest.raises(Errno) as e:
        s.find_free(P, bottom=16 * P, top=100 * P)
    assert e.value.code == ENOMEM
    with pytest.raises(Errno):
        s.find_free(P, bottom=16 * P, top=100 * P, top_down=False)
    assert s.find_free(P, bottom=16 * P, top=101 * P) == 100 * P


# -- /proc/pid/maps ----------------------------------------------------------------------------


def test_maps_line_matches_linux_padding():
    f = File("/usr/bin/head")
    v = Vma(0x563ceba1d000, 0x563ceba1f000, PROT_READ, MAP_PRIVATE, backing=f, offset=0x2000,
            name="/usr/bin/head")
    assert v.maps_line(0xfe, 0x00, 260386) == \
        "563ceba1d000-563ceba1f000 r--p 00002000 fe:00 260386                     /usr/bin/head"
    heap = Vma(0x562cccddf000, 0x562ccce00000, RW, ANON, name="[heap]")
    assert heap.maps_line() == \
        "562cccddf000-562ccce00000 rw-p 00000000 00:00 0                          [heap]"
    plain = Vma(0x7fea8178f000, 0x7fea81792000, RW | PROT_EXEC, MAP_SHARED | MAP_ANONYMOUS)
    assert plain.maps_line() == "7fea8178f000-7fea81792000 rwxs 00000000 00:00 0 "


# -- property test against a per-page model ----------------------------------------------------

NPAGES = 48
FILES = [File("/f0"), File("/f1")]
pages = st.integers(0, NPAGES - 1)
prots = st.sampled_from([PROT_NONE, PROT_READ, RW, RX, RW | PROT_EXEC])
kinds = st.sampled_from(["anon", "heap", "f0", "f1", "f0shared"])


def page_attrs(v, va):
    """What a VMA says about one page, in the model's terms."""
    fpage = (v.offset + va - v.start) // P if v.backing is not None else None
    return (v.prot, v.flags, v.name, None if v.backing is None else id(v.backing), fpage)


class VmaModel(RuleBasedStateMachine):
    merge = True

    def __init__(self):
        super().__init__()
        self.s = VmaSet(merge=self.merge)
        self.model: dict[int, tuple] = {}           # page -> page_attrs

    @rule(start=pages, n=st.integers(1, 12), prot=prots, kind=kinds, off=st.integers(0, 20))
    def insert(self, start, n, prot, kind, off):
        end = min(start + n, NPAGES)
        if kind == "anon":
            v = anon(start, end, prot)
        elif kind == "heap":
            v = anon(start, end, prot, name="[heap]")
        else:
            f = FILES[kind[1] == "1"]
            v = filemap(start, end, f, off, prot, MAP_SHARED if "shared" in kind else MAP_PRIVATE)
        if any(p in self.model for p in range(start, end)):
            with pytest.raises(ValueError):
                self.s.insert(v)
            return
        got = self.s.insert(v)
        assert got.start <= v.start and v.end <= got.end
        for p in range(start, end):
            self.model[p] = page_attrs(v, p * P)

    @rule(start=pages, n=st.integers(1, 16))
    def munmap(self, start, n):
        end = min(start + n, NPAGES)
        removed = self.s.remove_range(start * P, end * P)
        got = {}
        for r in removed:
            assert start * P <= r.start < r.end <= end * P
            for va in range(r.start, r.end, P):
                assert va // P not in got
                got[va // P] = page_attrs(r, va)
        want = {p: self.model.pop(p) for p in range(start, end) if p in self.model}
        assert got == want
        assert [r.start for r in removed] == sorted(r.start for r in removed)

    @rule(start=pages, n=st.integers(1, 16), prot=prots)
    def mprotect(self, start, n, prot):
        end = min(start + n, NPAGES)
        if any(p not in self.model for p in range(start, end)):
            with pytest.raises(Errno):
                self.s.protect_range(start * P, end * P, prot)
            return
        changed = self.s.protect_range(start * P, end * P, prot)
        seen = set()
        for old, new in changed:
            assert (old.start, old.end) == (new.start, new.end) and new.prot == prot
            for va in range(old.start, old.end, P):
                assert page_attrs(old, va) == self.model[va // P]
                seen.add(va // P)
        assert seen == {p for p in range(start, end) if self.model[p][0] != prot}
        for p in range(start, end):
            self.model[p] = (prot,) + self.model[p][1:]

    @rule(n=st.integers(1, 10), hint=st.integers(0, NPAGES), top_down=st.booleans(),
          align=st.sampled_from([1, 2, 4]))
    def find_free(self, n, hint, top_down, align):
        bottom, top = 2, NPAGES - 2

        def fits(a):
            return (a % align == 0 and bottom <= a and a + n <= top
                    and not any(p in self.model for p in range(a, a + n)))

        hint_ok = hint != 0 and bottom <= hint and hint + n <= NPAGES and \
            not any(p in self.model for p in range(hint, hint + n))
        candidates = [a for a in range(bottom, top) if fits(a)]
        try:
            got = self.s.find_free(n * P, hint * P, bottom=bottom * P, top=top * P,
                                   limit=NPAGES * P, top_down=top_down, align=align * P)
        except Errno as e:
            assert e.code == ENOMEM and not hint_ok and not candidates
            return
        assert got % P == 0
        if hint_ok:
            assert got == hint * P
        else:
            assert got // P == (max(candidates) if top_down else min(candidates))

    @invariant()
    def pages_match_model(self):
        for p in range(NPAGES):
            v = self.s.find(p * P)
            assert (None if v is None else page_attrs(v, p * P)) == self.model.get(p)

    @invariant()
    def structure_is_sorted_disjoint_and_merged(self):
        vs = list(self.s)
        assert self.s._starts == [v.start for v in vs]
        for a, b in zip(vs, vs[1:]):
            assert a.end <= b.start
            if self.merge:
                assert not mergeable(a, b)
        for v in vs:
            assert v.start < v.end and v.start % P == 0 and v.end % P == 0


class VmaModelNoMerge(VmaModel):
    merge = False


TestVmaSetAgainstPageModel = VmaModel.TestCase
TestVmaSetAgainstPageModel.settings = settings(max_examples=120, stateful_step_count=30,
                                               deadline=None)
TestVmaSetNoMergeAgainstPageModel = VmaModelNoMerge.TestCase
TestVmaSetNoMergeAgainstPageModel.settings = settings(max_examples=60, stateful_step_count=30,
                                                      deadline=None)
