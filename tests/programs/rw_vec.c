/* preadv, pwritev, preadv2 and pwritev2 (with RWF_* flags), and the old getrlimit/setrlimit
 * calls arm64 keeps beside prlimit64: results, file positions and errnos, in Linux's order of
 * checks. Raw syscalls, so that glibc's fallbacks do not hide an ENOSYS. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

#define RWF_HIPRI 0x1
#define RWF_DSYNC 0x2
#define RWF_SYNC 0x4
#define RWF_NOWAIT 0x8
#define RWF_APPEND 0x10

static long prv(int fd, struct iovec *iov, int n, long off) { return syscall(SYS_preadv, fd, iov, n, off, 0); }
static long pwv(int fd, struct iovec *iov, int n, long off) { return syscall(SYS_pwritev, fd, iov, n, off, 0); }
static long prv2(int fd, struct iovec *iov, int n, long off, int fl) { return syscall(SYS_preadv2, fd, iov, n, off, 0, fl); }
static long pwv2(int fd, struct iovec *iov, int n, long off, int fl) { return syscall(SYS_pwritev2, fd, iov, n, off, 0, fl); }

static void contents(const char *what, int fd)
{
    char buf[64] = {0};
    long n = pread(fd, buf, sizeof buf - 1, 0);
    printf("%s: %ld [%s] pos %ld\n", what, n, buf, (long)lseek(fd, 0, SEEK_CUR));
}

static void vectored(void)
{
    char a[4], b[8];
    struct iovec rd[2] = {{a, sizeof a}, {b, sizeof b}};
    struct iovec wr[3] = {{"hello ", 6}, {"", 0}, {"vectored world", 14}};
    int fd = open("/tmp/rw_vec.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);

    show("pwritev at 0", pwv(fd, wr, 3, 0));
    contents("after pwritev", fd);
    show("pwritev at 30 (a hole)", pwv(fd, wr, 1, 30));
    contents("after the hole", fd);
    memset(a, '.', 4); memset(b, '.', 8);
    show("preadv at 2", prv(fd, rd, 2, 2));
    printf("  a=%.4s b=%.8s pos %ld\n", a, b, (long)lseek(fd, 0, SEEK_CUR));
    show("preadv at 34 (end)", prv(fd, rd, 2, 34));
    show("preadv past the end", prv(fd, rd, 2, 1000));
    show("preadv negative offset", prv(fd, rd, 2, -5));
    show("preadv bad fd", prv(99, rd, 2, 0));
    show("preadv negative on bad fd", prv(99, rd, 2, -1));
    show("preadv 1025 iovecs", prv(fd, rd, 1025, 0));
    show("preadv bad iovec array", prv(fd, (struct iovec *)8, 2, 0));
    show("preadv zero iovecs", prv(fd, rd, 0, 0));
    struct iovec bad[2] = {{a, 4}, {(void *)8, 8}};
    show("preadv second buffer bad", prv(fd, bad, 2, 0));
    struct iovec bad0[1] = {{(void *)8, 8}};
    show("preadv only buffer bad", prv(fd, bad0, 1, 0));

    /* the -1 offset of the *v2 calls: at and moving the file position */
    lseek(fd, 6, SEEK_SET);
    memset(a, '.', 4); memset(b, '.', 8);
    show("preadv2 -1 from 6", prv2(fd, rd, 2, -1, 0));
    printf("  a=%.4s b=%.8s pos %ld\n", a, b, (long)lseek(fd, 0, SEEK_CUR));
    show("preadv2 at 0 keeps pos", prv2(fd, rd, 1, 0, 0));
    printf("  a=%.4s pos %ld\n", a, (long)lseek(fd, 0, SEEK_CUR));
    show("preadv2 -2", prv2(fd, rd, 1, -2, 0));
    show("preadv2 RWF_HIPRI", prv2(fd, rd, 1, 0, RWF_HIPRI));
    show("preadv2 RWF_SYNC|RWF_DSYNC", prv2(fd, rd, 1, 0, RWF_SYNC | RWF_DSYNC));
    show("preadv2 unknown flag", prv2(fd, rd, 1, 0, 0x100));
    show("preadv2 unknown flag, nothing to read", prv2(fd, rd, 0, 0, 0x100));
    show("preadv2 unknown flag, negative offset", prv2(fd, rd, 1, -3, 0x100));
    lseek(fd, 0, SEEK_SET);
    show("pwritev2 -1 at pos 0", pwv2(fd, wr, 1, -1, 0));
    contents("after pwritev2 -1", fd);
    show("pwritev2 RWF_APPEND at 0", pwv2(fd, wr, 1, 0, RWF_APPEND));
    contents("after RWF_APPEND at 0", fd);
    show("pwritev2 RWF_APPEND at -1", pwv2(fd, wr + 2, 1, -1, RWF_APPEND));
    contents("after RWF_APPEND at -1", fd);
    show("pwritev2 RWF_DSYNC", pwv2(fd, wr, 1, 1, RWF_DSYNC));
    show("pwritev2 RWF_SYNC", pwv2(fd, wr, 1, 1, RWF_SYNC));
    show("pwritev2 unknown flag", pwv2(fd, wr, 1, 0, 0x40));
    close(fd);

    fd = open("/tmp/rw_vec.dat", O_RDONLY);
    show("pwritev on a read-only fd", pwv(fd, wr, 1, 0));
    show("pwritev on a read-only fd, 1025 iovecs", pwv(fd, wr, 1025, 0));
    close(fd);
    fd = open("/tmp/rw_vec.dat", O_WRONLY | O_APPEND);
    show("preadv on a write-only fd", prv(fd, rd, 1, 0));
    show("pwritev at 0 with O_APPEND", pwv(fd, wr, 1, 0));
    close(fd);
    fd = open("/tmp/rw_vec.dat", O_RDONLY);
    contents("with O_APPEND", fd);
    close(fd);
    fd = open("/tmp", O_RDONLY | O_DIRECTORY);
    show("preadv of a directory", prv(fd, rd, 1, 0));
    close(fd);
    fd = open("/tmp/rw_vec.dat", O_PATH);
    show("preadv of an O_PATH fd", prv(fd, rd, 1, 0));
    close(fd);
    unlink("/tmp/rw_vec.dat");

    int p[2];
    pipe(p);
    show("pwritev on a pipe", pwv(p[1], wr, 1, 0));
    show("preadv on a pipe", prv(p[0], rd, 1, 0));
    show("pwritev2 -1 on a pipe", pwv2(p[1], wr, 3, -1, 0));
    memset(a, '.', 4); memset(b, '.', 8);
    show("preadv2 -1 on a pipe", prv2(p[0], rd, 2, -1, 0));
    printf("  a=%.4s b=%.8s\n", a, b);
    show("pwritev2 0 on a pipe", pwv2(p[1], wr, 1, 0, 0));
}

static void show_limit(const char *what, int resource)
{
    struct rlimit r;
    long ret = syscall(SYS_getrlimit, resource, &r);
    if (ret < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: soft %lld hard %lld\n", what, (long long)r.rlim_cur, (long long)r.rlim_max);
}

static long setlim(int resource, rlim_t soft, rlim_t hard)
{
    struct rlimit r = {soft, hard};
    return syscall(SYS_setrlimit, resource, &r);
}

static void rlimits(void)
{
    show_limit("getrlimit NOFILE", RLIMIT_NOFILE);
    show_limit("getrlimit STACK", RLIMIT_STACK);
    show_limit("getrlimit CORE", RLIMIT_CORE);
    show_limit("getrlimit 16", 16);
    show_limit("getrlimit -1", -1);
    show("getrlimit bad pointer", syscall(SYS_getrlimit, RLIMIT_NOFILE, (void *)8));
    show("setrlimit bad pointer", syscall(SYS_setrlimit, RLIMIT_NOFILE, (void *)8));
    show("setrlimit bad pointer, bad resource", syscall(SYS_setrlimit, 99, (void *)8));
    show("setrlimit bad resource", setlim(99, 1, 1));
    show("setrlimit soft above hard", setlim(RLIMIT_NOFILE, 10, 5));
    show("setrlimit NOFILE above nr_open", setlim(RLIMIT_NOFILE, 10, (1 << 20) + 1));
    show("setrlimit NOFILE at nr_open", setlim(RLIMIT_NOFILE, 10, 1 << 20));
    show_limit("  now", RLIMIT_NOFILE);
    show("setrlimit CORE", setlim(RLIMIT_CORE, 4096, 8192));
    struct rlimit r;
    getrlimit(RLIMIT_CORE, &r);
    printf("  prlimit sees soft %lld hard %lld\n", (long long)r.rlim_cur, (long long)r.rlim_max);
    pid_t pid = fork();
    if (pid == 0) {
        show_limit("child inherits CORE", RLIMIT_CORE);
        setuid(1000);
        show("user lowers hard CORE", setlim(RLIMIT_CORE, 100, 4000));
        show("user raises hard CORE", setlim(RLIMIT_CORE, 100, 5000));
        show("user raises soft CORE to hard", setlim(RLIMIT_CORE, 4000, 4000));
        show_limit("  now", RLIMIT_CORE);
        exit(0);
    }
    waitpid(pid, NULL, 0);
    show("setrlimit back", setlim(RLIMIT_NOFILE, 1024, 4096));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    vectored();
    rlimits();
    return 0;
}
