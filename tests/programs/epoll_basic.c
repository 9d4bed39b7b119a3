/* epoll: epoll_create1/epoll_ctl/epoll_pwait/epoll_pwait2 over pipes, eventfd, timerfd,
 * signalfd and other epolls: level- and edge-triggered reports, EPOLLONESHOT, the order of
 * events and maxevents, a descriptor closed while a dup keeps the file, nesting and ELOOP,
 * EPOLLEXCLUSIVE rules, the temporary signal mask and EINTR, and the errno of every check.
 * Timings are printed as ok/FAIL against generous bounds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAIL"); }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event e = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event e = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

/* Wait (timeout ms) and print what came: "what: n [data:events ...]". */
static int show(const char *what, int ep, int max, int ms)
{
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, max, ms);
    printf("%s: %d", what, n);
    if (n < 0)
        printf(" %s", strerrorname_np(errno));
    for (int i = 0; i < n; i++)
        printf(" %llu:%x", (unsigned long long)ev[i].data.u64, ev[i].events);
    printf("\n");
    return n;
}

static int pollin(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, 0);
    return p.revents;
}

static volatile int handled;
static void on_usr2(int sig) { (void)sig; handled++; }

int main(void)
{
    char buf[70000];
    long r;
    int ep = epoll_create1(0);
    int epc = epoll_create1(EPOLL_CLOEXEC);
    printf("epoll_create1: FD_CLOEXEC %d and %d\n", fcntl(ep, F_GETFD) & FD_CLOEXEC, fcntl(epc, F_GETFD) & FD_CLOEXEC);
    r = epoll_create1(1);
    printf("epoll_create1(1): %ld %s\n", r, err(r));
    char link[64] = "", path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", ep);
    readlink(path, link, sizeof link - 1);
    printf("readlink: %s\n", link);

    /* epoll_ctl's checks. */
    int p[2];
    pipe(p);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 1};
    printf("add: %s\n", err(add(ep, p[0], EPOLLIN, 1)));
    printf("add again: %s\n", err(add(ep, p[0], EPOLLIN, 1)));
    printf("mod unknown: %s\n", err(mod(ep, p[1], EPOLLOUT, 2)));
    printf("del unknown: %s\n", err(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL)));
    printf("op 9: %s\n", err(epoll_ctl(ep, 9, p[0], &e)));
    printf("op 9 unknown fd: %s\n", err(epoll_ctl(ep, 9, p[1], &e)));
    int reg = open("/proc/self/exe", O_RDONLY);
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    int null = open("/dev/null", O_RDONLY);
    printf("regular file: %s\n", err(add(ep, reg, EPOLLIN, 3)));
    printf("directory: %s\n", err(add(ep, dir, EPOLLIN, 3)));
    printf("/dev/null: %s\n", err(add(ep, null, EPOLLIN, 3)));
    printf("itself: %s\n", err(add(ep, ep, EPOLLIN, 3)));
    printf("into a pipe: %s\n", err(add(p[0], p[1], EPOLLIN, 3)));
    printf("bad epfd: %s\n", err(add(99, p[1], EPOLLIN, 3)));
    printf("bad fd: %s\n", err(add(ep, 99, EPOLLIN, 3)));
    printf("NULL event: %s\n", err(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], NULL)));
    printf("NULL event, bad fds: %s\n", err(epoll_ctl(99, EPOLL_CTL_ADD, 98, NULL)));
    printf("regular file, bad op: %s\n", err(epoll_ctl(ep, 9, reg, &e)));
    int opath = open("/", O_PATH);
    printf("O_PATH target: %s\n", err(add(ep, opath, EPOLLIN, 3)));
    printf("O_PATH epfd: %s\n", err(add(opath, p[0], EPOLLIN, 3)));
    struct epoll_event one_ev;
    printf("epoll_wait on O_PATH: %s\n", err(epoll_wait(opath, &one_ev, 1, 0)));
    struct itimerspec no_time = {{0, 0}, {0, 0}};
    printf("timerfd_settime on O_PATH: %s\n", err(timerfd_settime(opath, 0, &no_time, NULL)));
    sigset_t no_sigs;
    sigemptyset(&no_sigs);
    printf("signalfd on O_PATH: %s\n", err(signalfd(opath, &no_sigs, 0)));
    close(opath);

    /* Level-triggered. */
    show("empty", ep, 8, 0);
    write(p[1], "ab", 2);
    show("after write", ep, 8, 0);
    show("again (level)", ep, 8, 0);
    printf("poll on the epoll fd: %x\n", pollin(ep));
    read(p[0], buf, 2);
    show("drained", ep, 8, 0);
    printf("poll on the epoll fd: %x\n", pollin(ep));

    /* Edge-triggered: one report per wake-up of the file. */
    int q[2];
    pipe(q);
    add(ep, q[0], EPOLLIN | EPOLLET, 10);
    write(q[1], "abc", 3);
    show("et after write", ep, 8, 0);
    show("et again", ep, 8, 0);
    read(q[0], buf, 1);
    show("et after a partial read", ep, 8, 0);
    write(q[1], "d", 1);
    show("et after another write", ep, 8, 0);
    printf("mod to level: %s\n", err(mod(ep, q[0], EPOLLIN, 11)));
    show("level now", ep, 8, 0);
    read(q[0], buf, sizeof buf);
    epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL);

    /* One-shot. */
    add(ep, q[0], EPOLLIN | EPOLLONESHOT, 20);
    write(q[1], "x", 1);
    show("oneshot", ep, 8, 0);
    write(q[1], "y", 1);
    show("oneshot, disabled", ep, 8, 0);
    printf("add while disabled: %s\n", err(add(ep, q[0], EPOLLIN, 21)));
    mod(ep, q[0], EPOLLIN | EPOLLONESHOT, 22);
    show("oneshot re-armed", ep, 8, 0);
    read(q[0], buf, sizeof buf);
    epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL);

    /* The write side: level, then edge-triggered around a full pipe. */
    int w = epoll_create1(0);
    add(w, q[1], EPOLLOUT, 30);
    show("writable", w, 8, 0);
    fcntl(q[1], F_SETFL, O_NONBLOCK);
    while (write(q[1], buf, sizeof buf) > 0) {}
    show("full", w, 8, 0);
    mod(w, q[1], EPOLLOUT | EPOLLET, 31);
    read(q[0], buf, 4096);
    show("et: room after reading a full pipe", w, 8, 0);
    read(q[0], buf, 4096);
    show("et: more room, pipe was not full", w, 8, 0);
    close(w);

    /* HUP and ERR. */
    int h[2];
    pipe(h);
    add(ep, h[0], EPOLLIN | EPOLLRDHUP, 40);
    write(h[1], "z", 1);
    close(h[1]);
    show("writer gone, data left", ep, 8, 0);
    read(h[0], buf, 1);
    show("writer gone, empty", ep, 8, 0);
    epoll_ctl(ep, EPOLL_CTL_DEL, h[0], NULL);
    close(h[0]);
    pipe(h);
    add(ep, h[1], EPOLLOUT, 41);
    close(h[0]);
    show("reader gone", ep, 8, 0);
    epoll_ctl(ep, EPOLL_CTL_DEL, h[1], NULL);
    close(h[1]);

    /* epoll_wait's checks. */
    struct epoll_event ev[4];
    r = epoll_wait(ep, ev, 0, 0);
    printf("maxevents 0: %ld %s\n", r, err(r));
    r = syscall(SYS_epoll_pwait, ep, ev, -1, 0, NULL, 8);
    printf("maxevents -1: %ld %s\n", r, err(r));
    r = epoll_wait(p[0], ev, 4, 0);
    printf("not an epoll: %ld %s\n", r, err(r));
    r = epoll_wait(99, ev, 4, 0);
    printf("bad epfd: %ld %s\n", r, err(r));
    r = syscall(SYS_epoll_pwait, ep, NULL, 4, 0, NULL, 8);
    printf("NULL events, none ready: %ld %s\n", r, err(r));
    write(p[1], "a", 1);
    r = syscall(SYS_epoll_pwait, ep, NULL, 4, 0, NULL, 8);
    printf("NULL events, one ready: %ld %s\n", r, err(r));
    r = epoll_wait(ep, (void *)0x7ffffffffff0UL, 0x10000000, 0);
    printf("events beyond user space: %ld %s\n", r, err(r));
    show("still reported after EFAULT", ep, 8, 0);
    read(p[0], buf, 1);

    /* Order and maxevents: level-triggered items go to the back once reported. */
    int m = epoll_create1(0);
    int fds[3][2];
    for (int i = 0; i < 3; i++) {
        pipe(fds[i]);
        add(m, fds[i][0], EPOLLIN, 50 + i);
    }
    write(fds[2][1], "c", 1);
    write(fds[0][1], "a", 1);
    write(fds[1][1], "b", 1);
    show("three ready, max 2", m, 2, 0);
    show("then", m, 2, 0);
    show("then all", m, 8, 0);

    /* A registration lives as long as the open file, not the descriptor. */
    int d[2];
    pipe(d);
    int dup_fd = dup(d[0]);
    add(m, d[0], EPOLLIN, 60);
    close(d[0]);
    write(d[1], "x", 1);
    for (int i = 0; i < 3; i++)
        read(fds[i][0], buf, 1);
    show("fd closed, dup open", m, 8, 0);
    printf("del of the closed fd: %s\n", err(epoll_ctl(m, EPOLL_CTL_DEL, d[0], NULL)));
    int again = dup(dup_fd);
    printf("same number again %d; del: %s\n", again == d[0], err(epoll_ctl(m, EPOLL_CTL_DEL, again, NULL)));
    close(again);
    close(dup_fd);
    show("file closed", m, 8, 0);
    printf("add the new file under the old number: %s\n", err(add(m, fds[0][0], EPOLLIN, 61)));

    /* epoll of epoll, loops and EPOLLEXCLUSIVE. */
    int outer = epoll_create1(0);
    printf("add epoll into epoll: %s\n", err(add(outer, m, EPOLLIN, 70)));
    show("outer, inner idle", outer, 8, 0);
    write(fds[1][1], "b", 1);
    show("outer, inner ready", outer, 8, 0);
    printf("poll on outer: %x\n", pollin(outer));
    printf("loop: %s\n", err(add(m, outer, EPOLLIN, 71)));
    printf("exclusive on an epoll: %s\n", err(add(ep, m, EPOLLIN | EPOLLEXCLUSIVE, 72)));
    printf("exclusive with oneshot: %s\n", err(add(ep, fds[2][0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 73)));
    printf("exclusive with rdhup: %s\n", err(add(ep, fds[2][0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP, 73)));
    printf("exclusive: %s\n", err(add(ep, fds[2][0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLET, 73)));
    printf("mod of an exclusive item: %s\n", err(mod(ep, fds[2][0], EPOLLIN, 74)));
    printf("mod to exclusive: %s\n", err(mod(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 75)));
    printf("mod to exclusive, unknown fd: %s\n", err(mod(ep, fds[1][0], EPOLLIN | EPOLLEXCLUSIVE, 75)));
    printf("wakeup: %s\n", err(add(ep, fds[1][0], EPOLLIN | EPOLLWAKEUP, 76)));
    show("ep now", ep, 8, 0);
    int chain[8];
    chain[0] = epoll_create1(0);
    add(chain[0], fds[0][0], EPOLLIN, 80);
    for (int i = 1; i < 8; i++) {
        chain[i] = epoll_create1(0);
        printf("nest depth %d: %s\n", i, err(add(chain[i], chain[i - 1], EPOLLIN, 80 + i)));
    }

    /* eventfd, timerfd, signalfd. */
    int efd = eventfd(0, EFD_NONBLOCK);
    int t = epoll_create1(0);
    add(t, efd, EPOLLIN | EPOLLET, 90);
    uint64_t one = 1;
    write(efd, &one, 8);
    show("eventfd et", t, 8, 0);
    show("eventfd et again", t, 8, 0);
    write(efd, &one, 8);
    show("eventfd et, written again", t, 8, 0);
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    add(t, tfd, EPOLLIN, 91);
    struct itimerspec its = {{0, 0}, {0, 100000000}};
    timerfd_settime(tfd, 0, &its, NULL);
    double t0 = now();
    show("timerfd", t, 8, 5000);
    check("timerfd woke epoll_wait after 100ms..2s", now() - t0 >= 0.099 && now() - t0 < 2.0);
    read(tfd, &one, 8);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    int sfd = signalfd(-1, &usr1, 0);
    add(t, sfd, EPOLLIN, 92);
    show("signalfd, nothing pending", t, 8, 0);
    kill(getpid(), SIGUSR1);
    show("signalfd, SIGUSR1 pending", t, 8, 0);
    struct signalfd_siginfo si;
    read(sfd, &si, sizeof si);
    show("signalfd, read", t, 8, 0);

    /* A sleeping epoll_wait woken by another process. */
    ep = epoll_create1(0);
    add(ep, p[0], EPOLLIN, 100);
    show("quiet epoll", ep, 8, 0);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        usleep(100000);
        write(p[1], "w", 1);
        _exit(0);
    }
    show("woken by the child", ep, 8, -1);
    waitpid(child, NULL, 0);
    read(p[0], buf, 1);

    /* epoll_pwait's mask: SIGUSR2 is let through for the wait only; EINTR even with SA_RESTART. */
    struct sigaction sa = {.sa_handler = on_usr2, .sa_flags = SA_RESTART};
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t blocked, during;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR2);
    sigprocmask(SIG_BLOCK, &blocked, NULL);
    sigprocmask(SIG_BLOCK, NULL, &during);
    sigdelset(&during, SIGUSR2);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        usleep(100000);
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    r = epoll_pwait(ep, ev, 4, 5000, &during);
    printf("epoll_pwait interrupted: %ld %s, handled %d\n", r, err(r), handled);
    sigset_t after;
    sigprocmask(SIG_BLOCK, NULL, &after);
    printf("mask restored: SIGUSR2 blocked %d\n", sigismember(&after, SIGUSR2));
    waitpid(child, NULL, 0);
    kill(getpid(), SIGUSR2);
    r = epoll_pwait(ep, ev, 4, 0, &during);
    printf("pending and let through, timeout 0: %ld %s, handled %d\n", r, err(r), handled);
    r = epoll_pwait(ep, ev, 4, 10, &during);
    printf("then with a timeout: %ld %s, handled %d\n", r, err(r), handled);
    r = syscall(SYS_epoll_pwait, ep, ev, 4, 0, &during, 4);
    printf("sigsetsize 4: %ld %s\n", r, err(r));
    r = syscall(SYS_epoll_pwait, ep, ev, 4, 0, (void *)8, 8);
    printf("unreadable mask: %ld %s\n", r, err(r));
    r = syscall(SYS_epoll_pwait, ep, ev, 4, 0, (void *)8, 4);
    printf("unreadable mask, sigsetsize 4: %ld %s\n", r, err(r));
    r = syscall(SYS_epoll_pwait, ep, ev, 0, 0, (void *)8, 8);
    printf("unreadable mask, maxevents 0: %ld %s\n", r, err(r));
    write(p[1], "m", 1);
    r = syscall(SYS_epoll_pwait, ep, ev, 4, 0, (void *)8, 8);
    printf("unreadable mask, one ready: %ld %s\n", r, err(r));
    r = epoll_pwait(ep, ev, 4, 0, &during);
    printf("mask, one ready: %ld data %llu, handled %d\n", r, (unsigned long long)ev[0].data.u64, handled);
    read(p[0], buf, 1);

    /* epoll_pwait2's timespec. */
    struct timespec ts = {0, 50000000};
    t0 = now();
    r = epoll_pwait2(ep, ev, 4, &ts, NULL);
    printf("epoll_pwait2 50ms: %ld\n", r);
    check("epoll_pwait2 waited 50ms..2s", now() - t0 >= 0.049 && now() - t0 < 2.0);
    ts.tv_nsec = 1000000000;
    r = epoll_pwait2(ep, ev, 4, &ts, NULL);
    printf("epoll_pwait2 bad timespec: %ld %s\n", r, err(r));
    r = syscall(SYS_epoll_pwait2, ep, ev, 4, (void *)8, NULL, 8);
    printf("epoll_pwait2 bad pointer: %ld %s\n", r, err(r));
    write(p[1], "a", 1);
    r = epoll_pwait2(ep, ev, 4, NULL, NULL);
    printf("epoll_pwait2 NULL timeout, ready: %ld data %llu\n", r, (unsigned long long)ev[0].data.u64);

    /* max_user_watches: the items of all the user's epolls count; an ADD at the limit is
     * ENOSPC (after EBADF and EEXIST), MOD and DEL still work. The old value is put back. */
    char old[32] = "";
    int mw = open("/proc/sys/fs/epoll/max_user_watches", O_RDONLY);
    ssize_t got = read(mw, old, sizeof old - 1);
    close(mw);
    printf("max_user_watches read: %d, positive %d\n", got > 0, atol(old) > 0);
    int lim = epoll_create1(0), lp[2];
    pipe(lp);
    add(lim, lp[0], EPOLLIN, 110);
    mw = open("/proc/sys/fs/epoll/max_user_watches", O_WRONLY);
    printf("set 0: %s\n", err(write(mw, "0\n", 2)));
    close(mw);
    printf("limit 0, add: %s\n", err(add(lim, lp[1], EPOLLOUT, 111)));
    printf("limit 0, add again: %s\n", err(add(lim, lp[0], EPOLLIN, 110)));
    printf("limit 0, add of a bad fd: %s\n", err(add(lim, 99, EPOLLIN, 110)));
    printf("limit 0, mod: %s\n", err(mod(lim, lp[0], EPOLLIN | EPOLLOUT, 112)));
    printf("limit 0, del: %s\n", err(epoll_ctl(lim, EPOLL_CTL_DEL, lp[0], NULL)));
    printf("limit 0, add after del: %s\n", err(add(lim, lp[0], EPOLLIN, 113)));
    mw = open("/proc/sys/fs/epoll/max_user_watches", O_WRONLY);
    printf("put back: %s\n", err(write(mw, old, strlen(old))));
    close(mw);
    printf("add: %s\n", err(add(lim, lp[0], EPOLLIN, 114)));
    return 0;
}
