/* DESIGN hazard 1 through the page cache: run code from a file mapping, then pwrite(2)
 * different code into the same page of the file and run it again through the same
 * mapping (still mapped, never written by this process). The page cache page is the
 * file, so the mapping must run the new code, as on Linux. If the kernel stored the new
 * bytes into the old frame from the host, QEMU's TCG would keep running its translation
 * of the old code and this would print 1111 twice. (Real hardware would also want
 * __builtin___clear_cache here; QEMU's TCG, the only CPU these tests run on, does not.) */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static void code(uint32_t out[2], uint32_t imm)
{
    out[0] = 0x52800000u | (imm << 5);      /* mov w0, #imm */
    out[1] = 0xd65f03c0u;                   /* ret */
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
    uint32_t c[2];
    int fd = open("/tmp/codeswap_write", O_RDWR | O_CREAT | O_TRUNC, 0700);
    code(c, 1111);
    if (fd < 0 || write(fd, c, sizeof c) != sizeof c) {
        perror("write code");
        return 2;
    }
    void *priv = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    void *shared = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (priv == MAP_FAILED || shared == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    printf("private first: %d\n", call_many(priv));
    printf("shared first: %d\n", call_many(shared));
    code(c, 2222);
    pwrite(fd, c, sizeof c, 0);
    printf("private after pwrite: %d\n", call_many(priv));
    printf("shared after pwrite: %d\n", call_many(shared));
    code(c, 3333);
    pwrite(fd, c, sizeof c, 0);
    printf("shared after a second pwrite: %d\n", call_many(shared));
    unlink("/tmp/codeswap_write");
    return 0;
}
