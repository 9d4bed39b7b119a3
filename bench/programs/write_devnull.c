/* write_devnull ITERS: 1-byte write(2) to /dev/null. */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 100000);
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
    close(fd);
    report("write_devnull", iters, t1 - t0, NULL);
    return 0;
}
