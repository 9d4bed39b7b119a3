"""Corrupt images: random bytes flipped in the metadata of images without checksums (so the
damage reaches the parsers) must only ever produce Errno from mounting, reading and
writing — never a Python exception or a runaway allocation (DESIGN.md hazard 5)."""
import random
import stat as S

import pytest

from moss_host.errors import Errno

from .test_ext4_support import make_tree, mkfs, mount, run

ITERATIONS = 80


def walk(d, depth=0):
    if depth > 8:
        return
    for e in d.readdir(0):
        if e.name in (b".", b".."):
            continue
        try:
            c = d.lookup(e.name)
            c.getattr()
            if c.is_dir:
                walk(c, depth + 1)
            elif c.is_symlink:
                c.readlink()
            else:
                c.read(0, 1 << 20)
        except Errno:
            pass


def mutate(fs):
    root = fs.root
    for e in list(root.readdir(0)):
        if e.name in (b".", b".."):
            continue
        try:
            c = root.lookup(e.name)
            if c.is_dir:
                c.create(b"new", S.S_IFREG | 0o644, 0, 0).write(0, b"q" * 3000)
            else:
                if c.is_reg:
                    c.write(100, b"w" * 5000)
                    c.truncate(10)
                root.unlink(e.name)
        except Errno:
            pass
    try:
        root.mkdir(b"nd", 0o755, 0, 0)
        root.rename(b"nd", root, b"nd2")
    except Errno:
        pass
    fs.unmount()


@pytest.mark.parametrize("kind", [("ext2",), ("ext4", "-O", "^has_journal,^metadata_csum"),
                                  ("ext4", "-O", "^has_journal")])
def test_random_metadata_corruption_only_ever_raises_errno(tmp_path, kind):
    src = make_tree(tmp_path / "src", {"a": bytes(range(256)) * 120, "d/b": b"x" * 5000, "d/e/f": b"y",
                                       "l": ("symlink", "a" * 100),
                                       **{f"many/n{i:03d}_{'q' * 40}": b"z" for i in range(60)}})
    base = mkfs(tmp_path / "base", src, "1M" if kind[0] == "ext2" else "2M", *kind)
    run("e2fsck", "-fyD", str(base), check=False)                 # "many" becomes an htree directory
    base = base.read_bytes()
    rng = random.Random(" ".join(kind))
    img = tmp_path / "img"
    for _ in range(ITERATIONS):
        data = bytearray(base)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(0, 256 * 1024)] = rng.randrange(256)      # metadata, then the files' blocks
        img.write_bytes(data)
        try:
            fs = mount(img, read_only=False)
            walk(fs.root)
            mutate(fs)
        except Errno:
            pass
