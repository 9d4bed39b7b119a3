"""Build what the benchmarks need, only when inputs changed.

* ``build/bench/programs/*``: bench/programs/*.c, static AArch64
  (``aarch64-linux-gnu-gcc -O2 -static``; ``true_static`` without libc).
* ``build/bench/moss-initramfs.cpio``: busybox + applet links, /bench/*
  (programs and scripts), newc format, owner 0:0 (for ``moss-host run``).
* the Linux initramfs (gzip'd, same contents plus /init and /dev/console) is
  built by tests/qemu/linux_oracle.py, which also fetches Debian's kernel.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "bench" / "programs"
SCRIPTS = REPO / "bench" / "scripts"
OUT = REPO / "build" / "bench"
PROGRAMS = OUT / "programs"
MOSS_IMAGE = OUT / "moss-initramfs.cpio"
CC = os.environ.get("BENCH_CC", "aarch64-linux-gnu-gcc")
CFLAGS = ["-O2", "-static", "-s", "-Wall"]


def oracle_module():
    """tests/qemu/linux_oracle.py (kernel, busybox, cpio writer, LinuxOracle),
    shared with the tests: imported as ``tests.qemu.linux_oracle`` (the same
    module object pytest uses), else loaded by path."""
    try:
        import tests.qemu.linux_oracle as mod
        return mod
    except ImportError:
        pass
    mod = sys.modules.get("linux_oracle")
    if mod is not None and hasattr(mod, "LinuxOracle"):
        return mod
    path = REPO / "tests" / "qemu" / "linux_oracle.py"
    spec = importlib.util.spec_from_file_location("linux_oracle", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["linux_oracle"] = mod
    spec.loader.exec_module(mod)
    return mod


def build_programs() -> dict[str, Path]:
    """Compile every bench/programs/*.c that is missing or stale."""
    PROGRAMS.mkdir(parents=True, exist_ok=True)
    header_mtime = max(p.stat().st_mtime for p in SRC.glob("*.h"))
    built = {}
    for src in sorted(SRC.glob("*.c")):
        name = src.stem
        out = PROGRAMS / name
        stamp = PROGRAMS / f".{name}.cmd"       # the command line it was built with
        extra = ["-nostdlib"] if name == "true_static" else []
        cmd = [CC, *CFLAGS, *extra, "-o", str(out), str(src)]
        if (not out.exists() or out.stat().st_mtime < max(src.stat().st_mtime, header_mtime)
                or not stamp.exists() or stamp.read_text() != " ".join(cmd)):
            # Build beside and rename: another run may be executing the old one.
            tmp = out.with_name(f".{name}.{os.getpid()}.tmp")
            r = subprocess.run([*cmd[:-3], "-o", str(tmp), str(src)], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr}")
            tmp.rename(out)
            stamp.write_text(" ".join(cmd))
        built[name] = out
    return built


def guest_files() -> dict[str, Path]:
    """Guest path -> host file for everything under /bench/."""
    files = {f"/bench/{n}": p for n, p in build_programs().items()}
    for s in sorted(SCRIPTS.glob("*.sh")):
        files[f"/bench/{s.name}"] = s
    return files


def build_moss_image() -> Path:
    """build/bench/moss-initramfs.cpio: uncompressed newc written by
    ``cpio -o -H newc -R 0:0`` (the Python writer if cpio is missing); no
    /init and no device nodes (moss-py provides its own devfs)."""
    lo = oracle_module()
    return lo.build_initramfs(MOSS_IMAGE, guest_files(), init=None, dev_console=False,
                              compress=False, cpio_tool=shutil.which("cpio") is not None)


def build_all() -> dict[str, Path]:
    lo = oracle_module()
    return {"kernel": lo.kernel_image(), "busybox": lo.busybox(),
            "moss_image": build_moss_image(), "programs": PROGRAMS}


if __name__ == "__main__":
    for k, v in build_all().items():
        print(f"{k}: {v}")
