"""Headless runs of the real kernel: `moss-host run` in a subprocess, real QEMU underneath."""
from __future__ import annotations

import base64
import gzip
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Every moss-host the suite starts (moss_run, pexpect sessions, scripts) runs with --strict:
# a kernel bug panics the run (exit 125) instead of hiding behind an EFAULT (proc/bugs.py).
os.environ["MOSS_STRICT"] = "1"

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
    """The oracle for programs that do not exec: the same binary under qemu-aarch64 (host Linux),
    on a Cortex-A72 like moss-py's guest (qemu-aarch64's default CPU has SVE and other features
    that change HWCAP, the signal frame and what glibc picks)."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "TERM": "linux"}
    return subprocess.run(["qemu-aarch64", "-cpu", "cortex-a72", str(PROGRAMS / program), *args], input=stdin,
                          capture_output=True, timeout=timeout, env=env)


def lines(completed) -> list[str]:
    return completed.stdout.decode().splitlines()


def failures(completed) -> list[str]:
    return [line for line in lines(completed) if line.endswith(": FAIL")]


def same_as_qemu_user(program: str):
    """moss-py's run of the program, after checking it printed and exited as under qemu-aarch64."""
    moss, linux = moss_run(f"/tests/{program}"), qemu_user_run(program)
    assert moss.returncode == 0, moss.stderr.decode(errors="replace")
    assert failures(moss) == []
    assert moss.stdout == linux.stdout
    assert moss.returncode == linux.returncode
    return moss


def same_as_linux(oracle, program: str, *args: str, status: int | None = None) -> str:
    """Run /tests/program under moss-py and under booted Linux (the `linux_oracle` fixture);
    both must print the same on stdout and exit with the same status (and with `status`,
    when given). Returns that output."""
    argv = [f"/tests/{program}", *args]
    linux_out, linux_err, linux_status = oracle.run3(shlex.join(argv), timeout=120)
    assert status is None or linux_status == status, linux_err
    moss = moss_run(*argv)
    moss_out = moss.stdout.decode("utf-8", "surrogateescape")
    assert moss_out == linux_out, moss.stderr.decode(errors="replace")[-2000:]
    assert moss.returncode == linux_status, (linux_err, moss.stderr.decode(errors="replace")[-2000:])
    return linux_out


def image_with(tmp_path: Path, files: dict) -> Path:
    """build/initramfs.cpio plus a second archive holding `files` (name -> host path)."""
    extra = tmp_path / "extra"
    extra.mkdir()
    for name, src in files.items():
        shutil.copy(src, extra / name)
    archive = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], input="\n".join(files).encode(),
                             cwd=extra, capture_output=True, check=True).stdout
    image = tmp_path / "initramfs.cpio"
    image.write_bytes(IMAGE.read_bytes() + archive)
    return image


def run_on_disk_image(tmp_path: Path, disk: Path, command: str) -> tuple[subprocess.CompletedProcess, str, Path]:
    """Run the shell line `command` in moss-py with `disk` at /disk.img, then bring the image
    the guest wrote back out (gzip | base64 on stdout). Returns the run, what `command`
    printed, and the image as it was left (empty if the command failed)."""
    moss = moss_run("/bin/sh", "-c", f"{command} && echo @@image@@ && gzip -c /disk.img | base64",
                    image=image_with(tmp_path, {"disk.img": disk}))
    report, _, encoded = moss.stdout.decode().partition("@@image@@\n")
    out_img = tmp_path / "out.img"
    out_img.write_bytes(gzip.decompress(base64.b64decode(encoded)) if encoded else b"")
    return moss, report, out_img


@pytest.fixture(scope="session", autouse=True)
def built_image():
    if not IMAGE.exists() or not (REPO / "build" / "guest_stub" / "stub.elf").exists():
        pytest.fail("build/ is missing: run `just build` (the `just test` recipe does)")


def qemu_started_by(host_pid: int) -> list[int]:
    """Pids of the qemu-system-aarch64 processes that the moss-host process host_pid started
    (its children: other tests' QEMUs, running at the same time, are not among them)."""
    out = subprocess.run(["pgrep", "-P", str(host_pid), "-f", "qemu-system-aarch64"],
                         capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def process_gone(pid: int) -> bool:
    """The process has exited (no longer there, or a zombie nobody reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def cmdline_of(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]


def wait_until(condition, timeout: float, step: float = 0.1) -> bool:
    """Poll condition() until it is true (True) or timeout seconds have passed (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


# -- the oracles and the Debian image: session fixtures registered once, here ----------------
# (a test module that imported a fixture function made a fixture of its own, so each such
# module kept its own Linux VM alive until the session ended: 40 VMs, 13 GiB)

DEBIAN = REPO / "build" / "debian.ext4"


@pytest.fixture(scope="session")
def debian_image() -> Path:
    """build/debian.ext4, built (or found up to date) once per session."""
    if shutil.which("mmdebstrap") is None:
        pytest.fail("mmdebstrap is missing: run scripts/setup.sh")
    r = subprocess.run(["scripts/image_debian.sh"], cwd=REPO, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        pytest.fail(f"scripts/image_debian.sh failed:\n{r.stdout}\n{r.stderr}")
    return DEBIAN


@pytest.fixture(scope="session")
def moss_disk(debian_image: Path, tmp_path_factory) -> Path:
    """moss-py's own copy of the image (sparse), shared by this module's tests."""
    copy = tmp_path_factory.mktemp("debian-moss") / "debian.ext4"
    subprocess.run(["cp", "--sparse=always", str(debian_image), str(copy)], check=True)
    return copy


from .linux_debian_oracle import linux_debian_oracle  # noqa: E402,F401  (fixture)
from .linux_fs_oracle import linux_fs_oracle  # noqa: E402,F401  (fixture)
from .linux_oracle import linux_oracle  # noqa: E402,F401  (fixture)
