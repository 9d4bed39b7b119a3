#!/usr/bin/env python3
"""Build build/initramfs.cpio: the root filesystem moss-py (and Linux, for comparison) boots.

Contents:
  /bin/busybox            Debian's busybox-static (scripts/fetch_debs.sh puts it in build/debs/root)
  a symlink per applet    from `busybox --list-full`, run under qemu-aarch64 (/bin/sh, /sbin/init, ...)
  /init -> /bin/busybox   so Linux's initramfs boot (rdinit=/init) starts busybox init too
  /etc/...                everything under images/rootfs/ (passwd, group, hostname, inittab, profile)
  /proc /dev /tmp /root /sys /tests and friends, empty
  /dev/console, /dev/null device nodes, when built as root (Linux needs /dev/console)
  /tests/NAME             every compiled test program from build/programs/

The archive is written by the real `cpio -o -H newc`, every entry owned by root, with fixed
timestamps, so the same inputs give the same bytes. It is rebuilt only when an input changed
(a digest of all inputs is kept in build/initramfs.cpio.inputs); --force rebuilds anyway.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"
BUSYBOX = BUILD / "debs" / "root" / "bin" / "busybox"
ROOTFS = REPO / "images" / "rootfs"
PROGRAMS = BUILD / "programs"

# Empty directories and their modes.
DIRS = {
    "bin": 0o755, "sbin": 0o755, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755,
    "etc": 0o755, "proc": 0o555, "sys": 0o555, "dev": 0o755, "tmp": 0o1777,
    "root": 0o700, "tests": 0o755, "mnt": 0o755, "var": 0o755, "run": 0o755,
}
# Character devices made when running as root: name -> (major, minor, mode).
DEVICES = {"dev/console": (5, 1, 0o600), "dev/null": (1, 3, 0o666)}


def files_under(top: Path) -> list[Path]:
    """Regular files below `top`, sorted (empty when `top` is missing)."""
    if not top.is_dir():
        return []
    return sorted(p for p in top.rglob("*") if p.is_file())


def input_digest() -> str:
    """One digest over every input: names, modes and contents, plus this script."""
    h = hashlib.sha256()
    inputs = [Path(__file__).resolve(), BUSYBOX, *files_under(ROOTFS), *files_under(PROGRAMS)]
    for path in inputs:
        h.update(str(path.relative_to(REPO)).encode() + b"\0")
        h.update(oct(path.stat().st_mode).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    h.update(b"root" if os.geteuid() == 0 else b"user")
    h.update(os.environ.get("SOURCE_DATE_EPOCH", "0").encode())
    return h.hexdigest()


def busybox_applets() -> list[str]:
    """Paths (like 'bin/ls', 'usr/sbin/chroot') of busybox's applets, as it reports them."""
    out = subprocess.run(["qemu-aarch64", str(BUSYBOX), "--list-full"],
                         check=True, capture_output=True, text=True).stdout
    return [line.strip().lstrip("/") for line in out.splitlines() if line.strip()]


def stage(root: Path) -> None:
    """Lay out the filesystem tree under `root`."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for name, mode in DIRS.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        os.chmod(root / name, mode)

    shutil.copyfile(BUSYBOX, root / "bin" / "busybox")
    os.chmod(root / "bin" / "busybox", 0o755)
    for applet in busybox_applets():
        if applet == "bin/busybox":
            continue
        link = root / applet
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to("/bin/busybox")
    (root / "init").symlink_to("/bin/busybox")

    for src in files_under(ROOTFS):
        dst = root / src.relative_to(ROOTFS)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        os.chmod(dst, stat.S_IMODE(src.stat().st_mode))

    for prog in files_under(PROGRAMS):
        dst = root / "tests" / prog.name
        shutil.copyfile(prog, dst)
        os.chmod(dst, 0o755)

    if os.geteuid() == 0:
        for name, (major, minor, mode) in DEVICES.items():
            os.mknod(root / name, mode | stat.S_IFCHR, os.makedev(major, minor))
            os.chmod(root / name, mode)
    else:
        print("initramfs: not root, so no /dev/console node (booting real Linux on it will warn)")

    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    for path in [root, *root.rglob("*")]:
        os.utime(path, (epoch, epoch), follow_symlinks=False)


def write_cpio(root: Path, out: Path) -> int:
    """Archive `root` into `out` with cpio (newc, owner 0:0); returns the entry count."""
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f:
        subprocess.run(["cpio", "-o", "-H", "newc", "--owner=0:0", "--reproducible", "--quiet"],
                       cwd=root, input="\n".join(names).encode() + b"\n", stdout=f, check=True)
    tmp.replace(out)
    return len(names)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=BUILD / "initramfs.cpio")
    ap.add_argument("--force", action="store_true", help="rebuild even if no input changed")
    args = ap.parse_args()

    if not BUSYBOX.is_file():
        print(f"initramfs: {BUSYBOX.relative_to(REPO)} missing: run scripts/fetch_debs.sh", file=sys.stderr)
        return 1
    if not files_under(PROGRAMS):
        print("initramfs: warning: no test programs in build/programs (run `just programs`)")

    out = args.out.resolve()
    stamp = out.with_name(out.name + ".inputs")
    digest = input_digest()
    if not args.force and out.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        print(f"initramfs: {out.relative_to(REPO) if out.is_relative_to(REPO) else out} up to date")
        return 0

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(out.stem + ".d")
    stage(staging)
    count = write_cpio(staging, out)
    stamp.write_text(digest + "\n")
    shown = out.relative_to(REPO) if out.is_relative_to(REPO) else out
    print(f"initramfs: wrote {shown} ({count} entries, {out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
