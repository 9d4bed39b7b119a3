/* Unknown syscall numbers must fail with ENOSYS, not crash the process or the kernel. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int check(long nr)
{
    errno = 0;
    long r = syscall(nr, 1, 2, 3, 4, 5, 6);
    const char *name = errno ? strerrorname_np(errno) : "0";
    printf("syscall(%ld) = %ld %s\n", nr, r, name ? name : "?");
    return r == -1 && errno == ENOSYS;
}

int main(void)
{
    int ok = check(999);
    ok &= check(1000);
    printf("enosys %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
