/* cpu_mem ITERS [KIB]: random read-modify-writes over a 1 MiB array, no syscalls after the
 * first touch: measures how fast user code reaches memory, which the host's page size
 * under the guest's RAM decides (QEMU's softmmu TLB refills walk host page tables). */
#include "bench.h"

#define MAX_WORDS (1L << 24)   /* up to 128 MiB of 64-bit words; 1 MiB by default */

static unsigned long a[MAX_WORDS];

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 20000000);
    long words = arg_long(argc, argv, 2, 1024) * 1024 / sizeof a[0];
    if (words < 1 || words > MAX_WORDS || (words & (words - 1)))
        return 2;
    unsigned long x = 88172645463325252UL;
    for (long i = 0; i < words; i++)   /* fault everything in before timing */
        a[i] = i;
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        a[x & (words - 1)] += x;
    }
    long long t1 = now_ns();
    unsigned long sum = 0;
    for (long i = 0; i < words; i++)
        sum += a[i];
    char extra[48];
    snprintf(extra, sizeof extra, "sum=%lu", sum & 0xffff);
    report("cpu_mem", iters, t1 - t0, extra);
    return 0;
}
