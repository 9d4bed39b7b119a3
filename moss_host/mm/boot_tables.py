"""The kernel half's translation tables, written by the host into guest RAM before boot.

TTBR1 maps the first 1 GiB of the physical address space (devices: GIC, PL011) as
Device-nGnRE and RAM as normal memory, all at PA + LINEAR_OFFSET, EL1 only. The boot
identity map (TTBR0 until the first user task) covers the 1 GiB holding the stub.
"""
from moss_host.addr import PA
from moss_host.arch.arm64 import pagetable as pt
from moss_host.machine import layout as L

from .physmem import PhysMem

GIB = 1 << 30


def write_boot_tables(physmem: PhysMem, ram_size: int) -> None:
    for table in (L.KERN_L0, L.KERN_L1, L.BOOT_L0, L.BOOT_L1):
        physmem.zero(PA(table), 4096)
    physmem.write_u64(PA(L.KERN_L0), pt.table_desc(L.KERN_L1))
    physmem.write_u64(PA(L.KERN_L1), pt.block_desc(0, 1, attr_indx=pt.MAIR_IDX_DEVICE, pxn=True, sh=pt.SH_NON))
    for gib in range(L.RAM_BASE // GIB, (L.RAM_BASE + ram_size + GIB - 1) // GIB):
        physmem.write_u64(PA(L.KERN_L1 + 8 * gib), pt.block_desc(gib * GIB, 1))
    physmem.write_u64(PA(L.BOOT_L0), pt.table_desc(L.BOOT_L1))
    physmem.write_u64(PA(L.BOOT_L1 + 8 * (L.RAM_BASE // GIB)), pt.block_desc(L.RAM_BASE, 1))
