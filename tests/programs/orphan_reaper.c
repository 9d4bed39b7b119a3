/* orphan_reaper: orphans go to the nearest child subreaper (PR_SET_CHILD_SUBREAPER) with
 * SIGCHLD as their exit signal, whatever clone(2) gave them (reparent_leader): a clone child
 * with exit signal 0 that is already a zombie, and one with SIGUSR1 that exits later, are
 * both found by a plain waitpid(-1) of the subreaper, which gets no SIGUSR1. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t raw_clone(unsigned long flags)
{
    return (pid_t)syscall(SYS_clone, flags, 0, 0, 0, 0);
}

static void nap(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int main(void)
{
    int v = -1;
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("set subreaper: %d\n", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0);
    printf("get subreaper: %d\n", v);
    int pfd[2];
    if (pipe(pfd) < 0)
        return 1;
    pid_t a = fork();
    if (a == 0) {
        pid_t c = raw_clone(0);                 /* exit signal 0: a "clone child" */
        if (c == 0)
            _exit(7);
        pid_t d = raw_clone(SIGUSR1);           /* exit signal SIGUSR1 */
        if (d == 0) {
            nap(300);
            _exit(9);
        }
        siginfo_t si;
        memset(&si, 0, sizeof si);
        /* C is a zombie (not reaped: WNOWAIT) before A goes; a plain wait does not see it. */
        int r = waitid(P_PID, c, &si, WEXITED | WNOWAIT | __WCLONE);
        int plain = waitpid(c, NULL, WNOHANG);
        int e = errno;
        if (write(pfd[1], &c, sizeof c) != sizeof c || write(pfd[1], &d, sizeof d) != sizeof d)
            _exit(2);
        printf("A: C is a zombie: %d (status %d); plain waitpid of C: %d %s\n", r, si.si_status, plain,
               plain < 0 ? strerror(e) : "");
        _exit(3);
    }
    pid_t c, d;
    if (read(pfd[0], &c, sizeof c) != sizeof c || read(pfd[0], &d, sizeof d) != sizeof d)
        return 1;
    int st;
    pid_t got = waitpid(a, &st, 0);
    printf("A reaped: %d, exit %d\n", got == a, WEXITSTATUS(st));
    for (;;) {
        got = waitpid(-1, &st, 0);
        if (got < 0) {
            printf("then waitpid(-1): %s\n", strerror(errno));
            break;
        }
        printf("reaped %s: exit %d\n", got == c ? "C" : got == d ? "D" : "other", WEXITSTATUS(st));
    }
    return 0;
}
