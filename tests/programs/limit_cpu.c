/* RLIMIT_CPU: SIGXCPU at the soft limit and every second after it (the soft limit seen
 * to move up a second each time), SIGKILL at the hard limit; with SIGXCPU's default action
 * the process dies of it (no core: RLIMIT_CORE is 0). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

static int report_fd;

static void on_xcpu(int sig)
{
    struct rlimit rl;
    getrlimit(RLIMIT_CPU, &rl);
    char c = (char)('0' + rl.rlim_cur);        /* the soft limit after this signal */
    write(report_fd, &c, 1);
}

static void spin(void)
{
    for (volatile unsigned long i = 0;; i++)
        ;
}

static void child(int fd, int catch)
{
    report_fd = fd;
    if (catch)
        signal(SIGXCPU, on_xcpu);
    struct rlimit rl = {1, 3};
    rc("setrlimit", setrlimit(RLIMIT_CPU, &rl));
    spin();
}

static void run(int catch)
{
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        child(p[1], catch);
    }
    close(p[1]);
    int status;
    waitpid(pid, &status, 0);
    char buf[16] = "";
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    printf("%s: SIGXCPU seen with soft limits [%s], ", catch ? "caught" : "default",
           n > 0 ? buf : "");
    if (WIFSIGNALED(status))
        printf("killed by %s%s\n", strsignal(WTERMSIG(status)), WCOREDUMP(status) ? " (core)" : "");
    else
        printf("exited %d\n", WEXITSTATUS(status));
    fflush(stdout);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    run(1);
    run(0);
    return 0;
}
