/* files_2000 N [DIR=/tmp]: the lifecycle of N small files in a fresh
 * directory DIR/bench_files.PID: create each (open O_CREAT|O_WRONLY, write
 * 16 bytes, close), then stat each, then unlink each; the directory is
 * removed at the end.  ns_per_op is per file (create + stat + unlink); the
 * three phases are reported apart as create_ns / stat_ns / unlink_ns (per
 * file).  The directory name carries the pid so that runs on the host's /tmp
 * (qemu-aarch64) never collide. */
#include "bench.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = arg_long(argc, argv, 1, 2000);
    const char *parent = arg_str(argc, argv, 2, "/tmp");
    char dir[256], path[320];
    snprintf(dir, sizeof dir, "%s/bench_files.%ld", parent, (long)getpid());
    if (mkdir(dir, 0755))
        DIE(dir);
    static const char data[16] = "0123456789abcdef";
    struct stat st;

    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/f%05ld", dir, i);
        int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644);
        if (fd < 0)
            DIE(path);
        if (write(fd, data, sizeof data) != (ssize_t)sizeof data)
            DIE("write");
        if (close(fd))
            DIE("close");
    }
    long long t1 = now_ns();
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/f%05ld", dir, i);
        if (stat(path, &st))
            DIE(path);
        if (st.st_size != (off_t)sizeof data) {
            fprintf(stderr, "%s: size %lld\n", path, (long long)st.st_size);
            return 1;
        }
    }
    long long t2 = now_ns();
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/f%05ld", dir, i);
        if (unlink(path))
            DIE(path);
    }
    long long t3 = now_ns();
    if (rmdir(dir))
        DIE(dir);

    char extra[128];
    snprintf(extra, sizeof extra, "create_ns=%.1f stat_ns=%.1f unlink_ns=%.1f",
             (double)(t1 - t0) / n, (double)(t2 - t1) / n, (double)(t3 - t2) / n);
    report("files_2000", n, t3 - t0, extra);
    return 0;
}
