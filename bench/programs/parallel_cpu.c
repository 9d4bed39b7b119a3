/* parallel_cpu ITERS: one CPU-bound process per online CPU (N = sysconf(_SC_NPROCESSORS_ONLN)),
 * each running cpu_loop's xorshift loop ITERS times; ns_per_op is the wall time over N*ITERS.
 * Its ratio between a 1-CPU and an N-CPU boot is the speed-up that parallel user code gets
 * (moss-py --cpus N beside Linux -smp N). */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

static unsigned long spin(long iters)
{
    unsigned long x = 88172645463325252UL;
    for (long i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 50000000);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            DIE("fork");
        if (pid == 0)
            _exit(spin(iters) == 42);
    }
    for (long i = 0; i < n; i++)
        if (wait(NULL) < 0)
            DIE("wait");
    long long t1 = now_ns();
    char extra[32];
    snprintf(extra, sizeof extra, "procs=%ld", n);
    report("parallel_cpu", n * iters, t1 - t0, extra);
    return 0;
}
