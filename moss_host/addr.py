"""Address kinds as distinct types: guest-physical (PA) and user-virtual (UA).

Mixing them is a type error for a checker; at run time both are plain ints, so the
hot paths pay nothing.
"""
from typing import NewType

PA = NewType("PA", int)   # guest-physical address (0x4000_0000 is the start of RAM on -M virt)
UA = NewType("UA", int)   # user virtual address, TTBR0 half (below 2**48)

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
PAGE_MASK = ~(PAGE_SIZE - 1)
USER_VA_END = 1 << 48


def page_down(addr: int) -> int:
    return addr & PAGE_MASK


def page_up(addr: int) -> int:
    return (addr + PAGE_SIZE - 1) & PAGE_MASK
