"""machine/hostmem.py: freed host memory goes back to the host (issue 19: host RSS after stress)."""
import asyncio
import subprocess
import sys

import pytest

from moss_host.machine import hostmem

glibc = pytest.mark.skipif(hostmem._libc is None, reason="glibc's mallopt/malloc_trim/mallinfo2 only")

# exec's pattern under stress: programs' bytes (MiBs) read and freed while small long-lived
# objects are made between them. In a fresh interpreter, as mallopt is for the whole process.
FRAGMENT = """
import sys
from moss_host.machine import hostmem
def rss_anon_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("RssAnon:"))
first = b"x" * (2 << 20)
del first                       # glibc by default: its mmap threshold rises to 2 MiB here
before = rss_anon_kb()
programs, kept = [], []
for _ in range(16):
    programs.append(b"x" * (2 << 20))
    kept.append(bytes(100 << 10))          # from the heap's top, after each program
del programs
if sys.argv[1] == "trim":
    hostmem.trim()
print(rss_anon_kb() - before)
"""


def growth_kb(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", FRAGMENT, mode], capture_output=True, text=True, check=True)
    return int(out.stdout)


def rss_anon_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("RssAnon:"))


@glibc
def test_freed_program_reads_leave_the_heap():
    """32 MiB read and freed, 1.6 MiB kept: glibc keeps the 32 MiB (the holes between the
    kept blocks) until a malloc_trim (the Trimmer's) gives their pages back."""
    assert growth_kb("default") > 24 << 10
    assert growth_kb("trim") < 4 << 10


@glibc
def test_trim_gives_back_holes_in_the_heap():
    """Blocks freed between kept ones are holes, not the heap's top: malloc_trim gives
    their pages back."""
    blocks = [b"x" * (100 << 10) for _ in range(200)]       # 20 MiB of heap blocks
    for i in range(0, len(blocks), 2):
        blocks[i] = b""                                     # every other one freed
    before = rss_anon_kb()
    assert hostmem.trim()
    assert before - rss_anon_kb() > 6 << 10


@glibc
def test_trimmer_trims_once_enough_is_freed_since_its_last_trim(monkeypatch):
    """The heap's free bytes, as the ticks see them: reuse lowers them, a trim does not."""
    free = iter([10, 30, 25, 20, 26, 40, 40, 12, 15])        # MiB at each tick
    trims = []
    monkeypatch.setattr(hostmem, "heap_free", lambda: next(free) << 20)
    monkeypatch.setattr(hostmem, "trim", lambda: trims.append(True))

    async def run() -> list[int]:
        trimmer = hostmem.Trimmer(period_s=0.001, slack=4 << 20)      # low: 10 MiB
        trimmed = []
        for _ in range(8):
            trimmer._tick()
            trimmed.append(trimmer.trims)
        trimmer.stop()
        return trimmed
    #          30: +20   25, 20: reused   26: +6   40: +14   40   12   15: +3
    assert asyncio.run(run()) == [1, 1, 1, 2, 3, 3, 3, 3]
    assert len(trims) == 3
