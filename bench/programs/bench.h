/* bench.h: shared helpers for the side-by-side benchmark programs.
 *
 * Every program times its own loop with clock_gettime(CLOCK_MONOTONIC) and
 * prints exactly ONE machine-readable line on stdout:
 *
 *     BENCH name=<workload> iters=<N> ns_per_op=<X>[ key=value ...]
 *
 * argv[1] is the iteration count (so quick mode can use small counts);
 * further arguments are workload specific.  Exit status 0 on success,
 * 1 with a message on stderr otherwise.
 */
#ifndef BENCH_H
#define BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline long arg_long(int argc, char **argv, int i, long dflt)
{
    if (argc > i && argv[i][0] != '\0') {
        char *end;
        long v = strtol(argv[i], &end, 10);
        if (*end == '\0' && v > 0)
            return v;
        fprintf(stderr, "bad argument %d: %s\n", i, argv[i]);
        exit(2);
    }
    return dflt;
}

static inline const char *arg_str(int argc, char **argv, int i, const char *dflt)
{
    return (argc > i && argv[i][0] != '\0') ? argv[i] : dflt;
}

#define DIE(what) do { \
        fprintf(stderr, "%s: %s\n", (what), strerror(errno)); \
        exit(1); \
    } while (0)

static inline void report(const char *name, long iters, long long ns, const char *extra)
{
    double per = iters > 0 ? (double)ns / (double)iters : 0.0;
    printf("BENCH name=%s iters=%ld ns_per_op=%.1f total_ns=%lld%s%s\n",
           name, iters, per, ns, extra && *extra ? " " : "", extra ? extra : "");
    fflush(stdout);
}

#endif
