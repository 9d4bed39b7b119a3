"""The kernel console (moss_host/kconsole.py): Ctrl-] p at `moss-host boot` opens a Python
prompt inside the running kernel with the guest stopped, and `moss-host console` opens the
same prompt from another terminal. What the prompt prints is moss-py's own view of itself
(its tasks, files, frames), so these are literals; the guest's answers around it come from
the guest's shell.
"""
from __future__ import annotations

import contextlib
import sys
import time
from typing import Iterator

import pexpect
import pytest

from .conftest import IMAGE, REPO

pytestmark = pytest.mark.qemu

PROMPT = r"[#$] "
TIMEOUT = 60


@contextlib.contextmanager
def booted_shell() -> Iterator[pexpect.spawn]:
    """`moss-host boot` with /bin/sh as pid 1 at its prompt; powered off after the test's steps
    (killed if one failed)."""
    child = pexpect.spawn(sys.executable, ["-m", "moss_host.cli", "boot", "--image", str(IMAGE), "--init", "/bin/sh"],
                          cwd=str(REPO), timeout=TIMEOUT, encoding="utf-8", codec_errors="replace")
    try:
        child.expect(PROMPT, timeout=120)
        yield child
        power_off(child)
    finally:
        if child.isalive():
            child.close(force=True)


def run(child: pexpect.spawn, command: str, marker: str) -> None:
    child.sendline(command)
    child.expect(marker)
    child.expect(PROMPT)


def prompt_line(child: pexpect.spawn, source: str) -> str:
    """Send one line of Python at the kernel console; what it printed before the next prompt."""
    child.sendline(source)
    child.expect(">>> ")
    return child.before.split("\n", 1)[1] if "\n" in child.before else ""     # past the echoed line


def drain(child: pexpect.spawn, quiet: float = 0.5) -> None:
    """Read what the child printed until it has been quiet for `quiet` seconds (5 s at most)."""
    deadline = time.monotonic() + 5
    try:
        while time.monotonic() < deadline:
            child.read_nonblocking(4096, timeout=quiet)
    except pexpect.TIMEOUT:
        pass


def power_off(child: pexpect.spawn) -> None:
    child.sendline("poweroff -f")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_bracket_p_opens_the_console_and_ctrl_d_resumes():
    with booted_shell() as child:
        run(child, "sleep 30 & echo started-$((6*7))", "started-42")
        child.send("\x1dp")
        child.expect(">>> ")
        table = prompt_line(child, "ps()")
        assert " sh " in table and " sleep " in table, table
        files = prompt_line(child, "files(1)")
        assert "0 -> /dev/console" in files, files
        assert "in use" in prompt_line(child, "frames()")
        assert "cpu0:" in prompt_line(child, "runqueue()")
        assert " / " in prompt_line(child, "mounts()")
        maps = prompt_line(child, "maps(1)")
        assert "[stack]" in maps, maps
        first = maps.strip().splitlines()[0].split("-")[0]      # the executable's header page
        assert "\\x7fELF" in prompt_line(child, f"read_user(1, 0x{first}, 4)")
        assert "LookupError" in prompt_line(child, "task(99999)")
        child.sendcontrol("d")
        child.expect("resuming the guest")
        run(child, "echo back-$((6*7))", "back-42")
        run(child, "kill %1; wait; echo done-$((6*7))", "done-42")


def test_moss_host_console_attaches_from_another_terminal_and_stops_the_guest():
    with booted_shell() as child:
        child.sendline("while :; do echo tick; sleep 0.2; done &")
        child.expect("tick")
        other = pexpect.spawn(sys.executable, ["-m", "moss_host.cli", "console", "--pid", str(child.pid)],
                              cwd=str(REPO), timeout=TIMEOUT, encoding="utf-8", codec_errors="replace")
        other.expect(">>> ")
        table = prompt_line(other, "ps()")
        assert " sh " in table, table
        # The guest is stopped while a client is attached (QMP stop), though the kernel's
        # event loop turns between two lines: the ticker prints nothing meanwhile.
        drain(child)                            # ticks printed before the stop
        with pytest.raises(pexpect.TIMEOUT):
            child.expect("tick", timeout=2)
        assert "42" in prompt_line(other, "print(6 * 7)")
        assert "ZeroDivisionError" in prompt_line(other, "1 / 0")
        other.sendline("def f(x):")
        other.expect(r"\.\.\. ")
        other.sendline("    return x + 1")
        other.expect(r"\.\.\. ")
        other.sendline("")
        other.expect(">>> ")
        assert "43" in prompt_line(other, "f(42)")
        other.sendeof()
        other.expect(pexpect.EOF)
        other.close()
        assert other.exitstatus == 0
        child.expect("tick")                    # resumed
        run(child, "kill %1; echo after-$((6*7))", "after-42")


def test_moss_host_console_without_a_boot_says_so():
    other = pexpect.spawn(sys.executable, ["-m", "moss_host.cli", "console", "--pid", "1"],
                          cwd=str(REPO), timeout=TIMEOUT, encoding="utf-8")
    other.expect("no running moss-host boot with a console")
    other.expect(pexpect.EOF)
    other.close()
    assert other.exitstatus == 1
