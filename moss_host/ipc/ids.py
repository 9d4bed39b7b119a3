"""What the three System V IPC families share (Linux's ipc/util.c): keys and ids, the
permission record, the permission checks and the struct ipc64_perm layout.

An id is seq * 32768 + index: the index is the slot (allocated cyclically, as idr_alloc_cyclic
does), the sequence number grows each time allocation wraps past the last slot used, so a
stale id of a removed object does not name its successor.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Generic, Iterator, Optional, Protocol, TypeVar

from moss_host.clock import realtime_ns
from moss_host.cred import Creds, capable
from moss_host.errors import EACCES, EEXIST, EINVAL, ENOENT, ENOSPC, EPERM, Errno

IPC_PRIVATE = 0
IPC_CREAT = 0o1000
IPC_EXCL = 0o2000
IPC_NOWAIT = 0o4000

IPC_RMID = 0
IPC_SET = 1
IPC_STAT = 2
IPC_INFO = 3

S_IRUGO = 0o444
S_IWUGO = 0o222
S_IRWXUGO = 0o777

IPCMNI_SHIFT = 15
IPCMNI = 1 << IPCMNI_SHIFT
SEQ_MAX = (1 << 31) >> IPCMNI_SHIFT     # ipcid_seq_max(): INT_MAX >> IPCMNI_SHIFT

# struct ipc64_perm (asm-generic): key, uid, gid, cuid, cgid, mode, seq, __pad2, 2 x __unused.
IPC64_PERM = struct.Struct("<iIIIIIHH4xQQ")


def now() -> int:
    return realtime_ns() // 1_000_000_000     # the guest's wall clock (clock_settime moves it)


@dataclass
class IpcPerm:
    """struct kern_ipc_perm: who owns and created the object, its mode, key and id."""
    key: int
    uid: int
    gid: int
    cuid: int
    cgid: int
    mode: int
    id: int = -1
    seq: int = 0
    deleted: bool = False

    def pack(self) -> bytes:
        return IPC64_PERM.pack(self.key, self.uid, self.gid, self.cuid, self.cgid, self.mode, self.seq & 0xFFFF,
                               0, 0, 0)

    def denies(self, creds: Creds, flag: int) -> bool:
        """ipcperms(): whether `flag`'s rwx bits (any of the owner/group/other triplets) are
        refused to creds; CAP_IPC_OWNER overrides."""
        requested = (flag >> 6 | flag >> 3 | flag) & 0o7
        granted = self.mode
        if creds.euid in (self.uid, self.cuid):
            granted >>= 6
        elif creds.egid in (self.gid, self.cgid) or self.gid in creds.groups or self.cgid in creds.groups:
            granted >>= 3
        return bool(requested & ~granted & 0o7) and not capable(creds)

    def check_access(self, creds: Creds, flag: int) -> None:
        if self.denies(creds, flag):
            raise Errno(EACCES)

    def check_owner(self, creds: Creds) -> None:
        """ipcctl_obtain_check(): IPC_SET and IPC_RMID are for the owner, the creator or CAP_SYS_ADMIN."""
        if creds.euid not in (self.uid, self.cuid) and not capable(creds):
            raise Errno(EPERM)

    def set_from(self, uid: int, gid: int, mode: int) -> None:
        """ipc_update_perm(): IPC_SET's owner and the low 9 mode bits."""
        self.uid, self.gid = uid, gid
        self.mode = (self.mode & ~S_IRWXUGO) | (mode & S_IRWXUGO)


def new_perm(key: int, creds: Creds, flag: int) -> IpcPerm:
    return IpcPerm(key, creds.euid, creds.egid, creds.euid, creds.egid, flag & S_IRWXUGO)


class HasPerm(Protocol):
    perm: IpcPerm


T = TypeVar("T", bound=HasPerm)


class IpcIds(Generic[T]):
    """struct ipc_ids: one family's objects by index and by key."""

    def __init__(self, mni: int):
        self.mni = mni                      # the sysctl limit (shmmni, semmni, msgmni)
        self.slots: dict[int, T] = {}
        self.keys: dict[int, T] = {}
        self.seq = 0
        self.last_idx = -1

    def __len__(self) -> int:
        return len(self.slots)

    def __iter__(self) -> Iterator[T]:
        return iter([self.slots[i] for i in sorted(self.slots)])

    def max_idx(self) -> int:
        """ipc_get_maxidx(): the highest index in use, 0 if none (what the *_INFO commands return)."""
        return max(self.slots, default=0)

    def add(self, obj: T) -> int:
        """ipc_addid(): a slot and an id for obj, ENOSPC when the family is full."""
        limit = min(self.mni, IPCMNI)
        if len(self.slots) >= limit:
            raise Errno(ENOSPC)
        idx = next((i for i in range(self.last_idx + 1, limit) if i not in self.slots), None)
        if idx is None:
            idx = next(i for i in range(limit) if i not in self.slots)
        if idx <= self.last_idx:
            self.seq = (self.seq + 1) % SEQ_MAX
        self.last_idx = idx
        perm = obj.perm
        perm.seq = self.seq
        perm.id = (self.seq << IPCMNI_SHIFT) + idx
        self.slots[idx] = obj
        if perm.key != IPC_PRIVATE:
            self.keys[perm.key] = obj
        return perm.id

    def remove(self, obj: T) -> None:
        """ipc_rmid(): the object is gone from both tables."""
        perm = obj.perm
        self.slots.pop(perm.id % IPCMNI, None)
        self.drop_key(obj)
        perm.deleted = True

    def drop_key(self, obj: T) -> None:
        """The key is freed (a removed segment still attached keeps its slot, key IPC_PRIVATE)."""
        perm = obj.perm
        if perm.key != IPC_PRIVATE and self.keys.get(perm.key) is obj:
            del self.keys[perm.key]
        perm.key = IPC_PRIVATE

    def get(self, id: int) -> T:
        """ipc_obtain_object_check(): the object with this id; EINVAL if none or a stale id."""
        if id < 0:
            raise Errno(EINVAL)
        obj = self.slots.get(id % IPCMNI)
        if obj is None or obj.perm.id != id:
            raise Errno(EINVAL)
        return obj

    def at_index(self, idx: int) -> T:
        """The *_STAT commands name an object by its index."""
        obj = self.slots.get(idx) if 0 <= idx < IPCMNI else None
        if obj is None:
            raise Errno(EINVAL)
        return obj

    def lookup(self, key: int, flag: int) -> Optional[T]:
        """ipcget_public()'s first half: the object of `key`; None if it is to be created,
        ENOENT without IPC_CREAT, EEXIST with IPC_CREAT|IPC_EXCL."""
        obj = self.keys.get(key)
        if obj is None:
            if not flag & IPC_CREAT:
                raise Errno(ENOENT)
            return None
        if flag & IPC_CREAT and flag & IPC_EXCL:
            raise Errno(EEXIST)
        return obj
