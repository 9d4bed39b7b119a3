"""System V semaphores (Linux's ipc/sem.c): sets of counters changed atomically by semop.

A semop either applies all its operations or none; one that cannot proceed sleeps on the
set's wait queue and retries whenever the set changes (Linux's update_queue, by retrying).
SEM_UNDO operations are remembered per process as adjustments (semadj) that exit applies.
"""
from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field
from typing import Optional

from moss_host.cred import Creds
from moss_host.errors import EAGAIN, EFBIG, EIDRM, EINVAL, ENOSPC, ERANGE, Errno
from moss_host.waitq import WaitQueue

from .ids import IPC_NOWAIT, IPC_PRIVATE, S_IRUGO, S_IWUGO, IpcIds, IpcPerm, new_perm, now

SEM_UNDO = 0x1000
GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL = 11, 12, 13, 14, 15, 16, 17
SEM_STAT, SEM_INFO, SEM_STAT_ANY = 18, 19, 20

SEMMSL, SEMMNS, SEMOPM, SEMMNI = 32000, 32000 * 32000, 500, 32000
SEMVMX = 32767
SEMAEM = SEMVMX
SEMUSZ = 20

SEMBUF = struct.Struct("<Hhh")          # struct sembuf: sem_num, sem_op, sem_flg
SEMID_DS_TAIL = struct.Struct("<qqQQQ")  # after ipc64_perm: otime, ctime, nsems, 2 x unused
SEMINFO = struct.Struct("<10i")


@dataclass
class SemLimits:
    """/proc/sys/kernel/sem: SEMMSL SEMMNS SEMOPM SEMMNI."""
    semmsl: int = SEMMSL
    semmns: int = SEMMNS
    semopm: int = SEMOPM
    semmni: int = SEMMNI


@dataclass
class Sem:
    val: int = 0
    pid: int = 0
    otime: int = 0


class SemSet:
    """struct sem_array."""

    def __init__(self, perm: IpcPerm, nsems: int):
        self.perm = perm
        self.sems = [Sem() for _ in range(nsems)]
        self.ctime = now()
        self.changed = WaitQueue()
        # The sops of each sleeping semop and the one it blocks on (count_semcnt).
        self.blocked: list[tuple[int, int]] = []       # (sem_num, sem_op) of a waiter's blocking op

    @property
    def otime(self) -> int:
        return max(s.otime for s in self.sems)


Sop = tuple[int, int, int]       # sem_num, sem_op, sem_flg


@dataclass
class SemIds:
    limits: SemLimits = field(default_factory=SemLimits)
    ids: IpcIds[SemSet] = field(init=False)
    used_sems: int = 0
    # tgid -> set id -> per-semaphore adjustments (struct sem_undo of the process's undo list)
    undos: dict[int, dict[int, list[int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ids = IpcIds(self.limits.semmni)

    def get(self, creds: Creds, key: int, nsems: int, flag: int) -> int:
        if nsems < 0 or nsems > self.limits.semmsl:
            raise Errno(EINVAL)
        self.ids.mni = self.limits.semmni
        sma = None if key == IPC_PRIVATE else self.ids.lookup(key, flag)
        if sma is None:
            if not nsems:
                raise Errno(EINVAL)
            if self.used_sems + nsems > self.limits.semmns:
                raise Errno(ENOSPC)
            sma = SemSet(new_perm(key, creds, flag), nsems)
            self.ids.add(sma)
            self.used_sems += nsems
            return sma.perm.id
        if nsems > len(sma.sems):                  # sem_more_checks
            raise Errno(EINVAL)
        sma.perm.check_access(creds, flag)
        return sma.perm.id

    def remove(self, sma: SemSet) -> None:
        """freeary(): sleepers wake to EIDRM, undo entries die with the set."""
        self.ids.remove(sma)
        self.used_sems -= len(sma.sems)
        for per_set in self.undos.values():
            per_set.pop(sma.perm.id, None)
        sma.changed.wake_all()

    # -- semop
    async def semop(self, creds: Creds, tgid: int, semid: int, sops: list[Sop],
                    deadline: Optional[float]) -> int:
        """do_semtimedop() after the copy-in: EFBIG, EACCES, EIDRM, then apply or sleep."""
        max_num = max(s[0] for s in sops)
        alter = any(s[1] for s in sops)
        undo = any(s[2] & SEM_UNDO for s in sops)
        sma = self.ids.get(semid)
        if max_num >= len(sma.sems):
            raise Errno(EFBIG)
        sma.perm.check_access(creds, S_IWUGO if alter else S_IRUGO)
        loop = asyncio.get_running_loop()
        while True:
            if sma.perm.deleted:
                raise Errno(EIDRM)
            adj = self.undos.setdefault(tgid, {}).setdefault(semid, [0] * len(sma.sems)) if undo else None
            blocking = self._try(sma, sops, adj, tgid)
            if blocking is None:
                sma.changed.wake_all()
                return 0
            if blocking[2] & IPC_NOWAIT:
                raise Errno(EAGAIN)
            entry = (blocking[0], blocking[1])
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                raise Errno(EAGAIN)
            sma.blocked.append(entry)
            try:
                await sma.changed.wait(left)
            finally:
                sma.blocked.remove(entry)

    @staticmethod
    def _try(sma: SemSet, sops: list[Sop], adj: Optional[list[int]], tgid: int) -> Optional[Sop]:
        """perform_atomic_semop(): None when applied, else the operation that must wait."""
        vals: dict[int, int] = {}
        for num, op, flg in sops:
            cur = vals.get(num, sma.sems[num].val)
            if op == 0 and cur:
                return num, op, flg
            cur += op
            if cur < 0:
                return num, op, flg
            if cur > SEMVMX:
                raise Errno(ERANGE)
            if flg & SEM_UNDO and adj is not None:
                undo = adj[num] - op
                if undo < -SEMAEM - 1 or undo > SEMAEM:
                    raise Errno(ERANGE)
            vals[num] = cur
        t = now()
        for num, op, flg in sops:
            if flg & SEM_UNDO and adj is not None:
                adj[num] -= op
        for num, val in vals.items():
            sem = sma.sems[num]
            sem.val, sem.pid, sem.otime = val, tgid, t
        return None

    # -- semctl
    def count(self, sma: SemSet, num: int, zero: bool) -> int:
        """GETZCNT / GETNCNT: sleepers whose blocking operation waits for zero / to decrease."""
        return sum(1 for n, op in sma.blocked if n == num and (op == 0) == zero)

    def setval(self, sma: SemSet, num: int, val: int, tgid: int) -> None:
        for per_set in self.undos.values():
            adj = per_set.get(sma.perm.id)
            if adj is not None:
                adj[num] = 0
        sem = sma.sems[num]
        sem.val, sem.pid = val, tgid
        sma.ctime = now()
        sma.changed.wake_all()

    def setall(self, sma: SemSet, vals: list[int], tgid: int) -> None:
        if any(v > SEMVMX for v in vals):
            raise Errno(ERANGE)
        for per_set in self.undos.values():
            adj = per_set.get(sma.perm.id)
            if adj is not None:
                adj[:] = [0] * len(adj)
        for sem, val in zip(sma.sems, vals):
            sem.val, sem.pid = val, tgid
        sma.ctime = now()
        sma.changed.wake_all()

    def stat(self, sma: SemSet) -> bytes:
        return sma.perm.pack() + SEMID_DS_TAIL.pack(sma.otime, sma.ctime, len(sma.sems), 0, 0)

    def info(self, cmd: int) -> bytes:
        lim = self.limits
        usz, aem = (len(self.ids), self.used_sems) if cmd == SEM_INFO else (SEMUSZ, SEMAEM)
        return SEMINFO.pack(lim.semmns, lim.semmni, lim.semmns, lim.semmns, lim.semmsl, lim.semopm, lim.semopm,
                            usz, SEMVMX, aem)

    # -- exit
    def exit_process(self, tgid: int) -> None:
        """exit_sem(): apply the process's adjustments, clamped to 0..SEMVMX."""
        per_set = self.undos.pop(tgid, None)
        if not per_set:
            return
        for semid, adj in per_set.items():
            try:
                sma = self.ids.get(semid)
            except Errno:
                continue
            for sem, a in zip(sma.sems, adj):
                if a:
                    sem.val = min(max(sem.val + a, 0), SEMVMX)
                    sem.pid = tgid
            sma.changed.wake_all()

    def proc_text(self) -> bytes:
        lines = ["       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"]
        for sma in self.ids:
            p = sma.perm
            lines.append(f"{p.key:10d} {p.id:10d}  {p.mode & 0o7777:4o} {len(sma.sems):10d} {p.uid:5d} {p.gid:5d} "
                         f"{p.cuid:5d} {p.cgid:5d} {sma.otime:10d} {sma.ctime:10d}\n")
        return "".join(lines).encode()
