"""Debian's gdb debugging a program inside moss-py, compared with the same gdb under Linux
6.1 chrooted into the same image (`linux_debian_oracle`).

The program is tests/programs/ptrace_gdb_target.c, built here with -g -O0 and dynamically
linked against the image's glibc (not PIE, and it execs itself, not a PIE: moss-py has no
/proc/PID/auxv yet, where gdb learns a PIE's load address), then copied into each side's image as /usr/bin/gdb_target.
gdb runs in batch mode: breakpoints and `run`, `bt`, registers, `next`/`step`, `print` and
`set var`, a hardware watchpoint, `catch fork`/`catch exec`, `info threads`. Its stdout is
compared with pids, thread addresses and stack addresses masked.

And Debian's gdbserver (its package, downloaded as the oracle's kernel is, written into the
image) inside moss-py behind `--forward`, serving gdb-multiarch on the host.
"""
from __future__ import annotations

import base64
import difflib
import gzip
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.covers import covers

from .conftest import REPO, moss_run
from .linux_oracle import _apt_download

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

SOURCE = REPO / "tests" / "programs" / "ptrace_gdb_target.c"
TARGET = "/usr/bin/gdb_target"
CC = "aarch64-linux-gnu-gcc"


@pytest.fixture(scope="module")
def target_binary(tmp_path_factory) -> Path:
    if shutil.which(CC) is None:
        pytest.skip(f"{CC} not installed")
    out = tmp_path_factory.mktemp("gdb") / "gdb_target"
    subprocess.run([CC, "-g", "-gz", "-O0", "-no-pie", "-pthread", f"-fdebug-prefix-map={SOURCE.parent}=/src",
                    "-o", str(out), str(SOURCE)], check=True)
    return out


@pytest.fixture(scope="module")
def gdb_disk(debian_image: Path, target_binary: Path, tmp_path_factory) -> Path:
    """moss-py's copy of the image with the program in it (debugfs writes it)."""
    disk = tmp_path_factory.mktemp("gdb-moss") / "debian.ext4"
    subprocess.run(["cp", "--sparse=always", str(debian_image), str(disk)], check=True)
    for request in (f"write {target_binary} {TARGET}", f"sif {TARGET} mode 0100755"):
        subprocess.run(["debugfs", "-w", "-R", request, str(disk)], check=True, capture_output=True)
    return disk


@pytest.fixture(scope="module")
def linux_gdb(linux_debian_oracle, target_binary: Path):
    """The oracle with the program in its chroot; taken out again afterwards."""
    encoded = base64.b64encode(gzip.compress(target_binary.read_bytes())).decode()
    path = f"/debian{TARGET}"
    out, status = linux_debian_oracle.run(f"echo {encoded} | base64 -d | gunzip > {path} && chmod 755 {path}",
                                          timeout=300)
    assert status == 0, out
    yield linux_debian_oracle
    linux_debian_oracle.run(f"rm -f {path}")


def masked(text: str) -> str:
    """Pids and the addresses of mappings (shared libraries, thread stacks, the stack: nine
    hex digits or more); the program's own (not PIE, below 4 GiB) stay."""
    text = re.sub(r"0x[0-9a-f]{9,}", "ADDR", text)
    text = re.sub(r"\b(process|LWP) \d+", r"\1 N", text)
    return re.sub(r"  +", " ", text)          # info threads pads its columns to the pids' widths


def gdb(*commands: str, args: str = "") -> list[str]:
    argv = ["gdb", "-batch", "-nx"]
    for c in commands:
        argv += ["-ex", c]
    return [*argv, "--args", TARGET, *args.split()] if args else [*argv, TARGET]


def same_gdb_as_linux(oracle, disk: Path, argv: list[str]) -> str:
    linux_out, linux_err, status = oracle.run_argv(argv, timeout=300)
    assert status == 0, linux_err
    moss = moss_run(*argv, image=None, extra=("--disk", str(disk)), timeout=600)
    ours, theirs = masked(moss.stdout.decode(errors="replace")), masked(linux_out)
    assert ours == theirs, "\n".join([*difflib.unified_diff(theirs.splitlines(), ours.splitlines(), "linux", "moss",
                                                            lineterm=""), moss.stderr.decode(errors="replace")[-2000:]])
    assert moss.returncode == 0
    return theirs


@pytest.mark.differential
@covers("ptrace", "process_vm_readv")
def test_gdb_breaks_steps_prints_and_sets_a_variable_like_linux(linux_gdb, gdb_disk):
    out = same_gdb_as_linux(linux_gdb, gdb_disk, gdb(
        "break compute", "run", "bt", "info registers x0 pc cpsr", "next", "next", "step", "bt",
        "print counter", "set var counter = 7", "print counter", "continue"))
    assert "Breakpoint 1, compute (n=5) at /src/ptrace_gdb_target.c:" in out
    assert "add (a=0, b=0) at /src/ptrace_gdb_target.c:" in out
    assert "result 10 counter 7\n" in out


@pytest.mark.differential
@covers("ptrace")
def test_gdb_hardware_watchpoint_like_linux(linux_gdb, gdb_disk):
    out = same_gdb_as_linux(linux_gdb, gdb_disk, gdb("break main", "run", "watch watched_total", "continue",
                                                     "continue"))
    assert "Hardware watchpoint 2: watched_total\n\nOld value = 0\nNew value = 10\n" in out


@pytest.mark.differential
@covers("ptrace")
def test_gdb_catches_fork_and_exec_like_linux(linux_gdb, gdb_disk):
    out = same_gdb_as_linux(linux_gdb, gdb_disk, gdb(
        "set follow-fork-mode child", "catch fork", "catch exec", "run", "continue", "continue", args="f"))
    assert "Catchpoint 1 (fork)" in out
    assert "Catchpoint 2 (exec'd /usr/bin/gdb_target)" in out


@pytest.mark.differential
@covers("ptrace")
def test_gdb_info_threads_of_a_threaded_program_like_linux(linux_gdb, gdb_disk):
    # (No `continue`: the order of the threads' exits and main's output is the scheduler's.)
    out = same_gdb_as_linux(linux_gdb, gdb_disk, gdb("break threads_ready", "run", "info threads", args="t"))
    assert out.count('Thread ADDR (LWP N) "gdb_target"') == 3, out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gdbserver_disk(gdb_disk: Path, tmp_path_factory) -> Path:
    """The image with Debian's gdbserver (not in its package list) added."""
    if shutil.which("gdb-multiarch") is None:
        pytest.skip("gdb-multiarch not installed")
    unpacked = tmp_path_factory.mktemp("gdbserver")
    subprocess.run(["dpkg-deb", "-x", str(_apt_download("gdbserver:arm64")), str(unpacked)], check=True)
    for request in (f"write {unpacked}/usr/bin/gdbserver /usr/bin/gdbserver", "sif /usr/bin/gdbserver mode 0100755"):
        subprocess.run(["debugfs", "-w", "-R", request, str(gdb_disk)], check=True, capture_output=True)
    return gdb_disk


@covers("ptrace")
def test_gdbserver_inside_serves_gdb_multiarch_on_the_host(gdbserver_disk, target_binary):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moss_host.cli", "run", "--disk", str(gdbserver_disk),
                               "--forward", f"tcp:127.0.0.1:{port}:1234", "--",
                               "gdbserver", "0.0.0.0:1234", TARGET],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        seen = b""
        while b"Listening on port 1234" not in seen and time.monotonic() < deadline:
            line = server.stderr.readline()              # type: ignore[union-attr]
            if not line:
                break
            seen += line
        assert b"Listening on port 1234" in seen, seen.decode(errors="replace")
        gdb = subprocess.run(["gdb-multiarch", "-batch", "-nx", "-ex", f"target remote 127.0.0.1:{port}",
                              "-ex", "break compute", "-ex", "continue", "-ex", "bt", "-ex", "next", "-ex", "next",
                              "-ex", "step", "-ex", "print counter", "-ex", "continue", str(target_binary)],
                             capture_output=True, text=True, timeout=300)
        out = gdb.stdout
        assert "Breakpoint 1, compute (n=5) at /src/ptrace_gdb_target.c:" in out, out + gdb.stderr
        assert re.search(r"#1  0x[0-9a-f]+ in main \(argc=1, argv=0x[0-9a-f]+\) at /src/ptrace_gdb_target.c:", out)
        assert "add (a=0, b=0) at /src/ptrace_gdb_target.c:" in out, out
        assert "$1 = 5\n" in out
        assert "[Inferior 1 (process " in out and "exited normally]" in out
        server_out, _ = server.communicate(timeout=120)
        assert b"result 10 counter 5\n" in server_out
        assert server.returncode == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
