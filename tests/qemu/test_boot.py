"""`moss-host boot` (what `just boot` runs) brings up BusyBox sh on the console; what the
commands typed there print, and the status the shell exits with, are Linux's for the same
commands (the `linux_oracle` fixture)."""
import sys

import pexpect
import pytest

from tests.covers import covers

from .conftest import IMAGE, REPO

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("ioctl", "getcwd", "chdir")
def test_boot_reaches_a_shell_prompt_that_runs_commands_and_exits(linux_oracle):
    """With a shell as pid 1 (`--init /bin/sh`), its exit status is moss-host's."""
    commands = ["echo $((40 + 2))", "cd /etc; pwd"]
    expected = [linux_oracle.run(command) for command in commands]
    assert all(status == 0 and out.strip() for out, status in expected)
    _, exit_status = linux_oracle.run("exit 5")
    shell = pexpect.spawn(sys.executable, ["-m", "moss_host.cli", "boot", "--image", str(IMAGE),
                                            "--init", "/bin/sh"],
                          cwd=str(REPO), timeout=60, encoding="utf-8")
    try:
        shell.expect(r"# ")
        for command, (out, _) in zip(commands, expected):
            shell.sendline(command)
            shell.expect_exact(command)                 # the echo of what was typed
            shell.expect_exact(out.strip())
            shell.expect(r"# ")
        shell.sendline("exit 5")
        shell.expect(pexpect.EOF)
    finally:
        shell.close()
    assert shell.exitstatus == exit_status
