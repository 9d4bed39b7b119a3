/* /proc/[pid]/mem compared with Linux: pread of another process's variable at its
 * address, pwrite of a new value, a pwrite into code that already ran (a breakpoint-
 * style patch the process then runs), a short read at the edge of a mapping and EIO past
 * it, and /proc/self/mem. Prints no pids or addresses. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

volatile uint64_t value = 0x1122334455667788ULL;

__attribute__((noinline, aligned(16))) int patched(void) {
    int r;
    __asm__ volatile("mov %w0, #1" : "=r"(r));
    return r;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pages + 4096, 4096);
    memcpy(pages + 4096 - 4, "EDGE", 4);
    int go[2], back[2];
    pipe(go);
    pipe(back);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        printf("child: patched() = %d\n", patched());
        write(back[1], "r", 1);
        read(go[0], &c, 1);
        printf("child: value = %#llx, patched() = %d\n", (unsigned long long)value, patched());
        _exit(0);
    }
    char c;
    read(back[0], &c, 1);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    int fd = open(path, O_RDWR);
    printf("open: %d\n", fd >= 0);
    uint64_t v = 0;
    printf("pread value: %zd\n", pread(fd, &v, 8, (off_t)(uintptr_t)&value));
    printf("value = %#llx\n", (unsigned long long)v);
    v = 0xabcdef;
    printf("pwrite value: %zd\n", pwrite(fd, &v, 8, (off_t)(uintptr_t)&value));
    uint32_t insn[4];
    pread(fd, insn, sizeof insn, (off_t)(uintptr_t)patched);
    for (int i = 0; i < 4; i++) {
        if ((insn[i] & 0xffffffe0) == 0x52800020) {
            uint32_t patch = (insn[i] & 0x1f) | 0x52800040;
            printf("pwrite code: %zd\n", pwrite(fd, &patch, 4, (off_t)(uintptr_t)&((uint32_t *)patched)[i]));
            break;
        }
    }
    char buf[16] = {0};
    printf("pread at the edge: %zd %.4s\n", pread(fd, buf, 16, (off_t)(uintptr_t)(pages + 4096 - 4)), buf);
    ssize_t r = pread(fd, buf, 16, (off_t)(uintptr_t)(pages + 4096));
    printf("pread unmapped: %zd %s\n", r, r < 0 ? strerror(errno) : "");
    r = pwrite(fd, buf, 16, (off_t)(uintptr_t)(pages + 4096));
    printf("pwrite unmapped: %zd %s\n", r, r < 0 ? strerror(errno) : "");
    close(fd);
    write(go[1], "g", 1);
    waitpid(pid, NULL, 0);
    int self = open("/proc/self/mem", O_RDONLY);
    v = 0;
    printf("self pread: %zd\n", pread(self, &v, 8, (off_t)(uintptr_t)&value));
    printf("own value = %#llx\n", (unsigned long long)v);
    return 0;
}
