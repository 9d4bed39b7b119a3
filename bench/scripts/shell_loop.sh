#!/bin/sh
# shell_loop.sh [ITERS=30] [NOW_NS=/bench/now_ns]
#
# A busybox shell workload: each iteration runs a handful of applets in
# pipelines (every external applet is a fork + exec of /bin/busybox), so a
# few hundred process creations in all.  Timed inside the guest with the
# now_ns helper (busybox date has no %N).  Prints one line:
#   BENCH name=shell_loop iters=N ns_per_op=X   (X = one iteration)
iters=${1:-30}
now=${2:-/bench/now_ns}
tmp=/tmp/shell_loop.$$
t0=$($now)
i=0
while [ "$i" -lt "$iters" ]; do
    echo "hello world $i" | tr a-z A-Z | wc -c > /dev/null
    seq 1 20 | sort -rn | head -n 3 > "$tmp"
    grep -c 1 "$tmp" > /dev/null
    cat "$tmp" | sed -e 's/1/one/' | tail -n 1 > /dev/null
    i=$((i + 1))
done
t1=$($now)
rm -f "$tmp"
ns=$((t1 - t0))
# shell arithmetic has no floats: print ns_per_op with one decimal by hand
per10=$((ns * 10 / iters))
echo "BENCH name=shell_loop iters=$iters ns_per_op=$((per10 / 10)).$((per10 % 10)) total_ns=$ns applets_per_iter=9"
