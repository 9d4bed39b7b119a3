/* write_devnull ITERS: 1-byte write(2) to /dev/null.
 * ns_per_op is the mean of one loop of ITERS writes; a second loop times each write on its
 * own (latency.h) for p50_ns, p99_ns and max_ns. */
#include "bench.h"
#include "latency.h"
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 100000);
    struct latency lat = latency_new(iters);
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0)
        DIE("open /dev/null");
    char c = 'x';
    if (write(fd, &c, 1) != 1)
        DIE("write");
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        if (write(fd, &c, 1) != 1)
            DIE("write");
    long long t1 = now_ns();
    for (long i = 0; i < iters; i++) {
        uint64_t c0 = ticks();
        if (write(fd, &c, 1) != 1)
            DIE("write");
        latency_add(&lat, ticks() - c0);
    }
    close(fd);
    char extra[160] = "";
    latency_extra(&lat, extra, sizeof extra);
    report("write_devnull", iters, t1 - t0, extra);
    return 0;
}
