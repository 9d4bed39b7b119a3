#!/usr/bin/env bash
# just fuzz [--seconds N] [--seed S] [--children C]: Debian's trinity (the syscall fuzzer,
# arm64) inside moss-py, on a copy of build/debian.ext4, under --strict (a kernel bug panics
# the run: exit 125 with the call, its arguments and the traceback).
#
# trinity runs as a fuzzing farm runs it: a fixed seed (the run can be replayed), as an
# unprivileged user (--dropprivs), without the calls it calls dangerous (reboot, kill -1, ...:
# no --dangerous), quiet (-q), and without its per-child log files (-l off: two writes per
# call it makes, which a farm does not read -- it watches the kernel, as the kernel-bug count
# and the hang watchdog do here).
#
# Reports: the seed, the syscalls trinity made (and per second), kernel bugs, and hangs. A hang
# is no trap progress for HANG_S seconds: a guest shell prints a heartbeat every second (a
# sleep and a write: two traps the host must answer) and the watchdog here kills moss-host with
# SIGABRT (python -X faulthandler prints where every host thread was) when none came for that
# long, or when the run outlives its time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=600
seed=1
children=2
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --children) children=$2; shift 2 ;;
        *) echo "usage: just fuzz [--seconds N] [--seed S] [--children C]" >&2; exit 2 ;;
    esac
done
HANG_S=10                 # no heartbeat for this long: a hang
LATE_S=120                # the run outliving its time by this much: a hang too
BEAT=moss-fuzz-heartbeat
scripts/image_debian.sh >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/moss-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp --sparse=always build/debian.ext4 "$work/disk.ext4"
log=$work/run.log
guest="mkdir -p /tmp/victim; cd /tmp
(while sleep 1; do echo $BEAT; done) & beat=\$!
timeout -s INT $seconds trinity --dropprivs -q -l off -s $seed -C $children -V /tmp/victim \
    --disable-fds=sockets 2>&1 | tail -n 40
echo trinity-exit=\$?
kill \$beat"
echo "fuzz: trinity for ${seconds}s, seed $seed, $children children (moss-host --strict)"
set +e
MOSS_STRICT=1 python3 -X faulthandler -m moss_host.cli run --strict --disk "$work/disk.ext4" \
    -- /bin/sh -c "$guest" >"$log" 2>&1 &
host=$!
hang=0 beats=0 quiet=0 started=$SECONDS
while kill -0 $host 2>/dev/null; do
    sleep 1
    now=$(grep -c "^$BEAT" "$log" || true)
    if [ "$now" != "$beats" ]; then
        beats=$now quiet=0
    elif [ "$beats" -gt 0 ] && ! grep -q trinity-exit= "$log"; then
        quiet=$((quiet + 1))
    fi
    if [ $quiet -ge $HANG_S ] || [ $((SECONDS - started)) -gt $((seconds + LATE_S)) ]; then
        hang=1
        echo "fuzz: HANG: no heartbeat for ${quiet}s ($((SECONDS - started))s into the run): SIGABRT to moss-host"
        qemu=$(pgrep -P $host || true)
        kill -ABRT $host 2>/dev/null
        sleep 5
        for pid in $host $qemu; do kill -KILL "$pid" 2>/dev/null; done
        break
    fi
done
wait $host
status=$?
set -e
calls=$(grep -oE 'Ran [0-9]+ syscalls' "$log" | tail -1 | grep -oE '[0-9]+' || true)
bugs=$(grep -c 'kernel bug' "$log" || true)
grep -v "^$BEAT" "$log" | tail -n 30
echo "fuzz: seed $seed, syscalls ${calls:-unknown} ($(( ${calls:-0} / seconds ))/s), kernel bugs $bugs, hangs $hang, moss-host exit $status"
cp "$log" build/fuzz-last.log
[ "$bugs" = 0 ] && [ "$hang" = 0 ] && [ "$status" = 0 ]
