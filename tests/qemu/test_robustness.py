"""Bad input gets a clear message, never a traceback, a hung QEMU or an orphaned one."""
import os
import signal
import subprocess
import sys
import time

import pytest

from .conftest import REPO, moss_run, qemu_processes_of

pytestmark = pytest.mark.qemu


def test_missing_program_is_a_clear_error():
    r = moss_run("/no/such/program")
    assert r.returncode == 127
    assert b"No such file or directory" in r.stderr or b"ENOENT" in r.stderr
    assert b"Traceback" not in r.stderr


def test_non_elf_program_is_enoexec_with_a_message():
    r = moss_run("/etc/passwd")
    assert r.returncode in (126, 127)
    assert b"ENOEXEC" in r.stderr or b"Exec format error" in r.stderr or b"EACCES" in r.stderr
    assert b"Traceback" not in r.stderr


def test_broken_image_file_is_a_readable_message(tmp_path):
    bad = tmp_path / "broken.cpio"
    bad.write_bytes(b"this is not a cpio archive" * 10)
    r = moss_run("/bin/true", image=bad)
    assert r.returncode != 0
    assert b"moss:" in r.stderr and b"Traceback" not in r.stderr


def test_missing_image_file_is_a_readable_message(tmp_path):
    r = moss_run("/bin/true", image=tmp_path / "nope.cpio")
    assert r.returncode != 0
    assert b"not found" in r.stderr and b"Traceback" not in r.stderr


def test_segfault_kills_only_the_program_with_status_139():
    r = moss_run("/tests/segv")
    assert r.returncode == 128 + 11
    assert b"before the fault" in r.stdout and b"after" not in r.stdout
    assert b"SIGSEGV" in r.stderr and b"SEGV_MAPERR" in r.stderr and b"Traceback" not in r.stderr


def shm_rundirs() -> set[str]:
    return {p for p in os.listdir("/dev/shm") if p.startswith("moss-py-")}


def test_sigterm_to_the_host_stops_qemu_and_cleans_up():
    before = set(qemu_processes_of())
    dirs_before = shm_rundirs()
    proc = subprocess.Popen([sys.executable, "-m", "moss_host.cli", "run", "--", "/tests/stdin_cat"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    deadline = time.time() + 60
    while time.time() < deadline and not (set(qemu_processes_of()) - before):
        time.sleep(0.1)
    assert set(qemu_processes_of()) - before, "QEMU never started"
    assert shm_rundirs() - dirs_before, "no shared-RAM run directory while running"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    time.sleep(0.5)
    assert not (set(qemu_processes_of()) - before), "QEMU outlived the host"
    assert not (shm_rundirs() - dirs_before), "the run directory (guest RAM file, sockets) was left behind"


def test_sigkill_of_the_host_takes_qemu_with_it():
    before = set(qemu_processes_of())
    proc = subprocess.Popen([sys.executable, "-m", "moss_host.cli", "run", "--", "/tests/stdin_cat"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    deadline = time.time() + 60
    while time.time() < deadline and not (set(qemu_processes_of()) - before):
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and set(qemu_processes_of()) - before:
        time.sleep(0.1)
    assert not (set(qemu_processes_of()) - before), "QEMU outlived a killed host"
