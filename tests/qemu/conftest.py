"""Headless runs of the real kernel: `moss-host run` in a subprocess, real QEMU underneath."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "build" / "initramfs.cpio"
PROGRAMS = REPO / "build" / "programs"


def moss_run(*argv: str, stdin: bytes = b"", timeout: float = 120, image: Path | None = IMAGE,
             extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run a program inside moss-py; returns the completed host process (bytes output)."""
    cmd = [sys.executable, "-m", "moss_host.cli", "run", *extra]
    if image is not None:
        cmd += ["--image", str(image)]
    cmd += ["--", *argv]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, cwd=REPO)


def qemu_user_run(program: str, *args: str, stdin: bytes = b"", timeout: float = 60) -> subprocess.CompletedProcess:
    """The oracle for programs that do not exec: the same binary under qemu-aarch64 (host Linux)."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "TERM": "linux"}
    return subprocess.run(["qemu-aarch64", str(PROGRAMS / program), *args], input=stdin,
                          capture_output=True, timeout=timeout, env=env)


@pytest.fixture(scope="session", autouse=True)
def built_image():
    if not IMAGE.exists() or not (REPO / "build" / "guest_stub" / "stub.elf").exists():
        pytest.fail("build/ is missing: run `just build` (the `just test` recipe does)")


def qemu_processes_of(rundir_prefix: str = "moss-py-") -> list[str]:
    out = subprocess.run(["pgrep", "-af", "qemu-system-aarch64"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if rundir_prefix in line]
