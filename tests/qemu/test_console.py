"""The console as a person uses it: `moss-host boot` (BusyBox init, a login shell on the
console) driven through a real pseudo-terminal by pexpect, so the host-terminal path of
moss_host/tty/console.py is the one under test: raw mode on the host, the guest's line
discipline doing echo, editing and ^C/^Z, window sizes from the host terminal.

Every step waits for output, never for time: a command that must be running before a key
is typed prints a marker first (from inside the foreground job, so by then the shell has
handed it the terminal).
"""
from __future__ import annotations

import re
import shlex
import sys
import time

import pexpect
import pytest

from tests.covers import covers

from .conftest import IMAGE, REPO

pytestmark = pytest.mark.qemu

PROMPT = "moss# "
BOOT_TIMEOUT = 120          # to the first prompt, on a loaded 2-core machine
STEP_TIMEOUT = 60


def boot(rows: int = 30, cols: int = 100) -> pexpect.spawn:
    child = pexpect.spawn(sys.executable, ["-m", "moss_host.cli", "boot", "--image", str(IMAGE)],
                          cwd=str(REPO), timeout=STEP_TIMEOUT, encoding="utf-8",
                          codec_errors="replace", dimensions=(rows, cols))
    child.expect_exact(PROMPT, timeout=BOOT_TIMEOUT)
    return child


@pytest.fixture(scope="module")
def console():
    """One booted system shared by the interactive tests (each leaves it at a prompt)."""
    child = boot()
    yield child
    child.terminate(force=True)


def run(console: pexpect.spawn, command: str) -> str:
    """Type a command, wait for the next prompt; what it printed (without the echoed command)."""
    console.sendline(command)
    console.expect_exact(command)
    console.expect_exact(PROMPT)
    return console.before


def foreground_job(console: pexpect.spawn, script: str) -> None:
    """Start `sh -c script` in the foreground, after it printed 'ready' (it owns the terminal)."""
    console.sendline(f"sh -c {shlex.quote(script)}")
    console.expect("(?<!echo )ready")


@covers("ioctl", "setsid", "reboot")
def test_init_starts_a_login_shell_with_job_control_that_runs_commands(console):
    out = run(console, "echo $((40 + 2)); cat /proc/1/comm; ps -o pid,comm | grep -c init")
    assert "42" in out and "init" in out
    assert "job control turned off" not in console.before


def test_line_editing_keys_of_the_kernel_line_discipline_erase_words_and_lines(console):
    # `read` runs with the terminal in canonical mode: the guest's N_TTY does the editing.
    # "go" shows that the shell has put the terminal back in canonical mode (it does before
    # running a command line); keys typed earlier would reach its raw-mode line editor.
    console.sendline('echo go; read x; echo "[$x]"')
    console.expect("(?<!echo )go")
    console.send("foo bar\x17baz")              # ^W erases "bar"
    console.send("\x15qux\x7fz\r")              # ^U erases the line, DEL the "x"
    console.expect_exact("[quz]")
    console.expect_exact(PROMPT)


def test_shell_line_editing_backspace_and_kill_line(console):
    console.send("echo abX\x7fc\r")
    console.expect(r"\babc\r?\n")
    console.expect_exact(PROMPT)
    console.send("echo wrong\x15echo right\r")
    console.expect(r"\bright\r?\n")
    console.expect_exact(PROMPT)


def test_ctrl_c_interrupts_the_foreground_job_and_the_prompt_returns_quickly(console):
    foreground_job(console, "echo ready; exec sleep 100")
    sent = time.monotonic()
    console.send("\x03")
    console.expect_exact(PROMPT)
    assert time.monotonic() - sent < 10
    assert "130" in run(console, "echo $?")


def test_ctrl_z_stops_a_job_jobs_lists_it_fg_resumes_it_and_ctrl_c_ends_it(console):
    foreground_job(console, 'trap "echo continued" CONT; echo ready; while :; do sleep 1; done')
    console.send("\x1a")
    console.expect("Stopped")
    console.expect_exact(PROMPT)
    assert "Stopped" in run(console, "jobs")
    console.sendline("fg")
    console.expect("continued")                 # the job runs again, in the foreground
    console.send("\x03")
    console.expect_exact(PROMPT)
    assert run(console, "jobs").strip() == ""


def test_vi_edits_and_saves_a_file(console):
    console.sendline("vi /tmp/note.txt")
    console.expect(r"/tmp/note\.txt.*\d+/\d+")  # the status line: vi is up, in raw mode
    console.send("i")
    console.expect(r"I /tmp/note\.txt")
    console.send("hello from vi")
    console.expect_exact("hello from vi")
    console.send("\x1b")
    console.expect(r"- /tmp/note\.txt")
    console.send(":wq\r")
    console.expect_exact(PROMPT)
    assert "hello from vi" in run(console, "cat /tmp/note.txt")


def test_top_draws_and_quits_on_q(console):
    console.sendline("top")
    console.expect(r"PID\s+PPID\s+USER")
    console.expect(r"top")                      # its own line in the process list
    console.send("q")
    console.expect_exact(PROMPT)


def test_stty_size_reports_the_terminal_size_and_a_resize_reaches_the_foreground_job(console):
    assert run(console, "stty size").split()[-2:] == ["30", "100"]
    foreground_job(console, 'trap "echo winch; exit 0" WINCH; echo ready; while :; do sleep 1; done')
    console.setwinsize(40, 120)                 # the host terminal resized: SIGWINCH to moss-host
    console.expect("winch")
    console.expect_exact(PROMPT)
    assert run(console, "stty size").split()[-2:] == ["40", "120"]


@covers("ioctl", "ppoll", "setsid")
def test_a_program_runs_a_command_on_a_pseudo_terminal(console):
    out = run(console, "/tests/pty_script 'echo hi; tty'")
    assert re.search(r"pty: /dev/pts/\d+", out)
    assert re.search(r"\r\n/dev/pts/\d+\r\n", out.replace("\r\r\n", "\r\n"))
    assert "pty: eof errno=EIO status=0" in out
    assert "ptmx" in run(console, "ls /dev/pts")


@covers("reboot")
def test_poweroff_ends_moss_host_with_status_0_and_restores_the_terminal():
    """Through a host shell on the same pty, so its settings can be compared before and after."""
    moss = f"{shlex.quote(sys.executable)} -m moss_host.cli boot --image {shlex.quote(str(IMAGE))}"
    script = f"stty -g; {moss}; echo status=$?; stty -g"
    child = pexpect.spawn("/bin/sh", ["-c", script], cwd=str(REPO), timeout=STEP_TIMEOUT,
                          encoding="utf-8", codec_errors="replace", dimensions=(30, 100))
    try:
        child.expect(r"([0-9a-f:]{20,})\r\n")
        before = child.match.group(1)
        child.expect_exact(PROMPT, timeout=BOOT_TIMEOUT)
        child.sendline("poweroff")              # init runs its shutdown actions, then reboot(2)
        child.expect(r"status=(\d+)")
        assert child.match.group(1) == "0"
        child.expect(r"([0-9a-f:]{20,})\r\n")
        assert child.match.group(1) == before
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


@covers("reboot")
def test_reboot_starts_a_fresh_kernel_on_the_image_and_poweroff_then_ends_the_run():
    child = boot()
    try:
        run(child, "echo here > /tmp/before-reboot")
        child.sendline("reboot -f")             # reboot(2) RESTART
        child.expect_exact("moss: restarting")
        child.expect_exact(PROMPT, timeout=BOOT_TIMEOUT)
        assert "No such file" in run(child, "cat /tmp/before-reboot")   # the image, as it was
        child.sendline("halt -f")               # reboot(2) HALT: the run ends too
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0



def test_exit_at_the_console_brings_a_fresh_shell_from_init():
    """init respawns the login shell: it must hear SIGCHLD while it waits in sigtimedwait."""
    child = boot()
    try:
        run(child, "echo first")
        child.sendline("exit")
        child.expect_exact(PROMPT, timeout=BOOT_TIMEOUT)
        assert "again" in run(child, "echo again")
        child.sendline("poweroff")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
