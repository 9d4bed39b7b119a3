"""fs/inotify.py and fs/fsnotify.py without QEMU: events raised by the VFS operations on tmpfs,
parent-then-child delivery, coalescing, the record layout, overflow and IN_IGNORED."""
import asyncio
import stat as S

import pytest

from moss_host.errors import EINVAL, Errno
from moss_host.fs import fsnotify as fn
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.file import O_NONBLOCK, O_RDWR, open_file
from moss_host.fs.inotify import EVENT_HEAD, MAX_QUEUED_EVENTS, Inotify
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import FsContext, vfs_mkdir, vfs_rename, vfs_unlink


def _setup():
    ns = MountTable(Tmpfs(mode=0o755))
    fs = FsContext(ns.root_location())
    return fs, Inotify(O_NONBLOCK)


def _events(ino):
    return [(e.wd, e.mask, e.name) for e in ino.events]


def test_vfs_operations_raise_events_parent_first():
    fs, ino = _setup()
    wd = ino.add_watch(fs.root.inode, fn.IN_ALL_EVENTS)
    f = asyncio.run(open_file(fs, fs.root, b"a", O_RDWR | 0o100, 0o644, None))
    fwd = ino.add_watch(f.location.inode, fn.IN_MODIFY)
    asyncio.run(f.write(b"x"))
    asyncio.run(f.write(b"y"))                   # not coalesced: the last event is the file's own
    asyncio.run(f.write(b"z"))
    vfs_mkdir(fs.root, b"d", 0o755, None)
    vfs_rename(fs.root, b"a", fs.root, b"b", None)
    assert _events(ino) == [(wd, fn.IN_CREATE, b"a"), (wd, fn.IN_OPEN, b"a"), (wd, fn.IN_MODIFY, b"a"),
                            (fwd, fn.IN_MODIFY, b""), (wd, fn.IN_MODIFY, b"a"), (fwd, fn.IN_MODIFY, b""),
                            (wd, fn.IN_MODIFY, b"a"), (fwd, fn.IN_MODIFY, b""), (wd, fn.IN_CREATE | fn.IN_ISDIR, b"d"),
                            (wd, fn.IN_MOVED_FROM, b"a"), (wd, fn.IN_MOVED_TO, b"b")]
    cookies = {e.cookie for e in ino.events if e.mask & (fn.IN_MOVED_FROM | fn.IN_MOVED_TO)}
    assert len(cookies) == 1 and 0 not in cookies


def test_delete_self_waits_for_the_last_close_then_ignored():
    fs, ino = _setup()
    f = asyncio.run(open_file(fs, fs.root, b"a", O_RDWR | 0o100, 0o644, None))
    wd = ino.add_watch(f.location.inode, fn.IN_ALL_EVENTS)
    vfs_unlink(fs.root, b"a", None)
    assert _events(ino) == [(wd, fn.IN_ATTRIB, b"")]
    f.get()
    f.put()
    assert _events(ino)[-2:] == [(wd, fn.IN_DELETE_SELF, b""), (wd, fn.IN_IGNORED, b"")]
    assert wd not in ino.marks


def test_records_pad_names_and_a_short_buffer_is_einval():
    fs, ino = _setup()
    ino.queue_event(1, fn.IN_CREATE, 0, b"abc")
    with pytest.raises(Errno) as e:
        asyncio.run(ino.read(EVENT_HEAD.size + 15))
    assert e.value.code == EINVAL
    record = asyncio.run(ino.read(4096))
    assert len(record) == EVENT_HEAD.size + 16 and EVENT_HEAD.unpack_from(record)[3] == 16


def test_a_full_queue_takes_one_overflow_event():
    _, ino = _setup()
    for i in range(MAX_QUEUED_EVENTS + 5):
        ino.queue_event(1, fn.IN_MODIFY if i % 2 else fn.IN_ACCESS, 0, b"")
    assert len(ino.events) == MAX_QUEUED_EVENTS + 1
    assert ino.events[-1].mask == fn.IN_Q_OVERFLOW and ino.events[-1].wd == -1


def test_identical_consecutive_events_coalesce():
    _, ino = _setup()
    for _ in range(3):
        ino.queue_event(1, fn.IN_MODIFY, 0, b"a")
    ino.queue_event(1, fn.IN_MODIFY, 0, b"b")
    assert [e.name for e in ino.events] == [b"a", b"b"]


def test_unwatched_inodes_have_no_marks():
    fs, _ = _setup()
    assert fs.root.inode.fsnotify_marks is None
    assert S.S_ISDIR(fs.root.inode.mode)
