/* /proc/self/auxv: the pairs the kernel put on the stack at exec, as getauxval() sees them,
 * ending with AT_NULL; a forked child reads the same; its mode is 0400. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int read_auxv(unsigned long *buf, int max)
{
    int fd = open("/proc/self/auxv", O_RDONLY);
    if (fd < 0)
        return -1;
    int n = read(fd, buf, max * sizeof *buf);
    close(fd);
    return n < 0 ? -1 : n / (int)sizeof *buf;
}

int main(void)
{
    unsigned long a[512], b[512];
    int n = read_auxv(a, 512);
    printf("read: %s, whole pairs: %s\n", n > 0 ? "yes" : "no", n % 2 == 0 ? "yes" : "no");
    int agree = 1, nulls = 0, keys = 0;
    for (int i = 0; i + 1 < n; i += 2) {
        if (a[i] == AT_NULL) {
            nulls++;
            printf("AT_NULL last: %s\n", i + 2 == n ? "yes" : "no");
            break;
        }
        keys++;
        if (getauxval(a[i]) != a[i + 1])
            agree = 0;
    }
    printf("AT_NULL seen: %d, every pair as getauxval: %s\n", nulls, agree ? "yes" : "no");
    printf("AT_PAGESZ %lu, AT_ENTRY is main's program: %s\n", getauxval(AT_PAGESZ),
           getauxval(AT_ENTRY) != 0 ? "yes" : "no");
    struct stat st;
    stat("/proc/self/auxv", &st);
    printf("mode %o\n", st.st_mode & 07777);
    pid_t c = fork();
    if (c == 0) {
        int m = read_auxv(b, 512);
        _exit(m == n && memcmp(a, b, n * sizeof *a) == 0 ? 0 : 1);
    }
    int status;
    waitpid(c, &status, 0);
    printf("child reads the same: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
    return 0;
}
