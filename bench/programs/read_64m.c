/* read_64m ROUNDS [PATH=/tmp/bench_64m] [MIB=64]: sequential read of a
 * MIB-MiB file in 64 KiB chunks.  The file is created first if missing or of
 * the wrong size (not timed).  ns_per_op is per 64 KiB read(2). */
#include "bench.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (64 * 1024)
static char buf[CHUNK];

int main(int argc, char **argv)
{
    long rounds = arg_long(argc, argv, 1, 3);
    const char *path = arg_str(argc, argv, 2, "/tmp/bench_64m");
    long mib = arg_long(argc, argv, 3, 64);
    off_t size = (off_t)mib << 20;
    struct stat st;
    if (stat(path, &st) || st.st_size != size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            DIE(path);
        for (off_t off = 0; off < size; off += CHUNK) {
            memset(buf, (int)(off >> 16), CHUNK);
            if (write(fd, buf, CHUNK) != CHUNK)
                DIE("write");
        }
        close(fd);
    }
    long chunks = 0;
    unsigned long sum = 0;
    long long total = 0;
    for (long r = 0; r < rounds; r++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            DIE("open");
        long long t0 = now_ns();
        ssize_t n;
        while ((n = read(fd, buf, CHUNK)) > 0) {
            sum += (unsigned char)buf[0];
            chunks++;
        }
        total += now_ns() - t0;
        if (n < 0)
            DIE("read");
        close(fd);
    }
    if (chunks != rounds * (size / CHUNK)) {
        fprintf(stderr, "short read: %ld chunks\n", chunks);
        return 1;
    }
    char extra[96];
    double mibps = total > 0 ? (double)mib * rounds * 1e9 / (double)total : 0;
    snprintf(extra, sizeof extra, "mib=%ld rounds=%ld mib_per_s=%.1f sum=%lu",
             mib, rounds, mibps, sum);
    report("read_64m", chunks, total, extra);
    return 0;
}
