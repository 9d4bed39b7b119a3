/* Answers that once differed from Linux 6.1 (issue 16): waitpid(INT_MIN), mmap of an O_PATH
 * descriptor, msync over a hole, the sizes F_SETPIPE_SZ accepts (rounding, EBUSY, EPERM over
 * pipe-max-size for a user, EINVAL past 2 GiB) and a store beyond the end of a mapped file.
 * Prints each call's result or errno name, never addresses. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPORT_SHOW
#include "report.h"

#define PG 4096L

static sigjmp_buf on_fault;

static void fault_handler(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    printf("signal %s code %d\n", sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" : "other",
           si->si_code);
    siglongjmp(on_fault, sig);
}

static const char *store(volatile char *p)
{
    struct sigaction sa = { .sa_sigaction = fault_handler, .sa_flags = SA_SIGINFO };
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    int sig = sigsetjmp(on_fault, 1);
    if (sig == 0)
        *p = 'x';
    signal(SIGBUS, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
    return sig == 0 ? "none" : sig == SIGBUS ? "SIGBUS" : "SIGSEGV";
}

static void waits(void)
{
    show("waitpid INT_MIN", waitpid(INT_MIN, NULL, 0));
    show("waitpid INT_MIN WNOHANG", waitpid(INT_MIN, NULL, WNOHANG));
    show("waitpid INT_MIN bad options", waitpid(INT_MIN, NULL, 0x40000));
    show("waitpid INT_MIN+1", waitpid(INT_MIN + 1, NULL, 0));
}

static void mappings(void)
{
    int fd = open("/tmp/misc16_map", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "hello", 5);
    int path = open("/tmp/misc16_map", O_PATH);
    void *m = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, path, 0);
    show("mmap O_PATH private", m == MAP_FAILED ? -1 : 0);
    m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, path, 0);
    show("mmap O_PATH shared", m == MAP_FAILED ? -1 : 0);
    m = mmap(NULL, 0, PROT_READ, MAP_PRIVATE, path, 0);
    show("mmap O_PATH length 0", m == MAP_FAILED ? -1 : 0);
    m = mmap(NULL, PG, PROT_READ, 0, path, 0);
    show("mmap O_PATH no map type", m == MAP_FAILED ? -1 : 0);
    m = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 99, 0);
    show("mmap closed fd", m == MAP_FAILED ? -1 : 0);
    m = mmap(NULL, 0, PROT_READ, MAP_PRIVATE, fd, 0);
    show("mmap length 0", m == MAP_FAILED ? -1 : 0);
    m = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, path, 1);
    show("mmap O_PATH odd offset", m == MAP_FAILED ? -1 : 0);
    int pp[2];
    pipe(pp);
    m = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, pp[0], 0);
    show("mmap a pipe", m == MAP_FAILED ? -1 : 0);
    m = mmap(NULL, 0, PROT_READ, MAP_PRIVATE, pp[0], 0);
    show("mmap a pipe length 0", m == MAP_FAILED ? -1 : 0);
    close(pp[0]);
    close(pp[1]);
    close(path);

    char *p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("store inside the last page: %s\n", store(p + 100));
    printf("store a page past the end: %s\n", store(p + PG));
    printf("store two pages past the end: %s\n", store(p + 2 * PG + 7));
    char c = 0;
    pread(fd, &c, 1, 100);
    printf("byte 100 of the file: %d, size %ld\n", c, (long)lseek(fd, 0, SEEK_END));

    show("msync mapped", msync(p, 3 * PG, MS_SYNC));
    munmap(p + PG, PG);
    show("msync over a hole", msync(p, 3 * PG, MS_SYNC));
    show("msync the hole", msync(p + PG, PG, MS_ASYNC));
    show("msync after the hole", msync(p + 2 * PG, PG, 0));
    show("msync unaligned", msync(p + 1, PG, 0));
    munmap(p, 3 * PG);
    show("msync all unmapped", msync(p, 3 * PG, MS_SYNC));
    close(fd);
    unlink("/tmp/misc16_map");
}

static void pipe_sizes(void)
{
    int p[2];
    pipe(p);
    long sizes[] = { 0, 1, 4096, 4097, 10000, 65536, 65537, 1 << 20, (1 << 20) + 1, 3 << 20, 4096 };
    for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char what[64];
        snprintf(what, sizeof what, "F_SETPIPE_SZ %ld", sizes[i]);
        show(what, fcntl(p[1], F_SETPIPE_SZ, sizes[i]));
    }
    show("F_SETPIPE_SZ 2^31+1", syscall(SYS_fcntl, p[1], F_SETPIPE_SZ, (1UL << 31) + 1));
    show("F_SETPIPE_SZ 2^32", syscall(SYS_fcntl, p[1], F_SETPIPE_SZ, 1UL << 32));
    show("F_SETPIPE_SZ -1", syscall(SYS_fcntl, p[1], F_SETPIPE_SZ, -1L));
    show("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
    char buf[3 * PG] = { 0 };
    fcntl(p[1], F_SETPIPE_SZ, 16 * PG);
    write(p[1], buf, sizeof buf);
    show("F_SETPIPE_SZ to 2 pages holding 3", fcntl(p[1], F_SETPIPE_SZ, 2 * PG));
    show("F_SETPIPE_SZ to 3 pages holding 3", fcntl(p[1], F_SETPIPE_SZ, 3 * PG));
    show("F_SETPIPE_SZ to 4 pages holding 3", fcntl(p[1], F_SETPIPE_SZ, 4 * PG));
    close(p[0]);
    close(p[1]);

    pid_t pid = fork();
    if (pid == 0) {
        setuid(65534);
        int q[2];
        pipe(q);
        show("user F_SETPIPE_SZ 1 MiB", fcntl(q[1], F_SETPIPE_SZ, 1 << 20));
        show("user F_SETPIPE_SZ 1 MiB + 1", fcntl(q[1], F_SETPIPE_SZ, (1 << 20) + 1));
        show("user F_SETPIPE_SZ 0", fcntl(q[1], F_SETPIPE_SZ, 0));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    show("root F_SETPIPE_SZ 2 MiB", ({ int q[2]; pipe(q); fcntl(q[1], F_SETPIPE_SZ, 2 << 20); }));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    waits();
    mappings();
    pipe_sizes();
    return 0;
}
