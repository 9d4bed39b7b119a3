/* A process group whose only member has exited but not been reaped still exists: Linux
 * detaches a task's pids at release_task (when it is reaped), not at exit. So tcsetpgrp,
 * setpgid into that group, kill(-pgrp) and getpgid/getsid of the zombie all work until the
 * zombie is waited for, and only then answer ESRCH/EPERM. busybox sh's job control relies
 * on the tcsetpgrp case (a pipeline that already exited). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "report.h"

static pid_t g;

static void same(const char *what, long r, long want)
{
    if (r < 0)
        rc(what, r);
    else
        printf("%s: %s\n", what, r == want ? "as expected" : "DIFFERENT");
    fflush(stdout);
}

static pid_t child_in_group(pid_t pgid)
{
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, pgid);
        if (pgid)
            pause();
        _exit(0);
    }
    setpgid(pid, pgid ? pgid : pid);       /* as a shell does, racing the child: either wins */
    return pid;
}

static void session(void)
{
    setsid();
    signal(SIGTTOU, SIG_IGN);                  /* as a shell: tcsetpgrp from the background */
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    int s = open(ptsname(m), O_RDWR);          /* the session's controlling terminal */
    same("tcgetsid", tcgetsid(s), getsid(0));

    g = child_in_group(0);                     /* exits at once: group g's only member */
    siginfo_t si;
    rc("waitid WNOWAIT (a zombie now)", waitid(P_PID, g, &si, WEXITED | WNOWAIT));
    same("getpgid of the zombie", getpgid(g), g);
    same("getsid of the zombie", getsid(g), getsid(0));
    rc("kill(-g, 0) with only a zombie", kill(-g, 0));
    rc("tcsetpgrp to the zombie's group", tcsetpgrp(s, g));
    same("tcgetpgrp", tcgetpgrp(s), g);
    rc("tcsetpgrp back", tcsetpgrp(s, getpgrp()));

    pid_t h = child_in_group(g);               /* joins the zombie's group */
    same("getpgid of the joiner", getpgid(h), g);
    rc("reap the zombie", waitpid(g, NULL, 0) == g ? 0 : -1);
    rc("kill(-g, 0) with the joiner left", kill(-g, 0));
    rc("tcsetpgrp with the joiner left", tcsetpgrp(s, g));
    rc("tcsetpgrp back", tcsetpgrp(s, getpgrp()));
    kill(h, SIGKILL);
    printf("joiner: %d\n", status_of(h));

    rc("kill(-g, 0) with the group gone", kill(-g, 0));
    rc("tcsetpgrp to a group gone", tcsetpgrp(s, g));
    rc("setpgid into a group gone", setpgid(0, g));
    rc("getpgid of a reaped pid", getpgid(g));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t pid = fork();
    if (pid == 0) {
        session();
        _exit(0);
    }
    printf("session: %d\n", status_of(pid));
    return 0;
}
