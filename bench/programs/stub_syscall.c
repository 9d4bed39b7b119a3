/* stub_syscall ITERS: getpid() as a raw `svc #0`. moss-py answers getpid in its guest
 * stub (MB_FAST_PID) without reaching the host, so this is the trap floor: exception
 * entry, the stub's check, eret. Beside null_syscall (getppid, a host round trip) it
 * splits a trap's cost into the exception's and the hand-off's (docs/trap-path.md). */
#include "bench.h"
#include <asm/unistd.h>

static inline long raw_getpid(void)
{
    register long x8 __asm__("x8") = __NR_getpid;
    register long x0 __asm__("x0");
    __asm__ volatile("svc #0" : "=r"(x0) : "r"(x8) : "memory");
    return x0;
}

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 100000);
    long sink = 0;
    raw_getpid();                       /* warm up */
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        sink += raw_getpid();
    long long t1 = now_ns();
    if (sink == -1)
        puts("impossible");
    report("stub_syscall", iters, t1 - t0, NULL);
    return 0;
}
