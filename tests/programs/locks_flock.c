/* flock(2): shared and exclusive locks owned by the open file (shared with dup'ed and inherited
 * descriptors), LOCK_NB's EWOULDBLOCK, an upgrade that drops the old lock first, a blocking
 * lock woken by the release, release at the last close, independence from fcntl locks, the
 * argument checks, and the /proc/locks line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

#define PATH "/tmp/locks_flock.dat"

static void reap(pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        printf("child status %d\n", status);
}

static void on_alarm(int sig) { (void)sig; }

/* The /proc/locks lines of inode ino, with the lock number kept, the pid shown as who it is
 * and the device:inode as DEV:INO (neither is the same under two kernels). */
static void show_proc_locks(unsigned long ino, pid_t child)
{
    char line[256], want[32];
    FILE *f = fopen("/proc/locks", "r");
    snprintf(want, sizeof want, ":%lu ", ino);
    while (f && fgets(line, sizeof line, f)) {
        char *at = strstr(line, want);
        if (!at)
            continue;
        char *dev = at;
        while (dev > line && dev[-1] != ' ')
            dev--;                                  /* the start of "maj:min:ino" */
        char *pid_end = dev - 1, *pid = pid_end;
        while (pid > line && pid[-1] != ' ')
            pid--;
        long n = strtol(pid, NULL, 10);
        printf("/proc/locks: %.*s%s DEV:INO %s", (int)(pid - line), line,
               n == getpid() ? "self" : n == child ? "child" : "other", at + strlen(want));
    }
    if (f)
        fclose(f);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int a = open(PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
    int b = open(PATH, O_RDONLY), c = open(PATH, O_WRONLY);
    int p = open(PATH, O_PATH);

    printf("op 0: %s\n", err(flock(a, 0)));
    printf("SH|EX: %s\n", err(flock(a, LOCK_SH | LOCK_EX)));
    printf("UN|NB: %s\n", err(flock(a, LOCK_UN | LOCK_NB)));
    printf("op 77 on fd 99: %s\n", err(flock(99, 77)));
    printf("SH on fd 99: %s\n", err(flock(99, LOCK_SH)));
    printf("SH on O_PATH: %s\n", err(flock(p, LOCK_SH)));
    printf("UN on O_PATH: %s\n", err(flock(p, LOCK_UN)));
    printf("LOCK_MAND ignored: %s\n", err(flock(a, 32 | LOCK_EX)));
    printf("EX on O_RDONLY: %s\n", err(flock(b, LOCK_EX | LOCK_NB)));
    printf("UN of it: %s\n", err(flock(b, LOCK_UN)));
    printf("SH on O_WRONLY: %s\n", err(flock(c, LOCK_SH | LOCK_NB)));

    printf("a SH: %s\n", err(flock(a, LOCK_SH)));
    printf("a SH again: %s\n", err(flock(a, LOCK_SH | LOCK_NB)));
    printf("b EX|NB: %s\n", err(flock(b, LOCK_EX | LOCK_NB)));
    printf("a EX|NB upgrade against c's SH: %s\n", err(flock(a, LOCK_EX | LOCK_NB)));
    printf("b EX|NB (a's lock went with the failed upgrade): %s\n", err(flock(b, LOCK_EX | LOCK_NB)));
    printf("c UN: %s\n", err(flock(c, LOCK_UN)));
    printf("b EX|NB: %s\n", err(flock(b, LOCK_EX | LOCK_NB)));
    printf("b downgrade to SH: %s\n", err(flock(b, LOCK_SH | LOCK_NB)));
    printf("a SH|NB beside it: %s\n", err(flock(a, LOCK_SH | LOCK_NB)));
    printf("fcntl WRLCK while flocked: %s\n",
           err(fcntl(c, F_SETLK, &(struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET})));
    flock(a, LOCK_UN);
    flock(b, LOCK_UN);

    /* dup'ed and inherited descriptors share the open file's lock */
    printf("a EX: %s\n", err(flock(a, LOCK_EX)));
    int d = dup(a);
    printf("dup EX|NB (same lock): %s\n", err(flock(d, LOCK_EX | LOCK_NB)));
    close(d);
    printf("b EX|NB after closing the dup: %s\n", err(flock(b, LOCK_EX | LOCK_NB)));
    pid_t pid = fork();
    if (pid == 0) {
        printf("child EX|NB on inherited a: %s\n", err(flock(a, LOCK_EX | LOCK_NB)));
        printf("child UN on inherited a: %s\n", err(flock(a, LOCK_UN)));
        _exit(0);
    }
    reap(pid);
    printf("b EX|NB after the child unlocked a: %s\n", err(flock(b, LOCK_EX | LOCK_NB)));
    flock(b, LOCK_UN);

    /* a blocking lock waits for the release; a signal interrupts it */
    int sync[2];
    pipe(sync);
    flock(a, LOCK_SH);
    pid = fork();
    if (pid == 0) {
        int own = open(PATH, O_RDONLY);
        char x = 'x';
        write(sync[1], &x, 1);
        printf("child EX waits: %s\n", err(flock(own, LOCK_EX)));
        write(sync[1], &x, 1);
        msleep(300);
        _exit(0);
    }
    char x;
    read(sync[0], &x, 1);
    msleep(200);
    struct stat lst;
    fstat(a, &lst);
    show_proc_locks(lst.st_ino, pid);               /* the child waits: a "->" line */
    int r = flock(a, LOCK_UN);
    read(sync[0], &x, 1);                 /* the child has printed that it got the lock */
    printf("parent UN: %s\n", err(r));
    printf("parent SH|NB while the child holds EX: %s\n", err(flock(a, LOCK_SH | LOCK_NB)));
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    printf("parent SH interrupted: %s\n", err(flock(a, LOCK_SH)));
    reap(pid);
    printf("parent SH after the child exited: %s\n", err(flock(a, LOCK_SH | LOCK_NB)));

    /* /proc/locks */
    struct stat st;
    fstat(a, &st);
    char line[256];
    FILE *f = fopen("/proc/locks", "r");
    while (f && fgets(line, sizeof line, f)) {
        char want[32];
        snprintf(want, sizeof want, ":%lu ", (unsigned long)st.st_ino);
        char *at = strstr(line, want);
        if (at) {
            int pid_seen;
            char kind[32];
            sscanf(strchr(line, ' ') + 1, "%31[A-Z ] %d", kind, &pid_seen);
            printf("/proc/locks: [%s] pid %s tail '%s", kind, pid_seen == getpid() ? "self" : "other",
                   at + strlen(want));
        }
    }
    if (f)
        fclose(f);
    close(a);
    printf("b EX|NB after the last close of a: %s\n", err(flock(b, LOCK_EX | LOCK_NB)));
    unlink(PATH);
    printf("done\n");
    return 0;
}
