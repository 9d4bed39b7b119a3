"""Helpers shared by the ext4 tests (this module has no tests of its own; its name only
follows the test_ext4* pattern the ext4 work owns): build images with mkfs.ext4 -d from
a directory tree, mount them through the driver, and ask e2fsprogs for a second opinion."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from moss_host.fs.blockdev import BlockDevice
from moss_host.fs.drivers.ext4 import Ext4Superblock, mount_ext4
from moss_host.fs.path import lookup
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import FsContext, Location


def run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def make_tree(root: Path, files: dict) -> Path:
    """files: {relative path: bytes | ("symlink", target) | ("hardlink", other) | ("dir",)
    | ("sparse", size, {offset: bytes})}."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, spec in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, bytes):
            p.write_bytes(spec)
        elif spec[0] == "symlink":
            os.symlink(spec[1], p)
        elif spec[0] == "hardlink":
            os.link(root / spec[1], p)
        elif spec[0] == "dir":
            p.mkdir(exist_ok=True)
        elif spec[0] == "sparse":
            with open(p, "wb") as f:
                f.truncate(spec[1])
                for off, data in spec[2].items():
                    f.seek(off)
                    f.write(data)
    return root


def mkfs(img: Path, src: Path | None = None, size: str = "8M", fstype: str = "ext4", *opts: str) -> Path:
    args = [f"mkfs.{fstype}", "-q", "-F", *opts]
    if src is not None:
        args += ["-d", str(src)]
    run(*args, str(img), size)
    return img


def mount(img: Path, read_only: bool = False) -> Ext4Superblock:
    return mount_ext4(BlockDevice(str(img), read_only=read_only), read_only=read_only)


def vfs(fs: Ext4Superblock) -> FsContext:
    return FsContext(MountTable(fs).root_location())


def at(ctx: FsContext, path: bytes) -> Location:
    return lookup(ctx, path, follow=False)


_FSCK_NORMAL = re.compile(r"^(Pass \d[A-Z]?: .*|e2fsck \d.*|\S+: \d+/\d+ files .*|)$")


def fsck(img: Path) -> str:
    """e2fsck -fn must exit 0 and print nothing but its five passes and the summary."""
    r = run("e2fsck", "-fn", str(img), check=False)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    odd = [line for line in out.splitlines() if not _FSCK_NORMAL.match(line)]
    assert not odd, out
    return out


def unmount_and_check(fs: Ext4Superblock, img: Path) -> str:
    fs.unmount()
    fs.blockdev.close()
    return fsck(img)


def debugfs(img: Path, request: str) -> str:
    return run("debugfs", "-R", request, str(img)).stdout


def debugfs_cat(img: Path, path: str) -> bytes:
    return subprocess.run(["debugfs", "-R", f"cat {path}", str(img)], capture_output=True, check=True).stdout


def debugfs_write(img: Path, *requests: str) -> None:
    script = img.parent / "debugfs.cmds"
    script.write_text("\n".join(requests) + "\n")
    run("debugfs", "-w", "-f", str(script), str(img))


def dumpe2fs_header(img: Path) -> dict[str, str]:
    out = run("dumpe2fs", "-h", str(img)).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines()) if v}


def read_all(inode) -> bytes:
    return inode.read(0, inode.size)
