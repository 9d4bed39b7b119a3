"""Another address space seen through the live TTBR0: what a debugger's `moss switch` needs.

QEMU's gdbstub reads guest memory by a debug walk of the vCPU's own translation tables (no
TLB involved), and it cannot write TTBR0_EL1. To show gdb the memory of a process that is
not on the CPU, the level-0 table TTBR0 points at lends its 512 entries: they are
overwritten by the other address space's while the guest is stopped, and put back before
the guest runs user code again (gdbhost.py arranges that: the next reply, and a kick so a
CPU stopped in user code traps before its next instruction). No instruction runs with the
lent entries, so no TLB ever holds a translation through them.

The kernel never reads a level-0 table back (arch/arm64/pagetable.py mirrors the tables
in dicts), but it may link a new level-1 table into it meanwhile: an entry that no longer
holds the lent value was written by the kernel, and is kept.
"""
from __future__ import annotations

from moss_host.addr import PAGE_SIZE
from moss_host.arch.arm64.pagetable import PageTable

from .physmem import PhysMem

ENTRY = 8


class TableLoan:
    __slots__ = ("physmem", "root", "shown", "saved", "lent")

    def __init__(self, physmem: PhysMem, root: PageTable, shown: PageTable):
        self.physmem = physmem
        self.root = root                    # the table TTBR0 points at
        self.shown = shown                  # the one whose entries it shows meanwhile
        self.saved = physmem.read(root.root_pa, PAGE_SIZE)
        self.lent = physmem.read(shown.root_pa, PAGE_SIZE)
        physmem.write(root.root_pa, self.lent)

    def end(self) -> None:
        """Put the root's own entries back (unless its address space is gone: the frame may
        belong to someone else by now), keeping any the kernel wrote during the loan."""
        if not self.root.alive:
            return
        now = self.physmem.read(self.root.root_pa, PAGE_SIZE)
        out = bytearray(now)
        for i in range(0, PAGE_SIZE, ENTRY):
            if now[i:i + ENTRY] == self.lent[i:i + ENTRY]:
                out[i:i + ENTRY] = self.saved[i:i + ENTRY]
        self.physmem.write(self.root.root_pa, out)
