#!/usr/bin/env python3
"""Build build/rootfs.ext4: the same tree as the initramfs, as an ext4 disk image.

`mkfs.ext4 -d` copies a staged directory into a fresh filesystem with this machine's
default features (extents, flex_bg, 64bit, metadata_csum, ...), as an unprivileged
user; `-E root_owner=0:0` and the ownership fix-up below make every file root's, as
in the initramfs. The image is a disk: it keeps what the guest writes, so it is made
only when missing (or with --force), never silently replaced. `e2fsck -fn` checks it.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_initramfs import BUILD, BUSYBOX, REPO, stage  # noqa: E402

SIZE = "128M"


def build(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="moss-rootfs-") as tmp:
        root = Path(tmp) / "root"
        stage(root)
        tmp_img = out.with_name(out.name + ".tmp")
        tmp_img.unlink(missing_ok=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "moss-root", "-E", "root_owner=0:0",
                        "-d", str(root), str(tmp_img), SIZE], check=True)
        _own_everything_by_root(tmp_img, root)
        tmp_img.replace(out)


def _own_everything_by_root(img: Path, root: Path) -> None:
    """mkfs -d keeps the builder's uid/gid; a non-root build hands every file to root."""
    import os
    if os.geteuid() == 0:
        return
    cmds = "".join(f"sif /{p.relative_to(root)} uid 0\nsif /{p.relative_to(root)} gid 0\n"
                   for p in sorted(root.rglob("*")))
    subprocess.run(["debugfs", "-w", "-f", "-", str(img)], input=cmds.encode(), check=True,
                   capture_output=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=BUILD / "rootfs.ext4")
    ap.add_argument("--force", action="store_true", help="replace an existing image (its changes are lost)")
    args = ap.parse_args()
    if not BUSYBOX.is_file():
        print(f"disk: {BUSYBOX.relative_to(REPO)} missing: run scripts/fetch_debs.sh", file=sys.stderr)
        return 1
    out = args.out.resolve()
    if out.exists() and not args.force:
        print(f"disk: {out.relative_to(REPO) if out.is_relative_to(REPO) else out} exists (keeps its changes; --force remakes it)")
        return 0
    build(out)
    check = subprocess.run(["e2fsck", "-fn", str(out)], capture_output=True, text=True)
    print(f"disk: wrote {out} ({SIZE}); e2fsck -fn: {'clean' if check.returncode == 0 else check.stdout}")
    return 0 if check.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
