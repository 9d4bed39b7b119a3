"""System V shared memory (Linux's ipc/shm.c): segments of shared pages that processes attach.

A segment's pages are shared anonymous memory (mm/shmem.py): every attach maps the same frame
for a page offset, and a shared futex in it is keyed by the segment. Each shmat makes a
ShmAttach backing (Linux's per-attach struct file); the attach count is the number of VMAs
mapping the segment in live address spaces, as Linux counts them (vm_ops open and close),
so fork, exec, exit and munmap need no bookkeeping of their own. A segment removed while
attached loses its key at once and is destroyed when the count reaches zero.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Callable, Hashable, Iterable, Optional

from moss_host.addr import PA, PAGE_SIZE, page_up
from moss_host.cred import Creds, capable
from moss_host.errors import EIDRM, EINVAL, ENOSPC, EPERM, Errno
from moss_host.mm.address_space import AddressSpace
from moss_host.mm.backing import Backing
from moss_host.mm.shmem import SHMEM_MINOR, SharedAnon

from .ids import IPC_PRIVATE, S_IRUGO, IpcIds, IpcPerm, new_perm, now

SHM_DEST = 0o1000          # in shm_perm.mode: removed, destroyed at the last detach
SHM_LOCKED = 0o2000        # in shm_perm.mode: SHM_LOCK
SHM_RDONLY = 0o10000
SHM_RND = 0o20000
SHM_REMAP = 0o40000
SHM_EXEC = 0o100000
SHMLBA = PAGE_SIZE         # arm64 native tasks (__ARCH_FORCE_SHMLBA)

SHM_LOCK = 11
SHM_UNLOCK = 12
SHM_STAT = 13
SHM_INFO = 14
SHM_STAT_ANY = 15

SHMMIN = 1
SHMMAX_DEFAULT = (1 << 64) - 1 - (1 << 24)      # ULONG_MAX - 2^24
SHMALL_DEFAULT = (1 << 64) - 1 - (1 << 24)
SHMMNI_DEFAULT = 4096

# struct shmid64_ds after its ipc64_perm: segsz, atime, dtime, ctime, cpid, lpid, nattch, 2 x unused.
SHMID_DS_TAIL = struct.Struct("<QqqqiiQQQ")
SHMINFO64 = struct.Struct("<9Q")        # shmmax, shmmin, shmmni, shmseg, shmall, 4 x unused
SHM_INFO_S = struct.Struct("<i4x5Q")    # used_ids, shm_tot, shm_rss, shm_swp, 2 x swap stats


class ShmSegment(SharedAnon):
    """struct shmid_kernel: the permission record, the size and the times, and the pages."""

    def __init__(self, mem, perm: IpcPerm, size: int, cpid: int):
        super().__init__(mem)
        self.perm = perm
        self.size = size
        self.cpid = cpid
        self.lpid = 0
        self.atime = self.dtime = 0
        self.ctime = now()
        self.name = f"/SYSV{perm.key & 0xFFFFFFFF:08x} (deleted)"

    def maps_ids(self) -> tuple[int, int, int]:
        return 0, SHMEM_MINOR, self.perm.id          # newseg() numbers the inode with the id

    @property
    def pages(self) -> int:
        return page_up(self.size) // PAGE_SIZE


class ShmAttach(Backing):
    """One shmat of a segment: what its VMAs map (the segment's frames, shared by all)."""

    def __init__(self, segment: ShmSegment):
        self.segment = segment
        self.name = segment.name

    def shared_frame(self, offset: int) -> Optional[PA]:
        return self.segment.shared_frame(offset)

    def read(self, offset: int, n: int) -> bytes:
        return self.segment.read(offset, n)

    def has_page(self, offset: int) -> bool:
        return self.segment.has_page(offset)

    def maps_ids(self) -> tuple[int, int, int]:
        return self.segment.maps_ids()

    def futex_object(self) -> Hashable:
        return self.segment


@dataclass
class ShmLimits:
    shmmax: int = SHMMAX_DEFAULT
    shmall: int = SHMALL_DEFAULT
    shmmni: int = SHMMNI_DEFAULT


@dataclass
class ShmIds:
    """The shared memory family of a namespace."""
    mem_of: Callable[[], object]                            # the guest memory segments take frames from
    address_spaces: Callable[[], Iterable[AddressSpace]]   # every live one (for the attach counts)
    limits: ShmLimits = field(default_factory=ShmLimits)
    ids: IpcIds[ShmSegment] = field(init=False)
    total_pages: int = 0                                    # shm_tot

    def __post_init__(self) -> None:
        self.ids = IpcIds(self.limits.shmmni)

    # -- shmget
    def get(self, creds: Creds, pid: int, key: int, size: int, flag: int) -> int:
        self.ids.mni = self.limits.shmmni
        self.reap()                             # removed segments a past exec or exit let go of
        seg = None if key == IPC_PRIVATE else self.ids.lookup(key, flag)
        if seg is None:
            return self._new(creds, pid, key, size, flag)
        if seg.size < size:                     # shm_more_checks
            raise Errno(EINVAL)
        seg.perm.check_access(creds, flag)
        return seg.perm.id

    def _new(self, creds: Creds, pid: int, key: int, size: int, flag: int) -> int:
        """newseg()."""
        if size < SHMMIN or size > self.limits.shmmax:
            raise Errno(EINVAL)
        pages = page_up(size) // PAGE_SIZE
        if self.total_pages + pages < self.total_pages or self.total_pages + pages > self.limits.shmall:
            raise Errno(ENOSPC)
        seg = ShmSegment(self.mem_of(), new_perm(key, creds, flag), size, pid)
        self.ids.add(seg)
        self.total_pages += pages
        return seg.perm.id

    # -- attach counts and destruction
    def nattch(self, seg: ShmSegment) -> int:
        return sum(1 for mm in self.address_spaces() for vma in mm.vmas
                   if isinstance(vma.backing, ShmAttach) and vma.backing.segment is seg)

    def all_nattch(self) -> dict[int, int]:
        """id(segment) -> attach count, for every attached segment, in one walk."""
        counts: dict[int, int] = {}
        for mm in self.address_spaces():
            for vma in mm.vmas:
                if isinstance(vma.backing, ShmAttach):
                    key = id(vma.backing.segment)
                    counts[key] = counts.get(key, 0) + 1
        return counts

    def reap(self) -> None:
        """Destroy removed segments nobody has attached any more (shm_destroy at the last close)."""
        doomed = [seg for seg in self.ids if seg.perm.mode & SHM_DEST]
        if not doomed:
            return
        counts = self.all_nattch()
        for seg in doomed:
            if not counts.get(id(seg)):
                self._destroy(seg)

    def _destroy(self, seg: ShmSegment) -> None:
        self.ids.remove(seg)
        self.total_pages -= seg.pages

    def rmid(self, seg: ShmSegment) -> None:
        """do_shm_rmid(): destroyed now if unattached; else marked and its key freed at once."""
        seg.perm.mode |= SHM_DEST
        self.ids.drop_key(seg)
        if not self.nattch(seg):
            self._destroy(seg)

    # -- shmat / shmdt
    def attachable(self, creds: Creds, shmid: int, acc_mode: int) -> ShmSegment:
        seg = self.ids.get(shmid)
        seg.perm.check_access(creds, acc_mode)
        if seg.perm.deleted:
            raise Errno(EIDRM)
        return seg

    def attached(self, seg: ShmSegment, pid: int) -> None:
        seg.atime, seg.lpid = now(), pid

    def detached(self, seg: ShmSegment, pid: int) -> None:
        seg.dtime, seg.lpid = now(), pid
        if seg.perm.mode & SHM_DEST and not self.nattch(seg):
            self._destroy(seg)

    # -- shmctl
    def stat(self, seg: ShmSegment) -> bytes:
        return seg.perm.pack() + SHMID_DS_TAIL.pack(seg.size, seg.atime, seg.dtime, seg.ctime, seg.cpid, seg.lpid,
                                                     self.nattch(seg), 0, 0)

    def info(self) -> bytes:
        lim = self.limits
        return SHMINFO64.pack(lim.shmmax, SHMMIN, lim.shmmni, lim.shmmni, lim.shmall, 0, 0, 0, 0)

    def shm_info(self) -> bytes:
        rss = sum(len(seg.frames) for seg in self.ids)
        return SHM_INFO_S.pack(len(self.ids), self.total_pages, rss, 0, 0, 0)

    def lock(self, creds: Creds, seg: ShmSegment, lock: bool, memlock_limit: int) -> None:
        """shmctl_do_lock(): SHM_LOCK/SHM_UNLOCK only mark the segment (nothing here swaps)."""
        if not capable(creds):
            if creds.euid not in (seg.perm.uid, seg.perm.cuid) or (lock and not memlock_limit):
                raise Errno(EPERM)
        if seg.perm.deleted:
            raise Errno(EIDRM)
        if lock:
            seg.perm.mode |= SHM_LOCKED
        else:
            seg.perm.mode &= ~SHM_LOCKED

    def proc_text(self) -> bytes:
        """/proc/sysvipc/shm (sysvipc_shm_proc_show)."""
        self.reap()
        lines = ["       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid"
                 "      atime      dtime      ctime                   rss                  swap\n"]
        counts = self.all_nattch()
        for seg in self.ids:
            p = seg.perm
            lines.append(f"{p.key:10d} {p.id:10d}  {p.mode & 0o7777:4o} {seg.size:21d} {seg.cpid:5d} {seg.lpid:5d}  "
                         f"{counts.get(id(seg), 0):5d} {p.uid:5d} {p.gid:5d} {p.cuid:5d} {p.cgid:5d} "
                         f"{seg.atime:10d} {seg.dtime:10d} {seg.ctime:10d} {len(seg.frames) * PAGE_SIZE:21d} "
                         f"{0:21d}\n")
        return "".join(lines).encode()


__all__ = ["ShmIds", "ShmSegment", "ShmAttach", "S_IRUGO"]
