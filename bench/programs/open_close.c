/* open_close ITERS [PATH=/tmp/bench_file]: open(O_RDONLY) + close of an
 * existing file (created first if missing). */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 20000);
    const char *path = arg_str(argc, argv, 2, "/tmp/bench_file");
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0)
        DIE(path);
    close(fd);
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        fd = open(path, O_RDONLY);
        if (fd < 0)
            DIE("open");
        close(fd);
    }
    long long t1 = now_ns();
    report("open_close", iters, t1 - t0, NULL);
    return 0;
}
