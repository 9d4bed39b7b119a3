"""AArch64 VMSAv8-64 stage-1 translation tables: 4 KiB granule, 4 levels, 48-bit VA (TTBR0, user half).

Format (Arm ARM D8.3, "Translation table descriptor formats"):

  VA[47:39] indexes level 0, VA[38:30] level 1, VA[29:21] level 2, VA[20:12] level 3;
  each table is one 4 KiB frame of 512 little-endian u64 descriptors.

  bits[1:0]  0bx0 invalid; 0b11 table (levels 0-2) or page (level 3);
             0b01 block (level 1: 1 GiB, level 2: 2 MiB; reserved at levels 0 and 3)
  table:     [47:12] next-level table PA; [59] PXNTable [60] UXNTable [62:61] APTable
             [63] NSTable (all left 0: no restriction inherited from tables)
  page/block lower attributes:
             [4:2] AttrIndx (index into MAIR_EL1)   [5] NS
             [7:6] AP[2:1]: 00 EL1 RW, 01 EL0+EL1 RW, 10 EL1 RO, 11 EL0+EL1 RO
             [9:8] SH (0b11 inner shareable)  [10] AF  [11] nG (ASID-tagged)
  output address: page [47:12], L2 block [47:21], L1 block [47:30]
  upper attributes:
             [51] DBM (unused: no hardware dirty state)  [52] Contiguous (unused)
             [53] PXN  [54] UXN  [58:55] ignored by hardware, for software

Software bits (ours): bit 55 = COW: the page is mapped read-only because its frame is
shared copy-on-write; a write fault on a COW page copies (or, if the frame is no
longer shared, just re-enables write). Bits 56-58 are free.

MAIR_EL1 (the guest stub sets 0xFF04): attribute index 0 = 0x04 Device-nGnRE,
index 1 = 0xFF Normal memory, inner and outer write-back non-transient, read- and
write-allocate. All RAM mappings use index 1.

We never write block descriptors into user tables (PageTable maps 4 KiB pages
only); the block encoders exist for the stub's identity/linear maps and for tests.
AF is always set (no access-flag faults) and DBM never, so the hardware never
writes to these tables: the host's Python-side cache of the table structure is
authoritative, and only leaf descriptors have to be read back from guest RAM.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable, Iterator

from moss_host.addr import PA, PAGE_SIZE, USER_VA_END

# -- descriptor bits -------------------------------------------------------------

DESC_VALID = 1 << 0
DESC_TYPE_MASK = 0b11
DESC_TABLE = 0b11          # levels 0-2
DESC_PAGE = 0b11           # level 3
DESC_BLOCK = 0b01          # levels 1-2

ATTR_INDX_SHIFT = 2
ATTR_INDX_MASK = 0b111 << ATTR_INDX_SHIFT
MAIR_IDX_DEVICE = 0        # Device-nGnRE (MAIR attr 0x04)
MAIR_IDX_NORMAL = 1        # Normal, inner/outer write-back RW-allocate (MAIR attr 0xFF)
MAIR_EL1_VALUE = 0xFF04    # attr1 << 8 | attr0, as the guest stub programs it

NS = 1 << 5

AP_SHIFT = 6
AP_MASK = 0b11 << AP_SHIFT
AP_EL1_RW = 0b00
AP_RW = 0b01               # EL0 and EL1 read/write
AP_EL1_RO = 0b10
AP_RO = 0b11               # EL0 and EL1 read-only
AP_RO_BIT = 0b10 << AP_SHIFT   # AP[2]: set = read-only
AP_EL0_BIT = 0b01 << AP_SHIFT  # AP[1]: set = accessible from EL0

SH_SHIFT = 8
SH_MASK = 0b11 << SH_SHIFT
SH_NON = 0b00
SH_OUTER = 0b10
SH_INNER = 0b11

AF = 1 << 10
NG = 1 << 11
DBM = 1 << 51
CONTIGUOUS = 1 << 52
PXN = 1 << 53
UXN = 1 << 54
SW_COW = 1 << 55           # software: read-only because the frame is shared copy-on-write
SW_MASK = 0b1111 << 55

PXN_TABLE = 1 << 59
UXN_TABLE = 1 << 60
AP_TABLE_SHIFT = 61
NS_TABLE = 1 << 63

OA_MASK = ((1 << 48) - 1) & ~(PAGE_SIZE - 1)          # bits [47:12]
L2_BLOCK_SIZE = 1 << 21
L1_BLOCK_SIZE = 1 << 30
L2_BLOCK_OA_MASK = ((1 << 48) - 1) & ~(L2_BLOCK_SIZE - 1)
L1_BLOCK_OA_MASK = ((1 << 48) - 1) & ~(L1_BLOCK_SIZE - 1)

ENTRIES = 512
LEVEL_SHIFTS = (39, 30, 21, 12)

# Page attributes every user page carries: valid page, Normal WB, inner shareable,
# accessed, not global, never executable at EL1.
_USER_BASE = (DESC_PAGE | MAIR_IDX_NORMAL << ATTR_INDX_SHIFT | SH_INNER << SH_SHIFT
              | AF | NG | PXN)
_USER_RW = _USER_BASE | AP_RW << AP_SHIFT
_USER_RO = _USER_BASE | AP_RO << AP_SHIFT

# -- encoders ----------------------------------------------------------------------


def _check_oa(pa: int, align: int) -> None:
    if pa < 0 or pa >= 1 << 48 or pa & (align - 1):
        raise ValueError(f"output address {pa:#x} not {align:#x}-aligned below 2**48")


def table_desc(table_pa: int) -> int:
    """Level 0-2 descriptor pointing at a next-level table (no inherited restrictions)."""
    _check_oa(table_pa, PAGE_SIZE)
    return table_pa | DESC_TABLE


def page_desc(pa: int, *, attr_indx: int = MAIR_IDX_NORMAL, ap: int = AP_RW,
              sh: int = SH_INNER, af: bool = True, ng: bool = True,
              pxn: bool = True, uxn: bool = True, ns: bool = False, sw: int = 0) -> int:
    """Level-3 page descriptor with every field spelled out."""
    _check_oa(pa, PAGE_SIZE)
    return pa | DESC_PAGE | _lower_attrs(attr_indx, ap, sh, af, ng, pxn, uxn, ns, sw)


def block_desc(pa: int, level: int, *, attr_indx: int = MAIR_IDX_NORMAL, ap: int = AP_EL1_RW,
               sh: int = SH_INNER, af: bool = True, ng: bool = False,
               pxn: bool = False, uxn: bool = True, ns: bool = False, sw: int = 0) -> int:
    """Level-1 (1 GiB) or level-2 (2 MiB) block descriptor."""
    if level == 1:
        _check_oa(pa, L1_BLOCK_SIZE)
    elif level == 2:
        _check_oa(pa, L2_BLOCK_SIZE)
    else:
        raise ValueError(f"no block descriptors at level {level} with a 4 KiB granule")
    return pa | DESC_BLOCK | _lower_attrs(attr_indx, ap, sh, af, ng, pxn, uxn, ns, sw)


def _lower_attrs(attr_indx, ap, sh, af, ng, pxn, uxn, ns, sw) -> int:
    if not 0 <= attr_indx <= 7 or not 0 <= ap <= 3 or not 0 <= sh <= 3 or not 0 <= sw <= 15:
        raise ValueError("descriptor field out of range")
    return (attr_indx << ATTR_INDX_SHIFT | ap << AP_SHIFT | sh << SH_SHIFT
            | (AF if af else 0) | (NG if ng else 0) | (PXN if pxn else 0)
            | (UXN if uxn else 0) | (NS if ns else 0) | sw << 55)


def user_page_desc(pa: int, readable: bool, writable: bool, executable: bool) -> int:
    """Descriptor for a user (EL0) page with Linux PROT_* semantics; 0 for PROT_NONE.

    AArch64 (without FEAT_EPAN execute-only) cannot express write-only, exec-only or
    an EL0-inaccessible-but-present user page, so, as on Linux arm64: write implies
    read, exec implies read, and PROT_NONE means "leave it unmapped" (returns 0;
    the fault handler then checks the VMA). PXN is always set: the kernel never
    executes user pages.
    """
    if not (readable or writable or executable):
        return 0
    if pa & ~OA_MASK:
        raise ValueError(f"page PA {pa:#x} not page-aligned below 2**48")
    d = (_USER_RW if writable else _USER_RO) | pa
    return d if executable else d | UXN


# -- hot-path helpers on raw descriptors ----------------------------------------------


def desc_pa(d: int) -> int:
    """Output address of a page or table descriptor."""
    return d & OA_MASK


def desc_is_writable(d: int) -> bool:
    """EL0-writable valid page (AP == 01)."""
    return d & (DESC_VALID | AP_MASK) == DESC_VALID | AP_RW << AP_SHIFT


def desc_make_cow(d: int) -> int:
    """Write-protect a page descriptor and mark it COW (its frame is now shared)."""
    return d | AP_RO_BIT | SW_COW


def desc_break_cow(d: int, new_pa: int | None = None) -> int:
    """Writable again, COW mark cleared, optionally pointing at a private copy."""
    d = d & ~(AP_RO_BIT | SW_COW)
    if new_pa is not None:
        d = (d & ~OA_MASK) | new_pa
    return d


def desc_with_prot(d: int, readable: bool, writable: bool, executable: bool) -> int:
    """Same frame, new protection (mprotect); 0 if the new protection is PROT_NONE.

    A COW page stays read-only (and COW) even if the new protection allows writes.
    """
    cow = d & SW_COW
    new = user_page_desc(d & OA_MASK, readable or writable, writable and not cow, executable)
    return new | cow if new else 0


# -- decoder ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Desc:
    """A decoded descriptor. kind: 'invalid', 'table', 'block' or 'page'."""
    kind: str
    level: int
    raw: int
    pa: int = 0               # output address or next-table address
    attr_indx: int = 0
    ns: bool = False
    ap: int = 0
    sh: int = 0
    af: bool = False
    ng: bool = False
    dbm: bool = False
    contiguous: bool = False
    pxn: bool = False
    uxn: bool = False
    sw: int = 0               # bits [58:55]
    cow: bool = False

    @property
    def el0_readable(self) -> bool:
        return self.kind in ("page", "block") and bool(self.ap & 0b01)

    @property
    def el0_writable(self) -> bool:
        return self.kind in ("page", "block") and self.ap == AP_RW

    @property
    def el0_executable(self) -> bool:
        # ARMv8.0: EL0-executable needs UXN clear; (an EL0 no-access page with UXN
        # clear would be execute-only, which we never create).
        return self.kind in ("page", "block") and not self.uxn


def decode_desc(v: int, level: int = 3) -> Desc:
    """Decode a descriptor found at `level` (0-3) of a 4 KiB-granule table."""
    if not 0 <= level <= 3:
        raise ValueError(f"bad level {level}")
    t = v & DESC_TYPE_MASK
    if not v & DESC_VALID or (t == DESC_BLOCK and level in (0, 3)):
        return Desc("invalid", level, v)
    if t == DESC_TABLE and level < 3:
        return Desc("table", level, v, pa=v & OA_MASK)
    if t == DESC_PAGE:
        kind, oa = "page", v & OA_MASK
    else:
        kind = "block"
        oa = v & (L1_BLOCK_OA_MASK if level == 1 else L2_BLOCK_OA_MASK)
    return Desc(kind, level, v, pa=oa,
                attr_indx=(v >> ATTR_INDX_SHIFT) & 7, ns=bool(v & NS),
                ap=(v >> AP_SHIFT) & 3, sh=(v >> SH_SHIFT) & 3, af=bool(v & AF),
                ng=bool(v & NG), dbm=bool(v & DBM), contiguous=bool(v & CONTIGUOUS),
                pxn=bool(v & PXN), uxn=bool(v & UXN), sw=(v >> 55) & 0xF,
                cow=bool(v & SW_COW))


def va_indexes(va: int) -> tuple[int, int, int, int]:
    """(L0, L1, L2, L3) table indexes of a VA."""
    i0, i1, i2, i3 = ((va >> s) & (ENTRIES - 1) for s in LEVEL_SHIFTS)
    return i0, i1, i2, i3


# -- the table ---------------------------------------------------------------------------

_U64 = struct.Struct("<Q")
_TABLE = struct.Struct(f"<{ENTRIES}Q")
_VA_BAD = -USER_VA_END | (PAGE_SIZE - 1)   # bits set in an unaligned, negative or >= 2**48 VA
_ZERO_PAGE = bytes(PAGE_SIZE)


def _table_runs(vas: list[int]) -> Iterator[tuple[int, int]]:
    """(i, j) for each stretch vas[i:j] of consecutive pages within one level-3 table, for
    ascending page-aligned vas."""
    i, n = 0, len(vas)
    while i < n:
        va = vas[i]
        j = min(n, i + ENTRIES - ((va >> 12) & (ENTRIES - 1)))     # at most to the table's end
        if vas[j - 1] - va != (j - 1 - i) << 12:                  # a gap: find the first one
            j = i + 1
            while vas[j] == va + ((j - i) << 12):
                j += 1
        yield i, j
        i = j


class PageTable:
    """A 4-level user translation table living in guest RAM (what TTBR0_EL1 points at).

    Table frames come from `alloc_frame() -> PA` and go back through
    `free_frame(pa)`; leaf frames are the caller's. The whole table structure is
    mirrored in Python dicts keyed by VA prefix, so map/lookup/unmap cost one dict
    lookup plus one u64 access in guest RAM, never a walk from the root:
        _l1[va >> 39], _l2[va >> 30], _l3[va >> 21] -> buffer offset of that table.
    (The level-0 table is the root.) The host is the only writer of these tables
    (AF preset, no DBM), so the mirror cannot go stale.

    Ordering: a new table is zeroed before the parent entry that links it is
    written, so a concurrent hardware walk never sees a half-built table. After
    changing or removing a *valid* entry the caller must invalidate the TLB (by
    ASID+VA) before user code runs again.
    """

    def __init__(self, physmem, alloc_frame: Callable[[], PA],
                 free_frame: Callable[[PA], None], root_pa: PA | None = None):
        self.physmem = physmem
        self._mv = physmem.mv
        self._base = physmem.base
        self._alloc_frame = alloc_frame
        self._free_frame = free_frame
        self._l1: dict[int, int] = {}
        self._l2: dict[int, int] = {}
        self._l3: dict[int, int] = {}
        self._l3_used: dict[int, int] = {}   # valid entries per level-3 table
        self._root: int | None               # buffer offset of the level-0 table; None once destroyed
        if root_pa is None:
            self._root = self._new_table()
        else:
            self._root = root = physmem.offset(root_pa, PAGE_SIZE)
            if root_pa & (PAGE_SIZE - 1):
                raise ValueError(f"root table {root_pa:#x} not page-aligned")
            self._adopt(root)

    # -- structure ------------------------------------------------------------------

    @property
    def root_pa(self) -> PA:
        """What TTBR0_EL1's BADDR field gets (with the ASID in bits [63:48])."""
        if self._root is None:
            raise ValueError("page table destroyed")
        return PA(self._base + self._root)

    @property
    def alive(self) -> bool:
        """False once destroyed (its frames went back to the allocator)."""
        return self._root is not None

    @property
    def table_frames(self) -> int:
        """Frames used by the tables themselves (root included)."""
        if self._root is None:
            return 0
        return 1 + len(self._l1) + len(self._l2) + len(self._l3)

    def _new_table(self) -> int:
        pa = self._alloc_frame()
        off = self.physmem.offset(pa, PAGE_SIZE)
        if pa & (PAGE_SIZE - 1):
            raise ValueError(f"alloc_frame returned unaligned {pa:#x}")
        self._mv[off:off + PAGE_SIZE] = _ZERO_PAGE
        return off

    def _link(self, parent_off: int, index: int, child_off: int) -> None:
        _U64.pack_into(self._mv, parent_off + 8 * index, (self._base + child_off) | DESC_TABLE)

    def _l3_for(self, va: int) -> int:
        """Offset of the level-3 table covering va, creating tables as needed."""
        if self._root is None:
            raise ValueError("page table destroyed")
        k1 = va >> 39
        t1 = self._l1.get(k1)
        if t1 is None:
            t1 = self._new_table()
            self._link(self._root, k1 & 511, t1)
            self._l1[k1] = t1
        k2 = va >> 30
        t2 = self._l2.get(k2)
        if t2 is None:
            t2 = self._new_table()
            self._link(t1, k2 & 511, t2)
            self._l2[k2] = t2
        k3 = va >> 21
        t3 = self._new_table()
        self._link(t2, k3 & 511, t3)
        self._l3[k3] = t3
        self._l3_used[k3] = 0
        return t3

    def _adopt(self, root: int) -> None:
        """Mirror an existing table tree (e.g. built by someone else) into the dicts."""
        mv = self._mv
        off_of = self.physmem.offset

        def children(off: int, level: int) -> Iterator[tuple[int, int]]:
            for i, d in enumerate(_TABLE.unpack_from(mv, off)):
                if not d & DESC_VALID:
                    continue
                if d & DESC_TYPE_MASK != DESC_TABLE:
                    raise ValueError(f"block descriptor at level {level} in a user table")
                yield i, off_of(d & OA_MASK, PAGE_SIZE)

        for i0, t1 in children(root, 0):
            self._l1[i0] = t1
            for i1, t2 in children(t1, 1):
                k2 = i0 << 9 | i1
                self._l2[k2] = t2
                for i2, t3 in children(t2, 2):
                    k3 = k2 << 9 | i2
                    self._l3[k3] = t3
                    self._l3_used[k3] = sum(1 for d in _TABLE.unpack_from(mv, t3)
                                            if d & DESC_VALID)

    # -- leaf operations (the hot path) ------------------------------------------------

    def lookup(self, va: int) -> int:
        """The level-3 descriptor mapping va (page-aligned), or 0."""
        if va & _VA_BAD:
            raise ValueError(f"bad user VA {va:#x}")
        t = self._l3.get(va >> 21)
        if t is None:
            return 0
        return _U64.unpack_from(self._mv, t + ((va >> 9) & 0xFF8))[0]

    def map(self, va: int, desc: int) -> None:
        """Install a page descriptor at an unmapped va (ValueError if already mapped)."""
        if va & _VA_BAD:
            raise ValueError(f"bad user VA {va:#x}")
        if desc & DESC_TYPE_MASK != DESC_PAGE:
            raise ValueError(f"not a page descriptor: {desc:#x}")
        k = va >> 21
        t = self._l3.get(k)
        if t is None:
            t = self._l3_for(va)
        off = t + ((va >> 9) & 0xFF8)
        if _U64.unpack_from(self._mv, off)[0] & DESC_VALID:
            raise ValueError(f"map of {va:#x}: already mapped")
        _U64.pack_into(self._mv, off, desc)
        self._l3_used[k] += 1

    def map_pages(self, vas: list[int], descs: list[int]) -> None:
        """map() of each (va, desc), for ascending unmapped vas: one store per run of
        consecutive entries in a level-3 table (a fault-around's window is one or two)."""
        mv = self._mv
        for i, j in _table_runs(vas):
            va = vas[i]
            if va & _VA_BAD or vas[j - 1] & _VA_BAD:
                raise ValueError(f"bad user VA {va:#x}")
            if descs[i] & DESC_TYPE_MASK != DESC_PAGE:
                raise ValueError(f"not a page descriptor: {descs[i]:#x}")
            k = va >> 21
            t = self._l3.get(k)
            if t is None:
                t = self._l3_for(va)
            off = t + ((va >> 9) & 0xFF8)
            n = 8 * (j - i)
            if mv[off:off + n] != _ZERO_PAGE[:n]:
                raise ValueError(f"map of {va:#x}+{j - i} pages: already mapped")
            struct.pack_into(f"<{j - i}Q", mv, off, *descs[i:j])
            self._l3_used[k] += j - i

    def unmap_pages(self, vas: list[int]) -> list[int]:
        """unmap() of each of the ascending vas, one pass per run of consecutive entries in
        a level-3 table; returns the vas whose entries were valid (the caller flushes them)."""
        mv = self._mv
        flushed: list[int] = []
        for i, j in _table_runs(vas):
            va = vas[i]
            if va & _VA_BAD or vas[j - 1] & _VA_BAD:
                raise ValueError(f"bad user VA {va:#x}")
            k = va >> 21
            t = self._l3.get(k)
            if t is None:
                continue
            off = t + ((va >> 9) & 0xFF8)
            old = struct.unpack_from(f"<{j - i}Q", mv, off)
            valid = [vas[i + x] for x, d in enumerate(old) if d & DESC_VALID]
            if valid:
                mv[off:off + 8 * (j - i)] = _ZERO_PAGE[:8 * (j - i)]
                self._l3_used[k] -= len(valid)
                flushed += valid
        return flushed

    def lookup_pages(self, vas: list[int]) -> list[int]:
        """lookup() of each of the ascending vas (fork's copy): one unpack per run of
        consecutive entries in a level-3 table."""
        mv, l3 = self._mv, self._l3
        out: list[int] = []
        for i, j in _table_runs(vas):
            va = vas[i]
            if va & _VA_BAD or vas[j - 1] & _VA_BAD:
                raise ValueError(f"bad user VA {va:#x}")
            t = l3.get(va >> 21)
            if t is None:
                out += [0] * (j - i)
            else:
                out += struct.unpack_from(f"<{j - i}Q", mv, t + ((va >> 9) & 0xFF8))
        return out

    def update_pages(self, vas: list[int], descs: list[int]) -> None:
        """update() of each of the ascending, mapped vas (fork write-protecting the parent):
        one store per run of consecutive entries. Caller flushes the TLB."""
        mv = self._mv
        for i, j in _table_runs(vas):
            va = vas[i]
            if va & _VA_BAD or vas[j - 1] & _VA_BAD:
                raise ValueError(f"bad user VA {va:#x}")
            t = self._l3.get(va >> 21)
            fmt = f"<{j - i}Q"
            off = t + ((va >> 9) & 0xFF8) if t is not None else -1
            if off < 0 or not all(d & DESC_VALID for d in struct.unpack_from(fmt, mv, off)):
                raise ValueError(f"update of {va:#x}+{j - i} pages: not mapped")
            if any(d & DESC_TYPE_MASK != DESC_PAGE for d in descs[i:j]):
                raise ValueError(f"not a page descriptor among {descs[i:j]}")
            struct.pack_into(fmt, mv, off, *descs[i:j])

    def update(self, va: int, desc: int) -> int:
        """Replace the descriptor of a mapped va; returns the old one. Caller flushes the TLB."""
        if va & _VA_BAD:
            raise ValueError(f"bad user VA {va:#x}")
        if desc & DESC_TYPE_MASK != DESC_PAGE:
            raise ValueError(f"not a page descriptor: {desc:#x}")
        t = self._l3.get(va >> 21)
        if t is not None:
            off = t + ((va >> 9) & 0xFF8)
            old = _U64.unpack_from(self._mv, off)[0]
            if old & DESC_VALID:
                _U64.pack_into(self._mv, off, desc)
                return old
        raise ValueError(f"update of {va:#x}: not mapped")

    def unmap(self, va: int) -> int:
        """Clear the entry for va; returns the old descriptor, or 0 if it was not mapped.

        Table frames stay (see free_empty_tables). Caller flushes the TLB.
        """
        if va & _VA_BAD:
            raise ValueError(f"bad user VA {va:#x}")
        k = va >> 21
        t = self._l3.get(k)
        if t is None:
            return 0
        off = t + ((va >> 9) & 0xFF8)
        old = _U64.unpack_from(self._mv, off)[0]
        if not old & DESC_VALID:
            return 0
        _U64.pack_into(self._mv, off, 0)
        self._l3_used[k] -= 1
        return old

    def items(self, start: int = 0, end: int = USER_VA_END) -> Iterator[tuple[int, int]]:
        """(va, desc) of every mapped page in [start, end), in address order.

        Each level-3 table is read in one go, so changing entries while iterating is
        safe (you see the table as it was when its first entry was yielded).
        """
        if start < 0 or end > USER_VA_END:
            raise ValueError(f"bad range {start:#x}-{end:#x}")
        if start >= end:
            return
        lo, hi = start >> 21, (end - 1) >> 21
        if hi - lo < 64:
            keys = [k for k in range(lo, hi + 1) if k in self._l3]
        else:
            keys = sorted(k for k in self._l3 if lo <= k <= hi)
        for k in keys:
            t = self._l3.get(k)
            if t is None or not self._l3_used[k]:
                continue
            va0 = k << 21
            for i, d in enumerate(_TABLE.unpack_from(self._mv, t)):
                if d & DESC_VALID:
                    va = va0 + (i << 12)
                    if start <= va < end:
                        yield va, d

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return self.items()

    def mapped_pages(self) -> int:
        return sum(self._l3_used.values())

    # -- teardown ------------------------------------------------------------------------

    def free_empty_tables(self, start: int = 0, end: int = USER_VA_END) -> int:
        """Free table frames that map nothing, for tables covering VAs in [start, end).

        Returns how many frames were freed. Unlinking tables changes intermediate
        entries, so the caller must invalidate the whole ASID (TLBI ASIDE1), not just
        last-level entries, before user code runs again.
        """
        if start >= end or self._root is None:      # destroyed: no tables left
            return 0
        freed = 0
        mv, base = self._mv, self._base

        def unlink(parent: int, index: int, child: int) -> None:
            nonlocal freed
            _U64.pack_into(mv, parent + 8 * index, 0)
            self._free_frame(PA(base + child))
            freed += 1

        lo3, hi3 = start >> 21, (end - 1) >> 21
        for k3 in [k for k in self._l3 if lo3 <= k <= hi3 and not self._l3_used[k]]:
            unlink(self._l2[k3 >> 9], k3 & 511, self._l3.pop(k3))
            del self._l3_used[k3]
        live2 = {k >> 9 for k in self._l3}
        lo2, hi2 = start >> 30, (end - 1) >> 30
        for k2 in [k for k in self._l2 if lo2 <= k <= hi2 and k not in live2]:
            unlink(self._l1[k2 >> 9], k2 & 511, self._l2.pop(k2))
        live1 = {k >> 9 for k in self._l2}
        lo1, hi1 = start >> 39, (end - 1) >> 39
        for k1 in [k for k in self._l1 if lo1 <= k <= hi1 and k not in live1]:
            unlink(self._root, k1 & 511, self._l1.pop(k1))
        return freed

    def destroy(self) -> None:
        """Free every table frame (root included); leaf frames are not touched.

        The object is unusable afterwards; TTBR0 must no longer point at the root.
        """
        if self._root is None:
            return
        base = self._base
        for d in (self._l3, self._l2, self._l1):
            for off in d.values():
                self._free_frame(PA(base + off))
            d.clear()
        self._l3_used.clear()
        self._free_frame(PA(base + self._root))
        self._root = None
