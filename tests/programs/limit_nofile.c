/* RLIMIT_NOFILE: the soft limit setrlimit sets is the one new descriptors are checked
 * against, raised (descriptors past the old default of 1024) and lowered (EMFILE for a new
 * one, EBADF/EINVAL for a named one at or above it; those already open stay), inherited
 * by a forked child; timerfds count like any file (stress-ng's timerfd stressor). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

static void set_soft(rlim_t soft)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = soft;
    printf("setrlimit soft %lu: %s\n", (unsigned long)soft, err(setrlimit(RLIMIT_NOFILE, &rl)));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max < 2000) {
        printf("hard limit below 2000\n");
        return 1;
    }
    set_soft(2000);
    int dups = 0, last = -1;
    for (int i = 0; i < 1500; i++) {
        int fd = dup(0);
        if (fd < 0) {
            rc("dup", fd);
            break;
        }
        dups++;
        last = fd;
    }
    printf("dups: %d, the last is past 1024: %s\n", dups, last > 1024 ? "yes" : "no");
    rc("dup2 to 1999", dup2(0, 1999));
    rc("dup2 to 2000", dup2(0, 2000));
    rc("F_DUPFD 2000", fcntl(0, F_DUPFD, 2000));
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    printf("timerfd past 1024: %s\n", tfd > 1024 ? "yes" : err(tfd));

    set_soft(64);
    rc("open above the lowered limit", open("/dev/null", O_RDONLY));
    rc("timerfd above the lowered limit", timerfd_create(CLOCK_MONOTONIC, 0));
    printf("fd 1999 still open: %s\n", fcntl(1999, F_GETFD) >= 0 ? "yes" : "no");
    for (int fd = 10; fd < 2000; fd++)
        close(fd);
    rc("open below it", open("/dev/null", O_RDONLY));
    rc("F_DUPFD 63", fcntl(0, F_DUPFD, 63));
    rc("F_DUPFD 64", fcntl(0, F_DUPFD, 64));
    rc("dup2 to 64", dup2(0, 64));
    struct pollfd pfd[65] = {{0}};
    for (int i = 0; i < 65; i++)
        pfd[i].fd = -1;
    rc("poll 64 fds", poll(pfd, 64, 0));
    rc("poll 65 fds", poll(pfd, 65, 0));

    pid_t pid = fork();
    if (pid == 0) {
        int n = 0;
        while (open("/dev/null", O_RDONLY) >= 0)
            n++;
        printf("child: %d more opens, then %s\n", n, strerrorname_np(errno));
        _exit(0);
    }
    printf("child status: %d\n", status_of(pid));
    return 0;
}
