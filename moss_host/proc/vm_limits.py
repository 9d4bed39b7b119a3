"""How much address space a process may map, as Linux's mmap_region checks it:
may_expand_vm (RLIMIT_AS over all mappings, RLIMIT_DATA over private writable ones; also for
brk, with check_data_rlimit first, and a mapping mremap grows) and the overcommit heuristic (vm.overcommit_memory 0: one private writable mapping, or shared
anonymous memory, bigger than RAM plus swap cannot be promised, MAP_NORESERVE aside). Both
fail with ENOMEM."""
from __future__ import annotations

from typing import TYPE_CHECKING

from moss_host.addr import PAGE_SIZE
from moss_host.errors import ENOMEM, Errno
from moss_host.mm.vma import MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, MAP_TYPE, PROT_WRITE, Vma

from .rlimits import RLIM_INFINITY, RLIMIT_AS, RLIMIT_DATA

if TYPE_CHECKING:
    from moss_host.mm.address_space import AddressSpace

    from .task import Task



def check_new_mapping(task: Task, start: int, length: int, prot: int, flags: int, replacing: bool) -> None:
    """A new mapping of `length` bytes at start (replacing what is there with MAP_FIXED)."""
    mm = task.mm
    data = bool(prot & PROT_WRITE) and flags & MAP_TYPE == MAP_PRIVATE
    new = length
    if not _may_expand(task, mm, new, data) and replacing:
        new -= sum(min(v.end, start + length) - max(v.start, start) for v in mm.vmas.overlapping(start, start + length))
    if not _may_expand(task, mm, new, data):
        raise Errno(ENOMEM)
    shmem = flags & MAP_TYPE != MAP_PRIVATE and bool(flags & MAP_ANONYMOUS)     # shmem_acct_size
    if (data or shmem) and not flags & MAP_NORESERVE:
        mem = task.kernel.mem
        total = mem.frames.total_frames if mem is not None else 0
        if length // PAGE_SIZE > total:             # __vm_enough_memory, OVERCOMMIT_GUESS
            raise Errno(ENOMEM)


def brk_allowed(task: Task, new_brk: int, grow: int) -> bool:
    """brk(2) to new_brk, mapping `grow` more bytes of heap: check_data_rlimit (the break's
    distance from its start plus the data segment within RLIMIT_DATA), then do_brk_flags'
    may_expand_vm (the heap is data). A refused brk leaves the break where it was."""
    mm = task.mm
    data_limit = task.rlimits[RLIMIT_DATA][0]
    if data_limit != RLIM_INFINITY and (new_brk - mm.brk_start) + (mm.end_data - mm.start_data) > data_limit:
        return False
    return not grow or _may_expand(task, mm, grow, True)


def vma_may_grow(task: Task, vma: Vma, n: int) -> bool:
    """mremap's vma_to_resize: may_expand_vm for n more bytes of this mapping."""
    return _may_expand(task, task.mm, n, bool(vma.prot & PROT_WRITE) and not vma.shared and vma.name != "[stack]")


def _may_expand(task: Task, mm: AddressSpace, length: int, data: bool) -> bool:
    as_limit = task.rlimits[RLIMIT_AS][0]
    if as_limit != RLIM_INFINITY and _total_vm(mm) + length > as_limit:
        return False
    data_limit = task.rlimits[RLIMIT_DATA][0]
    return not (data and data_limit != RLIM_INFINITY and _data_vm(mm) + length > data_limit)


def _total_vm(mm: AddressSpace) -> int:
    return sum(v.end - v.start for v in mm.vmas)


def _data_vm(mm: AddressSpace) -> int:
    """Private writable mappings other than the stack (Linux's data_vm)."""
    return sum(v.end - v.start for v in mm.vmas
               if v.prot & PROT_WRITE and not v.shared and v.name != "[stack]")
