#!/usr/bin/env bash
# just fuzz [--seconds N] [--seed S]: Debian's trinity (the syscall fuzzer, arm64) inside
# moss-py, on a copy of build/debian.ext4, under --strict (a kernel bug panics the run: exit
# 125 with the call, its arguments and the traceback). trinity runs with a fixed seed, as an
# unprivileged user (--dropprivs) and without the calls its own options call dangerous
# (reboot, kill -1, ... are left out unless --dangerous is given, and it is not).
# Reports: the seed, the syscalls trinity made, kernel bugs, and a hang (the run outliving
# its time by HANG_S: nothing reached the end).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=600
seed=1
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        *) echo "usage: just fuzz [--seconds N] [--seed S]" >&2; exit 2 ;;
    esac
done
HANG_S=60
scripts/image_debian.sh >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/moss-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp --sparse=always build/debian.ext4 "$work/disk.ext4"
log=$work/run.log
guest="cd /tmp && timeout -s INT $seconds trinity --dropprivs -q -s $seed -C 2 -V /tmp/victim \
       --disable-fds=sockets 2>&1 | tail -n 40; echo trinity-exit=\$?"
mkdir -p "$work"
echo "fuzz: trinity for ${seconds}s, seed $seed (moss-host --strict)"
set +e
MOSS_STRICT=1 timeout -k 10 $((seconds + HANG_S)) python3 -m moss_host.cli run --strict --disk "$work/disk.ext4" \
    -- /bin/sh -c "mkdir -p /tmp/victim; $guest" >"$log" 2>&1
status=$?
set -e
calls=$(grep -oE 'Ran [0-9]+ syscalls' "$log" | tail -1 | grep -oE '[0-9]+' || true)
bugs=$(grep -c 'kernel bug' "$log" || true)
hang=0
[ "$status" = 124 ] || [ "$status" = 137 ] && hang=1
tail -n 30 "$log"
echo "fuzz: seed $seed, syscalls ${calls:-unknown}, kernel bugs $bugs, hangs $hang, moss-host exit $status"
cp "$log" build/fuzz-last.log
[ "$bugs" = 0 ] && [ "$hang" = 0 ] && [ "$status" = 0 ]
