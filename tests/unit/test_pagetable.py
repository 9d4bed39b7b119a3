"""AArch64 descriptor encodings (bit-exact, from the Arm ARM) and the in-RAM PageTable."""
import pytest
from hypothesis import given, strategies as st

from moss_host.addr import PAGE_SIZE
from moss_host.arch.arm64 import pagetable as ptm
from moss_host.arch.arm64.pagetable import (
    MAIR_EL1_VALUE, PageTable, block_desc, decode_desc, desc_break_cow, desc_is_writable,
    desc_make_cow, desc_pa, desc_with_prot, page_desc, table_desc, user_page_desc, va_indexes)
from moss_host.mm.frames import FrameAllocator
from moss_host.mm.physmem import PhysMem

RAM = 0x4000_0000
MIB = 1 << 20

# ---------------------------------------------------------------------------------------------
# Expected descriptor values, derived by hand from Arm ARM D8.3 (4 KiB granule, stage 1):
#   bits[1:0]  page/table 0b11 = 0x3, block 0b01 = 0x1
#   AttrIndx[4:2] = 1 (Normal WB)           -> 1 << 2  = 0x004
#   AP[7:6] = 0b01 (EL0+EL1 RW)             -> 1 << 6  = 0x040;  0b11 (EL0+EL1 RO) -> 0x0C0
#   SH[9:8] = 0b11 (inner shareable)        -> 3 << 8  = 0x300
#   AF[10]                                  -> 0x400
#   nG[11]                                  -> 0x800
#   PXN[53]                                 -> 0x0020_0000_0000_0000
#   UXN[54]                                 -> 0x0040_0000_0000_0000
#   software bit 55 (our COW mark)          -> 0x0080_0000_0000_0000
# User RW page:  0x3 + 0x4 + 0x40 + 0x300 + 0x400 + 0x800 = 0xF47, plus PXN|UXN = 0x0060...
# User RO page:  0x3 + 0x4 + 0xC0 + 0x300 + 0x400 + 0x800 = 0xFC7
# ---------------------------------------------------------------------------------------------
PA = 0x4012_3000
USER_RW = 0x0060_0000_4012_3F47          # RW, not executable: PXN|UXN
USER_RO = 0x0060_0000_4012_3FC7          # R only: PXN|UXN
USER_RX = 0x0020_0000_4012_3FC7          # R+X: PXN only
USER_RWX = 0x0020_0000_4012_3F47         # R+W+X: PXN only


def test_user_rw_page_descriptor_is_bit_exact():
    assert user_page_desc(PA, True, True, False) == USER_RW


def test_user_ro_page_descriptor_is_bit_exact():
    assert user_page_desc(PA, True, False, False) == USER_RO


def test_user_rx_page_descriptor_is_bit_exact():
    assert user_page_desc(PA, True, False, True) == USER_RX


def test_user_rwx_page_descriptor_is_bit_exact():
    assert user_page_desc(PA, True, True, True) == USER_RWX


def test_write_only_and_exec_only_imply_read_as_on_linux_arm64():
    assert user_page_desc(PA, False, True, False) == USER_RW
    assert user_page_desc(PA, False, False, True) == USER_RX


def test_prot_none_is_unmapped():
    assert user_page_desc(PA, False, False, False) == 0


def test_user_page_desc_rejects_unaligned_or_huge_pa():
    with pytest.raises(ValueError):
        user_page_desc(PA + 8, True, False, False)
    with pytest.raises(ValueError):
        user_page_desc(1 << 48, True, False, False)


def test_table_descriptor_is_address_or_0b11():
    # next-level table address in [47:12], bits[1:0] = 0b11, no APTable/XNTable bits
    assert table_desc(0x4000_5000) == 0x0000_0000_4000_5003


def test_l2_block_descriptor_is_bit_exact():
    # 2 MiB block at 0x4020_0000, Normal WB (0x004), AP 00 EL1 RW, SH inner (0x300), AF (0x400),
    # bits[1:0] = 0b01 -> low 0x705; UXN (bit 54) -> 0x0040_0000_0000_0000; global, EL1-executable.
    assert block_desc(0x4020_0000, 2) == 0x0040_0000_4020_0705


def test_l1_device_block_descriptor_is_bit_exact():
    # 1 GiB block at PA 0 (the -M virt device region): AttrIndx 0 (Device-nGnRE), SH 00,
    # AF (0x400), 0b01 -> 0x401; PXN|UXN -> 0x0060_0000_0000_0000.
    assert block_desc(0, 1, attr_indx=0, sh=0, pxn=True, uxn=True) == 0x0060_0000_0000_0401


def test_block_descriptor_rejects_misaligned_output_and_bad_level():
    with pytest.raises(ValueError):
        block_desc(0x4010_0000, 2)           # not 2 MiB aligned
    with pytest.raises(ValueError):
        block_desc(0x2000_0000, 1)           # not 1 GiB aligned
    with pytest.raises(ValueError):
        block_desc(0x4000_0000, 3)


def test_page_desc_with_explicit_fields_matches_user_page_desc():
    assert page_desc(PA, ap=ptm.AP_RW) == USER_RW
    assert page_desc(PA, ap=ptm.AP_RO, uxn=False) == USER_RX


def test_mair_value_gives_device_at_index0_and_normal_wb_at_index1():
    # MAIR_EL1 Attr<n> is byte n: Attr0 = 0x04 (Device-nGnRE), Attr1 = 0xFF (Normal WB RW-alloc)
    assert MAIR_EL1_VALUE & 0xFF == 0x04
    assert (MAIR_EL1_VALUE >> (8 * ptm.MAIR_IDX_NORMAL)) & 0xFF == 0xFF
    assert ptm.MAIR_IDX_DEVICE == 0


def test_make_cow_sets_ap2_and_bit55():
    # AP 01 -> 11 adds 0x80 (0xF47 -> 0xFC7); bit 55 adds 0x0080_0000_0000_0000.
    assert desc_make_cow(USER_RW) == 0x00E0_0000_4012_3FC7
    assert not desc_is_writable(desc_make_cow(USER_RW))


def test_break_cow_restores_write_and_moves_to_new_frame():
    assert desc_break_cow(0x00E0_0000_4012_3FC7, 0x4055_5000) == 0x0060_0000_4055_5F47
    assert desc_break_cow(0x00E0_0000_4012_3FC7) == USER_RW


def test_with_prot_keeps_cow_pages_read_only():
    cow = desc_make_cow(USER_RW)
    assert desc_with_prot(cow, True, True, False) == cow
    assert desc_with_prot(USER_RO, True, True, False) == USER_RW
    assert desc_with_prot(USER_RW, False, False, False) == 0


def test_decode_user_rw_page():
    d = decode_desc(USER_RW, 3)
    assert d.kind == "page" and d.pa == PA
    assert (d.attr_indx, d.ap, d.sh) == (1, 0b01, 0b11)
    assert d.af and d.ng and d.pxn and d.uxn and not d.cow and not d.ns and not d.dbm
    assert d.el0_readable and d.el0_writable and not d.el0_executable


def test_decode_distinguishes_levels():
    assert decode_desc(0x4000_5003, 2).kind == "table"
    assert decode_desc(0x4000_5003, 3).kind == "page"
    assert decode_desc(0x4000_0401, 3).kind == "invalid"      # 0b01 is reserved at level 3
    assert decode_desc(0x4000_0401, 0).kind == "invalid"      # and at level 0
    blk = decode_desc(0x4000_0401, 1)
    assert blk.kind == "block" and blk.pa == 0x4000_0000 and blk.af
    assert decode_desc(0x4000_5002, 2).kind == "invalid"      # bit 0 clear


def test_decode_cow_and_ro_exec():
    d = decode_desc(desc_make_cow(USER_RX))
    assert d.cow and d.sw == 1 and d.el0_readable and not d.el0_writable and d.el0_executable


@given(st.integers(0, (1 << 36) - 1), st.booleans(), st.booleans(), st.booleans())
def test_user_page_desc_decodes_back_to_its_protection(pfn, r, w, x):
    pa = pfn << 12
    v = user_page_desc(pa, r, w, x)
    if not (r or w or x):
        assert v == 0
        return
    d = decode_desc(v)
    assert d.pa == desc_pa(v) == pa
    assert d.el0_readable
    assert d.el0_writable == w
    assert d.el0_executable == x
    assert d.pxn and d.ng and d.af and d.attr_indx == 1


def test_va_indexes():
    # 0x7FFF_FFFF_F000: VA[47:39] = 0xFF, VA[38:30] = VA[29:21] = VA[20:12] = 0x1FF
    assert va_indexes(0x7FFF_FFFF_F000) == (255, 511, 511, 511)
    assert va_indexes(0x0000_0040_2060_3000) == (0, 256, 259, 3)


# ---------------------------------------------------------------------------------------------
# PageTable over a bytearray
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def mem():
    # RAM starts full of garbage, so a table frame that is not zeroed shows up as mappings.
    buf = bytearray(b"\xa5" * (4 * MIB))
    pm = PhysMem(buf, RAM)
    fa = FrameAllocator(RAM, 4 * MIB)
    return pm, fa


def make_pt(mem):
    pm, fa = mem
    return PageTable(pm, fa.alloc, fa.free)


def hw_walk(pm, root, va):
    """Walk the tables as the MMU does, independently of PageTable's caches."""
    table = root
    for level, shift in enumerate((39, 30, 21, 12)):
        d = pm.read_u64(table + ((va >> shift) & 511) * 8)
        if level == 3:
            return d if d & 1 else 0
        if d & 3 != 3:
            return 0
        table = d & 0x0000_FFFF_FFFF_F000


def test_map_then_lookup_and_hardware_walk_agree(mem):
    pm, fa = mem
    pt = make_pt(mem)
    va = 0x7FFF_FFFF_F000
    d = user_page_desc(0x4030_0000, True, True, False)
    pt.map(va, d)
    assert pt.lookup(va) == d
    assert hw_walk(pm, pt.root_pa, va) == d
    # Root entry 255 (VA[47:39]) is a table descriptor; nothing else in the root.
    root = [pm.read_u64(pt.root_pa + 8 * i) for i in range(512)]
    assert [i for i, e in enumerate(root) if e] == [255]
    assert root[255] & 3 == 3


def test_unmapped_neighbours_read_as_zero_despite_dirty_ram(mem):
    pm, fa = mem
    pt = make_pt(mem)
    pt.map(0x40_0000, user_page_desc(0x4030_0000, True, False, False))
    assert pt.lookup(0x40_1000) == 0
    assert pt.lookup(0x7FFF_0000_0000) == 0
    assert hw_walk(pm, pt.root_pa, 0x40_1000) == 0
    assert list(pt.items()) == [(0x40_0000, user_page_desc(0x4030_0000, True, False, False))]


def test_table_frame_count_grows_per_level(mem):
    pt = make_pt(mem)
    d = user_page_desc(0x4030_0000, True, False, False)
    assert pt.table_frames == 1
    pt.map(0x1000, d)
    assert pt.table_frames == 4          # root + L1 + L2 + L3
    pt.map(0x2000, d)
    assert pt.table_frames == 4          # same L3
    pt.map(0x20_0000, d)
    assert pt.table_frames == 5          # next 2 MiB: new L3
    pt.map(0x4000_0000, d)
    assert pt.table_frames == 7          # next 1 GiB: new L2 + L3
    pt.map(0x7FFF_FFFF_F000, d)
    assert pt.table_frames == 10         # other 512 GiB: new L1 + L2 + L3


def test_map_over_existing_mapping_raises(mem):
    pt = make_pt(mem)
    d = user_page_desc(0x4030_0000, True, False, False)
    pt.map(0x1000, d)
    with pytest.raises(ValueError):
        pt.map(0x1000, d)


def test_map_rejects_bad_va_and_non_page_descriptors(mem):
    pt = make_pt(mem)
    d = user_page_desc(0x4030_0000, True, False, False)
    for va in (0x1008, 1 << 48, -0x1000):
        with pytest.raises(ValueError):
            pt.map(va, d)
        with pytest.raises(ValueError):
            pt.lookup(va)
    with pytest.raises(ValueError):
        pt.map(0x1000, 0)
    with pytest.raises(ValueError):
        pt.map(0x1000, 0x4030_0401)       # block encoding


def test_unmap_returns_old_descriptor_then_zero(mem):
    pm, fa = mem
    pt = make_pt(mem)
    d = user_page_desc(0x4030_0000, True, True, False)
    pt.map(0x5000, d)
    assert pt.unmap(0x5000) == d
    assert pt.lookup(0x5000) == 0
    assert hw_walk(pm, pt.root_pa, 0x5000) == 0
    assert pt.unmap(0x5000) == 0
    assert pt.unmap(0x7000_0000_0000) == 0
    pt.map(0x5000, d)                     # may map again
    assert pt.lookup(0x5000) == d


def test_update_replaces_mapped_descriptor_only(mem):
    pm, fa = mem
    pt = make_pt(mem)
    d = user_page_desc(0x4030_0000, True, True, False)
    pt.map(0x5000, d)
    cow = desc_make_cow(d)
    assert pt.update(0x5000, cow) == d
    assert hw_walk(pm, pt.root_pa, 0x5000) == cow
    with pytest.raises(ValueError):
        pt.update(0x6000, d)
    with pytest.raises(ValueError):
        pt.update(0x7000_0000_0000, d)


def test_items_are_in_address_order_and_clipped_to_the_range(mem):
    pt = make_pt(mem)
    vas = [0x7FFF_FFFF_F000, 0x1000, 0x4000_0000, 0x20_0000, 0x3000, 0x1F_F000]
    for i, va in enumerate(vas):
        pt.map(va, user_page_desc(0x4030_0000 + i * PAGE_SIZE, True, False, False))
    assert [va for va, _ in pt.items()] == sorted(vas)
    assert [va for va, _ in pt.items(0x2000, 0x20_1000)] == [0x3000, 0x1F_F000, 0x20_0000]
    assert [va for va, _ in pt.items(0x1000, 0x1001)] == [0x1000]
    got = dict(pt.items())
    assert got[0x3000] == user_page_desc(0x4030_0000 + 4 * PAGE_SIZE, True, False, False)
    assert pt.mapped_pages() == len(vas)


def test_destroy_frees_every_table_frame_but_not_leaf_frames(mem):
    pm, fa = mem
    before = fa.free_frames
    pt = make_pt(mem)
    leaves = []
    for va in list(range(0, 0x40_0000, 0x3000)) + [0x4000_0000, 0x7FFF_FFFF_F000, 0x8000_0000_0000]:
        leaf = fa.alloc()
        leaves.append(leaf)
        pt.map(va, user_page_desc(leaf, True, True, False))
    tables = pt.table_frames
    assert fa.free_frames == before - len(leaves) - tables
    pt.destroy()
    assert fa.free_frames == before - len(leaves)
    assert all(fa.get_ref(leaf) == 1 for leaf in leaves)
    for leaf in leaves:
        fa.free(leaf)
    assert fa.free_frames == before
    assert pt.table_frames == 0
    with pytest.raises(ValueError):
        pt.map(0x1000, user_page_desc(0x4030_0000, True, False, False))


def test_free_empty_tables_returns_frames_and_clears_parent_entries(mem):
    pm, fa = mem
    before = fa.free_frames
    pt = make_pt(mem)
    d = user_page_desc(0x4030_0000, True, False, False)
    pt.map(0x1000, d)
    pt.map(0x4000_0000, d)
    pt.map(0x7FFF_FFFF_F000, d)
    pt.unmap(0x7FFF_FFFF_F000)
    assert pt.free_empty_tables() == 3   # L3, L2, L1 of the top region
    assert pt.table_frames == 6
    assert pm.read_u64(pt.root_pa + 255 * 8) == 0
    pt.unmap(0x4000_0000)
    assert pt.free_empty_tables(0, 0x2000) == 0   # range does not cover 0x4000_0000's tables
    assert pt.free_empty_tables(0x4000_0000, 0x4000_1000) == 2   # its L3 and L2
    assert pt.lookup(0x1000) == d and hw_walk(pm, pt.root_pa, 0x1000) == d
    assert pt.table_frames == 4
    pt.destroy()
    assert fa.free_frames == before


def test_adopting_an_existing_root_sees_the_same_mappings(mem):
    pm, fa = mem
    pt = make_pt(mem)
    for va in (0x1000, 0x20_3000, 0x7FFF_FFFF_F000):
        pt.map(va, user_page_desc(0x4030_0000, True, False, False))
    pt.unmap(0x20_3000)
    again = PageTable(pm, fa.alloc, fa.free, root_pa=pt.root_pa)
    assert list(again.items()) == list(pt.items())
    assert again.table_frames == pt.table_frames
    assert again.mapped_pages() == 2
    assert again.free_empty_tables() == 1          # the emptied L3 at 0x20_0000


def test_many_pages_roundtrip_through_guest_ram(mem):
    pm, fa = mem
    pt = make_pt(mem)
    base = 0x0000_5555_0000_0000
    want = {base + i * PAGE_SIZE: user_page_desc(0x4010_0000 + (i % 256) * PAGE_SIZE,
                                                 True, i % 2 == 0, i % 3 == 0)
            for i in range(1500)}
    for va, d in want.items():
        pt.map(va, d)
    assert dict(pt.items()) == want
    for va in list(want)[::97]:
        assert hw_walk(pm, pt.root_pa, va) == want[va]


def test_map_pages_and_unmap_pages_match_page_by_page_across_tables_and_gaps(mem):
    pm, _ = mem
    batch, single = make_pt(mem), make_pt(mem)
    base = 0x7F_FFF0_0000 - 8 * PAGE_SIZE               # 8 pages before a level-3 table ends
    vas = [base + i * PAGE_SIZE for i in range(20) if i not in (3, 4, 12)]
    descs = [user_page_desc(0x4030_0000 + i * PAGE_SIZE, True, i % 2 == 0, False) for i in range(len(vas))]
    batch.map_pages(vas, descs)
    for va, d in zip(vas, descs):
        single.map(va, d)
    assert list(batch) == list(single) == list(zip(vas, descs))
    assert batch.mapped_pages() == len(vas)
    for va, d in zip(vas, descs):
        assert hw_walk(pm, batch.root_pa, va) == d
    with pytest.raises(ValueError):
        batch.map_pages(vas[5:7], descs[5:7])               # already mapped
    gone = batch.unmap_pages(sorted(vas[:6] + [base + 3 * PAGE_SIZE]))
    assert gone == vas[:6]                                  # the hole had nothing to flush
    assert list(batch) == list(zip(vas[6:], descs[6:])) and batch.mapped_pages() == len(vas) - 6


def test_lookup_pages_and_update_pages_match_page_by_page_across_tables_and_gaps(mem):
    pm, _ = mem
    pt = make_pt(mem)
    base = 0x7F_FFF0_0000 - 8 * PAGE_SIZE               # 8 pages before a level-3 table ends
    vas = [base + i * PAGE_SIZE for i in range(20) if i not in (3, 4, 12)]
    descs = [user_page_desc(0x4030_0000 + i * PAGE_SIZE, True, True, False) for i in range(len(vas))]
    pt.map_pages(vas, descs)
    asked = sorted(vas + [base + 3 * PAGE_SIZE, 0x10_0000])
    assert pt.lookup_pages(asked) == [pt.lookup(va) for va in asked]
    cow = [ptm.desc_make_cow(d) for d in descs[2:15]]
    pt.update_pages(vas[2:15], cow)
    assert [hw_walk(pm, pt.root_pa, va) for va in vas] == descs[:2] + cow + descs[15:]
    with pytest.raises(ValueError):
        pt.update_pages([base + 3 * PAGE_SIZE], [descs[0]])  # not mapped
