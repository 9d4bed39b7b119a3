#!/usr/bin/env bash
# just fuzz [--seconds N] [--seed S] [--children C] [--cpus N]: Debian's trinity (the syscall fuzzer,
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
# is no trap progress for HANG_S seconds: a guest bash prints a heartbeat every second (a read
# of an empty FIFO that times out and a write: traps the host must answer; not a sleep process
# forked and executed each second, about 2% of moss-host's CPU in the run) and the watchdog
# here kills moss-host with SIGABRT (python -X faulthandler prints where every host thread
# was) when none came for that long, or when the run outlives its time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=600
seed=1
children=2
cpus=1
profile=""                # --profile OUT: moss-host under cProfile (where its time goes)
host_args=""              # --host-args: more moss-host run options (--timing, --trace-summary)
moss_dir=$PWD             # --moss-dir: run another tree's moss_host (A/B against a base worktree)
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --children) children=$2; shift 2 ;;
        --cpus) cpus=$2; shift 2 ;;
        --profile) profile=$(realpath -m "$2"); shift 2 ;;
        --host-args) host_args=$2; shift 2 ;;
        --moss-dir) moss_dir=$2; shift 2 ;;
        *) echo "usage: just fuzz [--seconds N] [--seed S] [--children C] [--cpus N] [--profile OUT.prof] [--host-args 'ARGS'] [--moss-dir TREE]" >&2; exit 2 ;;
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
guest="mkdir -p /tmp/victim; cd /tmp; head -1 /proc/stat; cat /proc/loadavg
mkfifo /tmp/beat.fifo; bash -c 'exec 3<>/tmp/beat.fifo; while :; do read -t 1 -u 3; echo $BEAT; done' & beat=\$!
timeout -s INT $seconds trinity --dropprivs -q -l off -s $seed -C $children -V /tmp/victim \
    --disable-fds=sockets 2>&1 | tail -n 40
echo trinity-exit=\$?
kill \$beat; head -1 /proc/stat; cat /proc/loadavg"
echo "fuzz: trinity for ${seconds}s, seed $seed, $children children, $cpus CPUs (moss-host --strict)"
set +e
runner=(-m moss_host.cli)
[ -n "$profile" ] && runner=(-m cProfile -o "$profile" -m moss_host.cli)
# shellcheck disable=SC2086  # host_args: several words
(cd "$moss_dir" && MOSS_STRICT=1 exec python3 -X faulthandler "${runner[@]}" run --strict --cpus "$cpus" $host_args \
    --disk "$work/disk.ext4" -- /bin/sh -c "$guest") >"$log" 2>&1 &
host=$!
# Host CPU (user + system ticks of moss-host and its QEMU) from the first heartbeat (boot done)
# to trinity's end: CPU per fuzzed call, which the load of a shared machine changes less than
# the wall-clock rate.
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_ticks() { echo "$(ticks $host) $(ticks "$(pgrep -P $host | head -1)")"; }
hang=0 beats=0 quiet=0 started=$SECONDS cpu0="" cpu1=""
while kill -0 $host 2>/dev/null; do
    sleep 1
    now=$(grep -c "^$BEAT" "$log" || true)
    if ! grep -q trinity-exit= "$log"; then
        cpu1=$(cpu_ticks)
        [ -z "$cpu0" ] && [ "$now" -gt 0 ] && cpu0=$cpu1
    fi
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
# The guest's CPU time over the run: /proc/stat's cpu line before and after (user, system, idle)
split=$(grep '^cpu ' "$log" | awk 'NR == 1 { for (i = 2; i <= 9; i++) a[i] = $i }
    END { for (i = 2; i <= 9; i++) { d[i] = $i - a[i]; t += d[i] }; if (NR < 2 || t == 0) exit
          printf "user %d%% system %d%% idle %d%%", 100 * (d[2] + d[3]) / t, 100 * (d[4] + d[7] + d[8]) / t, 100 * (d[5] + d[6]) / t }')
grep -v "^$BEAT" "$log" | tail -n 30
echo "fuzz: seed $seed, syscalls ${calls:-unknown} ($(( ${calls:-0} / seconds ))/s), kernel bugs $bugs, hangs $hang, moss-host exit $status"
# Processes trinity made (children it re-forked, its fuzzed clones): /proc/loadavg's last pid
forks=$(grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+/[0-9]+ [0-9]+$' "$log" | awk 'NR == 1 { a = $5 } END { print $5 - a }')
read -r host0 qemu0 <<< "${cpu0:-0 0}"
read -r host1 qemu1 <<< "${cpu1:-0 0}"
ms() { echo $(( ($1) * 1000 / $(getconf CLK_TCK) )); }
host_ms=$(ms "host1 - host0") qemu_ms=$(ms "qemu1 - qemu0")
per=$(( ${calls:-0} > 0 ? ${calls:-0} : 1 ))
echo "fuzz: guest CPU ${split:-unknown}; processes created ${forks:-unknown}; host CPU moss-host ${host_ms} ms + QEMU ${qemu_ms} ms:" \
    "$(( host_ms * 1000 / per )) + $(( qemu_ms * 1000 / per )) us per syscall," \
    "CPU pressure $(awk '/^some/ { print $2 }' /proc/pressure/cpu)"
cp "$log" build/fuzz-last.log
[ "$bugs" = 0 ] && [ "$hang" = 0 ] && [ "$status" = 0 ]
