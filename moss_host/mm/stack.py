"""The user stack: where a new image's stack VMA lies, and how it grows down on a fault.

Linux's setup_arg_pages leaves the stack VMA covering the pages the argument strings were
copied to plus stack_expand (128 KiB) below them, less if RLIMIT_STACK is smaller; the
auxv, argv and envp pointers then go into that room. The VMA is VM_GROWSDOWN (here
MAP_GROWSDOWN in its flags): a fault below it extends it down to the faulting page
(expand_downwards), as long as the stack stays within RLIMIT_STACK, the address space
within RLIMIT_AS (acct_stack_growth) and the stack stack_guard_gap away from an accessible
mapping below. Otherwise the fault is an ordinary
bad access (SIGSEGV, SEGV_MAPERR).
"""
from __future__ import annotations

from moss_host.addr import PAGE_MASK, PAGE_SIZE, page_down

from .vma import MAP_ANONYMOUS, MAP_GROWSDOWN, MAP_PRIVATE, MMAP_MIN_ADDR, PROT_READ, PROT_WRITE, Vma, VmaSet

STACK_TOP = 0xFFFF_FFFF_F000        # like Linux arm64 with 48-bit VAs (no randomisation)
STACK_RLIMIT = 8 << 20              # RLIMIT_STACK's default soft limit
STACK_EXPAND = 128 << 10            # setup_arg_pages' stack_expand
STACK_GUARD_GAP = 256 * PAGE_SIZE   # stack_guard_gap (the stack_guard_gap= boot option's default)
NO_LIMIT = (1 << 64) - 1            # RLIM_INFINITY
STACK_NAME = "[stack]"
STACK_FLAGS = MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN


def initial_stack(top: int, arg_start: int, sp: int, limit: int) -> Vma:
    """The stack VMA of a new image whose argument strings start at arg_start and whose
    initial sp is sp, under the RLIMIT_STACK `limit` the exec saw."""
    strings = page_down(arg_start)
    limit &= PAGE_MASK
    start = top - limit if top - strings + STACK_EXPAND > limit else strings - STACK_EXPAND
    # Never short of what exec writes: Linux would grow into it while writing the tables.
    start = min(start, strings, page_down(sp))
    return Vma(start, top, PROT_READ | PROT_WRITE, STACK_FLAGS, name=STACK_NAME)


def grow_stack(vmas: VmaSet, addr: int, limit: int, as_limit: int = NO_LIMIT) -> Vma | None:
    """The fault at unmapped addr extends the stack VMA above it (returned), or None when
    it may not: no growsdown VMA there, below mmap_min_addr, beyond `limit`
    (RLIMIT_STACK), the address space past `as_limit` (RLIMIT_AS: may_expand_vm), or
    closer than the guard gap to the mapping below."""
    below, above = vmas.around(addr)
    if above is None or not above.flags & MAP_GROWSDOWN:
        return None
    page = addr & PAGE_MASK
    if page < MMAP_MIN_ADDR or above.end - page > limit:
        return None
    if as_limit != NO_LIMIT and sum(v.end - v.start for v in vmas) + above.start - page > as_limit:
        return None
    if below is not None and not below.flags & MAP_GROWSDOWN and below.prot \
            and page - below.end < STACK_GUARD_GAP:
        return None
    return vmas.extend_down(above, page)
