/* pagefault ROUNDS [MIB=64]: mmap MIB of anonymous memory, write one byte
 * per page (one fault each), munmap.  ns_per_op is per page (fault + its
 * share of mmap/munmap). */
#include "bench.h"
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long rounds = arg_long(argc, argv, 1, 4);
    long mib = arg_long(argc, argv, 2, 64);
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)mib << 20;
    long pages = (long)(len / page);
    long long total = 0;
    for (long r = 0; r < rounds; r++) {
        long long t0 = now_ns();
        volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            DIE("mmap");
        for (size_t off = 0; off < len; off += page)
            p[off] = 1;
        if (munmap((void *)p, len))
            DIE("munmap");
        total += now_ns() - t0;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "mib=%ld rounds=%ld", mib, rounds);
    report("pagefault", pages * rounds, total, extra);
    return 0;
}
