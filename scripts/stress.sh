#!/usr/bin/env bash
# just stress [--timeout S] [STRESSOR...]: Debian's stress-ng inside moss-py on a copy of
# build/debian.ext4, under --strict, one stressor at a time with --verify. Reports each
# stressor's result, the guest's MemFree before and after, and moss-host's memory early and
# at the end: RssAnon, the host's own (a leak shows as growth), apart from RssShmem, the
# guest RAM it has touched (the memfd QEMU shares: it grows with the frames the guest has
# used, bounded by --ram, and is not the host's). The issue's tty stressor is pty here: Debian bookworm's
# stress-ng 0.15.06 has no tty stressor ("unrecognized option '--tty'"); pty opens
# pseudo-terminals and works their termios and window-size ioctls.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
timeout_s=20
while [ $# -gt 0 ] && [ "${1#--}" != "$1" ]; do
    case "$1" in
        --timeout) timeout_s=$2; shift 2 ;;
        *) echo "usage: just stress [--timeout S] [STRESSOR...]" >&2; exit 2 ;;
    esac
done
STRESSORS=(fork vfork clone exec pipe fifo signal sigsegv mmap vm brk stack futex mutex sem msg shm
           dir dentry open rename link chmod fallocate seek poll epoll eventfd timerfd sock udp pty)
[ $# -eq 0 ] || STRESSORS=("$@")
scripts/image_debian.sh >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/moss-stress.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp --sparse=always build/debian.ext4 "$work/disk.ext4"
guest="cd /tmp; grep MemFree /proc/meminfo | sed 's/^/before: /';"
for s in "${STRESSORS[@]}"; do
    run=stress-ng       # exec's stressor refuses root ("No stress workers invoked"): nobody runs it
    [ "$s" != exec ] || run="setpriv --reuid=65534 --regid=65534 --clear-groups stress-ng"
    guest+=" $run --$s 1 --timeout ${timeout_s}s --verify --metrics-brief >/tmp/out 2>&1;"
    guest+=" r=\$?; ! grep -q 'No stress workers invoked' /tmp/out || r=not-run;"   # exit 0 all the same
    guest+=" echo \"stressor $s: exit \$r\"; grep -E 'fail|error|verif' /tmp/out | head -3;"
done
guest+=" sleep 1; grep MemFree /proc/meminfo | sed 's/^/after: /'"
log=$work/run.log
echo "stress: ${#STRESSORS[@]} stressors, ${timeout_s}s each, --verify (moss-host --strict)"
set +e
MOSS_STRICT=1 python3 -m moss_host.cli run --strict --disk "$work/disk.ext4" -- /bin/sh -c "$guest" >"$log" 2>&1 &
host=$!
rss_first="" rss_last=""
while kill -0 $host 2>/dev/null; do
    rss=$(awk '/RssAnon/ {a=$2} /RssShmem/ {s=$2} END {if (a) print a " kB own, " s " kB guest RAM"}' \
          /proc/$host/status 2>/dev/null || true)
    [ -n "$rss" ] && { [ -n "$rss_first" ] || [ "$SECONDS" -lt 15 ] || rss_first=$rss; rss_last=$rss; }
    sleep 1
done
wait $host
status=$?
set -e
cat "$log"
passed=$(grep -c 'stressor .*: exit 0' "$log" || true)
echo "stress: $passed of ${#STRESSORS[@]} passed; moss-host RSS ${rss_first:-?} early, ${rss_last:-?} at the end; exit $status"
cp "$log" build/stress-last.log
[ "$passed" = "${#STRESSORS[@]}" ] && [ "$status" = 0 ]
