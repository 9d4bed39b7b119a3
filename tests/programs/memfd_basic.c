/* memfd_create: flags and name checks, the file it makes (fstat, /proc/self/fd link), I/O,
 * MAP_SHARED mappings shared across fork and with a reopen through /proc/self/fd/N, and seals:
 * F_GET_SEALS/F_ADD_SEALS with their EPERM/EINVAL/EBUSY cases and what each seal forbids. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

static void show_link(const char *label, int fd)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    printf("%s: %s\n", label, n < 0 ? strerrorname_np(errno) : buf);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    char name[300];

    /* flags and names */
    printf("flags 8: %s\n", err(memfd_create("x", 8)));
    printf("flags 0x100: %s\n", err(memfd_create("x", 0x100)));
    printf("bad name pointer: %s\n", err(memfd_create((const char *)8, 0)));
    memset(name, 'n', sizeof name);
    name[249] = 0;
    int fd249 = memfd_create(name, 0);
    printf("name of 249: %s\n", err(fd249));
    close(fd249);
    name[249] = 'n';
    name[250] = 0;
    printf("name of 250: %s\n", err(memfd_create(name, 0)));
    printf("empty name: %s\n", err(fd249 = memfd_create("", 0)));
    show_link("empty name link", fd249);
    close(fd249);

    int fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    printf("memfd_create: %s\n", err(fd));
    printf("cloexec: %d\n", fcntl(fd, F_GETFD));
    printf("status flags: %#o\n", fcntl(fd, F_GETFL) & ~0400000);
    struct stat st;
    fstat(fd, &st);
    printf("mode %o nlink %lu size %lld uid %u\n", st.st_mode, (unsigned long)st.st_nlink,
           (long long)st.st_size, st.st_uid);
    show_link("link", fd);

    /* I/O */
    printf("write: %zd\n", write(fd, "hello memfd", 11));
    printf("ftruncate 8192: %s\n", err(ftruncate(fd, 8192)));
    char buf[64] = {0};
    printf("pread: %zd '%s'\n", pread(fd, buf, 11, 0), buf);
    printf("lseek end: %lld\n", (long long)lseek(fd, 0, SEEK_END));

    /* mappings: the parent, a forked child and a reopen see one page */
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("mmap shared: %s\n", p == MAP_FAILED ? strerrorname_np(errno) : "ok");
    pid_t pid = fork();
    if (pid == 0) {
        memcpy(p + 4096, "from the child", 14);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("parent sees: %.14s\n", p + 4096);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int re = open(path, O_RDWR);
    printf("reopen through /proc/self/fd: %s\n", err(re));
    show_link("reopened link", re);
    printf("reopen position: %lld (own)\n", (long long)lseek(re, 0, SEEK_CUR));
    char *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, re, 4096);
    memcpy(q, "via the reopen", 14);
    printf("first mapping sees: %.14s\n", p + 4096);
    memset(buf, 0, sizeof buf);
    pread(fd, buf, 14, 4096);
    printf("read sees: %s\n", buf);
    munmap(q, 4096);
    int ro = open(path, O_RDONLY);
    fstat(ro, &st);
    printf("reopen O_RDONLY: %s, same inode: %s\n", err(ro), st.st_nlink == 0 ? "yes" : "no");

    /* seals */
    printf("F_GET_SEALS: %d\n", fcntl(fd, F_GET_SEALS));
    printf("F_ADD_SEALS on O_RDONLY: %s\n", err(fcntl(ro, F_ADD_SEALS, F_SEAL_SHRINK)));
    printf("F_ADD_SEALS 0x40: %s\n", err(fcntl(fd, F_ADD_SEALS, 0x40)));
    printf("F_ADD_SEALS upper bits: %s\n", err(syscall(SYS_fcntl, fd, F_ADD_SEALS, 0x100000002L)));
    printf("F_SEAL_WRITE with a shared writable mapping: %s\n", err(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)));
    printf("F_SEAL_SHRINK: %s\n", err(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK)));
    printf("F_GET_SEALS: %d\n", fcntl(fd, F_GET_SEALS));
    printf("shrink: %s\n", err(ftruncate(fd, 4096)));
    printf("grow: %s\n", err(ftruncate(fd, 16384)));
    printf("F_SEAL_GROW: %s\n", err(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW)));
    printf("grow: %s\n", err(ftruncate(fd, 20480)));
    printf("same size: %s\n", err(ftruncate(fd, 16384)));
    { ssize_t n = pwrite(fd, "abc", 3, 100); printf("write inside: %zd %s\n", n, err(n)); }
    { ssize_t n = pwrite(fd, "abc", 3, 16383); printf("write past the end: %zd %s\n", n, err(n)); }
    { ssize_t n = pwrite(fd, "abc", 3, 16381); printf("write up to the end: %zd %s\n", n, err(n)); }
    munmap(p, 8192);
    printf("F_SEAL_WRITE after munmap: %s\n", err(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)));
    printf("write: %s\n", err(pwrite(fd, "abc", 3, 0)));
    printf("write through the reopen: %s\n", err(pwrite(re, "abc", 3, 0)));
    printf("fallocate punch hole: %s\n", err(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 10)));
    printf("fallocate growing: %s\n", err(fallocate(fd, 0, 0, 1 << 20)));
    printf("fallocate inside: %s\n", err(fallocate(fd, 0, 0, 4096)));
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("mmap shared writable: %s\n", p == MAP_FAILED ? strerrorname_np(errno) : "ok");
    p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
    printf("mmap shared read-only of an O_RDONLY fd: %s\n", p == MAP_FAILED ? strerrorname_np(errno) : "ok");
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("mmap private writable: %s\n", p == MAP_FAILED ? strerrorname_np(errno) : "ok");
    if (p != MAP_FAILED) {
        p[0] = 'X';
        pread(fd, buf, 3, 0);
        printf("private store stays private: %.3s\n", buf);
    }
    printf("F_SEAL_SEAL: %s\n", err(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL)));
    printf("F_GET_SEALS: %d\n", fcntl(fd, F_GET_SEALS));
    printf("more after F_SEAL_SEAL: %s\n", err(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE)));
    printf("same seal again: %s\n", err(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)));

    /* F_SEAL_FUTURE_WRITE: an existing mapping keeps writing */
    int fw = memfd_create("future", MFD_ALLOW_SEALING);
    ftruncate(fw, 4096);
    char *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fw, 0);
    printf("F_SEAL_FUTURE_WRITE with a mapping: %s\n", err(fcntl(fw, F_ADD_SEALS, F_SEAL_FUTURE_WRITE)));
    memcpy(w, "still", 5);
    memset(buf, 0, sizeof buf);
    pread(fw, buf, 5, 0);
    printf("old mapping writes: %s\n", buf);
    printf("write: %s\n", err(pwrite(fw, "x", 1, 0)));
    char *w2 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fw, 0);
    printf("new shared writable mapping: %s\n", w2 == MAP_FAILED ? strerrorname_np(errno) : "ok");
    w2 = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fw, 0);
    printf("new shared read-only mapping: %s\n", w2 == MAP_FAILED ? strerrorname_np(errno) : "ok");
    printf("shrink: %s\n", err(ftruncate(fw, 0)));

    /* without MFD_ALLOW_SEALING, and files that are not memfds */
    int ns = memfd_create("nosealing", 0);
    printf("no sealing F_GET_SEALS: %d\n", fcntl(ns, F_GET_SEALS));
    printf("no sealing F_ADD_SEALS: %s\n", err(fcntl(ns, F_ADD_SEALS, F_SEAL_SHRINK)));
    int tf = open("/tmp/memfd_basic.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
    printf("tmpfs file F_GET_SEALS: %s %d\n", err(fcntl(tf, F_GET_SEALS)), fcntl(tf, F_GET_SEALS));
    printf("tmpfs file F_ADD_SEALS: %s\n", err(fcntl(tf, F_ADD_SEALS, F_SEAL_SHRINK)));
    unlink("/tmp/memfd_basic.tmp");
    int pfd[2];
    pipe(pfd);
    printf("pipe F_GET_SEALS: %s\n", err(fcntl(pfd[0], F_GET_SEALS)));
    printf("pipe F_ADD_SEALS: %s\n", err(fcntl(pfd[1], F_ADD_SEALS, F_SEAL_SHRINK)));
    int proc = open("/proc/self/status", O_RDONLY);
    printf("procfs O_RDONLY F_ADD_SEALS: %s\n", err(fcntl(proc, F_ADD_SEALS, F_SEAL_SHRINK)));
    printf("procfs F_GET_SEALS: %s\n", err(fcntl(proc, F_GET_SEALS)));
    printf("done\n");
    return 0;
}
