/* A fork bomb under RLIMIT_NPROC ends in EAGAIN (the limit counts the user's processes,
 * the forker included), and once its children are gone forking works again. Run as root:
 * the program becomes uid 1000 first (root's CAP_SYS_RESOURCE would lift the limit). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

#define LIMIT 20

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    rc("setuid", setuid(1000));
    struct rlimit rl = {LIMIT, LIMIT};
    rc("setrlimit", setrlimit(RLIMIT_NPROC, &rl));
    pid_t kids[LIMIT * 2];
    int n = 0;
    for (;;) {
        pid_t pid = fork();
        if (pid == 0) {
            pause();
            _exit(0);
        }
        if (pid < 0) {
            printf("fork %d: %s\n", n + 1, strerrorname_np(errno));
            break;
        }
        kids[n++] = pid;
        if (n == LIMIT * 2) {
            printf("no limit hit\n");
            break;
        }
    }
    printf("children: %d\n", n);
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    for (int i = 0; i < n; i++)
        waitpid(kids[i], NULL, 0);
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    int status = 0;
    rc("fork after reaping", pid > 0 ? 0 : -1);
    if (pid > 0) {
        waitpid(pid, &status, 0);
        printf("child status: %d\n", WEXITSTATUS(status));
    }
    return 0;
}
