"""FAT driver against a model: random sequences of create/write/truncate/rename/unlink/
mkdir/rmdir applied to the driver (through the VFS) and to a dict, compared, then the
image is unmounted, checked by fsck.fat -n and read back with mtools."""
import errno
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moss_host.errors import Errno
from moss_host.fs.vfs import Cred, vfs_create, vfs_mkdir, vfs_rename, vfs_rmdir, vfs_unlink

from .test_fat_support import at, mkfs, mlist, mount, mtype, names, read_all, unmount_and_check, vfs

ROOT = Cred(0, 0)
NAMES = ["a", "b.txt", "Mixed.Case", "a long file name", "another rather long name.data", "x" * 40]
DIR = "dir"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return mkfs(tmp_path_factory.mktemp("fat") / "template.img")


def path_bytes(p: tuple) -> bytes:
    return b"/" + b"/".join(n.encode() for n in p)


def key(p: tuple) -> tuple:
    return tuple(n.upper() for n in p)


class Model:
    def __init__(self):
        self.items: dict[tuple, object] = {}          # key -> (path, bytes | DIR)

    def dirs(self):
        return [()] + [v[0] for v in self.items.values() if v[1] == DIR]

    def files(self):
        return [v[0] for v in self.items.values() if v[1] != DIR]

    def children(self, d: tuple):
        return [v[0] for k, v in self.items.items() if k[:-1] == key(d)]

    def under(self, d: tuple):
        return [k for k in self.items if k[:len(d)] == key(d) and len(k) > len(d)]


def step(data, model: Model, ctx):
    op = data.draw(st.sampled_from(["create", "create", "write", "write", "truncate", "mkdir", "rename",
                                    "unlink", "rmdir"]))
    if op in ("create", "mkdir"):
        parent = data.draw(st.sampled_from(model.dirs()))
        name = data.draw(st.sampled_from(NAMES))
        p = parent + (name,)
        if key(p) in model.items:
            return
        if op == "create":
            content = data.draw(st.binary(max_size=3000))
            inode = vfs_create(at(ctx, path_bytes(parent)), name.encode(), 0o644, ROOT).inode
            inode.write(0, content)
            model.items[key(p)] = (p, content)
        else:
            vfs_mkdir(at(ctx, path_bytes(parent)), name.encode(), 0o755, ROOT)
            model.items[key(p)] = (p, DIR)
    elif op in ("write", "truncate") and model.files():
        p = data.draw(st.sampled_from(sorted(model.files())))
        old = model.items[key(p)][1]
        inode = at(ctx, path_bytes(p)).inode
        if op == "write":
            off = data.draw(st.integers(0, len(old) + 1500))
            chunk = data.draw(st.binary(min_size=1, max_size=2000))
            inode.write(off, chunk)
            new = old.ljust(off, b"\0")
            new = new[:off] + chunk + new[off + len(chunk):]
        else:
            size = data.draw(st.integers(0, 4000))
            inode.truncate(size)
            new = old[:size].ljust(size, b"\0")
        model.items[key(p)] = (p, new)
    elif op == "unlink" and model.files():
        p = data.draw(st.sampled_from(sorted(model.files())))
        vfs_unlink(at(ctx, path_bytes(p[:-1])), p[-1].encode(), ROOT)
        del model.items[key(p)]
    elif op == "rmdir" and len(model.dirs()) > 1:
        p = data.draw(st.sampled_from(sorted(model.dirs()[1:])))
        if model.children(p):
            with pytest.raises(Errno) as e:
                vfs_rmdir(at(ctx, path_bytes(p[:-1])), p[-1].encode(), ROOT)
            assert e.value.code == errno.ENOTEMPTY
        else:
            vfs_rmdir(at(ctx, path_bytes(p[:-1])), p[-1].encode(), ROOT)
            del model.items[key(p)]
    elif op == "rename" and model.items:
        src = data.draw(st.sampled_from(sorted(v[0] for v in model.items.values())))
        parent = data.draw(st.sampled_from(model.dirs()))
        name = data.draw(st.sampled_from(NAMES))
        dst = parent + (name,)
        is_dir = model.items[key(src)][1] == DIR
        if key(dst)[:len(src)] == key(src):
            return                                  # into itself (EINVAL) or onto itself
        target = model.items.get(key(dst))
        if target is not None and ((target[1] == DIR) != is_dir or (is_dir and model.children(dst))):
            return                                  # type mismatch or non-empty target: VFS errors
        vfs_rename(at(ctx, path_bytes(src[:-1])), src[-1].encode(), at(ctx, path_bytes(parent)),
                   name.encode(), ROOT)
        moved = {k: v for k, v in model.items.items() if k[:len(src)] == key(src)}
        for k in moved:
            del model.items[k]
        model.items.pop(key(dst), None)
        for k, (p, v) in moved.items():
            np = dst + p[len(src):]
            model.items[key(np)] = (np, v)


def compare(model: Model, ctx):
    for d in model.dirs():
        want = {p[-1].encode() for p in model.children(d)}
        assert names(at(ctx, path_bytes(d)).inode) == want, d
    for p in model.files():
        assert read_all(at(ctx, path_bytes(p)).inode) == model.items[key(p)][1], p


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(data=st.data())
def test_random_operations_match_a_model_and_leave_the_volume_clean(template, tmp_path, data):
    img = tmp_path / "p.img"
    shutil.copyfile(template, img)
    fs = mount(img)
    ctx = vfs(fs)
    model = Model()
    for _ in range(data.draw(st.integers(1, 40))):
        step(data, model, ctx)
    compare(model, ctx)
    unmount_and_check(fs, img)
    want = sorted(path_bytes(v[0]).decode() + ("/" if v[1] == DIR else "") for v in model.items.values())
    assert mlist(img) == want
    for p in sorted(model.files())[:5]:
        assert mtype(img, path_bytes(p).decode()) == model.items[key(p)][1]
    fs = mount(img, read_only=True)
    compare(model, vfs(fs))
