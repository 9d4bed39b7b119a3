"""gdb that follows processes (moss_host/gdbhost.py + moss_host/gdb_extension.py): gdb
attached to `moss-host boot --gdb` stops in a program started from the shell after boot, with
its symbols, through `moss break-exec`, lists processes with `moss ps`, and follows a fork.
What gdb prints about the guest's programs (function names, argc) is the programs' own."""
from __future__ import annotations

import json
import signal
import sys
import time

import pexpect
import pytest
from pygdbmi.gdbcontroller import GdbController

from moss_host.cli import gdb_commands
from moss_host.kernel import gdb_info_dir

from .conftest import IMAGE, REPO
from .test_gdb import free_port

pytestmark = pytest.mark.qemu

PROMPT = r"[#$] "


def console(gdb: GdbController, command: str, timeout: float = 30) -> str:
    """A gdb CLI command through MI; what it printed."""
    records = gdb.write(f'-interpreter-exec console "{command}"', timeout_sec=timeout)
    return "".join(r["payload"] for r in records if r["type"] == "console" and r["payload"])


def wait_stop(gdb: GdbController, records: list, reason: str, timeout: float = 90) -> dict:
    deadline = time.time() + timeout
    while True:
        for r in records:
            if r.get("message") == "stopped" and r["payload"].get("reason") == reason:
                return r["payload"]
        assert time.time() < deadline, f"no stop with reason {reason}"
        records = gdb.get_gdb_response(timeout_sec=1, raise_error_on_timeout=False)


@pytest.fixture
def booted():
    yield from boot_with_gdb()


@pytest.fixture
def booted_2cpus():
    yield from boot_with_gdb("--cpus", "2")


def boot_with_gdb(*options: str):
    port = free_port()
    child = pexpect.spawn(sys.executable, ["-m", "moss_host.cli", "boot", "--image", str(IMAGE), "--init", "/bin/sh",
                                           "--gdb", f"tcp:127.0.0.1:{port}", *options],
                          cwd=str(REPO), timeout=90, encoding="utf-8", codec_errors="replace")
    child.expect("waiting for gdb")
    info = json.loads((gdb_info_dir() / "session.json").read_text())
    gdb = GdbController(command=["gdb-multiarch", "--nx", "--quiet", "--interpreter=mi3", *gdb_commands(info)],
                        time_to_check_for_additional_output_sec=1)
    try:
        yield child, gdb
    finally:
        gdb.exit()
        child.close(force=True)


def test_break_exec_stops_a_program_started_from_the_shell_with_its_symbols(booted):
    child, gdb = booted
    assert "will stop when hello" in console(gdb, "moss break-exec hello")
    gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False)
    child.expect(PROMPT, timeout=120)
    child.sendline("/tests/hello one two")
    entry = wait_stop(gdb, [], "breakpoint-hit")                   # the tbreak at its entry point
    assert entry["frame"].get("func") == "_start", entry
    table = console(gdb, "moss ps")
    assert "hello" in table and "*" in table, table
    gdb.write("-break-insert main", timeout_sec=10)
    stop = wait_stop(gdb, gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False), "breakpoint-hit")
    assert stop["frame"]["func"] == "main"
    argc = [r["payload"]["value"] for r in gdb.write("-data-evaluate-expression $x0", timeout_sec=10)
            if r.get("message") == "done"]
    assert argc == ["3"]
    gdb.write("-break-delete", timeout_sec=10)
    gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False)
    child.expect("hello, world")
    child.expect(PROMPT)


def test_a_breakpoint_in_a_forked_child_stops_there_and_moss_ps_marks_it(booted):
    child, gdb = booted
    console(gdb, "moss break-exec gdb_fork")
    gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False)
    child.expect(PROMPT, timeout=120)
    child.sendline("/tests/gdb_fork")
    wait_stop(gdb, [], "breakpoint-hit")
    gdb.write("-break-insert child_work", timeout_sec=10)
    stop = wait_stop(gdb, gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False), "breakpoint-hit")
    assert stop["frame"]["func"] == "child_work"
    n = [r["payload"]["value"] for r in gdb.write("-data-evaluate-expression $x0", timeout_sec=10)
         if r.get("message") == "done"]
    assert n == ["42"]                                   # its argument (the programs carry no -g)
    rows = [line.split() for line in console(gdb, "moss ps").splitlines() if "gdb_fork" in line]
    assert len(rows) == 2, rows                          # parent and child
    current = [r for r in rows if r[0] == "*"]
    assert len(current) == 1 and int(current[0][3]) == int([r for r in rows if r[0] != "*"][0][0]), rows  # its ppid: the parent
    gdb.write("-break-delete", timeout_sec=10)
    gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False)
    child.expect("child 42")
    child.expect("parent done 0")


def test_a_breakpoint_in_glibc_puts_of_a_debian_program(moss_disk):
    """coreutils' `tty` prints its answer with glibc's puts: stopped there through the symbols
    of libc.so.6 as the process mapped it."""
    port = free_port()
    child = pexpect.spawn(sys.executable, ["-m", "moss_host.cli", "boot", "--disk", str(moss_disk), "--init", "/bin/bash",
                                           "--gdb", f"tcp:127.0.0.1:{port}"],
                          cwd=str(REPO), timeout=120, encoding="utf-8", codec_errors="replace")
    gdb = None
    try:
        child.expect("waiting for gdb")
        info = json.loads((gdb_info_dir() / "session.json").read_text())
        gdb = GdbController(command=["gdb-multiarch", "--nx", "--quiet", "--interpreter=mi3", *gdb_commands(info)],
                            time_to_check_for_additional_output_sec=1)
        console(gdb, "moss break-exec tty")
        gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False)
        child.expect(PROMPT, timeout=180)
        child.sendline("tty")
        wait_stop(gdb, [], "breakpoint-hit", timeout=180)          # the program's entry, libc mapped
        gdb.write("-break-insert puts", timeout_sec=30)
        stop = wait_stop(gdb, gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False),
                         "breakpoint-hit", timeout=180)
        assert stop["frame"]["func"] in ("puts", "_IO_puts"), stop
        assert "libc.so.6" in stop["frame"].get("from", "") or "libc" in console(gdb, "info symbol $pc")
        gdb.write("-break-delete", timeout_sec=10)
        gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False)
        child.expect("not a tty|/dev/")
    finally:
        if gdb is not None:
            gdb.exit()
        child.close(force=True)


def test_moss_bt_walks_user_code_of_a_process_asleep_in_a_syscall(booted):
    """Interrupted while the guest idles (the only program asleep in nanosleep), gdb stands in
    the stub; moss bt unwinds the sleeper's user code from the registers the kernel keeps."""
    child, gdb = booted
    gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False)
    child.expect(PROMPT, timeout=120)
    child.sendline("/tests/gdb_fork sleep")
    child.expect("sleeping")
    time.sleep(1)
    gdb.gdb_process.send_signal(signal.SIGINT)      # Ctrl-C at gdb (MI's -exec-interrupt needs target-async)
    wait_stop(gdb, [], "signal-received")
    pid = [line.split()[0] for line in console(gdb, "moss ps").splitlines() if "gdb_fork" in line][0]
    console(gdb, f"moss switch {pid}")
    pc_before = console(gdb, "print/x $pc").split(" = ")[1]
    trace = console(gdb, f"moss bt {pid}")
    frames = [line for line in trace.splitlines() if line.startswith("#")]
    names = " ".join(frames)
    assert names.index("inner_call") < names.index("outer_call") < names.index("main"), trace
    assert console(gdb, "print/x $pc").split(" = ")[1] == pc_before     # the CPU's own registers are back
    gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False)
    child.sendcontrol("c")
    child.expect(PROMPT)


@pytest.mark.parametrize("cpus", [1, 2])
def test_moss_switch_shows_the_memory_of_a_process_off_the_cpu(cpus, request):
    """Parent and child hold different values at one address; gdb stopped while both sleep
    reads each one's own after `moss switch`, and both still print their own afterwards
    (the lent table entries were put back before user code ran). With two vCPUs, through
    the TTBR0 of the one gdb shows."""
    child, gdb = request.getfixturevalue("booted" if cpus == 1 else "booted_2cpus")
    gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False)
    child.expect(PROMPT, timeout=120)
    child.sendline("/tests/gdb_fork pair")
    child.expect("ready")
    child.expect("ready")
    time.sleep(1)
    gdb.gdb_process.send_signal(signal.SIGINT)
    wait_stop(gdb, [], "signal-received")
    rows = [line.split() for line in console(gdb, "moss ps").splitlines() if "gdb_fork" in line]
    pids = {int(r[-6]): int(r[-4]) for r in rows}                  # pid -> ppid (a row: [*] pid tid ppid state comm exe)
    parent = [p for p, pp in pids.items() if pp not in pids][0]
    kid = [p for p, pp in pids.items() if pp == parent][0]
    for pid, want in ((kid, "0xc41d"), (parent, "0x9a2e"), (kid, "0xc41d")):
        console(gdb, f"moss switch {pid}")
        assert console(gdb, "print/x *(int *)&marker").split(" = ")[1].strip() == want
    gdb.write("-exec-continue", timeout_sec=1, raise_error_on_timeout=False)
    child.sendcontrol("c")
    seen = {child.expect(["marker c41d", "marker 9a2e"]) for _ in range(2)}
    assert seen == {0, 1}
    child.expect(PROMPT)
