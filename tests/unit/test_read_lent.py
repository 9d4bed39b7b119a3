"""read(2)/pread64 from tmpfs copy the file's own bytes straight into user memory (TmpFile.read_view):
the results are those of a plain read, the file can grow right after, an unwritten tail
falls back to zeros, and EFAULT consumes nothing. No QEMU: a real AddressSpace and tmpfs."""
import asyncio
import errno
from types import SimpleNamespace

from moss_host.addr import PAGE_SIZE
from moss_host.errors import Errno
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.fdtable import FdTable
from moss_host.fs.file import O_CREAT, O_RDWR
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import FsContext
from moss_host.mm.address_space import AddressSpace
from moss_host.mm.memory import Memory
from moss_host.mm.vma import MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, Vma
from moss_host.syscalls import fs as sysfs, fsattr  # noqa: F401  (registers the handlers)
from moss_host.syscalls.numbers import SYSCALL_NUMBERS
from moss_host.syscalls.table import SYSCALLS
from moss_host.cred import Creds
from moss_host.proc.rlimits import DEFAULT_RLIMITS

RAM = 32 << 20
BASE = 0x40_0000
PAGES = 64
AT_FDCWD = (1 << 64) - 100


def make_task():
    mm = AddressSpace(Memory(bytearray(RAM), RAM))
    mm.add(Vma(BASE, BASE + PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS))
    fs = FsContext(MountTable(Tmpfs(mode=0o755)).root_location())
    creds = Creds()
    return SimpleNamespace(mm=mm, fs=fs, files=FdTable(), creds=creds, kernel=None, pending=None,
                           rlimits=list(DEFAULT_RLIMITS))


def call(task, name, *args):
    try:
        return asyncio.run(SYSCALLS[SYSCALL_NUMBERS[name]].handler(task, *args))
    except Errno as e:
        return -e.code


def open_file(task) -> int:
    task.mm.write(BASE, b"/f\0")
    return call(task, "openat", AT_FDCWD, BASE, O_CREAT | O_RDWR, 0o644)


def write(task, fd, data: bytes) -> int:
    task.mm.write(BASE + PAGE_SIZE, data)
    return call(task, "write", fd, BASE + PAGE_SIZE, len(data))


BUF = BASE + 32 * PAGE_SIZE


def test_reads_return_the_file_and_the_file_grows_afterwards():
    task = make_task()
    fd = open_file(task)
    data = bytes(i & 0xFF for i in range(5 * PAGE_SIZE + 7))
    assert write(task, fd, data) == len(data)
    assert call(task, "lseek", fd, 0, 0) == 0
    got = b""
    while True:
        n = call(task, "read", fd, BUF + 3, 3 * PAGE_SIZE)
        if n == 0:
            break
        got += task.mm.read(BUF + 3, n)
    assert got == data
    assert write(task, fd, b"more" * 4096) == 16384         # the lent view is gone: growing works
    assert call(task, "pread64", fd, BUF, 10, 2) == 10
    assert task.mm.read(BUF, 10) == data[2:12]
    assert call(task, "pread64", fd, BUF, 100, len(data) + 16384 - 4) == 4
    assert task.mm.read(BUF, 4) == b"more"


def test_a_truncated_up_tail_reads_as_zeros():
    task = make_task()
    fd = open_file(task)
    write(task, fd, b"head")
    assert call(task, "ftruncate", fd, 3 * PAGE_SIZE) == 0
    task.mm.write(BUF, b"\xff" * (3 * PAGE_SIZE))
    assert call(task, "pread64", fd, BUF, 3 * PAGE_SIZE, 0) == 3 * PAGE_SIZE
    assert task.mm.read(BUF, 3 * PAGE_SIZE) == b"head" + bytes(3 * PAGE_SIZE - 4)


def test_efault_leaves_the_position_alone():
    task = make_task()
    fd = open_file(task)
    write(task, fd, b"x" * (2 * PAGE_SIZE))
    call(task, "lseek", fd, 100, 0)
    end = BASE + PAGES * PAGE_SIZE
    assert call(task, "read", fd, end - 10, 1000) == -errno.EFAULT
    assert call(task, "lseek", fd, 0, 1) == 100
    assert call(task, "read", fd, BUF, 1000) == 1000
    assert call(task, "lseek", fd, 0, 1) == 1100
