"""Helpers shared by the FAT tests (no tests here; the name follows the test_fat* pattern):
images made by mkfs.fat and filled by mtools, mounted through the driver, and checked by
fsck.fat -n and by reading them back with mtools (another implementation sees the data)."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from moss_host.fs.blockdev import BlockDevice
from moss_host.fs.drivers.fat import FatSuperblock, mount_fat
from moss_host.fs.path import lookup
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import FsContext, Location

ENV = {**os.environ, "TZ": "UTC", "LC_ALL": "C.UTF-8", "MTOOLS_SKIP_CHECK": "1", "MTOOLS_NO_VFAT": "0"}
FAT32_SIZE = "33M"          # the smallest FAT32 with 512-byte clusters that mtools accepts (>= 65525 clusters)


def run(*cmd: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, env=ENV, input=input)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} failed: {r.stdout.decode(errors='replace')}{r.stderr.decode(errors='replace')}")
    return r


def mkfs(img: Path, size: str = FAT32_SIZE, bits: int = 32) -> Path:
    """A fresh FAT image: FAT32 with one 512-byte sector per cluster by default."""
    if img.exists():
        img.unlink()
    run("truncate", "-s", size, str(img))
    run("mkfs.fat", "-F", str(bits), "-S", "512", "-s", "1", str(img))
    return img


def mcopy(img: Path, src: Path, dest: str = "::/") -> None:
    """Copy a host file or directory tree into the image (mcopy -s -m keeps the mtimes)."""
    run("mcopy", "-s", "-m", "-i", str(img), str(src), dest)


def mtype(img: Path, path: str) -> bytes:
    return run("mtype", "-i", str(img), "::" + path).stdout


def mlist(img: Path) -> list[str]:
    """Every path in the image as mtools sees it (directories end in '/')."""
    r = run("mdir", "-/", "-b", "-i", str(img), "::/", check=False)
    if r.returncode != 0 and b"not found" in r.stderr:
        return []                                   # mdir's answer for an empty root
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    return sorted(line[2:] for line in out.splitlines() if line.startswith("::"))


def mount(img: Path, read_only: bool = False, **kw) -> FatSuperblock:
    return mount_fat(BlockDevice(str(img), read_only=read_only), read_only=read_only, **kw)


def vfs(fs: FatSuperblock) -> FsContext:
    return FsContext(MountTable(fs).root_location())


def at(ctx: FsContext, path: bytes) -> Location:
    return lookup(ctx, path, follow=False)


_FSCK_NORMAL = re.compile(r"^(fsck\.fat \d.*|\S+: \d+ files, \d+/\d+ clusters|)$")


def fsck(img: Path) -> str:
    """fsck.fat -n must exit 0 and print nothing but its banner and summary."""
    r = run("fsck.fat", "-n", str(img), check=False)
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode == 0, out
    odd = [line for line in out.splitlines() if not _FSCK_NORMAL.match(line)
           and "clusters, less than" not in line and "according to fat_length" not in line
           and "may lead to problems" not in line]
    assert not odd, out
    return out


def unmount_and_check(fs: FatSuperblock, img: Path) -> str:
    fs.unmount()
    fs.blockdev.close()
    return fsck(img)


def read_all(inode) -> bytes:
    return inode.read(0, inode.size)


def names(inode) -> set[bytes]:
    return {e.name for e in inode.readdir(0)} - {b".", b".."}
