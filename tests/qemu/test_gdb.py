"""gdb alongside: stop a user program at main through QEMU's gdbstub, read a register,
continue, and the program still finishes normally."""
import socket
import subprocess
import sys
import time

import pytest
from pygdbmi.gdbcontroller import GdbController

from .conftest import PROGRAMS, REPO

pytestmark = pytest.mark.qemu


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(gdb: GdbController, already: list, predicate, timeout: float = 60) -> dict:
    """The first record matching predicate: among those `write` already returned, or new ones."""
    deadline = time.time() + timeout
    records = list(already)
    while True:
        for record in records:
            if predicate(record):
                return record
        if time.time() > deadline:
            raise AssertionError("gdb did not report what we waited for")
        records = gdb.get_gdb_response(timeout_sec=1, raise_error_on_timeout=False)


def test_gdb_stops_at_main_reads_registers_and_the_program_completes():
    port = free_port()
    host = subprocess.Popen([sys.executable, "-m", "moss_host.cli", "run", "--gdb", f"tcp:127.0.0.1:{port}",
                             "--", "/tests/hello", "extra-arg"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    gdb = GdbController(command=["gdb-multiarch", "--nx", "--quiet", "--interpreter=mi3"])
    try:
        assert b"waiting for gdb" in host.stdout.readline()
        gdb.write(f"-file-exec-and-symbols {PROGRAMS / 'hello'}", timeout_sec=30)
        gdb.write(f"-target-select remote 127.0.0.1:{port}", timeout_sec=30)
        gdb.write("-break-insert main", timeout_sec=10)
        started = gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False)
        stop = wait_for(gdb, started, lambda r: r.get("message") == "stopped")
        assert stop["payload"]["reason"] == "breakpoint-hit"
        assert stop["payload"]["frame"]["func"] == "main"
        argc = gdb.write("-data-evaluate-expression $x0", timeout_sec=10)
        values = [r["payload"]["value"] for r in argc if r.get("message") == "done"]
        assert values == ["2"]                       # argc: program name + one argument
        gdb.write("-exec-continue", timeout_sec=5, raise_error_on_timeout=False)
        out, err = host.communicate(timeout=60)
    finally:
        gdb.exit()
        if host.poll() is None:
            host.kill()
    assert host.returncode == 0, err
    assert out.endswith(b"hello, world\n")
