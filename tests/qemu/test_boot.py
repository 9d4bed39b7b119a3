"""`moss-host boot` (what `just boot` runs) brings up BusyBox sh on the console."""
import sys

import pexpect
import pytest

from tests.covers import covers

from .conftest import IMAGE, REPO

pytestmark = pytest.mark.qemu


@covers("ioctl", "getcwd", "chdir")
def test_boot_reaches_a_shell_prompt_that_runs_commands_and_exits():
    """With a shell as pid 1 (`--init /bin/sh`), its exit status is moss-host's."""
    shell = pexpect.spawn(sys.executable, ["-m", "moss_host.cli", "boot", "--image", str(IMAGE),
                                            "--init", "/bin/sh"],
                          cwd=str(REPO), timeout=60, encoding="utf-8")
    try:
        shell.expect(r"# ")
        shell.sendline("echo $((40 + 2))")
        shell.expect("42")
        shell.expect(r"# ")
        shell.sendline("cd /etc; pwd")
        shell.expect("/etc")
        shell.expect(r"# ")
        shell.sendline("exit 5")
        shell.expect(pexpect.EOF)
    finally:
        shell.close()
    assert shell.exitstatus == 5
