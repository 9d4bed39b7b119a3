"""The console as a person uses it: `moss-host boot` (BusyBox init, a login shell on the
console) driven through a real pseudo-terminal by pexpect, so the host-terminal path of
moss_host/tty/console.py is the one under test: raw mode on the host, the guest's line
discipline doing echo, editing and ^C/^Z, window sizes from the host terminal.

Every step waits for output, never for time: a command that must be running before a key
is typed prints a marker first (from inside the foreground job, so by then the shell has
handed it the terminal).

What the commands print is Linux's (the `linux_oracle` fixture): keys typed on a terminal go
through tests/programs/pty_script on a pseudo-terminal of Linux 6.1, whose line discipline
edits them as moss's must. Left as literals: BusyBox's own screens (vi's status line, the
job-control "Stopped"), which need a person at a terminal to produce, and moss-host's own
messages and exit statuses.
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


def on_linux_pty(oracle, command: str, keys: str = "") -> str:
    """What `command` writes on a pseudo-terminal of Linux when `keys` are typed to it (the
    oracle has devpts mounted for the moment), carriage returns dropped."""
    out, status = oracle.run("mkdir -p /dev/pts && mount -t devpts devpts /dev/pts && "
                             f"/tests/pty_script {shlex.quote(command)} {shlex.quote(keys)}; "
                             "s=$?; umount /dev/pts; exit $s")
    assert status == 0, out
    return out.replace("\r", "")


def typed_on_linux(oracle, keys: str, then: str) -> str:
    """What Linux prints when `keys` are typed as a line on a terminal, read in canonical mode
    (the line discipline does the editing) and handed to `then` as $line."""
    out = on_linux_pty(oracle, f'read -r line; echo @@B; {then}; echo @@E', keys)
    return out.split("@@B\n", 1)[1].split("@@E\n", 1)[0]


def foreground_job(console: pexpect.spawn, script: str) -> None:
    """Start `sh -c script` in the foreground, after it printed 'ready' (it owns the terminal)."""
    console.sendline(f"sh -c {shlex.quote(script)}")
    console.expect("(?<!echo )ready")


@pytest.mark.differential
@covers("ioctl", "setsid", "reboot")
def test_init_starts_a_login_shell_with_job_control_that_runs_commands(console, linux_oracle):
    """(pid 1 is BusyBox init in moss's boot, a shell in the oracle's.)"""
    answer, _ = linux_oracle.run("echo $((40 + 2))")
    out = run(console, "echo $((40 + 2)); cat /proc/1/comm; ps -o pid,comm | grep -c init")
    assert answer.strip() and answer.strip() in out and "init" in out
    assert "job control turned off" not in console.before


@pytest.mark.differential
def test_line_editing_keys_of_the_kernel_line_discipline_erase_words_and_lines(console, linux_oracle):
    # `read` runs with the terminal in canonical mode: the guest's N_TTY does the editing.
    # "go" shows that the shell has put the terminal back in canonical mode (it does before
    # running a command line); keys typed earlier would reach its raw-mode line editor.
    keys = ["foo bar\x17baz", "\x15qux\x7fz\r"]      # ^W erases a word, ^U the line, DEL a char
    expected = typed_on_linux(linux_oracle, "".join(keys), 'echo "[$line]"').strip()
    assert expected.startswith("[") and len(expected) > 2
    console.sendline('echo go; read x; echo "[$x]"')
    console.expect("(?<!echo )go")
    for chunk in keys:
        console.send(chunk)
    console.expect_exact(expected)
    console.expect_exact(PROMPT)


@pytest.mark.differential
def test_shell_line_editing_backspace_and_kill_line(console, linux_oracle):
    """What the edited line prints: Linux's for the same keys typed as a line."""
    for keys in ("echo abX\x7fc\r", "echo wrong\x15echo right\r"):
        expected = typed_on_linux(linux_oracle, keys, 'eval "$line"').strip()
        assert expected
        console.send(keys)
        console.expect(rf"\b{re.escape(expected)}\r?\n")
        console.expect_exact(PROMPT)


@pytest.mark.differential
def test_ctrl_c_interrupts_the_foreground_job_and_the_prompt_returns_quickly(console, linux_oracle):
    status, _ = linux_oracle.run("sh -c 'kill -INT $$'; echo $?")      # a job killed by SIGINT
    foreground_job(console, "echo ready; exec sleep 100")
    sent = time.monotonic()
    console.send("\x03")
    console.expect_exact(PROMPT)
    assert time.monotonic() - sent < 10
    assert status.strip() and status.strip() in run(console, "echo $?")


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


@pytest.mark.differential
def test_top_draws_and_quits_on_q(console, linux_oracle):
    out, _ = linux_oracle.run("top -b -n1")
    header = next(line for line in out.splitlines() if "PID" in line)    # the process list's
    console.sendline("top")
    console.expect(r"\s+".join(map(re.escape, header.split())))
    console.expect(r"top")                      # its own line in the process list
    console.send("q")
    console.expect_exact(PROMPT)


@pytest.mark.differential
def test_stty_size_reports_the_terminal_size_and_a_resize_reaches_the_foreground_job(console, linux_oracle):
    """`stty size` of a 30x100 and then a 40x120 terminal as Linux prints it."""
    def size(rows: int, cols: int) -> list[str]:
        out = on_linux_pty(linux_oracle, f"stty rows {rows} cols {cols}; stty size")
        return out.splitlines()[1].split()
    assert run(console, "stty size").split()[-2:] == size(30, 100)
    foreground_job(console, 'trap "echo winch; exit 0" WINCH; echo ready; while :; do sleep 1; done')
    console.setwinsize(40, 120)                 # the host terminal resized: SIGWINCH to moss-host
    console.expect("winch")
    console.expect_exact(PROMPT)
    assert run(console, "stty size").split()[-2:] == size(40, 120)


@pytest.mark.differential
@covers("ioctl", "ppoll", "setsid")
def test_a_program_runs_a_command_on_a_pseudo_terminal(console, linux_oracle):
    """pty_script's transcript is Linux's (the pty's number apart); /dev/pts holds what
    Linux's devpts holds."""
    def transcript(text: str) -> list[str]:
        return re.sub(r"/dev/pts/\d+", "/dev/pts/N", text.replace("\r", "")).strip().splitlines()
    command = "echo hi; tty"
    linux = transcript(on_linux_pty(linux_oracle, command))
    assert "/dev/pts/N" in linux
    assert transcript(run(console, f"/tests/pty_script {shlex.quote(command)}")) == linux
    linux_pts, _ = linux_oracle.run("mkdir -p /dev/pts && mount -t devpts devpts /dev/pts && ls /dev/pts; "
                                    "umount /dev/pts")
    assert linux_pts.split() and set(linux_pts.split()) <= set(run(console, "ls /dev/pts").split())


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


@pytest.mark.differential
@covers("reboot")
def test_reboot_starts_a_fresh_kernel_on_the_image_and_poweroff_then_ends_the_run(linux_oracle):
    missing, _ = linux_oracle.run("rm -f /tmp/before-reboot; cat /tmp/before-reboot")
    assert "before-reboot" in missing
    child = boot()
    try:
        run(child, "echo here > /tmp/before-reboot")
        child.sendline("reboot -f")             # reboot(2) RESTART
        child.expect_exact("moss: restarting")
        child.expect_exact(PROMPT, timeout=BOOT_TIMEOUT)
        assert missing.strip() in run(child, "cat /tmp/before-reboot")   # the image, as it was
        child.sendline("halt -f")               # reboot(2) HALT: the run ends too
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


@pytest.mark.differential
def test_exit_at_the_console_brings_a_fresh_shell_from_init(linux_oracle):
    """init respawns the login shell: it must hear SIGCHLD while it waits in sigtimedwait."""
    again, _ = linux_oracle.run("echo again")
    child = boot()
    try:
        run(child, "echo first")
        child.sendline("exit")
        child.expect_exact(PROMPT, timeout=BOOT_TIMEOUT)
        assert again.strip() and again.strip() in run(child, "echo again")
        child.sendline("poweroff")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
