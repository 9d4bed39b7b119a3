/* prctl(PR_CAPBSET_READ) as Linux answers it for root and after setuid to nobody (the bounding
 * set stays): 1 for each capability up to CAP_LAST_CAP, EINVAL past it. libcap and procps
 * probe it at startup to count the capabilities the kernel knows. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void probe(const char *who)
{
    unsigned long caps[] = {0, 1, 7, 21, 31, 32, 38, 39, 40, 41, 63, 64, 1000, (unsigned long)-1};
    printf("%s:", who);
    for (unsigned i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        int r = prctl(PR_CAPBSET_READ, caps[i], 0, 0, 0);
        if (r < 0)
            printf(" %ld=%s", (long)caps[i], strerrorname_np(errno));
        else
            printf(" %ld=%d", (long)caps[i], r);
    }
    int last = 0;
    while (prctl(PR_CAPBSET_READ, (unsigned long)last + 1, 0, 0, 0) >= 0)
        last++;
    printf(" last=%d\n", last);
}

int main(void)
{
    probe("root");
    if (setuid(65534) != 0) {
        perror("setuid");
        return 1;
    }
    probe("nobody");
    return 0;
}
