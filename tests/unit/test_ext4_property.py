"""Property test: random sequences of create/write/truncate/rename/unlink/mkdir/rmdir applied
to the ext4 driver (through the VFS) and to a dict model must agree; afterwards the image
must pass e2fsck -fn and read back the same after a remount."""
import atexit
import shutil
import stat as S
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moss_host.errors import Errno
from moss_host.fs.vfs import vfs_create, vfs_mkdir, vfs_rename, vfs_rmdir, vfs_unlink

from .test_ext4_support import at, fsck, mkfs, mount, read_all, unmount_and_check, vfs

NAMES = [b"a", b"b", b"c", b"long_name_" * 8]
_template: dict[str, Path] = {}


def template(kind: str) -> Path:
    """One freshly made image per kind (ext4 with 1 KiB or 4 KiB blocks, ext2 with block maps)
    for the whole run; each example works on a copy."""
    if kind not in _template:
        d = Path(tempfile.mkdtemp(prefix="ext4prop"))
        atexit.register(shutil.rmtree, d, True)
        args = {"1k": ("4M", "ext4"), "4k": ("8M", "ext4", "-b", "4096"), "ext2": ("4M", "ext2")}[kind]
        _template[kind] = mkfs(d / "template.img", None, *args)
    return _template[kind]


class Model:
    """The expected tree: directories as a set of paths, files as path -> bytes."""

    def __init__(self):
        self.dirs = {b""}
        self.files: dict[bytes, bytes] = {}

    def children(self, d: bytes) -> list[bytes]:
        return [p for p in list(self.dirs) + list(self.files) if p and p.rpartition(b"/")[0] == d]

    def exists(self, p: bytes) -> bool:
        return p in self.dirs or p in self.files


small_or_large = st.one_of(st.integers(0, 5000), st.integers(0, 300_000))   # within a block or two, or far

file_op = st.one_of(
    st.tuples(st.just("write"), st.integers(0, 50), small_or_large, st.binary(min_size=1, max_size=5000)),
    st.tuples(st.just("truncate"), st.integers(0, 50), small_or_large),
)
op = st.one_of(
    file_op, file_op,                        # data operations twice as often as each namespace one
    st.tuples(st.just("create"), st.integers(0, 50), st.sampled_from(NAMES),
              st.binary(max_size=3000), st.integers(0, 40_000)),
    st.tuples(st.just("write"), st.integers(0, 50), small_or_large, st.binary(min_size=1, max_size=5000)),
    st.tuples(st.just("truncate"), st.integers(0, 50), small_or_large),
    st.tuples(st.just("mkdir"), st.integers(0, 50), st.sampled_from(NAMES)),
    st.tuples(st.just("unlink"), st.integers(0, 50)),
    st.tuples(st.just("rmdir"), st.integers(0, 50)),
    st.tuples(st.just("rename"), st.integers(0, 50), st.integers(0, 50), st.sampled_from(NAMES)),
)


def pick(items, i):
    items = sorted(items)
    return items[i % len(items)] if items else None


def split(p: bytes) -> tuple[bytes, bytes]:
    parent, _, name = p.rpartition(b"/")
    return parent, name


def loc(ctx, p: bytes):
    return at(ctx, b"/" + p)


def apply(ctx, m: Model, action) -> None:
    kind = action[0]
    if kind == "create":
        _, di, name, data, off = action
        d = pick(m.dirs, di)
        p = (d + b"/" + name).lstrip(b"/")
        if m.exists(p):
            return
        f = vfs_create(loc(ctx, d), name, S.S_IFREG | 0o644, None).inode
        if data:
            f.write(off, data)
            m.files[p] = bytes(off) + data
        else:
            m.files[p] = b""
    elif kind == "write":
        _, fi, off, data = action
        p = pick(m.files, fi)
        if p is not None:
            loc(ctx, p).inode.write(off, data)
            old = m.files[p]
            buf = bytearray(old.ljust(off, b"\0"))
            buf[off:off + len(data)] = data
            m.files[p] = bytes(buf)
    elif kind == "truncate":
        _, fi, size = action
        p = pick(m.files, fi)
        if p is not None:
            loc(ctx, p).inode.truncate(size)
            m.files[p] = m.files[p][:size].ljust(size, b"\0")
    elif kind == "mkdir":
        _, di, name = action
        d = pick(m.dirs, di)
        p = (d + b"/" + name).lstrip(b"/")
        if not m.exists(p):
            vfs_mkdir(loc(ctx, d), name, 0o755, None)
            m.dirs.add(p)
    elif kind == "unlink":
        p = pick(m.files, action[1])
        if p is not None:
            vfs_unlink(loc(ctx, split(p)[0]), split(p)[1], None)
            del m.files[p]
    elif kind == "rmdir":
        p = pick(m.dirs - {b""}, action[1])
        if p is not None:
            _expect(lambda: vfs_rmdir(loc(ctx, split(p)[0]), split(p)[1], None), not m.children(p))
            if not m.children(p):
                m.dirs.discard(p)
    elif kind == "rename":
        _rename(ctx, m, *action[1:])


def _expect(fn, ok: bool) -> None:
    """Run fn; it must succeed iff the model says the operation is valid."""
    try:
        fn()
    except Errno:
        assert not ok, "driver refused a valid operation"
        return
    assert ok, "driver accepted an invalid operation"


def _rename(ctx, m: Model, si: int, di: int, name: bytes) -> None:
    src = pick((m.dirs - {b""}) | set(m.files), si)
    d = pick(m.dirs, di)
    if src is None:
        return
    dst = (d + b"/" + name).lstrip(b"/")
    if dst == src:
        return
    src_dir = src in m.dirs
    ok = True
    if src_dir and (d == src or d.startswith(src + b"/")):
        ok = False                                   # into itself
    elif dst in m.dirs:
        ok = src_dir and not m.children(dst)
    elif dst in m.files:
        ok = not src_dir
    _expect(lambda: vfs_rename(loc(ctx, split(src)[0]), split(src)[1], loc(ctx, d), name, None), ok)
    if not ok:
        return
    if src_dir:
        m.dirs.discard(dst)
        moved = [p for p in m.dirs if p == src or p.startswith(src + b"/")]
        for p in moved:
            m.dirs.discard(p)
            m.dirs.add(dst + p[len(src):])
        for p in [p for p in m.files if p.startswith(src + b"/")]:
            m.files[dst + p[len(src):]] = m.files.pop(p)
    else:
        m.files[dst] = m.files.pop(src)


def compare(ctx, m: Model) -> None:
    for d in m.dirs:
        names = {e.name for e in loc(ctx, d).inode.readdir(0)} - {b".", b"..", b"lost+found"}
        assert names == {split(c)[1] for c in m.children(d)}, d
        assert loc(ctx, d).inode.nlink == 2 + sum(c in m.dirs for c in m.children(d)) + (d == b"")
    for p, data in m.files.items():
        assert read_all(loc(ctx, p).inode) == data, p


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["1k", "4k", "ext2"]), actions=st.lists(op, min_size=10, max_size=40))
def test_random_operations_match_a_model_and_leave_a_clean_filesystem(kind, actions):
    work = Path(tempfile.mkdtemp(prefix="ext4ex"))
    try:
        img = work / "img"
        shutil.copy(template(kind), img)
        fs = mount(img)
        ctx = vfs(fs)
        m = Model()
        for action in actions:
            apply(ctx, m, action)
        compare(ctx, m)
        unmount_and_check(fs, img)
        compare(vfs(mount(img, read_only=True)), m)
        fsck(img)
    finally:
        shutil.rmtree(work, ignore_errors=True)
