"""The IPC namespace (Linux's struct ipc_namespace): the three System V families and their
limits, owned by the kernel (`kernel.ipc`)."""
from __future__ import annotations

from typing import Callable, Iterable

from moss_host.errors import EINVAL, Errno
from moss_host.mm.address_space import AddressSpace

from .ids import IPCMNI
from .mqueue import MqLimits, MqueueFs
from .msg import MsgIds
from .sem import SemIds
from .shm import ShmIds


class IpcNamespace:
    def __init__(self, mem_of: Callable[[], object], address_spaces: Callable[[], Iterable[AddressSpace]]):
        self.shm = ShmIds(mem_of, address_spaces)
        self.sem = SemIds()
        self.msg = MsgIds()
        self.mq_limits = MqLimits()
        self.mqueue = MqueueFs(self.mq_limits)     # mq_open's queues; what `mount -t mqueue` mounts

    def exit_process(self, tgid: int) -> None:
        """The last thread of a process is gone: its semaphore adjustments apply (exit_sem),
        and removed segments it was the last to have attached are destroyed."""
        self.sem.exit_process(tgid)
        self.shm.reap()

    # -- /proc/sys/kernel: name -> (read, write) of the text
    def sysctl_read(self, name: str) -> bytes:
        shm, sem, msg = self.shm.limits, self.sem.limits, self.msg.limits
        if name == "sem":
            return f"{sem.semmsl}\t{sem.semmns}\t{sem.semopm}\t{sem.semmni}\n".encode()
        value = {"shmmax": shm.shmmax, "shmall": shm.shmall, "shmmni": shm.shmmni,
                 "msgmax": msg.msgmax, "msgmnb": msg.msgmnb, "msgmni": msg.msgmni}[name]
        return f"{value}\n".encode()

    def sysctl_write(self, name: str, data: bytes) -> int:
        """A write of the text: numbers separated by white space (proc_dointvec / doulongvec);
        EINVAL for anything else."""
        try:
            values = [int(v) for v in data.split()]
        except ValueError:
            raise Errno(EINVAL) from None
        if not values or any(v < 0 for v in values):
            raise Errno(EINVAL)
        if name == "sem" and len(values) >= 4 and values[3] > IPCMNI or \
                name in ("shmmni", "msgmni") and values[0] > IPCMNI or \
                name in ("msgmax", "msgmnb") and values[0] > INT_MAX:
            raise Errno(EINVAL)         # proc_dointvec_minmax's ranges (ipc/ipc_sysctl.c)
        shm, sem, msg = self.shm.limits, self.sem.limits, self.msg.limits
        if name == "sem":
            names = ("semmsl", "semmns", "semopm", "semmni")
            for attr, v in zip(names, values):
                setattr(sem, attr, v)
            return len(data)
        target = shm if name.startswith("shm") else msg
        setattr(target, name, values[0])
        return len(data)


INT_MAX = (1 << 31) - 1
SYSCTL_NAMES = ("shmmax", "shmall", "shmmni", "sem", "msgmax", "msgmnb", "msgmni")
