"""No host memory stays behind a process that has come and gone (issue 19: host RSS back to
its starting level after stress). Without QEMU: the fuzz tests' small kernel, tracemalloc."""
from __future__ import annotations

import asyncio
import gc
import random
import signal
import tracemalloc

from moss_host.proc import lifecycle
from tests.unit.test_fuzz_handlers import machine, spawn

WARM = 200                  # first rounds: caches and tables reach their size
ROUNDS = 2000
BOUND = 64 << 10            # bytes: 32 per round; a Task record kept per round is ~2 KiB


def live_bytes() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def test_fork_exit_reap_leaves_nothing_behind():
    async def run() -> int:
        kernel = machine()
        parent = spawn(kernel, random.Random(1))

        def one_child() -> None:
            child = lifecycle.clone_task(parent, signal.SIGCHLD)
            lifecycle.exit_task(child, 0)
            lifecycle.reap(child)
            kernel.mem.take_guest_work()        # the TLB flushes the next guest entry carries
        for _ in range(WARM):
            one_child()
        before = live_bytes()
        for _ in range(ROUNDS):
            one_child()
        return live_bytes() - before
    tracemalloc.start()
    try:
        growth = asyncio.run(run())
    finally:
        tracemalloc.stop()
    assert growth < BOUND, f"{growth} bytes kept after {ROUNDS} fork/exit/reap rounds"


def test_open_close_and_pipes_leave_nothing_behind():
    from moss_host.syscalls.table import SYSCALLS
    from tests.unit.test_fuzz_handlers import BASE

    by_name = {entry.name: entry for entry in SYSCALLS.values()}

    async def run() -> int:
        kernel = machine()
        task = spawn(kernel, random.Random(2))
        task.mm.write(BASE, b"/tmp/f\0")
        AT_FDCWD, O_CREAT_RDWR = -100 & (1 << 64) - 1, 0o102
        pipe_fds = BASE + 64

        async def one_round() -> None:
            fd = await _value(by_name["openat"].handler(task, AT_FDCWD, BASE, O_CREAT_RDWR, 0o644))
            await _value(by_name["close"].handler(task, fd))
            await _value(by_name["pipe2"].handler(task, pipe_fds, 0))
            read_end, write_end = (int.from_bytes(task.mm.read(pipe_fds + 4 * i, 4), "little") for i in (0, 1))
            await _value(by_name["close"].handler(task, read_end))
            await _value(by_name["close"].handler(task, write_end))
        for _ in range(WARM):
            await one_round()
        before = live_bytes()
        for _ in range(ROUNDS):
            await one_round()
        return live_bytes() - before
    tracemalloc.start()
    try:
        growth = asyncio.run(run())
    finally:
        tracemalloc.stop()
    assert growth < BOUND, f"{growth} bytes kept after {ROUNDS} open/close and pipe/close rounds"


async def _value(result):
    """A handler's result, awaited when it is a coroutine."""
    return await result if asyncio.iscoroutine(result) else result


# -- shrinkers: drop_caches' bit 2 (slab) forgets unused dentries and inodes, never used ones

def _ext4_with_tree(tmp_path):
    from .test_ext4_support import make_tree, mkfs, mount, vfs
    src = make_tree(tmp_path / "src", {"a/b/c": b"c\n", "d/e": b"e\n", "f": b"f\n"})
    fs = mount(mkfs(tmp_path / "img", src, "8M", "ext4"))
    return fs, vfs(fs)


def _drop_slab() -> None:
    from moss_host.machine import hostmem
    hostmem.drop_caches(pagecache=False, slab=True)


def test_dentry_prune_drops_unused_names_and_keeps_used_ones(tmp_path):
    from .test_ext4_support import at, read_all
    fs, ctx = _ext4_with_tree(tmp_path)
    for path in (b"/a/b/c", b"/d/e", b"/f"):
        at(ctx, path)
    held = at(ctx, b"/d/e")                     # an open file's or a cwd's Location
    root = fs.root_dentry
    assert set(root.children) >= {b"a", b"d", b"f"}
    _drop_slab()
    assert set(root.children) == {b"d"}         # the path to a used dentry stays
    assert root.children[b"d"].children[b"e"] is held.dentry
    assert read_all(at(ctx, b"/a/b/c").inode) == b"c\n"    # looked up again from the disk
    assert read_all(at(ctx, b"/f").inode) == b"f\n"


def test_ext4_inode_cache_drops_clean_unused_inodes_only(tmp_path):
    import stat as S

    from moss_host.fs.vfs import vfs_create
    from .test_ext4_support import at, read_all
    fs, ctx = _ext4_with_tree(tmp_path)
    c_ino = at(ctx, b"/a/b/c").inode.ino
    held = at(ctx, b"/d/e").inode               # referenced: stays
    opened = at(ctx, b"/f").inode
    opened.opened()                             # open, and no Location kept: stays
    new = vfs_create(at(ctx, b"/"), b"g", S.S_IFREG | 0o644, None).inode
    new.write(0, b"g\n")                        # dirty until the next commit: stays
    new_ino = new.ino
    del new
    _drop_slab()
    assert c_ino not in fs._inodes
    assert fs._inodes[held.ino] is held and fs._inodes[opened.ino] is opened
    assert new_ino in fs._inodes
    assert read_all(at(ctx, b"/a/b/c").inode) == b"c\n" and c_ino in fs._inodes
    assert read_all(at(ctx, b"/g").inode) == b"g\n"
    opened.closed()


def test_tmpfs_names_survive_a_dentry_prune():
    import stat as S

    from moss_host.fs.drivers.tmpfs import Tmpfs
    from moss_host.fs.namespace import MountTable
    from moss_host.fs.path import lookup
    from moss_host.fs.vfs import FsContext, vfs_create, vfs_mkdir
    sb = Tmpfs()
    ctx = FsContext(MountTable(sb).root_location())
    sub = vfs_mkdir(lookup(ctx, b"/", follow=False), b"sub", 0o755, None)
    vfs_create(lookup(ctx, b"/sub", follow=False), b"x", S.S_IFREG | 0o644, None).inode.write(0, b"x")
    del sub
    _drop_slab()
    assert not sb.root_dentry.children
    assert lookup(ctx, b"/sub/x", follow=False).inode.read(0, 1) == b"x"


def test_host_memory_pressure_shrinks_the_caches_once_a_period(tmp_path):
    from moss_host.machine import hostmem

    class Cache:
        def __init__(self) -> None:
            self.drops = 0

        def drop(self) -> None:
            self.drops += 1
    cache = Cache()
    hostmem.register_shrinker(cache.drop, slab=True)

    async def run() -> hostmem.Trimmer:
        trimmer = hostmem.Trimmer(period_s=0.01, memory_low=lambda: True)
        trimmer.start()
        await asyncio.sleep(0.1)
        trimmer.stop()
        return trimmer
    trimmer = asyncio.run(run())
    assert trimmer.shrinks == 1 and cache.drops == 1     # then not again for SHRINK_PERIOD_S
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  1600000 kB\nMemFree: 1000 kB\nMemAvailable:  99000 kB\n")
    assert hostmem.host_memory_low(str(meminfo))
    meminfo.write_text("MemTotal:  1600000 kB\nMemFree: 1000 kB\nMemAvailable:  101000 kB\n")
    assert not hostmem.host_memory_low(str(meminfo))


def test_procfs_forgets_the_inode_numbers_of_gone_pids_only():
    from tests.unit.test_procfs import World
    world = World()
    init = world.spawn(b"init", exe="/bin/busybox")
    world.run_as(init)
    gone = world.spawn(b"sh")
    init_ino = world.lookup(b"/proc/1/status").inode.getattr().st_ino
    world.lookup(f"/proc/{gone.tid}/status".encode())
    world.kernel.pids.remove(gone)
    procfs = world.lookup(b"/proc").mount.sb
    assert f"/{gone.tid}/status".encode() in procfs._path_inos
    _drop_slab()
    assert not any(p.startswith(f"/{gone.tid}/".encode()) for p in procfs._path_inos)
    assert world.lookup(b"/proc/1/status").inode.getattr().st_ino == init_ino
    assert world.lookup(b"/proc/meminfo").inode.getattr().st_ino != init_ino
