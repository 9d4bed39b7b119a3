/* Wild user pointers must give EFAULT, never kill the process or the kernel.
 * Raw syscall() is used throughout so that libc never touches the bad pointer first.
 * Buffers go through a file in /tmp (not stdout), so the result does not depend on
 * where stdout points (/dev/null would accept any pointer). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void report(const char *what, const char *ptrname, long r)
{
    int e = errno;
    const char *name = r == -1 ? strerrorname_np(e) : NULL;
    printf("%s(%s) = %ld %s\n", what, ptrname, r, r == -1 ? (name ? name : "?") : "(no error)");
    if (!(r == -1 && e == EFAULT))
        failures++;
}

int main(void)
{
    static const struct { void *ptr; const char *name; } bad[] = {
        { (void *)1, "0x1" },
        { (void *)0xffff000000000000ul, "0xffff000000000000" },
    };
    int pfd[2];
    pfd[0] = pfd[1] = syscall(SYS_openat, AT_FDCWD, "/tmp/efault.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (pfd[0] < 0) {
        printf("open /tmp/efault.dat failed: %s\n", strerrorname_np(errno));
        return 1;
    }
    /* Put data in the file so read() has something to copy out. */
    if (syscall(SYS_write, pfd[1], "0123456789abcdef", 16) != 16 || lseek(pfd[0], 0, SEEK_SET) != 0) {
        printf("write to file failed: %s\n", strerrorname_np(errno));
        return 1;
    }

    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = bad[i].ptr;
        const char *n = bad[i].name;
        errno = 0;
        report("read", n, syscall(SYS_read, pfd[0], p, 8));
        errno = 0;
        report("write", n, syscall(SYS_write, pfd[1], p, 8));
        errno = 0;
        report("openat", n, syscall(SYS_openat, AT_FDCWD, p, O_RDONLY));
        errno = 0;
        report("clock_gettime", n, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p));
    }
    printf("efault %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
