"""strace_shell: what `strace -f` costs a shell workload, under moss-py and under Linux.

    python3 -m bench.strace_shell [--iters N] [--reps R]

The workload is bench/scripts/shell_loop.sh's loop (pipelines of coreutils, a few hundred
forks and execs), run by Debian's dash on build/debian.ext4 (`just image-debian`), where
strace is: once as it is and once under `strace -f -o /dev/null`. Each side times itself
inside the guest (`date +%s%N` around the loop), so boots do not count. moss-py runs
`moss-host run --disk COPY`; Linux 6.1 runs chrooted into its own copy of the image in
QEMU (tests/qemu/linux_debian_oracle.py). The figure is traced / untraced per system
(issue 14's target: moss-py's at most 3x), printed beside Linux's.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import build

REPO = build.REPO
IMAGE = REPO / "build" / "debian.ext4"

LOOP = """
tmp=/tmp/strace_shell.$$
i=0
while [ "$i" -lt {iters} ]; do
    echo "hello world $i" | tr a-z A-Z | wc -c > /dev/null
    seq 1 20 | sort -rn | head -n 3 > "$tmp"
    grep -c 1 "$tmp" > /dev/null
    cat "$tmp" | sed -e s/1/one/ | tail -n 1 > /dev/null
    i=$((i + 1))
done
rm -f "$tmp"
"""


def timed(loop: str, traced: bool) -> str:
    """A shell line printing the loop's nanoseconds (traced: under strace -f); the loop
    (no single quotes in it) travels in $LOOP."""
    run = "strace -f -o /dev/null sh -c \"$LOOP\"" if traced else "sh -c \"$LOOP\""
    return f"export LOOP='{loop}'; " + _timed(run)


def _timed(run: str) -> str:
    return f't0=$(/bin/date +%s%N); {run}; t1=$(/bin/date +%s%N); echo NS=$((t1 - t0))'


def parse_ns(out: str) -> int:
    for line in out.splitlines():
        if line.startswith("NS="):
            return int(line[3:])
    raise RuntimeError(f"no NS= line in {out[-500:]!r}")


def run_moss(disk: Path, loop: str, traced: bool) -> int:
    script = timed(loop, traced)
    r = subprocess.run([sys.executable, "-m", "moss_host.cli", "run", "--disk", str(disk), "--",
                        "/bin/busybox", "sh", "-c",
                        'mount -t tmpfs -o mode=1777 tmpfs /tmp && exec /bin/sh -c "$0"', script],
                       capture_output=True, text=True, timeout=1800, cwd=REPO)
    return parse_ns(r.stdout + r.stderr)


def run_linux(vm, loop: str, traced: bool) -> int:
    out, err, _ = vm.run_argv(["sh", "-c", timed(loop, traced)], timeout=1800)
    return parse_ns(out + err)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    loop = LOOP.format(iters=args.iters)
    sys.path.insert(0, str(REPO))
    from tests.qemu.linux_debian_oracle import LinuxDebian
    with tempfile.TemporaryDirectory() as tmp:
        moss_disk, linux_disk = Path(tmp) / "moss.ext4", Path(tmp) / "linux.ext4"
        for disk in (moss_disk, linux_disk):
            subprocess.run(["cp", "--sparse=always", str(IMAGE), str(disk)], check=True)
        vm = LinuxDebian(linux_disk, name="bench-strace").start()
        try:
            times: dict[tuple[str, bool], list[int]] = {}
            for _ in range(args.reps):            # interleaved: load changes hit both alike
                for traced in (False, True):
                    times.setdefault(("moss", traced), []).append(run_moss(moss_disk, loop, traced))
                    times.setdefault(("linux", traced), []).append(run_linux(vm, loop, traced))
        finally:
            vm.stop()
    for system in ("linux", "moss"):
        plain = statistics.median(times[(system, False)])
        traced = statistics.median(times[(system, True)])
        print(f"{system:6} untraced {plain / 1e6:9.1f} ms  strace -f {traced / 1e6:9.1f} ms  "
              f"ratio {traced / plain:5.2f}x   (median of {args.reps}, {args.iters} iterations)")


if __name__ == "__main__":
    main()
