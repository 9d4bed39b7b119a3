/* Sparse tmpfs files: a write far past the end holds only its pages (st_blocks, statfs's free
 * blocks), the hole reads as zeros, SEEK_DATA and SEEK_HOLE find the written pages, a
 * truncate drops the pages past it. On a tmpfs of its own (mounted and unmounted here). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

static const char *seek(int fd, off_t off, int whence)
{
    static char buf[64];
    off_t r = lseek(fd, off, whence);
    if (r < 0)
        snprintf(buf, sizeof buf, "%s", strerrorname_np(errno));
    else
        snprintf(buf, sizeof buf, "%lld", (long long)r);
    return buf;
}

static long long used(const char *dir)
{
    struct statfs s;
    statfs(dir, &s);
    return (long long)(s.f_blocks - s.f_bfree);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char dir[] = "/tmp/sparseXXXXXX";
    if (!mkdtemp(dir) || mount("tmpfs", dir, "tmpfs", 0, "size=64m") < 0) {
        perror("setup");
        return 1;
    }
    char path[64];
    snprintf(path, sizeof path, "%s/f", dir);
    int fd = open(path, O_CREAT | O_RDWR, 0600);
    long long before = used(dir);
    pwrite(fd, "head", 4, 0);
    pwrite(fd, "far", 3, 300L << 20);
    pwrite(fd, "mid", 3, (100L << 20) + 4094);             /* across a page boundary */
    struct stat st;
    fstat(fd, &st);
    printf("size %lld blocks %lld used pages %lld\n", (long long)st.st_size, (long long)st.st_blocks,
           used(dir) - before);
    char buf[8] = "xxxxxxx";
    pread(fd, buf, 6, (300L << 20) - 3);
    printf("hole then data: %d %d %d %.3s\n", buf[0], buf[1], buf[2], buf + 3);
    off_t offs[] = {0, 2, 4096, 8192, (100L << 20), (100L << 20) + 4096, (100L << 20) + 8192, (200L << 20),
                    (300L << 20), (300L << 20) + 2, (300L << 20) + 3, (400L << 20)};
    for (unsigned i = 0; i < sizeof offs / sizeof *offs; i++) {
        printf("at %lld: data %s", (long long)offs[i], seek(fd, offs[i], SEEK_DATA));
        printf(" hole %s\n", seek(fd, offs[i], SEEK_HOLE));
    }
    ftruncate(fd, (200L << 20));
    fstat(fd, &st);
    printf("truncated: size %lld blocks %lld, data after 101M: %s\n", (long long)st.st_size, (long long)st.st_blocks,
           seek(fd, 101L << 20, SEEK_DATA));
    ftruncate(fd, (100L << 20) + 4095);
    ftruncate(fd, (100L << 20) + 8000);
    pread(fd, buf, 4, (100L << 20) + 4094);
    printf("cut inside a page: %c %d %d %d\n", buf[0], buf[1], buf[2], buf[3]);
    close(fd);
    unlink(path);

    /* holes of a page or two between written pages: shmem holds only the pages written */
    fd = open(path, O_CREAT | O_RDWR, 0600);
    pwrite(fd, "a", 1, 0);
    pwrite(fd, "b", 1, 8192);                                /* page 1 never written */
    pwrite(fd, "c", 1, 5 * 4096 + 10);                       /* pages 3 and 4 neither */
    fstat(fd, &st);
    printf("small holes: size %lld blocks %lld used pages %lld\n", (long long)st.st_size,
           (long long)st.st_blocks, used(dir) - before);
    off_t small[] = {0, 100, 4096, 5000, 8192, 12288, 16384, 20480, 20490};
    for (unsigned i = 0; i < sizeof small / sizeof *small; i++) {
        printf("at %lld: data %s", (long long)small[i], seek(fd, small[i], SEEK_DATA));
        printf(" hole %s\n", seek(fd, small[i], SEEK_HOLE));
    }
    pwrite(fd, "d", 1, 4096 + 100);                           /* the one-page hole filled */
    fstat(fd, &st);
    printf("filled: blocks %lld, hole from 0: %s\n", (long long)st.st_blocks, seek(fd, 0, SEEK_HOLE));
    ftruncate(fd, 3 * 4096 + 5);                             /* cut inside a hole */
    ftruncate(fd, 6 * 4096);
    fstat(fd, &st);
    printf("cut in a hole: blocks %lld, data after 12288: %s", (long long)st.st_blocks, seek(fd, 12288, SEEK_DATA));
    printf(", hole from 0: %s\n", seek(fd, 0, SEEK_HOLE));
    close(fd);
    unlink(path);
    printf("all given back: %d\n", used(dir) == before);
    umount(dir);
    rmdir(dir);
    return 0;
}
