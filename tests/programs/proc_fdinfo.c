/* /proc/self/fdinfo/N for each kind of file Linux shows extra lines for (a regular file,
 * a pipe, eventfd, epoll, signalfd, timerfd, inotify), compared with Linux. What is the
 * machine's (mount ids, inode and device numbers, a timer's remaining time) is masked:
 * each line is printed with those fields' values replaced by "*". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "report.h"

static const char *MASKED[] = {"mnt_id:", "ino:", "sdev:", "fhandle-bytes:", "fhandle-type:", "f_handle:", NULL};

/* One word of a line: masked if it is, or starts with, one of MASKED's keys. */
static void word(const char *w, int *mask_next)
{
    if (*mask_next) {
        printf(" *");
        *mask_next = 0;
        return;
    }
    for (const char **m = MASKED; *m; m++) {
        size_t n = strlen(*m);
        if (strncmp(w, *m, n) == 0) {
            if (w[n])
                printf(" %s*", *m);          /* "ino:1a2b" */
            else {
                printf(" %s", w);            /* "ino:" then a tab and the value */
                *mask_next = 1;
            }
            return;
        }
    }
    printf(" %s", w);
}

static int by_text(const void *a, const void *b) { return strcmp(a, b); }
static long watched;       /* the pid a pidfd's lines are compared with */

static void fdinfo(const char *what, int fd)
{
    char path[64], line[512], tfd[8][512];
    int ntfd = 0;
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    FILE *f = fopen(path, "r");
    printf("-- %s\n", what);
    if (!f) {
        printf("open: %s\n", strerrorname_np(errno));
        return;
    }
    while (fgets(line, sizeof line, f)) {
        int mask_next = 0;
        if (strncmp(line, "Pid:", 4) == 0 || strncmp(line, "NSpid:", 6) == 0) {     /* a pidfd's */
            long pid = strtol(strchr(line, ':') + 1, NULL, 10);
            *strchr(line, ':') = 0;
            printf(" %s: %s\n", line, pid == watched ? "the child" : pid == -1 ? "-1" : "other");
            continue;
        }
        if (strncmp(line, "tfd:", 4) == 0 && ntfd < 8) {   /* epoll's order is its tree's: sorted here */
            strcpy(tfd[ntfd++], line);
            continue;
        }
        if (strncmp(line, "it_value:", 9) == 0) {      /* time left: counts down */
            long long s, ns;
            sscanf(line + 9, " (%lld, %lld)", &s, &ns);
            printf(" it_value: %s\n", s > 0 && s <= 10 ? "(0 < s <= 10)" : "other");
            continue;
        }
        for (char *w = strtok(line, " \t\n"); w; w = strtok(NULL, " \t\n"))
            word(w, &mask_next);
        printf("\n");
    }
    qsort(tfd, ntfd, sizeof tfd[0], by_text);
    for (int i = 0; i < ntfd; i++) {
        int mask_next = 0;
        for (char *w = strtok(tfd[i], " \t\n"); w; w = strtok(NULL, " \t\n"))
            word(w, &mask_next);
        printf("\n");
    }
    fclose(f);
}

int main(void)
{
    int file = open("/tmp/fdinfo.txt", O_RDWR | O_CREAT | O_APPEND | O_TRUNC, 0600);
    write(file, "hello world", 11);
    lseek(file, 5, SEEK_SET);
    fdinfo("file O_RDWR|O_APPEND at 5", file);
    int ro = open("/tmp/fdinfo.txt", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    fdinfo("file O_RDONLY|O_CLOEXEC|O_NONBLOCK", ro);

    int p[2];
    pipe2(p, O_NONBLOCK);
    fdinfo("pipe read end", p[0]);

    int efd = eventfd(5, EFD_NONBLOCK | EFD_CLOEXEC);
    fdinfo("eventfd 5", efd);
    eventfd_write(efd, 0x1234);
    fdinfo("eventfd +0x1234", efd);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 0xabcdef};
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    ev.events = EPOLLOUT;
    ev.data.u64 = 7;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev);
    fdinfo("epoll of eventfd and pipe", ep);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGRTMIN + 1);
    int sfd = signalfd(-1, &set, SFD_NONBLOCK);
    fdinfo("signalfd USR1 INT RTMIN+1", sfd);

    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec its = {.it_value = {10, 0}, .it_interval = {1, 500}};
    timerfd_settime(tfd, 0, &its, NULL);
    fdinfo("timerfd monotonic 10s every 1.0000005s", tfd);
    int tfd2 = timerfd_create(CLOCK_REALTIME, 0);
    fdinfo("timerfd realtime unarmed", tfd2);

    int in = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(in, "/tmp", IN_CREATE | IN_DELETE);
    inotify_add_watch(in, "/tmp/fdinfo.txt", IN_MODIFY | IN_ONESHOT);
    fdinfo("inotify two watches", in);

    int go[2];
    pipe(go);
    pid_t child = fork();
    if (child == 0) {
        char c;
        read(go[0], &c, 1);
        _exit(0);
    }
    watched = child;
    int pfd = syscall(SYS_pidfd_open, child, 0);
    fdinfo("pidfd of a running child", pfd);
    write(go[1], "x", 1);
    status_of(child);
    fdinfo("pidfd of a reaped child", pfd);

    char path[64];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", 99);
    printf("-- closed fd: %s\n", err(open(path, O_RDONLY)));
    unlink("/tmp/fdinfo.txt");
    return 0;
}
