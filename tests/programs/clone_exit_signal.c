/* clone(2) with an exit signal above 64 in its CSIGNAL byte (stress-ng's clone stressor
 * passes random ones): Linux takes it (clone3 would say EINVAL), sends nothing when the child
 * exits (do_notify_parent sends only a valid signal) and the parent still waits for it as
 * for any child whose exit signal is not SIGCHLD: with __WALL or __WCLONE. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

static volatile int signals_seen;

static void on_signal(int sig) { signals_seen++; }

static void one(int exit_signal)
{
    long pid = syscall(SYS_clone, (long)exit_signal, 0L, 0L, 0L, 0L);
    if (pid == 0)
        _exit(exit_signal & 0x7f);
    if (pid < 0) {
        rc("clone", pid);
        return;
    }
    int st = 0;
    printf("exit signal %d: waitpid without __WALL: %s\n", exit_signal,
           err(waitpid(pid, &st, WNOHANG)));
    long r = waitpid(pid, &st, __WALL);
    printf("  waitpid __WALL: %s, exited %d, status %d, signals seen %d\n", r == pid ? "the child" : err(r),
           WIFEXITED(st), WEXITSTATUS(st), signals_seen);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int sig = 1; sig < 65; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, on_signal);
    one(65);
    one(100);
    one(255);
    one(SIGUSR1);
    return 0;
}
