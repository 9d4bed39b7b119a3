/* process_madvise as Linux 6.1 answers it: advice on another process's ranges through a
 * pidfd, partial success over several ranges, and its errors (flags, advice, descriptors,
 * unmapped and unaligned ranges, a user without CAP_SYS_NICE, zombie and reaped targets). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096L
#ifndef MADV_COLD
#define MADV_COLD 20
#define MADV_PAGEOUT 21
#endif

static long pm(int fd, struct iovec *v, size_t n, int advice, unsigned flags)
{
    return syscall(SYS_process_madvise, fd, v, n, advice, flags);
}

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char *area = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(area, 1, 8 * PG);
    munmap(area + 6 * PG, PG);
    int go[2];
    pipe(go);
    pid_t child = fork();
    if (child == 0) {
        char c;
        read(go[0], &c, 1);
        _exit(0);
    }
    int pfd = syscall(SYS_pidfd_open, child, 0);
    struct iovec one = { area, 4 * PG };
    show("cold", pm(pfd, &one, 1, MADV_COLD, 0));
    show("pageout", pm(pfd, &one, 1, MADV_PAGEOUT, 0));
    show("willneed", pm(pfd, &one, 1, MADV_WILLNEED, 0));
    show("flags", pm(pfd, &one, 1, MADV_COLD, 1));
    show("dontneed", pm(pfd, &one, 1, MADV_DONTNEED, 0));
    show("advice 99", pm(pfd, &one, 1, 99, 0));
    show("bad fd", pm(99, &one, 1, MADV_COLD, 0));
    show("not a pidfd", pm(go[0], &one, 1, MADV_COLD, 0));
    show("too many segments", pm(pfd, &one, 1025, MADV_COLD, 0));
    show("bad iovec", pm(pfd, (struct iovec *)8, 1, MADV_COLD, 0));
    show("no segments", pm(pfd, &one, 0, MADV_COLD, 0));
    struct iovec two[2] = { { area, 2 * PG }, { area + 5 * PG, 3 * PG } };
    show("second range over a hole", pm(pfd, two, 2, MADV_COLD, 0));
    struct iovec hole = { area + 6 * PG, PG };
    show("hole only", pm(pfd, &hole, 1, MADV_COLD, 0));
    struct iovec odd = { area + 1, PG };
    show("unaligned", pm(pfd, &odd, 1, MADV_COLD, 0));
    struct iovec zero = { area, 0 };
    show("zero length", pm(pfd, &zero, 1, MADV_COLD, 0));
    int self = syscall(SYS_pidfd_open, getpid(), 0);
    show("self", pm(self, &one, 1, MADV_COLD, 0));

    pid_t user = fork();
    if (user == 0) {
        setuid(65534);
        int me = syscall(SYS_pidfd_open, getpid(), 0);
        show("user on self", pm(me, &one, 1, MADV_COLD, 0));
        int parent = syscall(SYS_pidfd_open, getppid(), 0);
        show("user on root parent", pm(parent, &one, 1, MADV_COLD, 0));
        _exit(0);
    }
    waitpid(user, NULL, 0);
    write(go[1], "x", 1);
    siginfo_t si;
    waitid(P_PID, child, &si, WEXITED | WNOWAIT);
    show("zombie", pm(pfd, &one, 1, MADV_COLD, 0));
    waitpid(child, NULL, 0);
    show("reaped", pm(pfd, &one, 1, MADV_COLD, 0));
    return 0;
}
