/* ioprio_get and ioprio_set: classes, levels, who (process, process group, user), the
 * capability rules for the real-time class and for other users' processes, inheritance by
 * fork, and the effective priority a group or user reports for threads that set none. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

#define WHO_PROCESS 1
#define WHO_PGRP 2
#define WHO_USER 3
#define PRIO(class, data) (((class) << 13) | (data))
#define NONE 0
#define RT 1
#define BE 2
#define IDLE 3

static long get(int which, int who) { return syscall(SYS_ioprio_get, which, who); }
static long set(int which, int who, int prio) { return syscall(SYS_ioprio_set, which, who, prio); }

static void show_prio(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: class %ld data %ld\n", what, r >> 13, r & 0x1fff);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    setpgid(0, 0);
    show_prio("initial", get(WHO_PROCESS, 0));
    show_prio("initial of the group", get(WHO_PGRP, 0));
    show_prio("bad which", get(0, 0));
    show_prio("bad which 4", get(4, 0));
    show_prio("no such process", get(WHO_PROCESS, 999999));
    show_prio("no such group", get(WHO_PGRP, 999999));
    show_prio("no such user", get(WHO_USER, 54321));

    show("set BE 3", set(WHO_PROCESS, 0, PRIO(BE, 3)));
    show_prio("  now", get(WHO_PROCESS, getpid()));
    show("set BE 8", set(WHO_PROCESS, 0, PRIO(BE, 8)));
    show_prio("  now", get(WHO_PROCESS, 0));
    show("set RT 7", set(WHO_PROCESS, 0, PRIO(RT, 7)));
    show_prio("  now", get(WHO_PROCESS, 0));
    show("set RT 8", set(WHO_PROCESS, 0, PRIO(RT, 8)));
    show("set IDLE 5", set(WHO_PROCESS, 0, PRIO(IDLE, 5)));
    show_prio("  now", get(WHO_PROCESS, 0));
    show("set NONE 1", set(WHO_PROCESS, 0, PRIO(NONE, 1)));
    show("set NONE 8", set(WHO_PROCESS, 0, PRIO(NONE, 8)));
    show_prio("  now", get(WHO_PROCESS, 0));
    show("set BE 4 with a hint", set(WHO_PROCESS, 0, PRIO(BE, 4 | 1 << 3)));
    show_prio("  now", get(WHO_PROCESS, 0));
    show("set class 4", set(WHO_PROCESS, 0, PRIO(4, 0)));
    show("set class 7", set(WHO_PROCESS, 0, PRIO(7, 0)));
    show("set bad which", set(9, 0, PRIO(BE, 1)));
    show("set bad which, bad prio", set(9, 0, PRIO(4, 1)));
    show("set no such process", set(WHO_PROCESS, 999999, PRIO(BE, 1)));
    show("set BE 2", set(WHO_PROCESS, 0, PRIO(BE, 2)));

    pid_t pid = fork();
    if (pid == 0) {
        show_prio("child inherits", get(WHO_PROCESS, 0));
        exit(0);
    }
    waitpid(pid, NULL, 0);
    show("set NONE 0", set(WHO_PROCESS, 0, PRIO(NONE, 0)));
    pid = fork();
    if (pid == 0) {
        show_prio("child of NONE", get(WHO_PROCESS, 0));
        exit(0);
    }
    waitpid(pid, NULL, 0);

    /* a group or a user reports the best effective priority; an unset one follows nice */
    int ready[2], go[2];
    pipe(ready);
    pipe(go);
    pid = fork();
    if (pid == 0) {
        char c;
        setpriority(PRIO_PROCESS, 0, 10);
        write(ready[1], "x", 1);
        read(go[0], &c, 1);
        show_prio("child after the group set", get(WHO_PROCESS, 0));
        exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    show_prio("child with nice 10", get(WHO_PROCESS, pid));
    show_prio("group: me nice 0 and a nice 10 child", get(WHO_PGRP, 0));
    setpriority(PRIO_PROCESS, 0, 5);
    show_prio("group: me nice 5", get(WHO_PGRP, getpgrp()));
    show("set IDLE 0 on the child", set(WHO_PROCESS, pid, PRIO(IDLE, 0)));
    show_prio("group: me nice 5, child IDLE", get(WHO_PGRP, 0));
    show("set BE 6 on the group", set(WHO_PGRP, 0, PRIO(BE, 6)));
    show_prio("group after", get(WHO_PGRP, 0));
    show("set group no such", set(WHO_PGRP, 999999, PRIO(BE, 1)));
    write(go[1], "x", 1);
    waitpid(pid, NULL, 0);

    /* another user: the real-time class, and other users' processes */
    pid = fork();
    if (pid == 0) {
        pid_t parent = getppid();
        setuid(1000);
        show("user sets RT", set(WHO_PROCESS, 0, PRIO(RT, 1)));
        show("user sets RT 9", set(WHO_PROCESS, 0, PRIO(RT, 9)));
        show("user sets BE 1", set(WHO_PROCESS, 0, PRIO(BE, 1)));
        show("user sets root's", set(WHO_PROCESS, parent, PRIO(BE, 1)));
        show_prio("user reads root's", get(WHO_PROCESS, parent));
        show_prio("user 1000", get(WHO_USER, 1000));
        show_prio("user 0 (own uid)", get(WHO_USER, 0));
        exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}
