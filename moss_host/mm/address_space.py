"""A process's user address space: VMAs, the page table in guest RAM, and demand paging.

Pages are populated on first touch (a fault from the guest, or the kernel's own access
through uaccess). `resident` mirrors what is mapped so that copying to and from user
memory is a dict lookup per page, never a trip to the guest.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import replace
from typing import Any, Hashable

from moss_host.addr import PA, PAGE_MASK, PAGE_SIZE, USER_VA_END
from moss_host.arch.arm64 import pagetable as pt
from moss_host.errors import EACCES, EFAULT, ENAMETOOLONG, Errno

from .fault_counts import FaultCounter, FaultCounts
from .frames import OutOfMemory
from .memory import Memory
from .page_cache import PAGE_SHIFT
from .stack import NO_LIMIT, STACK_RLIMIT, grow_stack
from .vma import PROT_EXEC, PROT_READ, PROT_WRITE, VM_DONTCOPY, VM_LOCKED_MASK, VM_WIPEONFORK, Vma, VmaSet

FAULT_AROUND = 16            # pages populated per fault, within the VMA and an aligned window
# Private anonymous memory touched in order (a loop filling a fresh buffer, a growing heap)
# gets a window that doubles with each fault at the end of the last one, up to one level-3
# table's worth, as readahead ramps up: one trap per many pages. Linux maps one page per
# anonymous fault; what we map ahead is resident as Linux counts it (RSS, mincore, smaps)
# and costs frames, so it stops at the VMA's end, and takes only what the pool has free.
FAULT_AROUND_MAX = 512
# fork copies at once, instead of sharing copy-on-write, the pages that were written through
# a copy-on-write fault after the last fork, by this process or by the child (the stack page
# both return to, the libc words a child resets): a fork loop's child and parent would each
# trap on them right away. At most this many per fork; the first fork shares everything.
FORK_HOT_MAX = 16
MMAP_TOP = 0xFFFF_7000_0000
# pt.desc_is_writable and pt.desc_make_cow as masks, for fork's loops over every page
_WRITABLE_MASK = pt.DESC_VALID | pt.AP_MASK
_WRITABLE = pt.DESC_VALID | pt.AP_RW << pt.AP_SHIFT
_COW_BITS = pt.AP_RO_BIT | pt.SW_COW      # top-down mmap area ends here, below the stack gap


class UserFault(Exception):
    """An access the address space cannot satisfy: SIGSEGV with SEGV_MAPERR or SEGV_ACCERR,
    or SIGBUS (BUS_ADRERR) for a page of a file mapping that lies past the file's end."""

    def __init__(self, addr: int, mapped: bool, past_eof: bool = False):
        super().__init__(f"fault at {addr:#x} ({'past the end of the file' if past_eof else 'access' if mapped else 'no mapping'})")
        self.addr = addr
        self.mapped = mapped       # True: SEGV_ACCERR, False: SEGV_MAPERR
        self.past_eof = past_eof   # True: SIGBUS


class AddressSpace:
    def __init__(self, mem: Memory):
        self.mem = mem
        self.table = pt.PageTable(mem.physmem, mem.alloc_table, mem.free_table)
        self.vmas = VmaSet()
        self.asid = mem.asids.alloc()
        self.resident: dict[int, PA] = {}      # page VA -> frame PA
        # Resident pages whose descriptor lets EL0 write: copy_to_user's check without a
        # table walk. It must never hold a page that is not writable (the kernel would write
        # through a copy-on-write frame), so every descriptor change below updates it.
        self.writable: set[int] = set()
        # Bumped whenever a resident page changes frame, goes away or stops being writable:
        # it invalidates the last translated copy (see _runs).
        self.generation = 0
        self._last_runs: tuple = (None, -1, None)        # ((ua, n, write), generation, runs)
        self.brk_start = self.brk = 0
        self.mmap_top = MMAP_TOP
        self.users = 1                          # tasks sharing it (vfork, CLONE_VM)
        self.arg_start = self.arg_end = self.env_start = self.env_end = 0
        self.saved_auxv: bytes = b""            # the auxv pairs exec wrote, for /proc/pid/auxv (mm->saved_auxv)
        # The main program's code and data (load_elf_binary's) and the initial sp, for /proc/pid/stat.
        self.start_code = self.end_code = self.start_data = self.end_data = self.start_stack = 0
        self.vdso_base: int | None = None      # where the vDSO is mapped (AT_SYSINFO_EHDR)
        self.stack_limit: int = STACK_RLIMIT     # how far the stack may grow (RLIMIT_STACK); set_stack_limit
        self.as_limit: int = NO_LIMIT           # RLIMIT_AS, which stack growth checks too; set_as_limit
        self.def_vm_flags: int = 0              # VM_* bits every new mapping gets (mlockall MCL_FUTURE)
        self.membarrier_state: int = 0          # membarrier(2) REGISTER_* commands this mm has made (bits)
        self.aio_contexts: dict[int, Any] = {}  # io_setup's contexts by ring address (fs/aio.py), never inherited
        self.next_fault: int = -1               # where an in-order toucher of anonymous memory faults next
        self.fault_pages: int = FAULT_AROUND    # ... and the window it gets then (_anon_window)
        # Pages broken copy-on-write since the last fork, here and in its child (FORK_HOT_MAX):
        # the next fork copies them eagerly. fork_sink is the parent's set a child adds to.
        self.fork_hot: set[int] = set()
        self.fork_sink: set[int] | None = None
        # Where the faults the kernel takes in this space count (its process's; fault_counts.py)
        self.charge: FaultCounter = FaultCounts()

    @property
    def ttbr0(self) -> int:
        return self.asid << 48 | self.table.root_pa

    def set_stack_limit(self, limit: int) -> None:
        """RLIMIT_STACK (soft) of the process running here, which a fault below the stack
        checks (Linux reads the current task's): at exec and at setrlimit."""
        self.stack_limit = limit

    def set_as_limit(self, limit: int) -> None:
        """RLIMIT_AS (soft) of the process running here, for stack growth (acct_stack_growth's
        may_expand_vm); mmap, brk and mremap read the task's: at exec and at setrlimit."""
        self.as_limit = limit

    # -- faults --------------------------------------------------------------------------

    def fault(self, addr: int, is_write: bool, is_exec: bool, user: bool = False,
              counter: FaultCounter | None = None) -> None:
        """Make addr accessible as asked, or raise UserFault. A `user` access (the CPU's, or
        copying to or from user memory) of a file page past the file's end fails as Linux's
        does (SIGBUS, EFAULT); the kernel populating a mapping (MAP_POPULATE, mlock) maps zeros.
        The fault counts on `counter` (the faulting thread), else on `charge` (fault_counts.py);
        populating a page already present is no fault (GUP finds it)."""
        if counter is None:
            counter = self.charge
        vma = self.vmas.find(addr) if 0 <= addr < USER_VA_END else None
        if vma is None:
            vma = self._grow_stack(addr)
        need = PROT_EXEC if is_exec else PROT_WRITE if is_write else PROT_READ
        if not vma.prot & need:
            raise UserFault(addr, mapped=True)
        page = addr & PAGE_MASK
        if page in self.resident:
            # Resident and permitted: a stale TLB entry or a copy-on-write page.
            self._make_writable(vma, page) if is_write else self.mem.flush_page(self.asid, page)
            if user:
                counter.min_flt += 1
            return
        backing = vma.backing
        if user and backing is not None and backing.inode is not None \
                and vma.offset + (page - vma.start) >= backing.inode.size:
            raise UserFault(addr, mapped=True, past_eof=True)
        self._populate_around(vma, page, counter)
        if is_write and not pt.desc_is_writable(self.table.lookup(page)):
            self._make_writable(vma, page)      # a page-cache page: the writer gets its own copy

    def prefault_code(self, pc: int) -> None:
        """Map the code at pc (and its fault-around window) as the first instruction's fault
        would: exec does it for the entry point, saving the new program that trap. A pc the
        program may not run is left for that fault to report."""
        try:
            if pc & PAGE_MASK not in self.resident:
                self.fault(pc, is_write=False, is_exec=True, user=True)
        except (UserFault, OutOfMemory):
            pass

    def _grow_stack(self, addr: int) -> Vma:
        """A fault outside every VMA: the stack grows down to it, or it is a bad access."""
        vma = grow_stack(self.vmas, addr, self.stack_limit, self.as_limit) if 0 <= addr < USER_VA_END else None
        if vma is None:
            raise UserFault(addr, mapped=False)
        return vma

    def _populate_around(self, vma: Vma, page: int, counter: FaultCounter) -> None:
        backing = vma.backing
        resident = self.resident
        if backing is None:                 # private anonymous memory: one batch
            lo, hi = self._anon_window(vma, page)
            vas = list(range(lo, hi, PAGE_SIZE))
            if not resident.keys().isdisjoint(vas):     # (a fresh window mostly: one C-level pass)
                vas = [va for va in vas if va not in resident]
            counter.min_flt += self._populate_anon(vma, vas, page)    # Linux: a fault per page
            return
        window = FAULT_AROUND * PAGE_SIZE
        lo = max(vma.start, page & ~(window - 1))
        hi = min(vma.end, lo + window)
        inode = backing.inode
        if inode is not None:               # no file page past the end
            end_of_file = vma.start - vma.offset + ((inode.size + PAGE_SIZE - 1) & PAGE_MASK)
            hi = max(min(hi, end_of_file), page + PAGE_SIZE)
            disk = inode.sb.blockdev
            if disk is not None:
                self._populate_from_disk(vma, lo, hi, disk, counter)
                return
        if vma.shared and inode is None:    # shared anonymous memory: a fault per new page
            counter.min_flt += 1 + sum(1 for va in range(lo, hi, PAGE_SIZE) if va != page and va not in resident
                                       and not backing.has_page(vma.offset + (va - vma.start)))
        else:
            counter.min_flt += 1            # fault-around: one fault maps the cached window
        for va in range(lo, hi, PAGE_SIZE):
            if va not in resident:
                self._populate(vma, va)

    def _populate_from_disk(self, vma: Vma, lo: int, hi: int, disk, counter: FaultCounter) -> None:
        """The window of a file on a disk: a major fault if the disk had to be read (the
        page was in no cache), else a minor one."""
        reads = disk.reads
        resident = self.resident
        for va in range(lo, hi, PAGE_SIZE):
            if va not in resident:
                self._populate(vma, va)
        if disk.reads != reads:
            counter.maj_flt += 1
        else:
            counter.min_flt += 1

    def _anon_window(self, vma: Vma, page: int) -> tuple[int, int]:
        """[lo, hi) to populate for a fault at page of private anonymous memory: the aligned
        FAULT_AROUND window, or, for a fault where the last window ended, twice the last
        window from here (at most FAULT_AROUND_MAX pages); never past the VMA."""
        if page == self.next_fault:
            pages = min(2 * self.fault_pages, FAULT_AROUND_MAX)
            lo = page
        else:
            pages = FAULT_AROUND
            lo = max(vma.start, page & -(FAULT_AROUND * PAGE_SIZE))
        hi = min(vma.end, lo + pages * PAGE_SIZE)
        self.fault_pages = pages
        self.next_fault = hi
        return lo, hi

    def _populate_anon(self, vma: Vma, vas: list[int], page: int) -> int:
        """Map zeroed frames at vas (which include the faulting `page`): one allocation call,
        zeroing per contiguous run, one descriptor template -- _install's work, batched.
        Returns how many pages it mapped."""
        mem = self.mem
        pas = mem.alloc_zeroed_run(len(vas))
        if len(pas) < len(vas):             # memory is short: the faulting page comes first
            vas = sorted([page, *[va for va in vas if va != page]][:len(pas)])
        prot = vma.prot
        if prot & PROT_EXEC:
            mem.exec_frames.update(pas)
        if prot & (PROT_READ | PROT_WRITE | PROT_EXEC):
            writable = bool(prot & PROT_WRITE)
            template = pt.user_page_desc(0, True, writable, bool(prot & PROT_EXEC))
            self.table.map_pages(vas, [template | pa for pa in pas])
            if writable:
                self.writable.update(vas)
        self.resident.update(zip(vas, pas))
        self.generation += 1
        return len(pas)

    def _populate(self, vma: Vma, va: int) -> int:
        mem = self.mem
        backing = vma.backing
        if backing is None:
            pa = mem.alloc_zeroed()
        else:
            offset = vma.offset + (va - vma.start)
            if backing.inode is not None:       # a file: the page cache's frame is the page
                return self._populate_file(vma, va, backing.inode, offset)
            shared = backing.shared_frame(offset)
            if shared is not None:              # shared anonymous memory: everyone's frame
                mem.share(shared)
                self._install(vma, va, shared)
                return shared
            key = backing.page_key(offset) if not vma.shared else None
            if key is not None:                 # a page of a file: the cache's frame, shared
                pa = mem.page_cache.frame(key, lambda: backing.read(offset, PAGE_SIZE))
                mem.share(pa)
                self._install(vma, va, pa, copy_on_write=True)
                return pa
            pa = mem.alloc_frame()
            data = backing.read(offset, PAGE_SIZE)
            mem.physmem.write(pa, data)
            if len(data) < PAGE_SIZE:
                mem.physmem.zero(PA(pa + len(data)), PAGE_SIZE - len(data))
        self._install(vma, va, pa)
        return pa

    def _populate_file(self, vma: Vma, va: int, inode, offset: int) -> PA:
        """Map the cached frame of a file page: writable and shared by a MAP_SHARED mapping
        (whose stores make it maybe-dirty), copy-on-write for a private one."""
        pages = self.mem.page_cache.pages_of(inode)
        pa = pages.frame(offset >> PAGE_SHIFT)
        self.mem.share(pa)
        pages.mappers.add(self)
        if vma.shared and vma.prot & PROT_WRITE:
            pages.mark_shared_writable(offset >> PAGE_SHIFT)
        self._install(vma, va, pa, copy_on_write=not vma.shared)
        return pa

    def _install(self, vma: Vma, va: int, pa: PA, copy_on_write: bool = False) -> None:
        prot = vma.prot
        if prot & PROT_EXEC:
            self.mem.exec_frames.add(pa)
        if prot & (PROT_READ | PROT_WRITE | PROT_EXEC):
            writable = bool(prot & PROT_WRITE) and not copy_on_write
            self.table.map(va, pt.user_page_desc(pa, True, writable, bool(prot & PROT_EXEC)))
            if writable:
                self.writable.add(va)
        self.resident[va] = pa
        self.generation += 1

    def _make_writable(self, vma: Vma, page: int) -> None:
        """Write fault on a resident page the VMA allows to be written: break copy-on-write."""
        pa = self.resident[page]
        desc = self.table.lookup(page)
        if desc & pt.SW_COW:
            self._note_cow_break(page)
        if self.mem.frames.get_ref(pa) > 1 and not vma.shared:
            new = self.mem.alloc_frame()
            self.mem.physmem.copy(new, pa, PAGE_SIZE)
            self.mem.release(pa)
            if vma.prot & PROT_EXEC:
                self.mem.exec_frames.add(new)
            pa = self.resident[page] = new
            self.generation += 1
        self.table.update(page, pt.user_page_desc(pa, True, True, bool(vma.prot & PROT_EXEC)))
        self.writable.add(page)
        if desc & pt.DESC_VALID:
            self.mem.flush_page(self.asid, page)

    def _note_cow_break(self, page: int) -> None:
        """Remember a copy-on-write page written after a fork, for the next fork (fork_hot)."""
        if len(self.fork_hot) < FORK_HOT_MAX:
            self.fork_hot.add(page)
        sink = self.fork_sink
        if sink is not None and len(sink) < FORK_HOT_MAX:
            sink.add(page)

    # -- the kernel's access to user memory (EFAULT, never an exception) ----------------------

    def _frame_for(self, page: int, write: bool) -> PA:
        pa = self.resident.get(page)
        if pa is not None and not write:
            return pa
        if pa is not None and pt.desc_is_writable(self.table.lookup(page)):
            self.writable.add(page)         # (a page that became writable some other way)
            return pa
        try:
            self.fault(page, is_write=write, is_exec=False, user=True)
        except UserFault:
            raise Errno(EFAULT) from None
        return self.resident[page]

    # Copies to and from user memory go in physically contiguous runs: one memoryview
    # slice of guest RAM per run, not one Python call chain per page. Consecutive user
    # pages usually sit in consecutive frames (fault-around populates them together, and
    # the buddy allocator hands out a split block in order), so a 64 KiB read(2) into a
    # buffer is typically one 64 KiB slice assignment: the per-page work left is a dict
    # lookup (and, for a write, a set lookup in `writable` to respect copy-on-write).

    def _runs(self, ua: int, n: int, write: bool) -> list[list[int]]:
        """[start, end) offsets into physmem.mv covering user [ua, ua + n), in order.

        Every page is made present (and writable, if asked) before anything is copied,
        so EFAULT leaves user memory untouched. The offsets need no bounds check: frames
        come from the allocator, whose pool lies inside RAM. The last answer is kept
        (callers must not change it) and reused while `generation` says no page moved.
        """
        key = (ua, n, write)
        last_key, last_generation, last_runs = self._last_runs
        if key == last_key and last_generation == self.generation:
            return last_runs            # the same buffer again (a read(2) loop): nothing moved since
        if ua < 0 or ua + n > USER_VA_END:
            raise Errno(EFAULT)
        get = self.resident.get
        writable = self.writable
        end = ua + n
        first = ua & ~(PAGE_SIZE - 1)
        runs = []
        run_start = expect = -1        # expect: the frame that would extend the current run
        for page in range(first, end, PAGE_SIZE):
            pa = get(page)
            if pa is None or (write and page not in writable):
                pa = self._frame_for(page, write)
            if pa != expect:
                if expect >= 0:
                    runs.append([run_start, expect])
                run_start = pa
            expect = pa + PAGE_SIZE
        runs.append([run_start, expect])
        # Whole pages so far: trim to [ua, end) and turn frames into offsets into RAM.
        base = self.mem.physmem.base
        for run in runs:
            run[0] -= base
            run[1] -= base
        runs[0][0] += ua - first
        runs[-1][1] -= -end & (PAGE_SIZE - 1)
        self._last_runs = (key, self.generation, runs)
        return runs

    def read(self, ua: int, n: int) -> bytes:
        if n <= 0:
            return b""
        physmem = self.mem.physmem
        off = ua & (PAGE_SIZE - 1)
        if off + n <= PAGE_SIZE:        # within one page (paths, structs): skip the run list
            pa = self.resident.get(ua - off)
            if pa is not None:
                start = pa - physmem.base + off
                return physmem.mv[start:start + n].tobytes()
        mv = physmem.mv
        runs = self._runs(ua, n, False)
        if len(runs) == 1:
            start, end = runs[0]
            return mv[start:end].tobytes()
        return b"".join([mv[start:end] for start, end in runs])

    def write(self, ua: int, data) -> None:
        n = len(data)
        if n == 0:
            return
        physmem = self.mem.physmem
        off = ua & (PAGE_SIZE - 1)
        if off + n <= PAGE_SIZE:        # within one page (struct stat, small reads)
            page = ua - off
            pa = self.resident.get(page)
            if pa is not None and page in self.writable:
                start = pa - physmem.base + off
                physmem.mv[start:start + n] = data
                return
        mv = physmem.mv
        runs = self._runs(ua, n, True)
        if len(runs) == 1:
            start, end = runs[0]
            mv[start:end] = data
            return
        view = memoryview(data).cast("B")
        pos = 0
        for start, end in runs:
            mv[start:end] = view[pos:pos + end - start]
            pos += end - start

    def direct_offset(self, ua: int, n: int) -> int:
        """Where in guest RAM (an offset into physmem.mv) the n bytes at ua may be stored in
        place -- within one resident page this task may write -- or -1: use write(). Lets a
        syscall pack a struct straight into user memory (Struct.pack_into) with no copy."""
        off = ua & (PAGE_SIZE - 1)
        if off + n > PAGE_SIZE:
            return -1
        page = ua - off
        pa = self.resident.get(page)
        if pa is None or page not in self.writable:
            return -1
        return pa - self.mem.physmem.base + off

    def write_forced(self, ua: int, data: bytes) -> None:
        """ptrace's POKETEXT/POKEDATA (FOLL_FORCE): store even into a page its mapping does
        not let the owner write (code, a breakpoint). A writable data page takes the store
        in place; any other page gets a fresh private frame holding the new bytes: QEMU keeps
        translated code per physical frame, and a fresh frame (scrubbed by the guest when it
        was freed) has none, so code that already ran sees the change. EFAULT if unmapped."""
        while data:
            page = ua & PAGE_MASK
            n = min(len(data), page + PAGE_SIZE - ua)
            vma = self.vmas.find(page) if 0 <= ua < USER_VA_END else None
            if vma is None:
                raise Errno(EFAULT)
            if vma.prot & PROT_WRITE and not vma.prot & PROT_EXEC:
                self.write(ua, data[:n])
            else:
                self._store_in_fresh_frame(vma, page, ua - page, data[:n])
            ua, data = ua + n, data[n:]

    def _store_in_fresh_frame(self, vma: Vma, page: int, off: int, chunk: bytes) -> None:
        if page not in self.resident:
            self._frame_for(page, False)
        old = self.resident[page]
        desc = self.table.lookup(page)
        new = self.mem.alloc_frame()
        self.mem.physmem.copy(new, old, PAGE_SIZE)
        self.mem.physmem.write(PA(new + off), chunk)
        if vma.prot & PROT_EXEC:
            self.mem.exec_frames.add(new)
        self.resident[page] = new
        self.generation += 1
        self.table.update(page, pt.user_page_desc(new, True, pt.desc_is_writable(desc) and vma.shared is False
                                                  and bool(vma.prot & PROT_WRITE), bool(vma.prot & PROT_EXEC)))
        if page not in self.writable or not pt.desc_is_writable(self.table.lookup(page)):
            self.writable.discard(page)
        self.mem.release(old)
        self.mem.flush_page(self.asid, page)

    def read_cstring(self, ua: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string, without the NUL; ENAMETOOLONG if none within limit.

        Never reads past the end of a page before it must (the string may end right
        before an unmapped one); the first read is short, as most paths are."""
        out = b""
        step = 256
        while len(out) < limit:
            chunk = self.read(ua, min(step, PAGE_SIZE - (ua & (PAGE_SIZE - 1)), limit - len(out)))
            nul = chunk.find(0)
            if nul >= 0:
                return out + chunk[:nul]
            out += chunk
            ua += len(chunk)
            step = PAGE_SIZE
        raise Errno(ENAMETOOLONG)

    def read_u64(self, ua: int) -> int:
        return int.from_bytes(self.read(ua, 8), "little")

    def write_u64(self, ua: int, value: int) -> None:
        self.write(ua, (value & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little"))

    def shared_futex_key(self, uaddr: int) -> tuple[Hashable, int]:
        """The key of a futex without FUTEX_PRIVATE_FLAG at uaddr (get_futex_key): in a
        MAP_SHARED mapping of a file or of shared anonymous memory, the object and the offset
        in it, so that every process mapping it meets there; otherwise this space and uaddr."""
        vma = self.vmas.find(uaddr)
        if vma is not None and vma.shared and vma.backing is not None:
            return vma.backing.futex_object(), vma.offset + (uaddr - vma.start)
        return id(self), uaddr

    # -- mapping changes ---------------------------------------------------------------------

    def add(self, vma: Vma) -> Vma:
        if self.def_vm_flags:
            vma = replace(vma, vm_flags=vma.vm_flags | self.def_vm_flags)
        return self.vmas.insert(vma)

    def unmap(self, start: int, end: int) -> None:
        """munmap: drop VMAs and resident pages in [start, end)."""
        self.vmas.remove_range(start, end)
        self.drop_pages(self.resident_in(start, end))

    def resident_in(self, start: int, end: int) -> list[int]:
        """Resident pages in [start, end): walk whichever is smaller, the range or the page map."""
        if (end - start) // PAGE_SIZE > len(self.resident):
            return [va for va in self.resident if start <= va < end]
        return list(filter(self.resident.__contains__, range(start, end, PAGE_SIZE)))

    def drop_page(self, va: int) -> None:
        pa = self.resident.pop(va)
        self.writable.discard(va)
        self.generation += 1
        if self.table.unmap(va):
            self.mem.flush_page(self.asid, va)
        self.mem.release(pa)

    def drop_pages(self, vas: list[int]) -> None:
        """drop_page of each resident va: descriptors cleared per table run, one TLB decision
        (the whole ASID when too many for the reply), the frames released together."""
        if len(vas) < 8:
            for va in vas:
                self.drop_page(va)
            return
        vas.sort()                      # (in address order already when resident_in walked the range)
        resident = self.resident
        pas = list(map(resident.pop, vas))
        self.writable.difference_update(vas)
        self.generation += 1
        valid = self.table.unmap_pages(vas)
        if valid:
            self.mem.flush_pages(self.asid, valid)
        self.mem.release_many(pas)

    def move_pages(self, src: int, dst: int, length: int) -> None:
        """mremap's move_page_tables: the resident pages of [src, src + length) go to the same
        offsets from dst with their descriptors (the frames move, nothing is copied); the old
        addresses are invalidated in the TLB. [dst, dst + length) must hold no resident page."""
        table, resident, writable = self.table, self.resident, self.writable
        for va in self.resident_in(src, src + length):
            new = dst + (va - src)
            resident[new] = resident.pop(va)
            desc = table.unmap(va)
            if desc & pt.DESC_VALID:
                self.mem.flush_page(self.asid, va)
                table.map(new, desc)
            if va in writable:
                writable.discard(va)
                writable.add(new)
        self.generation += 1

    def protect(self, start: int, end: int, prot: int) -> None:
        """mprotect: change VMA protections and rewrite resident descriptors in [start, end);
        EACCES if a VMA may not get them (max_prot)."""
        if any(prot & ~v.max_prot for v in self.vmas.overlapping(start, end)):
            raise Errno(EACCES)
        self.vmas.protect_range(start, end, prot)
        # Only resident pages have descriptors to rewrite, and their table entries are read
        # and written per level-3 table run (fork's helpers): trinity's mprotects span tens of
        # resident pages, which cost a lookup, an update and a TLB entry each.
        vas = sorted(self.resident_in(start, end))
        if not vas:
            return
        accessible, writable_prot = bool(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)), bool(prot & PROT_WRITE)
        executable = bool(prot & PROT_EXEC)
        resident, frames, writable_set = self.resident, self.mem.frames, self.writable
        mapped: list[int] = []                  # vas whose entry was valid (to update or clear)
        mapped_descs: list[int] = []
        unmapped: list[int] = []                # resident but not mapped (PROT_NONE): to map
        unmapped_descs: list[int] = []
        vma: Vma | None = None
        for va, old in zip(vas, self.table.lookup_pages(vas)):
            pa = resident[va]
            if vma is None or not vma.start <= va < vma.end:
                vma = self.vmas.find(va)
            assert vma is not None          # a resident page lies in a VMA
            writable = writable_prot and not (frames.get_ref(pa) > 1 and not vma.shared)   # not COW
            if executable:
                self.mem.exec_frames.add(pa)
            if writable:
                writable_set.add(va)
                if vma.shared and vma.backing is not None and vma.backing.inode is not None:
                    self._note_shared_store(vma, va)
            else:
                writable_set.discard(va)
                self.generation += 1
            desc = pt.user_page_desc(pa, True, writable, executable) if accessible else 0
            if old & pt.DESC_VALID:
                mapped.append(va)
                mapped_descs.append(desc)
            elif desc:
                unmapped.append(va)
                unmapped_descs.append(desc)
        if accessible:
            self.table.update_pages(mapped, mapped_descs)
        else:
            self.table.unmap_pages(mapped)
        self.table.map_pages(unmapped, unmapped_descs)
        if mapped:
            self.mem.flush_pages(self.asid, mapped)

    def _note_shared_store(self, vma: Vma, va: int) -> None:
        """A MAP_SHARED file page became writable here: its frame may now hold stores."""
        assert vma.backing is not None and vma.backing.inode is not None
        self.mem.page_cache.pages_of(vma.backing.inode).mark_shared_writable(
            (vma.offset + va - vma.start) >> PAGE_SHIFT)

    def fork(self) -> "AddressSpace":
        """A copy-on-write duplicate for fork(2).

        Both spaces map the same frames; private writable pages become read-only in
        both, and the first write fault in either copies the page (or, once the other
        side has let go, takes it back in place). Shared mappings stay shared.
        """
        child = AddressSpace(self.mem)
        child.vmas = self.vmas.copy()
        for name in ("brk_start", "brk", "mmap_top", "arg_start", "arg_end", "env_start", "env_end", "saved_auxv", "vdso_base",
                     "stack_limit", "as_limit", "start_code", "end_code", "start_data", "end_data", "start_stack",
                     "membarrier_state"):
            setattr(child, name, getattr(self, name))
        protected = False
        pages_at = sorted(self.resident)        # each VMA's resident pages: a slice of these
        for vma in self.vmas:
            if vma.vm_flags & (VM_DONTCOPY | VM_WIPEONFORK | VM_LOCKED_MASK):
                if not self._fork_special(child, vma):
                    continue
            if vma.backing is not None and vma.backing.inode is not None:
                pages = vma.backing.inode.page_cache
                if pages is not None:
                    pages.mappers.add(child)        # the child maps the same cached frames
            vas = pages_at[bisect_left(pages_at, vma.start):bisect_left(pages_at, vma.end)]
            if vas:
                protected |= self._copy_pages(child, vas, bool(vma.prot & PROT_WRITE) and not vma.shared)
        hot = sorted(self.fork_hot)
        self.fork_hot.clear()
        child.fork_sink = self.fork_hot     # (the one set: every child of ours adds to it)
        if hot and self.users == 1:         # (no other thread of ours writes while we copy)
            # What was copied stays hot: a child given its copy has no fault to tell us.
            self.fork_hot.update(self._copy_hot(child, hot))
        if protected:
            self.mem.flush_asid(self.asid)
        return child

    def _copy_hot(self, child: "AddressSpace", pages: list[int]) -> list[int]:
        """Give child its own copy of each of pages that fork just made copy-on-write (a
        private writable page, not code); this space keeps its page writable if no one else
        shares the frame. What Linux does for a pinned page (copy_present_page). Returns
        the pages copied."""
        mem, table, child_table = self.mem, self.table, child.table
        copied = []
        for page in pages:
            pa = child.resident.get(page)
            vma = self.vmas.find(page)
            if pa is None or vma is None or vma.shared or vma.prot != PROT_READ | PROT_WRITE:
                continue
            desc = child_table.lookup(page)
            if not desc & pt.SW_COW:
                continue
            new = mem.alloc_frame()
            mem.physmem.copy(new, pa, PAGE_SIZE)
            child_table.update(page, pt.desc_break_cow(desc, new))
            child.resident[page] = new
            child.writable.add(page)
            child.generation += 1
            mem.release(pa)
            copied.append(page)
            if self.resident.get(page) == pa and mem.frames.get_ref(pa) == 1:
                table.update(page, pt.desc_break_cow(desc))
                self.writable.add(page)
        return copied

    def _copy_pages(self, child: "AddressSpace", vas: list[int], cow: bool) -> bool:
        """fork's copy of the resident pages at vas (ascending, one VMA) into child, as
        copy_page_range: the same frames, a private writable page read-only in both (True
        if any was). Descriptors are read, write-protected and stored per level-3 table
        run, not per page."""
        resident = self.resident
        pas = [resident[va] for va in vas]
        descs = self.table.lookup_pages(vas)
        protected = False
        if cow:
            hits = [i for i, d in enumerate(descs) if d & _WRITABLE_MASK == _WRITABLE]   # desc_is_writable
            if hits:
                for i in hits:
                    descs[i] |= _COW_BITS                                          # desc_make_cow
                hit_vas = [vas[i] for i in hits]
                self.table.update_pages(hit_vas, [descs[i] for i in hits])
                self.writable.difference_update(hit_vas)
                self.generation += 1
                protected = True
        if 0 not in descs:                          # (an entry is valid or 0)
            child.table.map_pages(vas, descs)
        else:                                       # PROT_NONE pages are resident, not mapped
            mapped = [i for i, d in enumerate(descs) if d]
            child.table.map_pages([vas[i] for i in mapped], [descs[i] for i in mapped])
        if not cow:                                 # a shared mapping stays writable in both
            child.writable.update([va for va, d in zip(vas, descs) if d & _WRITABLE_MASK == _WRITABLE])
        self.mem.share_many(pas)
        child.resident.update(zip(vas, pas))
        return protected

    @staticmethod
    def _fork_special(child: "AddressSpace", vma: Vma) -> bool:
        """dup_mmap's rules for a flagged VMA: MADV_DONTFORK leaves it out of the child,
        MADV_WIPEONFORK gives the child it empty, mlock is not inherited. False: copy no pages."""
        if vma.vm_flags & VM_DONTCOPY:
            child.vmas.remove_range(vma.start, vma.end)
            return False
        child.vmas.update_vm_flags(vma.start, vma.end, 0, VM_LOCKED_MASK)
        return not vma.vm_flags & VM_WIPEONFORK

    def release(self) -> None:
        """One task stops using this space (exit, exec); the last one frees it."""
        self.users -= 1
        if self.users == 0:
            self.destroy()

    def destroy(self) -> None:
        """Free every frame and table of this address space (exit, exec)."""
        for ctx in self.aio_contexts.values():  # exit_aio: the contexts end with their rings
            ctx.kill()
        self.aio_contexts.clear()
        self.mem.release_many(list(self.resident.values()))
        self.resident.clear()
        self.writable.clear()
        self.generation += 1
        self.table.destroy()
        self.mem.flush_asid(self.asid)
        self.mem.asids.free(self.asid)
        self.vmas = VmaSet()                    # drops the mappings' objects (shared memory) now
