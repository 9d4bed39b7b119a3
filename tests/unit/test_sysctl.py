"""/proc/sys and /proc/config.gz without QEMU: the sysctl table's formats, ranges and
permissions (proc_sys_permission), read through the real VFS as test_procfs.py does."""
import asyncio
import errno
import gzip

import pytest

from moss_host.errors import Errno
from moss_host.fs.drivers.procfs.config import OPTIONS, config_text
from moss_host.fs.drivers.procfs.sysctl_values import TUNABLES
from moss_host.fs.file import O_RDONLY, O_WRONLY, open_file
from moss_host.fs.vfs import Cred
from tests.unit.test_procfs import World


@pytest.fixture
def world():
    w = World()
    w.run_as(w.spawn(b"init", exe="/bin/busybox"))
    return w


def write(world, path: bytes, data: bytes, cred=Cred(0, 0)) -> int:
    f = asyncio.run(open_file(world.fs, world.fs.root, path, O_WRONLY, 0, cred, world.caller))
    return asyncio.run(f.write(data))


def errno_of(fn, *args) -> int:
    with pytest.raises(Errno) as e:
        fn(*args)
    return e.value.code


def test_the_tree_has_linux_names_and_formats(world):
    assert world.read(b"/proc/sys/kernel/cap_last_cap") == b"40\n"
    assert world.read(b"/proc/sys/kernel/ngroups_max") == b"65536\n"
    assert world.read(b"/proc/sys/kernel/printk") == b"7\t4\t1\t7\n"
    assert world.read(b"/proc/sys/kernel/domainname") == b"(none)\n"
    assert world.read(b"/proc/sys/vm/overcommit_memory") == b"0\n"
    assert world.read(b"/proc/sys/fs/nr_open") == b"1048576\n"
    assert world.read(b"/proc/sys/fs/file-nr").split(b"\t")[1] == b"0"
    boot_id = world.read(b"/proc/sys/kernel/random/boot_id")
    assert boot_id == world.read(b"/proc/sys/kernel/random/boot_id") and len(boot_id) == 37
    assert world.read(b"/proc/sys/kernel/random/uuid") != world.read(b"/proc/sys/kernel/random/uuid")
    assert b"random" in world.names(b"/proc/sys/kernel")
    assert world.lookup(b"/proc/sys/kernel/ostype").inode.mode & 0o777 == 0o444


def test_writes_are_checked_as_linux(world):
    saved = TUNABLES.pid_max, list(TUNABLES.printk), TUNABLES.core_pattern, TUNABLES.tainted
    try:
        assert write(world, b"/proc/sys/kernel/pid_max", b"4096\n") == 5
        assert world.read(b"/proc/sys/kernel/pid_max") == b"4096\n"
        for bad in (b"300", b"4194305", b"x", b"12x", b"  \n"):
            assert errno_of(write, world, b"/proc/sys/kernel/pid_max", bad) == errno.EINVAL
        write(world, b"/proc/sys/kernel/printk", b"3 5")       # the first values of the vector
        assert world.read(b"/proc/sys/kernel/printk") == b"3\t5\t1\t7\n"
        write(world, b"/proc/sys/kernel/core_pattern", b"core.%p\nignored")
        assert world.read(b"/proc/sys/kernel/core_pattern") == b"core.%p\n"
        write(world, b"/proc/sys/kernel/tainted", b"1")
        write(world, b"/proc/sys/kernel/tainted", b"4")          # bits are only added
        assert world.read(b"/proc/sys/kernel/tainted") == b"5\n"
        assert errno_of(write, world, b"/proc/sys/vm/overcommit_memory", b"3") == errno.EINVAL
    finally:
        TUNABLES.pid_max, TUNABLES.printk, TUNABLES.core_pattern, TUNABLES.tainted = saved


def test_who_may_open_is_proc_sys_permission(world):
    # read-only: EACCES at open even for root; writable: root only, whatever its capabilities
    assert errno_of(write, world, b"/proc/sys/kernel/cap_last_cap", b"1") == errno.EACCES
    assert errno_of(write, world, b"/proc/sys/kernel/pid_max", b"1000", Cred(1000, 1000)) == errno.EACCES
    f = asyncio.run(open_file(world.fs, world.fs.root, b"/proc/sys/kernel/pid_max", O_RDONLY, 0,
                              Cred(1000, 1000), world.caller))
    assert asyncio.run(f.read(100)) == b"%d\n" % TUNABLES.pid_max


def test_config_gz_names_what_is_implemented_and_what_is_not():
    text = gzip.decompress(gzip.compress(config_text())).decode()
    assert "CONFIG_SYSVIPC=y\n" in text and "# CONFIG_IO_URING is not set\n" in text
    assert len({name for name, _ in OPTIONS}) == len(OPTIONS)


def test_every_not_configured_feature_is_not_set_in_config_gz():
    import re

    from moss_host.syscalls import load_all
    from moss_host.syscalls.table import NOT_CONFIGURED
    load_all()
    unset = {name for name, value in OPTIONS if value is None}
    for reason in NOT_CONFIGURED.values():
        for symbol in re.findall(r"CONFIG_[A-Z0-9_]+", reason):
            assert symbol in unset, reason


def test_pipe_max_size_is_what_f_setpipe_sz_checks(world):
    from moss_host.fs.pipe import PIPE_MAX_SIZE, PIPE_SYSCTLS, Pipe
    try:
        write(world, b"/proc/sys/fs/pipe-max-size", b"5000")
        assert world.read(b"/proc/sys/fs/pipe-max-size") == b"8192\n"      # a power of two pages
        pipe = Pipe()
        assert pipe.resize(8192, privileged=False) == 8192
        assert errno_of(pipe.resize, 16384, False) == errno.EPERM
        assert pipe.resize(16384, privileged=True) == 16384
    finally:
        PIPE_SYSCTLS.max_size = PIPE_MAX_SIZE


def test_drop_caches_is_write_only_for_root_and_takes_1_to_4(world, monkeypatch):
    from moss_host.fs.drivers.procfs import sysctl
    dropped = []
    monkeypatch.setattr(sysctl, "drop_caches", lambda pagecache, slab: dropped.append((pagecache, slab)))
    assert write(world, b"/proc/sys/vm/drop_caches", b"3\n") == 2
    assert write(world, b"/proc/sys/vm/drop_caches", b"2") == 1
    assert write(world, b"/proc/sys/vm/drop_caches", b"1") == 1
    assert dropped == [(True, True), (False, True), (True, False)]
    assert errno_of(write, world, b"/proc/sys/vm/drop_caches", b"0") == errno.EINVAL
    assert errno_of(write, world, b"/proc/sys/vm/drop_caches", b"5") == errno.EINVAL
    assert errno_of(lambda: asyncio.run(open_file(world.fs, world.fs.root, b"/proc/sys/vm/drop_caches",
                                                  O_RDONLY, 0, Cred(0, 0), world.caller))) == errno.EACCES
    assert errno_of(write, world, b"/proc/sys/vm/drop_caches", b"3", Cred(1000, 1000)) == errno.EACCES
