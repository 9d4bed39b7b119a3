"""fs/locks.py without QEMU: splitting and merging of an owner's ranges, conflicts only between
owners, flock's drop-then-relock upgrade, release by close and by the open file, /proc/locks."""
import asyncio

import pytest

from moss_host.errors import EAGAIN, Errno
from moss_host.fs import locks
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.stat import major, minor
from moss_host.fs.locks import F_RDLCK, F_UNLCK, F_WRLCK, FLOCK, OFD, OFFSET_MAX, POSIX, FileLock


def _inode():
    sb = Tmpfs(mode=0o755)
    return sb.root.create(b"f", 0o100644, 0, 0)


def _set(inode, owner, type_, start, end, kind=POSIX, wait=False):
    asyncio.run(locks.set_lock(inode, FileLock(kind, owner, 7, type_, start, end), wait))


def _ranges(inode, owner):
    return [(lk.type, lk.start, lk.end) for lk in inode.file_locks.posix if lk.owner is owner]


def test_unlocking_the_middle_splits_and_same_type_neighbours_merge():
    inode, me = _inode(), object()
    _set(inode, me, F_WRLCK, 0, 9)
    _set(inode, me, F_UNLCK, 5, 7)
    assert _ranges(inode, me) == [(F_WRLCK, 0, 4), (F_WRLCK, 8, 9)]
    _set(inode, me, F_WRLCK, 5, 7)
    assert _ranges(inode, me) == [(F_WRLCK, 0, 9)]
    _set(inode, me, F_RDLCK, 3, 4)
    assert _ranges(inode, me) == [(F_WRLCK, 0, 2), (F_RDLCK, 3, 4), (F_WRLCK, 5, 9)]
    _set(inode, me, F_RDLCK, 10, OFFSET_MAX)
    assert _ranges(inode, me)[-1] == (F_RDLCK, 10, OFFSET_MAX)


def test_only_another_owner_conflicts_and_read_locks_share():
    inode, me, other = _inode(), object(), object()
    _set(inode, me, F_RDLCK, 0, 9)
    _set(inode, other, F_RDLCK, 5, 15)
    with pytest.raises(Errno) as e:
        _set(inode, other, F_WRLCK, 0, 0)
    assert e.value.code == EAGAIN
    _set(inode, me, F_WRLCK, 0, 4)              # upgrading my part that nobody else reads
    probe = FileLock(POSIX, other, 8, F_RDLCK, 0, OFFSET_MAX)
    held = locks.test_lock(inode, probe)
    assert held is not None and (held.type, held.start, held.end) == (F_WRLCK, 0, 4)


def test_close_drops_posix_locks_of_the_table_and_release_drops_the_files_locks():
    inode, table, ofile = _inode(), object(), object()
    _set(inode, table, F_WRLCK, 0, 0)
    _set(inode, ofile, F_WRLCK, 5, 5, kind=OFD)
    locks.remove_posix(inode, table)
    assert [lk.owner for lk in inode.file_locks.posix] == [ofile]
    locks.remove_file(inode, ofile)
    assert inode.file_locks.posix == []


def test_a_failed_nonblocking_flock_upgrade_loses_the_shared_lock():
    inode, a, b = _inode(), object(), object()
    asyncio.run(locks.flock(inode, FileLock(FLOCK, a, 1, F_RDLCK), False))
    asyncio.run(locks.flock(inode, FileLock(FLOCK, b, 1, F_RDLCK), False))
    with pytest.raises(Errno):
        asyncio.run(locks.flock(inode, FileLock(FLOCK, a, 1, F_WRLCK), False))
    assert [lk.owner for lk in inode.file_locks.flock] == [b]


def test_proc_locks_lines_look_like_linux():
    inode, me = _inode(), object()
    _set(inode, me, F_WRLCK, 7, 11)
    text = locks.proc_locks_text().decode()
    dev = f"{major(inode.sb.dev):02x}:{minor(inode.sb.dev):02x}"
    assert f"POSIX  ADVISORY  WRITE 7 {dev}:{inode.ino} 7 11\n" in text
    locks.remove_posix(inode, me)
    locks.remove_file(inode, None)


def test_a_waiter_whose_blocker_waits_for_it_is_edeadlk():
    inode, a, b = _inode(), object(), object()
    _set(inode, a, F_WRLCK, 0, 0)
    _set(inode, b, F_WRLCK, 1, 1)

    async def scenario():
        waiter = asyncio.ensure_future(locks.set_lock(inode, FileLock(POSIX, b, 2, F_WRLCK, 0, 0), True))
        await asyncio.sleep(0)              # b now sleeps, blocked by a's lock
        with pytest.raises(Errno) as e:
            await locks.set_lock(inode, FileLock(POSIX, a, 1, F_WRLCK, 1, 1), True)
        assert e.value.code == locks.EDEADLK
        await locks.set_lock(inode, FileLock(POSIX, a, 1, F_UNLCK, 0, 0), False)
        await waiter                        # a let go: b gets it
    asyncio.run(scenario())
    assert (F_WRLCK, 0, 1) in [(lk.type, lk.start, lk.end) for lk in inode.file_locks.posix if lk.owner is b]
    locks.remove_posix(inode, b)
    assert inode.file_locks.posix == []
