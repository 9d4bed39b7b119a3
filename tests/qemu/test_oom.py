"""Guest RAM runs out: the OOM killer takes the biggest process with SIGKILL, logs it as
Linux does, and the kernel (and the processes it spared) live on."""
import re

import pytest

from .conftest import moss_run

pytestmark = pytest.mark.qemu

ROUNDS = ["round 0: child killed by Killed", "round 1: child killed by Killed",
          "parent alive, 8 MiB allocated after"]
KILLED = re.compile(r"Out of memory: Killed process (\d+) \(oom_hog\) total-vm:\d+kB, anon-rss:\d+kB, "
                    r"file-rss:\d+kB, shmem-rss:0kB, UID:0 pgtables:\d+kB oom_score_adj:0")


@pytest.mark.parametrize("adj", [[], ["-1000"]], ids=["default", "parent-protected"])
def test_a_memory_hog_is_oom_killed_and_the_kernel_lives(adj):
    run = moss_run("/tests/oom_hog", *adj, extra=("--ram", "128"), timeout=300)
    err = run.stderr.decode(errors="replace")
    assert run.stdout.decode().splitlines() == ROUNDS, err[-2000:]
    assert run.returncode == 0, err[-2000:]
    victims = [int(m[1]) for m in KILLED.finditer(err)]
    assert victims == [2, 3], err[-2000:]          # each child in turn, never the parent (pid 1)
    assert "kernel bug" not in err
