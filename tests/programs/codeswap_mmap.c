/* DESIGN hazard 1, made deterministic: run code from a file mapping, unmap it, map a
 * different file's code at the same address, and run that. The kernel fills the new
 * page through the host's view of guest RAM; if it reused the frame that held the old
 * code without the guest ever storing to it, QEMU's TCG would still run the old
 * translation and this would print 1111 twice. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static int write_code(const char *path, uint32_t imm)
{
    uint32_t code[2] = { 0x52800000u | (imm << 5), 0xd65f03c0u };  /* mov w0, #imm; ret */
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0700);
    if (fd < 0 || write(fd, code, sizeof code) != sizeof code)
        return -1;
    return fd;
}

static int call_many(void *p)
{
    int (*volatile fn)(void) = (int (*)(void))p;
    int v = 0;
    for (int i = 0; i < 10000; i++)
        v = fn();
    return v;
}

int main(void)
{
    int fd1 = write_code("/tmp/code1111", 1111), fd2 = write_code("/tmp/code2222", 2222);
    if (fd1 < 0 || fd2 < 0) {
        perror("write code");
        return 2;
    }
    void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd1, 0);
    if (p == MAP_FAILED) {
        perror("mmap code1111");
        return 2;
    }
    printf("first: %d\n", call_many(p));
    munmap(p, 4096);
    void *q = mmap(p, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd2, 0);
    if (q != p) {
        perror("mmap code2222");
        return 2;
    }
    int second = call_many(q);
    printf("second: %d\n", second);
    return second == 2222 ? 0 : 1;
}
