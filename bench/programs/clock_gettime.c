/* clock_gettime ITERS: clock_gettime(CLOCK_MONOTONIC) through libc (Linux's and moss-py's
 * vDSO answer it in user space). 10,000 calls first, untimed: moss-py calibrates the counter
 * with the first few thousand vDSO calls after boot (proc/vvar.py), a one-time cost that this
 * keeps out of the steady state; the JSON extra has how long they took (warm_ns). */
#include "bench.h"
#include <time.h>

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 1000000);
    struct timespec ts;
    long long sink = 0;
    long long w0 = now_ns();
    for (long i = 0; i < 10000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sink += ts.tv_nsec;
    }
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sink += ts.tv_nsec;
    }
    long long t1 = now_ns();
    if (sink == -1)
        puts("impossible");
    char extra[64];
    snprintf(extra, sizeof extra, "warm_ns=%lld", t0 - w0);
    report("clock_gettime", iters, t1 - t0, extra);
    return 0;
}
