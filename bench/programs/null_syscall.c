/* null_syscall ITERS: getppid() as a raw `svc #0` (no libc wrapper).
 * ns_per_op is the mean of one loop of ITERS calls; a second loop times each call on its own
 * (latency.h) for p50_ns, p99_ns and max_ns. */
#include "bench.h"
#include "latency.h"
#include <asm/unistd.h>

static inline long raw_getppid(void)
{
    register long x8 __asm__("x8") = __NR_getppid;
    register long x0 __asm__("x0");
    __asm__ volatile("svc #0" : "=r"(x0) : "r"(x8) : "memory");
    return x0;
}

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 100000);
    long sink = 0;
    struct latency lat = latency_new(iters);
    raw_getppid();                      /* warm up */
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        sink += raw_getppid();
    long long t1 = now_ns();
    for (long i = 0; i < iters; i++) {
        uint64_t c0 = ticks();
        sink += raw_getppid();
        latency_add(&lat, ticks() - c0);
    }
    if (sink == -1)
        puts("impossible");
    char extra[160] = "";
    latency_extra(&lat, extra, sizeof extra);
    report("null_syscall", iters, t1 - t0, extra);
    return 0;
}
