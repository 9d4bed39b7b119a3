/* cpu_loop ITERS: a dependent integer loop (xorshift), no syscalls: measures
 * user-code speed, which the emulator alone decides. */
#include "bench.h"

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 50000000);
    unsigned long x = 88172645463325252UL;
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    long long t1 = now_ns();
    char extra[48];
    snprintf(extra, sizeof extra, "x=%lu", x & 0xffff);
    report("cpu_loop", iters, t1 - t0, extra);
    return 0;
}
