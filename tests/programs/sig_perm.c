/* Who may signal whom: a process running as uid 1000 may not signal root's processes
 * or uid 2000's (EPERM), except SIGCONT within its session; the null signal checks the
 * same permission; nobody may forge SI_USER/SI_TKILL siginfo for another process.
 * Needs to start as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(long r) { return r == -1 ? strerrorname_np(errno) : "ok"; }

int main(void)
{
    if (getuid() != 0) {
        printf("not root\n");
        return 1;
    }
    signal(SIGCONT, SIG_DFL);
    int fds[2], ready[2];
    pipe(fds);
    pipe(ready);
    fflush(stdout);
    pid_t b = fork();
    if (b == 0) {                           /* a process of uid 2000 */
        close(fds[1]);
        setresuid(2000, 2000, 2000);
        write(ready[1], "r", 1);
        char c;
        read(fds[0], &c, 1);                /* EOF once everyone closed the write end */
        _exit(0);
    }
    close(fds[0]);
    char c;
    read(ready[0], &c, 1);
    pid_t a = fork();
    if (a == 0) {
        close(fds[1]);
        pid_t root = getppid();
        setresuid(1000, 1000, 1000);
        printf("uid 1000 -> root, signal 0: %s\n", err(kill(root, 0)));
        printf("uid 1000 -> root, SIGUSR1: %s\n", err(kill(root, SIGUSR1)));
        printf("uid 1000 -> root, SIGCONT (same session): %s\n", err(kill(root, SIGCONT)));
        printf("uid 1000 -> root, tgkill SIGUSR1: %s\n", err(syscall(SYS_tgkill, root, root, SIGUSR1)));
        printf("uid 1000 -> itself: %s\n", err(kill(getpid(), 0)));
        siginfo_t si;
        memset(&si, 0, sizeof si);
        si.si_code = SI_USER;
        printf("forged SI_USER to another process: %s\n", err(syscall(SYS_rt_sigqueueinfo, root, SIGCONT, &si)));
        si.si_code = SI_QUEUE;
        printf("SI_QUEUE SIGUSR1 uid 1000 -> root: %s\n", err(syscall(SYS_rt_sigqueueinfo, root, SIGUSR1, &si)));
        printf("uid 1000 -> uid 2000, signal 0: %s\n", err(kill(b, 0)));
        printf("uid 1000 -> uid 2000, SIGKILL: %s\n", err(kill(b, SIGKILL)));
        printf("uid 1000 -> uid 2000, SIGCONT (same session): %s\n", err(kill(b, SIGCONT)));
        printf("uid 1000 -> its process group, signal 0 (it may signal itself): %s\n", err(kill(-getpgrp(), 0)));
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(a, &st, 0);
    printf("uid 1000 child exited %d\n", WEXITSTATUS(st));
    close(fds[1]);
    waitpid(b, &st, 0);
    printf("uid 2000 child exited %d\n", WEXITSTATUS(st));
    return 0;
}
