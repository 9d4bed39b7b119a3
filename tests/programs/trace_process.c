/* --trace golden lines (tests/qemu/test_trace.py): clone flags, wait4 status, sigaction,
 * sigset_t, a child that exits, one killed by SIGKILL and one by SIGSEGV, then one SIGCHLD
 * delivered (kept blocked until all are reaped, so its place in the trace is fixed) and a
 * SIGUSR1. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_signal(int sig) { (void)sig; }

int main(void)
{
    struct sigaction sa = {0};
    sigset_t chld;
    int status;
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        write(1, "child\n", 6);
        _exit(3);
    }
    waitpid(pid, &status, 0);
    pid = fork();
    if (pid == 0)
        kill(getpid(), SIGKILL);
    waitpid(pid, &status, 0);
    pid = fork();
    if (pid == 0) {
        volatile uintptr_t addr = 8;
        *(volatile int *)addr = 1;          /* SIGSEGV, SEGV_MAPERR at 0x8 */
        _exit(0);
    }
    waitpid(pid, &status, 0);
    sigprocmask(SIG_UNBLOCK, &chld, NULL);
    kill(getpid(), SIGUSR1);
    write(1, "parent\n", 7);
    return 0;
}
