/* MAP_SHARED file mappings: stores reach the file at msync/munmap/exit, a forked child's
 * stores are seen by the parent, MAP_PRIVATE stores never reach the file, and the
 * permission and argument errors of mmap/msync. Works in a fresh directory under /tmp. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64], path[96];

static void file_is(const char *what) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%-28s file=\"%.*s\"\n", what, (int)n, buf);
}

#define SHOW(expr) do { errno = 0; long r_ = (long)(expr); printf("%-44s -> %s\n", #expr, \
    r_ == -1 ? strerror(errno) : "ok"); } while (0)

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/mmap_shared.%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/f", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(fd, "hello world, this is the file", 29);

    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memcpy(p, "HELLO", 5);
    msync(p, 4096, MS_SYNC);
    file_is("after msync:");

    pid_t child = fork();
    if (child == 0) { memcpy(p + 6, "WORLD", 5); _exit(0); }
    waitpid(child, NULL, 0);
    printf("parent sees child's store: %s\n", memcmp(p + 6, "WORLD", 5) == 0 ? "yes" : "no");
    munmap(p, 4096);
    file_is("after munmap:");

    char *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    memcpy(q, "xxxxx", 5);
    munmap(q, 4096);
    file_is("private stores:");

    int ro = open(path, O_RDONLY);
    SHOW(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
    SHOW(mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0) == MAP_FAILED ? -1 : 0);
    int wo = open(path, O_WRONLY);
    SHOW(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, wo, 0));
    char *r = mmap(NULL, 8192, PROT_READ, MAP_SHARED, ro, 0);
    SHOW(msync(r + 1, 4096, MS_SYNC));
    SHOW(msync(r, 4096, MS_SYNC | MS_ASYNC));
    SHOW(msync(r, 4096, 8));
    SHOW(msync(r, 8192, MS_ASYNC));
    munmap(r + 4096, 4096);
    SHOW(msync(r, 8192, MS_ASYNC));

    pid_t c2 = fork();
    if (c2 == 0) {                         /* exit writes the mapping back */
        char *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        memcpy(s + 24, "FILE!", 5);
        _exit(0);
    }
    waitpid(c2, NULL, 0);
    file_is("after a child's exit:");

    struct stat st;
    fstat(fd, &st);
    printf("size unchanged: %s\n", st.st_size == 29 ? "yes" : "no");
    unlink(path);
    rmdir(dir);
    return 0;
}
