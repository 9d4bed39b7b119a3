/* execve by a process that shares its signal handlers (clone CLONE_VM|CLONE_SIGHAND, no
 * CLONE_THREAD): the exec'd image gets its own table with caught signals back to SIG_DFL,
 * while the other sharer keeps its handler (unshare_sighand). Compared with Linux. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_usr1(int sig) { (void)sig; }

static const char *disposition(int sig)
{
    struct sigaction sa;
    sigaction(sig, NULL, &sa);
    return sa.sa_handler == SIG_DFL ? "SIG_DFL" : sa.sa_handler == SIG_IGN ? "SIG_IGN" : "a handler";
}

static char *self;

static int child(void *arg)
{
    (void)arg;
    char *argv[] = { self, "exec", NULL };
    execv(self, argv);
    _exit(127);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        printf("exec'd: SIGUSR1 %s, SIGUSR2 %s\n", disposition(SIGUSR1), disposition(SIGUSR2));
        return 0;
    }
    self = argv[0];
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, SIG_IGN);
    static char stack[64 * 1024];
    pid_t pid = clone(child, stack + sizeof stack, CLONE_VM | CLONE_SIGHAND | SIGCHLD, NULL);
    if (pid < 0) {
        perror("clone");
        return 1;
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child: %s %d\n", WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    printf("sharer: SIGUSR1 %s, SIGUSR2 %s\n", disposition(SIGUSR1), disposition(SIGUSR2));
    /* and a plain fork + exec: the child's own copy */
    pid = fork();
    if (pid == 0) {
        char *argv2[] = { self, "exec", NULL };
        execv(self, argv2);
        _exit(127);
    }
    waitpid(pid, &st, 0);
    printf("parent after fork+exec: SIGUSR1 %s\n", disposition(SIGUSR1));
    return 0;
}
