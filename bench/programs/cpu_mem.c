/* cpu_mem ITERS [KIB]: random read-modify-writes over a 1 MiB array, no syscalls inside a
 * pass: measures how fast user code reaches memory, where the host's page size under the
 * guest's RAM shows (on 4 KiB host pages this loop ran 1.4-1.7x slower, issue 18).
 *
 * The array is touched before anything is timed (the page faults, and the host's first touch
 * of the memory behind it, happen then), then one untimed pass warms QEMU's translations
 * and its softmmu TLB. The ITERS read-modify-writes are then timed in passes of PASS
 * iterations (~0.35 ms each), and ns_per_op is the FASTEST pass: on a host whose cores others
 * share, the vCPU thread waits for a core now and then, and a wait inside a pass is counted
 * as if memory were slow. Measured with the vCPU thread's schedstat at 98% CPU pressure:
 * Linux's runs spent 29-83% of their wall time waiting (7.0-37.6 ns per op, 5.5-6.4 ns of
 * vCPU time), which made Linux's median look 15x slower than its fastest run. A pass that
 * no wait hit is what both kernels are compared on; median_ns is the median pass. */
#include "bench.h"

#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORDS (1L << 24)   /* up to 128 MiB of 64-bit words; 1 MiB by default */
#define PASS (1L << 16)        /* iterations per timed pass */
#define MAX_PASSES 4096

static unsigned long a[MAX_WORDS];
static long long pass_ns[MAX_PASSES];

static unsigned long run(unsigned long x, long n, long words)
{
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        a[x & (words - 1)] += x;
    }
    return x;
}

/* QEMU's softmmu TLB has 64 to 1M entries and changes its size only when the guest flushes
 * it whole, from how full it was since the last resize; a Linux guest flushes it whole when
 * it switches to another process (a new ASID in TTBR0). After a spell of light use (a VM
 * idling between commands) that flush shrinks it, to as few as 64 entries, and if no flush
 * comes during the timed loop, 256 pages share 64 entries: every access was a TLB refill,
 * 80-100 ns of CPU instead of 5 (measured: every other run of the Linux oracle). So before timing, the array's pages are touched and
 * the CPU handed to a child and back a few times: each round trip is two flushes with a full
 * TLB, which doubles it until the array fits, under either kernel. The child is forked before
 * the array is touched, so no page of it is ever copied on write. */
static void size_softmmu_tlb(long words)
{
    int there[2], back[2];
    char c = 0;
    if (pipe(there) || pipe(back))
        DIE("pipe");
    pid_t child = fork();
    if (child < 0)
        DIE("fork");
    if (child == 0) {
        close(there[1]);
        while (read(there[0], &c, 1) == 1 && write(back[1], &c, 1) == 1)
            ;
        _exit(0);
    }
    for (long i = 0; i < words; i++)   /* the child never shares these pages: no copy-on-write */
        a[i] = i;
    for (int round = 0; round < 16; round++) {
        for (long i = 0; i < words; i += 4096 / sizeof a[0])
            a[i]++;
        if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1)
            DIE("round trip");
    }
    close(there[1]);
    waitpid(child, NULL, 0);
    close(there[0]);
    close(back[0]);
    close(back[1]);
}

/* The passes are timed with the virtual counter, read in user space under either kernel
 * (CNTKCTL_EL1.EL0VCTEN, set by Linux and by moss-py's stub), not with clock_gettime: a
 * clock call that traps costs moss-py a host round trip (100 us median at 95% CPU pressure,
 * against 0.35 ms a pass) wherever the vDSO has to ask the kernel, half of it inside the pass. */
static inline unsigned long counter(void)
{
    unsigned long v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v) : : "memory");
    return v;
}

static inline unsigned long counter_hz(void)
{
    unsigned long v;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
    return v;
}

static int by_value(const void *p, const void *q)
{
    long long d = *(const long long *)p - *(const long long *)q;
    return (d > 0) - (d < 0);
}

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 20000000);
    long words = arg_long(argc, argv, 2, 1024) * 1024 / sizeof a[0];
    if (words < 1 || words > MAX_WORDS || (words & (words - 1)))
        return 2;
    long pass = iters < PASS ? iters : PASS;
    long passes = iters / pass;
    if (passes > MAX_PASSES)
        passes = MAX_PASSES;
    unsigned long x = 88172645463325252UL;
    size_softmmu_tlb(words);           /* faults the array in, too */
    x = run(x, pass, words);           /* untimed: translations and softmmu TLB warm */
    double ns_per_tick = 1e9 / (double)counter_hz();
    long long all = 0;
    for (long p = 0; p < passes; p++) {
        unsigned long t0 = counter();
        x = run(x, pass, words);
        pass_ns[p] = (long long)((double)(counter() - t0) * ns_per_tick);
        all += pass_ns[p];
    }
    unsigned long sum = 0;
    for (long i = 0; i < words; i++)
        sum += a[i];
    qsort(pass_ns, passes, sizeof pass_ns[0], by_value);
    char extra[160];
    snprintf(extra, sizeof extra, "best_ns=%.3f median_ns=%.2f all_ns=%.2f passes=%ld sum=%lu",
             (double)pass_ns[0] / pass, (double)pass_ns[passes / 2] / pass,
             (double)all / ((double)pass * passes),
             passes, sum & 0xffff);
    report("cpu_mem", pass, pass_ns[0], extra);
    return 0;
}
