/* copy_file_range(2) as Linux 6.1 answers it: copies with and without offset pointers, the
 * count cut at the source's end, and each error in the order Linux checks (EBADF, EFAULT,
 * EINVAL for flags, EISDIR, EINVAL for non-regular files, EBADF for modes, EXDEV across
 * filesystems, EOVERFLOW, overlap EINVAL, negative offsets). Usage: copy_file_range DIR
 * (a writable directory; /proc must be mounted for the EXDEV case). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char path_a[512], path_b[512];

static void report(const char *what, ssize_t r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %zd\n", what, r);
}

static ssize_t cfr(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned flags)
{
    return syscall(SYS_copy_file_range, in, off_in, out, off_out, len, flags);
}

static int make_source(size_t size)
{
    int fd = open(path_a, O_RDWR | O_CREAT | O_TRUNC, 0644);
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)(i * 7 + i / 251);
        if (write(fd, &c, 1) != 1) { perror("write"); exit(1); }
    }
    return fd;
}

static int same_bytes(int a, off_t pa, int b, off_t pb, size_t n)
{
    char x[4096], y[4096];
    while (n) {
        size_t k = n < sizeof x ? n : sizeof x;
        if (pread(a, x, k, pa) != (ssize_t)k || pread(b, y, k, pb) != (ssize_t)k || memcmp(x, y, k))
            return 0;
        n -= k; pa += k; pb += k;
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    snprintf(path_a, sizeof path_a, "%s/cfr_a", dir);
    snprintf(path_b, sizeof path_b, "%s/cfr_b", dir);

    int a = make_source(10000);
    int b = open(path_b, O_RDWR | O_CREAT | O_TRUNC, 0644);
    lseek(a, 100, SEEK_SET);
    report("positions 4096", cfr(a, NULL, b, NULL, 4096, 0));
    printf("  pos a=%ld b=%ld same=%d\n", (long)lseek(a, 0, SEEK_CUR), (long)lseek(b, 0, SEEK_CUR),
           same_bytes(a, 100, b, 0, 4096));

    loff_t oi = 9000, oo = 20000;
    report("offsets past the end", cfr(a, &oi, b, &oo, 5000, 0));
    struct stat st;
    fstat(b, &st);
    printf("  off in=%ld out=%ld pos a=%ld b=%ld size b=%ld same=%d\n", (long)oi, (long)oo,
           (long)lseek(a, 0, SEEK_CUR), (long)lseek(b, 0, SEEK_CUR), (long)st.st_size,
           same_bytes(a, 9000, b, 20000, 1000));
    oi = 10000;
    report("at the source's end", cfr(a, &oi, b, NULL, 10, 0));
    oi = 50000;
    report("beyond the source's end", cfr(a, &oi, b, NULL, 10, 0));
    report("length 0", cfr(a, NULL, b, NULL, 0, 0));
    oi = 0; oo = 0;
    report("whole file", cfr(a, &oi, b, &oo, 1 << 20, 0));

    report("flags 1", cfr(a, NULL, b, NULL, 10, 1));
    report("bad fd_in", cfr(99, NULL, b, NULL, 10, 0));
    report("bad fd_out", cfr(a, NULL, 99, NULL, 10, 0));
    report("bad fd_in and flags", cfr(-1, NULL, b, NULL, 10, 1));
    report("bad off_in pointer", cfr(a, (loff_t *)8, b, NULL, 10, 0));
    report("bad off_out pointer and flags", cfr(a, NULL, b, (loff_t *)8, 10, 1));

    int ro = open(path_b, O_RDONLY), wo = open(path_a, O_WRONLY), ap = open(path_b, O_WRONLY | O_APPEND);
    report("destination read-only", cfr(a, NULL, ro, NULL, 10, 0));
    report("source write-only", cfr(wo, NULL, b, NULL, 10, 0));
    report("destination O_APPEND", cfr(a, NULL, ap, NULL, 10, 0));
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    report("source a directory", cfr(d, NULL, b, NULL, 10, 0));
    report("directory and read-only", cfr(d, NULL, ro, NULL, 10, 0));
    int p[2];
    pipe(p);
    report("destination a pipe", cfr(a, NULL, p[1], NULL, 10, 0));
    report("source a pipe", cfr(p[0], NULL, b, NULL, 10, 0));
    int null = open("/dev/null", O_WRONLY);
    report("destination /dev/null", cfr(a, NULL, null, NULL, 10, 0));
    int pathfd = open(path_a, O_PATH);
    report("source O_PATH", cfr(pathfd, NULL, b, NULL, 10, 0));
    int proc = open("/proc/self/stat", O_RDONLY);
    report("source on procfs", cfr(proc, NULL, b, NULL, 10, 0));

    oi = 0; oo = 100;
    report("overlap in one file", cfr(a, &oi, a, &oo, 200, 0));
    oi = 0; oo = 5000;
    report("one file, apart", cfr(a, &oi, a, &oo, 200, 0));
    printf("  same=%d\n", same_bytes(a, 0, a, 5000, 200));
    oi = -1;
    report("off_in -1", cfr(a, &oi, b, NULL, 10, 0));
    oi = -4096;
    report("off_in -4096", cfr(a, &oi, b, NULL, 10, 0));
    oi = 0; oo = -1;
    report("off_out -1", cfr(a, &oi, b, &oo, 10, 0));
    oi = 0; oo = 0;
    report("length SIZE_MAX", cfr(a, &oi, b, &oo, SIZE_MAX, 0));
    printf("  off in=%ld out=%ld\n", (long)oi, (long)oo);

    unlink(path_a);
    unlink(path_b);
    return 0;
}
