"""System V IPC: shmget/shmat/shmdt/shmctl, semget/semop/semtimedop/semctl, msgget/msgsnd/
msgrcv/msgctl. The handlers decode arguments in Linux's order (ipc/shm.c, sem.c, msg.c) and
call the namespace of moss_host/ipc; a signal ends semop with EINTR and msgsnd/msgrcv with
ERESTARTNOHAND (restarted only when no handler runs), as Linux does."""
from __future__ import annotations

import asyncio
import struct
from typing import Callable, TypeVar

from moss_host.addr import PAGE_SIZE, USER_VA_END, page_up
from moss_host.errors import E2BIG, EINTR, EINVAL, ERANGE, ERESTARTNOHAND, Errno
from moss_host.ipc import msg as msgmod
from moss_host.ipc import sem as semmod
from moss_host.ipc import shm as shmmod
from moss_host.ipc.ids import IPC_INFO, IPC_RMID, IPC_SET, IPC_STAT, S_IRUGO, S_IWUGO, HasPerm, IpcIds
from moss_host.mm.vma import MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE, Vma
from moss_host.proc.task import State
from moss_host.mm.writeback import write_back
from moss_host.uapi import NSEC_PER_SEC, TIMESPEC, timespec_valid

from .args import Hex, Int, Ptr, Size, c_int
from .table import syscall

RLIMIT_MEMLOCK = 8
LONG = struct.Struct("<q")
# The owner and mode IPC_SET takes from the caller's struct ipc64_perm: uid at 4, gid at 8, mode at 20.
PERM_SET = struct.Struct("<4xII8xI")


def _key(raw: int) -> int:
    return c_int(raw)


def _perm_set(task, buf: int) -> tuple[int, int, int]:
    return PERM_SET.unpack(task.mm.read(buf, PERM_SET.size))


T = TypeVar("T", bound=HasPerm)


def _stat(task, ids: IpcIds[T], ident: int, cmd: int, stat_any: int, encode: Callable[[T], bytes],
          buf: int) -> int:
    """IPC_STAT names the object by id, the family's *_STAT and *_STAT_ANY by index (and
    *_STAT_ANY skips the read check); the struct goes to buf; 0 for IPC_STAT, else the id."""
    obj = ids.get(ident) if cmd == IPC_STAT else ids.at_index(ident)
    if cmd != stat_any:
        obj.perm.check_access(task.creds, S_IRUGO)
    task.mm.write(buf, encode(obj))
    return 0 if cmd == IPC_STAT else obj.perm.id


def _owned(task, ids: IpcIds[T], ident: int) -> T:
    """The object of `ident` for IPC_SET and IPC_RMID: EPERM unless the caller owns or made it
    (ipcctl_obtain_check)."""
    obj = ids.get(ident)
    obj.perm.check_owner(task.creds)
    return obj


def _interrupted(task, errno: int) -> Errno:
    """A signal ended the sleep: what the caller sees (unless the task is dying anyway)."""
    if task.state is State.ZOMBIE:
        raise asyncio.CancelledError()
    return Errno(errno)


# -- shared memory ------------------------------------------------------------------------------

@syscall("shmget")
def shmget(task, key: "Int", size: "Size", shmflg: "Hex") -> int:
    """The id of the segment of `key` (or a new one: IPC_PRIVATE, IPC_CREAT)."""
    return task.kernel.ipc.shm.get(task.creds, task.tgid, _key(key), size, c_int(shmflg))


@syscall("shmat")
def shmat(task, shmid: "Int", shmaddr: "Ptr", shmflg: "Hex") -> int:
    """Attach the segment at shmaddr (or where there is room); return the address."""
    shm = task.kernel.ipc.shm
    shmid, shmflg, addr = c_int(shmid), c_int(shmflg), shmaddr
    if shmid < 0:
        raise Errno(EINVAL)
    fixed = False
    if addr:
        if addr & (shmmod.SHMLBA - 1):
            if not shmflg & shmmod.SHM_RND:
                raise Errno(EINVAL)
            addr &= ~(shmmod.SHMLBA - 1)
            if not addr and shmflg & shmmod.SHM_REMAP:
                raise Errno(EINVAL)
        fixed = True
    elif shmflg & shmmod.SHM_REMAP:
        raise Errno(EINVAL)
    if shmflg & shmmod.SHM_RDONLY:
        prot, acc_mode = PROT_READ, S_IRUGO
    else:
        prot, acc_mode = PROT_READ | PROT_WRITE, S_IRUGO | S_IWUGO
    if shmflg & shmmod.SHM_EXEC:
        prot, acc_mode = prot | PROT_EXEC, acc_mode | 0o111
    seg = shm.attachable(task.creds, shmid, acc_mode)
    mm = task.mm
    length = page_up(seg.size)
    if fixed:
        if addr + length > USER_VA_END:
            raise Errno(EINVAL)
        if not shmflg & shmmod.SHM_REMAP and not mm.vmas.is_free(addr, addr + length):
            raise Errno(EINVAL)
        write_back(mm, addr, addr + length)
        mm.unmap(addr, addr + length)
    else:
        addr = mm.vmas.find_free(length, 0, top=mm.mmap_top)
    attach = shmmod.ShmAttach(seg)
    max_prot = PROT_READ | PROT_WRITE | PROT_EXEC if prot & PROT_WRITE else PROT_READ | PROT_EXEC
    mm.add(Vma(addr, addr + length, prot, MAP_SHARED, attach, 0, attach.name, max_prot=max_prot))
    shm.attached(seg, task.tgid)
    return addr


@syscall("shmdt")
def shmdt(task, shmaddr: "Ptr") -> int:
    """Detach the segment attached at shmaddr (do_shmdt: its VMAs from there on)."""
    if shmaddr & (PAGE_SIZE - 1):
        raise Errno(EINVAL)
    mm = task.mm
    first = next((v for v in mm.vmas if v.end > shmaddr and isinstance(v.backing, shmmod.ShmAttach)
                  and v.start - shmaddr == v.offset), None)
    if first is None:
        raise Errno(EINVAL)
    attach = first.backing
    assert isinstance(attach, shmmod.ShmAttach)
    end = shmaddr + page_up(attach.segment.size)
    doomed = [v for v in mm.vmas if v is first or (v.start > first.start and v.end <= end and v.backing is attach
                                                    and v.start - shmaddr == v.offset)]
    for v in doomed:
        mm.unmap(v.start, v.end)
    task.kernel.ipc.shm.detached(attach.segment, task.tgid)
    return 0


@syscall("shmctl")
def shmctl(task, shmid: "Int", cmd: "Int", buf: "Ptr") -> int:
    """IPC_STAT/SET/RMID/INFO, SHM_INFO/STAT/STAT_ANY/LOCK/UNLOCK."""
    shm = task.kernel.ipc.shm
    shmid, cmd = c_int(shmid), c_int(cmd)
    if cmd < 0 or shmid < 0:
        raise Errno(EINVAL)
    shm.reap()
    if cmd == IPC_INFO:
        task.mm.write(buf, shm.info())
        return shm.ids.max_idx()
    if cmd == shmmod.SHM_INFO:
        task.mm.write(buf, shm.shm_info())
        return shm.ids.max_idx()
    if cmd in (IPC_STAT, shmmod.SHM_STAT, shmmod.SHM_STAT_ANY):
        return _stat(task, shm.ids, shmid, cmd, shmmod.SHM_STAT_ANY, shm.stat, buf)
    if cmd == IPC_SET:
        uid, gid, mode = _perm_set(task, buf)
        seg = _owned(task, shm.ids, shmid)
        seg.perm.set_from(uid, gid, mode)
        seg.ctime = shmmod.now()
        return 0
    if cmd == IPC_RMID:
        shm.rmid(_owned(task, shm.ids, shmid))
        return 0
    if cmd in (shmmod.SHM_LOCK, shmmod.SHM_UNLOCK):
        seg = shm.ids.get(shmid)
        shm.lock(task.creds, seg, cmd == shmmod.SHM_LOCK, task.rlimits[RLIMIT_MEMLOCK][0])
        return 0
    raise Errno(EINVAL)


# -- semaphores ---------------------------------------------------------------------------------

@syscall("semget")
def semget(task, key: "Int", nsems: "Int", semflg: "Hex") -> int:
    """The id of the semaphore set of `key` (or a new one of nsems semaphores)."""
    return task.kernel.ipc.sem.get(task.creds, _key(key), c_int(nsems), c_int(semflg))


@syscall("semop")
async def semop(task, semid: "Int", sops: "Ptr", nsops: "Size") -> int:
    """Apply the operations atomically, sleeping until they can be."""
    return await _semtimedop(task, semid, sops, nsops, 0)


@syscall("semtimedop")
async def semtimedop(task, semid: "Int", sops: "Ptr", nsops: "Size", timeout: "Ptr") -> int:
    """semop with a relative timeout (EAGAIN when it passes)."""
    return await _semtimedop(task, semid, sops, nsops, timeout)


async def _semtimedop(task, semid: int, sops_ptr: int, nsops: int, timeout: int) -> int:
    sem = task.kernel.ipc.sem
    semid = c_int(semid)
    if nsops < 1 or semid < 0:
        raise Errno(EINVAL)
    if nsops > sem.limits.semopm:
        raise Errno(E2BIG)
    raw = task.mm.read(sops_ptr, nsops * semmod.SEMBUF.size)
    sops = list(semmod.SEMBUF.iter_unpack(raw))
    deadline = None
    if timeout:
        sec, nsec = TIMESPEC.unpack(task.mm.read(timeout, TIMESPEC.size))
        if not timespec_valid(sec, nsec):
            raise Errno(EINVAL)
        deadline = asyncio.get_running_loop().time() + sec + nsec / NSEC_PER_SEC
    try:
        return await sem.semop(task.creds, task.tgid, semid, sops, deadline)
    except asyncio.CancelledError:
        raise _interrupted(task, EINTR) from None


@syscall("semctl")
def semctl(task, semid: "Int", semnum: "Int", cmd: "Int", arg: "Hex") -> int:
    """The control commands: IPC_STAT/SET/RMID/INFO, SEM_INFO/STAT/STAT_ANY, GET*/SET*."""
    sem = task.kernel.ipc.sem
    semid, semnum, cmd = c_int(semid), c_int(semnum), c_int(cmd)
    if semid < 0:
        raise Errno(EINVAL)
    if cmd in (IPC_INFO, semmod.SEM_INFO):
        task.mm.write(arg, sem.info(cmd))
        return sem.ids.max_idx()
    if cmd in (IPC_STAT, semmod.SEM_STAT, semmod.SEM_STAT_ANY):
        return _stat(task, sem.ids, semid, cmd, semmod.SEM_STAT_ANY, sem.stat, arg)
    if cmd in (semmod.GETALL, semmod.GETVAL, semmod.GETPID, semmod.GETNCNT, semmod.GETZCNT, semmod.SETALL):
        return _semctl_main(task, semid, semnum, cmd, arg)
    if cmd == semmod.SETVAL:
        val = c_int(arg)
        if val > semmod.SEMVMX or val < 0:
            raise Errno(ERANGE)
        sma = sem.ids.get(semid)
        if semnum < 0 or semnum >= len(sma.sems):
            raise Errno(EINVAL)
        sma.perm.check_access(task.creds, S_IWUGO)
        sem.setval(sma, semnum, val, task.tgid)
        return 0
    if cmd == IPC_SET:
        uid, gid, mode = _perm_set(task, arg)
        sma = _owned(task, sem.ids, semid)
        sma.perm.set_from(uid, gid, mode)
        sma.ctime = semmod.now()
        return 0
    if cmd == IPC_RMID:
        sem.remove(_owned(task, sem.ids, semid))
        return 0
    raise Errno(EINVAL)


def _semctl_main(task, semid: int, semnum: int, cmd: int, arg: int) -> int:
    sem = task.kernel.ipc.sem
    sma = sem.ids.get(semid)
    nsems = len(sma.sems)
    sma.perm.check_access(task.creds, S_IWUGO if cmd == semmod.SETALL else S_IRUGO)
    if cmd == semmod.GETALL:
        task.mm.write(arg, struct.pack(f"<{nsems}H", *(s.val for s in sma.sems)))
        return 0
    if cmd == semmod.SETALL:
        vals = list(struct.unpack(f"<{nsems}H", task.mm.read(arg, 2 * nsems)))
        sem.setall(sma, vals, task.tgid)
        return 0
    if semnum < 0 or semnum >= nsems:
        raise Errno(EINVAL)
    if cmd == semmod.GETVAL:
        return sma.sems[semnum].val
    if cmd == semmod.GETPID:
        return sma.sems[semnum].pid
    return sem.count(sma, semnum, zero=cmd == semmod.GETZCNT)


# -- message queues -----------------------------------------------------------------------------

@syscall("msgget")
def msgget(task, key: "Int", msgflg: "Hex") -> int:
    """The id of the message queue of `key` (or a new one)."""
    return task.kernel.ipc.msg.get(task.creds, _key(key), c_int(msgflg))


@syscall("msgsnd")
async def msgsnd(task, msqid: "Int", msgp: "Ptr", msgsz: "Size", msgflg: "Hex") -> int:
    """Queue a message (struct msgbuf: mtype, then msgsz bytes), sleeping while the queue is full."""
    msg = task.kernel.ipc.msg
    (mtype,) = LONG.unpack(task.mm.read(msgp, LONG.size))
    msqid, msgflg = c_int(msqid), c_int(msgflg)
    if msgsz > msg.limits.msgmax or msgsz >= 1 << 63 or msqid < 0:
        raise Errno(EINVAL)
    if mtype < 1:
        raise Errno(EINVAL)
    text = task.mm.read(msgp + LONG.size, msgsz)
    try:
        await msg.send(task.creds, task.tgid, msqid, mtype, text, msgflg)
    except asyncio.CancelledError:
        raise _interrupted(task, ERESTARTNOHAND) from None
    return 0


@syscall("msgrcv")
async def msgrcv(task, msqid: "Int", msgp: "Ptr", msgsz: "Size", msgtyp: "Int", msgflg: "Hex") -> int:
    """Take a message by type (0: the first; > 0: that type, or any other with MSG_EXCEPT;
    < 0: the lowest type up to -msgtyp); its text length."""
    msg = task.kernel.ipc.msg
    msqid, msgflg = c_int(msqid), c_int(msgflg)
    if msgtyp >= 1 << 63:
        msgtyp -= 1 << 64
    if msqid < 0 or msgsz >= 1 << 63:
        raise Errno(EINVAL)
    if msgflg & msgmod.MSG_COPY:
        if msgflg & msgmod.MSG_EXCEPT or not msgflg & msgmod.IPC_NOWAIT:
            raise Errno(EINVAL)
        msgsz = min(msgsz, msg.limits.msgmax)
    try:
        mtype, text = await msg.receive(task.creds, task.tgid, msqid, msgsz, msgtyp, msgflg)
    except asyncio.CancelledError:
        raise _interrupted(task, ERESTARTNOHAND) from None
    task.mm.write(msgp, LONG.pack(mtype) + text)
    return len(text)


@syscall("msgctl")
def msgctl(task, msqid: "Int", cmd: "Int", buf: "Ptr") -> int:
    """IPC_STAT/SET/RMID/INFO, MSG_INFO/STAT/STAT_ANY."""
    msg = task.kernel.ipc.msg
    msqid, cmd = c_int(msqid), c_int(cmd)
    if msqid < 0 or cmd < 0:
        raise Errno(EINVAL)
    if cmd in (IPC_INFO, msgmod.MSG_INFO):
        task.mm.write(buf, msg.info(cmd))
        return msg.ids.max_idx()
    if cmd in (IPC_STAT, msgmod.MSG_STAT, msgmod.MSG_STAT_ANY):
        return _stat(task, msg.ids, msqid, cmd, msgmod.MSG_STAT_ANY, msg.stat, buf)
    if cmd == IPC_SET:
        uid, gid, mode = _perm_set(task, buf)
        qbytes = msgmod.MSQID_DS.unpack(task.mm.read(buf, msgmod.MSQID_DS.size))[5]
        msg.set(task.creds, msg.ids.get(msqid), uid, gid, mode, qbytes)
        return 0
    if cmd == IPC_RMID:
        msg.remove(_owned(task, msg.ids, msqid))
        return 0
    raise Errno(EINVAL)
