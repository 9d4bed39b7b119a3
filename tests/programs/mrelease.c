/* process_mrelease: the answers for a pidfd of a live process, of a zombie, of a reaped one,
 * for other descriptors and for flags. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

#ifndef SYS_process_mrelease
#define SYS_process_mrelease 448
#endif

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int go[2];
    pipe(go);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        read(go[0], &c, 1);
        exit(0);
    }
    int pidfd = syscall(SYS_pidfd_open, pid, 0);
    show("live child", syscall(SYS_process_mrelease, pidfd, 0));
    show("flags", syscall(SYS_process_mrelease, pidfd, 1));
    show("bad fd", syscall(SYS_process_mrelease, 99, 0));
    int fd = open("/", O_RDONLY);
    show("a directory", syscall(SYS_process_mrelease, fd, 0));
    show("bad fd and flags", syscall(SYS_process_mrelease, 99, 1));
    int self = syscall(SYS_pidfd_open, getpid(), 0);
    show("myself", syscall(SYS_process_mrelease, self, 0));
    write(go[1], "x", 1);
    siginfo_t si;
    waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
    show("zombie child", syscall(SYS_process_mrelease, pidfd, 0));
    waitpid(pid, NULL, 0);
    show("reaped child", syscall(SYS_process_mrelease, pidfd, 0));
    return 0;
}
