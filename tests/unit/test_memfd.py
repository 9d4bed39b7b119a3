"""fs/memfd.py without QEMU: the file memfd_create makes, seals and what they refuse."""
import pytest

from moss_host.errors import EBUSY, EINVAL, EPERM, Errno
from moss_host.fs import memfd
from moss_host.fs.file import O_RDONLY, InodeFile
from moss_host.fs.memfd import (F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, SHMEM_DEV, MemfdInode)


def _errno(fn, *args):
    with pytest.raises(Errno) as e:
        fn(*args)
    return e.value.code


def test_a_memfd_is_an_unlinked_0777_file_on_the_shmem_device():
    f = memfd.memfd_create(b"x", 0, True, None)
    st = f.stat()
    assert (st.st_mode, st.st_nlink, st.st_dev) == (0o100777, 0, SHMEM_DEV)
    assert f.location.dentry.unlinked and f.location.dentry.name == b"memfd:x"
    assert f.readable and f.writable


def test_seals_grow_and_refuse_what_they_name():
    f = memfd.memfd_create(b"s", 0, True, None)
    inode = f.location.inode
    assert isinstance(inode, MemfdInode)
    inode.write(0, b"a" * 5000)
    memfd.add_seals(f, F_SEAL_SHRINK | F_SEAL_GROW, [])
    assert _errno(inode.truncate, 10) == EPERM and _errno(inode.truncate, 9000) == EPERM
    assert inode.write_limit(4000, 2000) == 96                 # up to the page boundary, a short write
    assert _errno(inode.write_limit, 4096, 2000) == EPERM      # the first page chunk would grow it
    assert inode.write_limit(0, 5000) == 5000
    assert _errno(memfd.add_seals, f, F_SEAL_WRITE, [object()]) == EBUSY
    memfd.add_seals(f, F_SEAL_WRITE | F_SEAL_SEAL, [])
    assert _errno(inode.write_limit, 0, 1) == EPERM
    assert _errno(memfd.add_seals, f, F_SEAL_SHRINK, []) == EPERM
    assert memfd.seals_of(f) == F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL


def test_without_allow_sealing_only_f_seal_seal_and_a_read_only_file_may_not_seal():
    f = memfd.memfd_create(b"n", 0, False, None)
    assert memfd.seals_of(f) == F_SEAL_SEAL
    assert _errno(memfd.add_seals, f, F_SEAL_SHRINK, []) == EPERM
    ro = InodeFile(f.location, O_RDONLY)
    assert _errno(memfd.add_seals, ro, F_SEAL_SHRINK, []) == EPERM
    g = memfd.memfd_create(b"m", 0, True, None)
    assert _errno(memfd.add_seals, g, 0x40, []) == EINVAL
