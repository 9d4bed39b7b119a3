"""Bad input gets a clear message, never a traceback, a hung QEMU or an orphaned one.

A program that cannot be started fails as Linux's execve fails: the errno comes from Linux
booted in QEMU (tests/programs/exec_direct.c: a shell-free execve that prints
"execve PATH: ENAME (strerror)"), and moss-host says "moss: cannot start PATH: ENAME
(strerror)" with the status a shell gives, 127 for a missing file, 126 for one that
cannot be executed.
"""
import os
import re
import signal
import subprocess
import sys

import pytest

from .conftest import REPO, cmdline_of, moss_run, process_gone, qemu_started_by, wait_until

pytestmark = pytest.mark.qemu


def linux_execve_error(oracle, path: str) -> tuple[str, int]:
    """How Linux's execve of path fails: ("ENAME (strerror)", shell status)."""
    out, err, status = oracle.run3(f"/tests/exec_direct {path}")
    m = re.fullmatch(rf"execve {re.escape(path)}: (E[A-Z0-9]+ \([^)]+\))\n", err)
    assert m and out == "", (out, err, status)
    return m.group(1), status


def assert_cannot_start(r: subprocess.CompletedProcess, path: str, error: str, status: int) -> None:
    stderr = r.stderr.decode(errors="replace")
    assert "Traceback" not in stderr, stderr
    assert f"moss: cannot start {path}: {error}" in stderr.splitlines(), stderr
    assert r.returncode == status, stderr
    assert r.stdout == b""


@pytest.mark.differential
def test_missing_program_is_enoent_like_linux(linux_oracle):
    error, status = linux_execve_error(linux_oracle, "/no/such/program")
    assert (error, status) == ("ENOENT (No such file or directory)", 127)
    assert_cannot_start(moss_run("/no/such/program"), "/no/such/program", error, status)


@pytest.mark.differential
def test_non_elf_program_is_enoexec_like_linux(linux_oracle):
    # /tests/not_elf: mode 755, text that is neither ELF nor #! (tests/programs/Makefile).
    error, status = linux_execve_error(linux_oracle, "/tests/not_elf")
    assert (error, status) == ("ENOEXEC (Exec format error)", 126)
    assert_cannot_start(moss_run("/tests/not_elf"), "/tests/not_elf", error, status)


def test_broken_image_file_is_a_readable_message(tmp_path):
    bad = tmp_path / "broken.cpio"
    bad.write_bytes(b"this is not a cpio archive" * 10)
    r = moss_run("/bin/true", image=bad)
    stderr = r.stderr.decode(errors="replace")
    assert r.returncode == 125, stderr
    assert stderr.startswith(f"moss: image {bad} is not a valid initramfs"), stderr
    assert "Traceback" not in stderr


def test_missing_image_file_is_a_readable_message(tmp_path):
    missing = tmp_path / "nope.cpio"
    r = moss_run("/bin/true", image=missing)
    stderr = r.stderr.decode(errors="replace")
    assert r.returncode == 125, stderr
    assert stderr.startswith(f"moss: image {missing} not found"), stderr
    assert "Traceback" not in stderr


def test_segfault_kills_only_the_program_with_status_139():
    r = moss_run("/tests/segv")
    assert r.returncode == 128 + 11
    assert r.stdout == b"before the fault\n"
    assert b"SIGSEGV" in r.stderr and b"SEGV_MAPERR" in r.stderr and b"Traceback" not in r.stderr


def start_host_with_a_waiting_program() -> tuple[subprocess.Popen, int]:
    """moss-host running /tests/stdin_cat (which waits for input); returns it and its QEMU's pid
    once QEMU is running."""
    proc = subprocess.Popen([sys.executable, "-m", "moss_host.cli", "run", "--", "/tests/stdin_cat"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    started = wait_until(lambda: qemu_started_by(proc.pid) or proc.poll() is not None, timeout=60)
    qemus = qemu_started_by(proc.pid)
    if not (started and len(qemus) == 1):
        proc.kill()
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"QEMU never started under moss-host (status {proc.returncode}): {err.decode()[-2000:]}")
    return proc, qemus[0]


def rundir_of(qemu_pid: int) -> str:
    """The host's run directory (doorbell and QMP sockets) that QEMU was given."""
    paths = [m.group(1) for arg in cmdline_of(qemu_pid) for m in [re.search(r"path=(\S+)/doorbell\.sock", arg)] if m]
    assert paths, cmdline_of(qemu_pid)
    return paths[0]


def ram_file_of(qemu_pid: int) -> str:
    """The guest RAM file QEMU maps (machine/hugeram.py's folder; unlinked once QEMU has it open)."""
    paths = [m.group(1) for arg in cmdline_of(qemu_pid) for m in [re.search(r"mem-path=([^,]+)", arg)] if m]
    assert paths, cmdline_of(qemu_pid)
    return paths[0]


def test_sigterm_to_the_host_stops_qemu_and_cleans_up():
    proc, qemu = start_host_with_a_waiting_program()
    rundir, ram = rundir_of(qemu), ram_file_of(qemu)
    assert os.path.isdir(rundir), "no run directory while running"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and b"moss: interrupted" in err, err
    assert wait_until(lambda: process_gone(qemu), timeout=10), "QEMU outlived the host"
    assert not os.path.exists(rundir), "the run directory (sockets) was left behind"
    assert not os.path.exists(ram) or ram.startswith("/proc/self/fd/"), "the guest RAM file was left behind"


def test_sigkill_of_the_host_takes_qemu_with_it():
    proc, qemu = start_host_with_a_waiting_program()
    assert not process_gone(qemu)
    ram = ram_file_of(qemu)
    proc.kill()
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert wait_until(lambda: process_gone(qemu), timeout=10), "QEMU outlived a killed host"
    assert not os.path.exists(ram) or ram.startswith("/proc/self/fd/"), \
        "a killed host left its guest RAM file (and the memory in it) behind"
