"""BusyBox sh scripts: the same script, the same BusyBox, byte-for-byte Linux's output."""
from pathlib import Path

import pytest

from tests.covers import covers

from .conftest import moss_run

pytestmark = pytest.mark.qemu

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.mark.differential
@covers("clone", "execve", "wait4", "pipe2", "dup3", "kill", "rt_sigaction")
def test_shell_workout_matches_linux_byte_for_byte(linux_oracle):
    """Pipelines, subshells, substitution, here-docs, traps, background jobs: 200+ commands."""
    script = (SCRIPTS / "shell_workout.sh").read_text()
    r = moss_run("/bin/sh", "-c", script, timeout=300)
    linux_out, linux_err, linux_status = linux_oracle.run3(script, timeout=300)
    assert r.stdout.decode() == linux_out
    assert r.returncode == linux_status == 0
    assert linux_out.count("\n") > 30, linux_err
