"""Bad input everywhere (issue 19 item 6): ext4 and FAT images with random bytes flipped in
their metadata, ELF files with damaged headers, broken #! lines and a damaged initramfs
give a clear error (or EIO/EUCLEAN on the damaged object), never a kernel bug or a hang.
The suite runs moss-host with --strict, so a host exception anywhere ends the run (125).
The guest never reaches a host file outside the images it was given."""
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import IMAGE, PROGRAMS, image_with, moss_run

pytestmark = pytest.mark.qemu

SEED = 19                   # the images and files are the same on every run
TRIALS = 4                  # damaged copies per region


def flip(data: bytearray, rng: random.Random, start: int, length: int, count: int = 4) -> None:
    for _ in range(count):
        data[start + rng.randrange(length)] ^= 1 << rng.randrange(8)


def debugfs(img: Path, request: str) -> str:
    return subprocess.run(["debugfs", "-R", request, str(img)], capture_output=True, text=True).stdout


def ext4_image(tmp_path: Path) -> tuple[bytes, dict]:
    """A small ext4 (1 KiB blocks) with a directory tree; the byte ranges of its metadata."""
    src = tmp_path / "src"
    (src / "dir" / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha\n" * 100)
    (src / "dir" / "b.bin").write_bytes(bytes(range(256)) * 200)
    (src / "dir" / "sub" / "c").write_text("c\n")
    (src / "link").symlink_to("dir/sub/c")
    img = tmp_path / "clean.ext4"
    subprocess.run(["mkfs.ext4", "-q", "-F", "-b", "1024", "-d", str(src), str(img), "4M"], check=True,
                   capture_output=True)
    regions = {"superblock": (1024, 1024), "group descriptors": (2048, 64)}
    for name, path in (("root inode", "<2>"), ("file inode", "/dir/b.bin"), ("dir inode", "/dir")):
        m = re.search(r"located at block (\d+), offset (0x[0-9a-f]+)", debugfs(img, f"imap {path}"))
        assert m, name
        regions[name] = (int(m[1]) * 1024 + int(m[2], 16), 256)
    for name, path in (("root directory", "/"), ("sub directory", "/dir")):
        block = int(debugfs(img, f"blocks {path}").split()[0])
        regions[name] = (block * 1024, 1024)
    return img.read_bytes(), regions


def fat_image(tmp_path: Path) -> tuple[bytes, dict]:
    img = tmp_path / "clean.fat"
    subprocess.run(["mkfs.vfat", "-C", str(img), "2048"], check=True, capture_output=True)
    (tmp_path / "f.txt").write_text("fat file\n" * 50)
    subprocess.run(["mmd", "-i", str(img), "::/d"], check=True, capture_output=True)
    subprocess.run(["mcopy", "-i", str(img), str(tmp_path / "f.txt"), "::/d/f.txt"], check=True, capture_output=True)
    subprocess.run(["mcopy", "-i", str(img), str(tmp_path / "f.txt"), "::/top.txt"], check=True, capture_output=True)
    data = img.read_bytes()
    reserved = int.from_bytes(data[14:16], "little")
    fats, fat_sectors = data[16], int.from_bytes(data[22:24], "little")
    root = (reserved + fats * fat_sectors) * 512
    return data, {"boot sector": (0, 90), "FAT": (reserved * 512, 512), "root directory": (root, 512)}


def damaged(clean: bytes, regions: dict, rng: random.Random) -> list[bytes]:
    out = []
    for start, length in regions.values():
        for _ in range(TRIALS):
            data = bytearray(clean)
            flip(data, rng, start, length)
            out.append(bytes(data))
    return out


def run_guest(tmp_path: Path, files: dict, script: str, timeout: float = 600):
    run = moss_run("/bin/sh", "-c", script, image=image_with(tmp_path, files), timeout=timeout)
    err = run.stderr.decode(errors="replace")
    assert "kernel bug" not in err and "Traceback" not in err and "internal error" not in err, err[-3000:]
    assert run.returncode == 0, err[-3000:]
    return run.stdout.decode(errors="replace")


MOUNT_AND_READ = ("for f in {names}; do "
                  "mount -o loop,ro -t {fstype} /$f /mnt 2>/dev/null; echo \"$f mount $?\"; "
                  "if grep -q ' /mnt ' /proc/mounts; then "
                  "ls -laR /mnt >/dev/null 2>&1; find /mnt -type f -exec cat {{}} + >/dev/null 2>&1; "
                  "find /mnt -type l -exec readlink {{}} + >/dev/null 2>&1; umount /mnt; fi; done; echo done")


@pytest.mark.parametrize("fstype", ["ext4", "vfat"])
def test_damaged_filesystem_images_fail_cleanly(tmp_path, fstype):
    if not all(shutil.which(t) for t in ("mkfs.ext4", "debugfs", "mkfs.vfat", "mcopy", "cpio")):
        pytest.fail("mkfs.ext4, debugfs, mkfs.vfat, mtools and cpio are needed (scripts/setup.sh)")
    clean, regions = ext4_image(tmp_path) if fstype == "ext4" else fat_image(tmp_path)
    images = damaged(clean, regions, random.Random(SEED))
    files = {}
    for i, data in enumerate(images):
        path = tmp_path / f"bad{i}.img"
        path.write_bytes(data)
        files[path.name] = path
    out = run_guest(tmp_path, files, MOUNT_AND_READ.format(names=" ".join(files), fstype=fstype))
    assert out.endswith("done\n"), out
    assert out.count(" mount ") == len(images)


def damaged_elves(rng: random.Random) -> list[bytes]:
    out = []
    for program in ("hello", "hello_pie"):
        clean = (PROGRAMS / program).read_bytes()
        phoff, phnum = int.from_bytes(clean[32:40], "little"), int.from_bytes(clean[56:58], "little")
        for start, length in ((0, 64), (phoff, 56 * phnum)):
            for _ in range(2 * TRIALS):
                data = bytearray(clean)
                flip(data, rng, start, length, count=2)
                out.append(bytes(data))
    return out


def test_damaged_elf_files_and_shebangs_fail_cleanly(tmp_path):
    files = {}
    for i, data in enumerate(damaged_elves(random.Random(SEED))):
        path = tmp_path / f"elf{i}"
        path.write_bytes(data)
        path.chmod(0o755)
        files[path.name] = path
    shebangs = [b"#!", b"#!\n", b"#!/nonexistent\n", b"#! \t\n", b"#!" + b"/" * 300 + b"\n",
                b"#!/bin/sh" + b" -x" * 200 + b"\n", b"#!/self0\n", b"#!\x00\xff\xfe\n", b"#!/bin/sh\0-c\n"]
    for i, text in enumerate(shebangs):
        path = tmp_path / f"self{i}"
        path.write_bytes(text if text != b"#!/self0\n" else b"#!/self0\n")
        path.chmod(0o755)
        files[path.name] = path
    script = ("for f in " + " ".join(files) + "; do timeout 5 /$f </dev/null >/dev/null 2>&1; "
              "echo \"$f $?\"; done; echo done")
    out = run_guest(tmp_path, files, script)
    assert out.endswith("done\n"), out
    assert out.count("\n") == len(files) + 1
    assert "self6 126" in out or "self6 2" in out or re.search(r"self6 \d+", out)      # a script that runs itself: ELOOP


def newc_headers(archive: bytes) -> list[int]:
    """The offsets of the 110-byte headers of a cpio newc archive."""
    offsets, pos = [], 0
    while pos + 110 <= len(archive) and archive[pos:pos + 6] == b"070701":
        offsets.append(pos)
        namesize, filesize = int(archive[pos + 94:pos + 102], 16), int(archive[pos + 54:pos + 62], 16)
        pos = (pos + 110 + namesize + 3) & ~3
        pos = (pos + filesize + 3) & ~3
    return offsets


def test_a_damaged_initramfs_is_a_clear_error(tmp_path):
    """The clean initramfs followed by a small archive whose headers (magic, sizes, modes,
    names' lengths) are damaged: the root loads without it (a clear error) or with what
    could be read of it, and the shell runs."""
    extra = tmp_path / "extra"
    extra.mkdir()
    names = []
    for i in range(6):
        (extra / f"f{i}").write_bytes(bytes([65 + i]) * (100 * i + 1))
        names.append(f"f{i}")
    (extra / "d").mkdir()
    names.append("d")
    archive = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], input="\n".join(names).encode(),
                             cwd=extra, capture_output=True, check=True).stdout
    headers = newc_headers(archive)
    assert len(headers) == len(names) + 1            # and the trailer
    rng = random.Random(SEED)
    clean = IMAGE.read_bytes()
    for trial in range(6):
        data = bytearray(archive)
        for _ in range(3):
            data[rng.choice(headers) + rng.randrange(110)] ^= 1 << rng.randrange(8)
        bad = tmp_path / f"bad{trial}.cpio"
        bad.write_bytes(clean + bytes(data))
        run = moss_run("/bin/sh", "-c", "ls -la / >/dev/null; cat /f* >/dev/null 2>&1; echo ok", image=bad,
                       timeout=300)
        err = run.stderr.decode(errors="replace")
        assert "Traceback" not in err and "internal error" not in err and "kernel bug" not in err, err[-2000:]
        if run.returncode:
            assert run.returncode == 125 and "not a valid initramfs" in err, err[-2000:]
        else:
            assert run.stdout == b"ok\n"


def test_the_guest_reaches_no_host_file(tmp_path):
    """Symlinks, .., /proc/self/root and device nodes all stay inside the guest's root: the
    host's /etc/hostname (moss-py's is "moss") is never what the guest reads."""
    host_name = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else None
    script = ("cd /; cat /../../../../etc/hostname; cat /proc/self/root/etc/hostname; "
              "cat /proc/1/root/../../etc/hostname; ln -s /../../../etc/hostname /tmp/l 2>/dev/null || "
              "ln -s /../../../etc/hostname /l; cat /tmp/l 2>/dev/null || cat /l; "
              "readlink /proc/self/root; mknod /b0 b 7 0 2>/dev/null; cat /b0 2>&1 | head -c 0; "
              "mknod /m b 1 0 2>/dev/null; ls /dev/../.. | head -c 0; echo done")
    out = run_guest(tmp_path, {}, script)
    lines = out.splitlines()
    assert lines[:4] == ["moss"] * 4, out
    assert lines[4] == "/" and lines[-1] == "done", out
    if host_name and host_name != "moss":
        assert host_name not in out
