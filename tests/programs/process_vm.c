/* process_vm_readv/process_vm_writev compared with Linux: scattered vectors on both
 * sides, a short copy when the remote range runs into an unmapped page, EFAULT when
 * nothing could be copied, EINVAL for flags and too many vectors, ESRCH, EPERM for
 * another uid, 0 for empty vectors. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char secret[64] = "the child's secret: 0123456789";
static char *edge;                    /* 8 bytes before an unmapped page */

static void show(const char *what, ssize_t rc) {
    printf("%-32s %zd %s\n", what, rc, rc < 0 ? strerror(errno) : "");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pages + 4096, 4096);
    edge = pages + 4096 - 8;
    memcpy(edge, "EDGEDATA", 8);
    int go[2];
    pipe(go);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        read(go[0], &c, 1);
        printf("child sees: %s\n", secret);
        _exit(0);
    }
    char a[8] = {0}, b[32] = {0};
    struct iovec local[2] = { { a, 4 }, { b, sizeof b - 1 } };
    struct iovec remote[2] = { { secret, 10 }, { secret + 20, 10 } };
    show("readv 2x2", process_vm_readv(pid, local, 2, remote, 2, 0));
    printf("a=%.4s b=%s\n", a, b);
    char buf[64] = {0};
    struct iovec l1 = { buf, sizeof buf };
    struct iovec r_edge = { edge, 64 };
    show("readv across unmapped page", process_vm_readv(pid, &l1, 1, &r_edge, 1, 0));
    printf("got %.8s\n", buf);
    struct iovec r_bad = { pages + 4096, 8 };
    show("readv unmapped", process_vm_readv(pid, &l1, 1, &r_bad, 1, 0));
    struct iovec l_bad = { (void *)16, 8 }, r_ok = { secret, 8 };
    show("readv into a bad local buffer", process_vm_readv(pid, &l_bad, 1, &r_ok, 1, 0));
    show("readv flags 1", process_vm_readv(pid, &l1, 1, &r_ok, 1, 1));
    show("readv 1025 vectors", process_vm_readv(pid, &l1, 1025, &r_ok, 1, 0));
    show("readv no local", process_vm_readv(pid, &l1, 0, &r_ok, 1, 0));
    struct iovec r_empty = { secret, 0 };
    show("readv empty remote", process_vm_readv(pid, &l1, 1, &r_empty, 1, 0));
    show("readv no such pid", process_vm_readv(999999, &l1, 1, &r_ok, 1, 0));
    struct iovec w = { "SECRET", 6 }, rw = { secret + 4, 6 };
    show("writev", process_vm_writev(pid, &w, 1, &rw, 1, 0));
    struct iovec r_code = { (void *)main, 4 };
    show("writev into code", process_vm_writev(pid, &w, 1, &r_code, 1, 0));
    pid_t other = fork();
    if (other == 0) {
        setresuid(1000, 1000, 1000);
        show("uid 1000: readv root's", process_vm_readv(pid, &l1, 1, &r_ok, 1, 0));
        _exit(0);
    }
    waitpid(other, NULL, 0);
    write(go[1], "x", 1);
    waitpid(pid, NULL, 0);
    return 0;
}
