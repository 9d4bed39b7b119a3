/* sleep_accuracy ITERS [USEC]: nanosleep(USEC, default 1000 us) ITERS times; how late each
 * wake-up is. ns_per_op is the MEDIAN overshoot (time slept minus time asked), not a mean;
 * p99_ns and max_ns follow. */
#include "bench.h"

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 500);
    long usec = arg_long(argc, argv, 2, 1000);
    long long *late = malloc(sizeof(*late) * iters);
    if (!late)
        DIE("malloc");
    struct timespec req = { usec / 1000000, (usec % 1000000) * 1000 };
    long long total0 = now_ns();
    for (long i = 0; i < iters; i++) {
        long long t0 = now_ns();
        if (nanosleep(&req, NULL) != 0)
            DIE("nanosleep");
        late[i] = now_ns() - t0 - usec * 1000LL;
    }
    long long total = now_ns() - total0;
    qsort(late, iters, sizeof(*late), cmp_ll);
    char extra[128];
    snprintf(extra, sizeof extra, "median_ns=%lld p99_ns=%lld max_ns=%lld sleep_us=%ld",
             late[iters / 2], late[iters * 99 / 100], late[iters - 1], usec);
    /* ns_per_op carries the median overshoot: what the table compares */
    printf("BENCH name=sleep_accuracy iters=%ld ns_per_op=%lld.0 total_ns=%lld %s\n",
           iters, late[iters / 2], total, extra);
    return 0;
}
