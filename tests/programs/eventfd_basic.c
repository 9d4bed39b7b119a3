/* eventfd2: counter and semaphore reads, the 8-byte rules, EFD_NONBLOCK/EFD_CLOEXEC, poll
 * readiness, and reads/writes that block until another process changes the counter. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

static int revents(int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    return p.revents;
}

int main(void)
{
    uint64_t v;
    char big[16];
    int fd = eventfd(5, 0);
    printf("eventfd(5): fd %d, poll %x\n", fd >= 0, revents(fd));
    long r = read(fd, &v, 8);
    printf("read: %ld value %llu, poll now %x\n", r, (unsigned long long)v, revents(fd));
    v = 3; write(fd, &v, 8);
    v = 4; write(fd, &v, 8);
    r = read(fd, big, sizeof big);
    memcpy(&v, big, 8);
    printf("two writes, 16-byte read: %ld value %llu\n", r, (unsigned long long)v);
    r = read(fd, &v, 4);
    printf("4-byte read: %ld %s\n", r, err(r));
    r = write(fd, &v, 7);
    printf("7-byte write: %ld %s\n", r, err(r));
    v = UINT64_MAX;
    r = write(fd, &v, 8);
    printf("write 0xffffffffffffffff: %ld %s\n", r, err(r));
    v = 0;
    r = write(fd, &v, 8);
    printf("write 0: %ld, poll %x\n", r, revents(fd));
    int fl = fcntl(fd, F_GETFL), fdf = fcntl(fd, F_GETFD);
    printf("F_GETFL %o FD_CLOEXEC %d\n", fl & ~0400000, fdf & FD_CLOEXEC);
    struct stat st;
    fstat(fd, &st);
    printf("fstat: type %o mode %o size %lld\n", st.st_mode & S_IFMT, st.st_mode & 07777, (long long)st.st_size);
    char link[64] = "";
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    readlink(path, link, sizeof link - 1);
    printf("readlink: %s\n", link);
    r = lseek(fd, 100, SEEK_SET);
    printf("lseek: %ld %s\n", r, err(r));
    r = pread(fd, &v, 8, 0);
    printf("pread: %ld %s\n", r, err(r));

    /* Non-blocking: an empty counter and a full one. */
    int nb = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    fl = fcntl(nb, F_GETFL); fdf = fcntl(nb, F_GETFD);
    printf("nonblock F_GETFL %o FD_CLOEXEC %d\n", fl & ~0400000, fdf & FD_CLOEXEC);
    r = read(nb, &v, 8);
    printf("empty nonblock read: %ld %s\n", r, err(r));
    v = UINT64_MAX - 1;
    r = write(nb, &v, 8);
    printf("write max-1: %ld, poll %x\n", r, revents(nb));
    v = 1;
    r = write(nb, &v, 8);
    printf("write 1 more: %ld %s\n", r, err(r));
    r = read(nb, &v, 8);
    printf("read: %ld value %llx, poll %x\n", r, (unsigned long long)v, revents(nb));

    /* Semaphore mode. */
    int sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    for (int i = 0; i < 4; i++) {
        v = 0;
        r = read(sem, &v, 8);
        printf("semaphore read %d: %ld value %llu %s\n", i, r, (unsigned long long)v, err(r));
    }
    r = syscall(SYS_eventfd2, 0, 0x10);
    printf("eventfd2 bad flags: %ld %s\n", r, err(r));

    /* A blocking read woken by another process's write. */
    int b = eventfd(0, 0);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        msleep(100);
        uint64_t one = 42;
        write(b, &one, 8);
        _exit(0);
    }
    r = read(b, &v, 8);
    printf("blocking read woken: %ld value %llu\n", r, (unsigned long long)v);
    waitpid(child, NULL, 0);

    /* A blocking write that waits for room. */
    v = UINT64_MAX - 1;
    write(b, &v, 8);
    child = fork();
    if (child == 0) {
        msleep(100);
        uint64_t got;
        read(b, &got, 8);
        _exit(got == UINT64_MAX - 1 ? 0 : 1);
    }
    v = 9;
    r = write(b, &v, 8);
    int status;
    waitpid(child, &status, 0);
    read(b, &v, 8);
    printf("blocking write waited: %ld, child status %d, counter then %llu\n", r, WEXITSTATUS(status),
           (unsigned long long)v);
    return 0;
}
