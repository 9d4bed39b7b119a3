/* signalfd4: reading blocked pending signals as struct signalfd_siginfo (kill, tgkill, sigqueue,
 * SIGCHLD), thread-directed before process-directed, queued real-time signals, changing the
 * mask through an existing signalfd, SFD_NONBLOCK/SFD_CLOEXEC, a blocking read woken by
 * another process, readiness for the reading thread only, and the EINVAL/EBADF cases. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

static int ready(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, 0);
    return p.revents;
}

static void show(const char *what, const struct signalfd_siginfo *s, pid_t pid)
{
    printf("%s: signo %u code %d pid %s uid %u int %d ptr %llx status %d\n", what, s->ssi_signo, s->ssi_code,
           (pid_t)s->ssi_pid == pid ? "expected" : "other", s->ssi_uid, s->ssi_int,
           (unsigned long long)(s->ssi_ptr & 0xffffffff), s->ssi_status);
}

static int sfd_thread;
static pid_t other_tid;
static volatile int step;

static void *other(void *arg)
{
    (void)arg;
    other_tid = gettid();
    step = 1;
    while (step != 2) usleep(1000);
    printf("other thread sees: poll %x\n", ready(sfd_thread));
    struct signalfd_siginfo s;
    long r = read(sfd_thread, &s, sizeof s);
    printf("other thread reads: %ld signo %u\n", r, s.ssi_signo);
    fflush(stdout);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 2) {             /* after exec: the mask, the pending signal and the signalfd stay */
        int fd = atoi(argv[2]);
        sigset_t now;
        sigprocmask(SIG_BLOCK, NULL, &now);
        struct signalfd_siginfo si;
        printf("after exec: SIGUSR1 blocked %d, poll %x", sigismember(&now, SIGUSR1), ready(fd));
        long n = read(fd, &si, sizeof si);
        printf(", read %ld signo %u\n", n, si.ssi_signo);
        return 0;
    }
    sigset_t mask, both;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    pid_t me = getpid();
    struct signalfd_siginfo s[3];
    long r;

    int sfd = signalfd(-1, &mask, SFD_NONBLOCK);
    printf("F_GETFL %o FD_CLOEXEC %d\n", fcntl(sfd, F_GETFL) & ~0400000, fcntl(sfd, F_GETFD) & FD_CLOEXEC);
    char link[64] = "", path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", sfd);
    readlink(path, link, sizeof link - 1);
    printf("readlink: %s\n", link);
    r = read(sfd, s, sizeof s[0]);
    printf("nothing pending: %ld %s, poll %x\n", r, err(r), ready(sfd));

    raise(SIGUSR1);
    printf("after raise: poll %x\n", ready(sfd));
    r = read(sfd, s, sizeof s[0]);
    printf("read %ld\n", r);
    show("raise", &s[0], me);
    kill(me, SIGUSR2);
    r = read(sfd, s, sizeof s);
    printf("read %ld\n", r);
    show("kill", &s[0], me);
    union sigval v = {.sival_int = 1234};
    sigqueue(me, SIGUSR1, v);
    r = read(sfd, s, 100);
    printf("100-byte read: %ld %s\n", r, err(r));
    r = read(sfd, s, sizeof s);
    printf("read %ld\n", r);
    show("sigqueue", &s[0], me);

    /* Thread-directed first, then the process's, whatever the numbers. */
    kill(me, SIGUSR1);
    syscall(SYS_tgkill, me, gettid(), SIGUSR2);
    v.sival_int = 1;
    sigqueue(me, SIGRTMIN, v);
    v.sival_int = 2;
    sigqueue(me, SIGRTMIN, v);
    r = read(sfd, s, sizeof s);
    printf("three at once: %ld: %u %u %u (int %d)\n", r, s[0].ssi_signo, s[1].ssi_signo, s[2].ssi_signo,
           s[2].ssi_int);
    r = read(sfd, s, sizeof s);
    printf("then: %ld: %u int %d\n", r, s[0].ssi_signo, s[0].ssi_int);

    /* A new mask through the same descriptor. */
    sigemptyset(&both);
    sigaddset(&both, SIGUSR2);
    sigaddset(&both, SIGKILL);
    sigaddset(&both, SIGSTOP);
    r = signalfd(sfd, &both, 0);
    printf("new mask: returns the same fd %d\n", r == sfd);
    kill(me, SIGUSR1);
    r = read(sfd, s, sizeof s);
    printf("SIGUSR1 no longer read: %ld %s, poll %x\n", r, err(r), ready(sfd));
    sigset_t pend;
    sigpending(&pend);
    printf("SIGUSR1 still pending: %d\n", sigismember(&pend, SIGUSR1));
    signalfd(sfd, &mask, 0);
    r = read(sfd, s, sizeof s);
    printf("mask back: %ld signo %u\n", r, s[0].ssi_signo);

    /* Errors. */
    r = signalfd(-1, &mask, 1);
    printf("bad flags: %ld %s\n", r, err(r));
    r = syscall(SYS_signalfd4, -1, &mask, 4, 0);
    printf("sizemask 4: %ld %s\n", r, err(r));
    r = syscall(SYS_signalfd4, -1, NULL, 8, 0);
    printf("NULL mask: %ld %s\n", r, err(r));
    r = signalfd(0, &mask, 0);
    printf("fd 0 is not a signalfd: %ld %s\n", r, err(r));
    r = signalfd(77, &mask, 0);
    printf("fd 77: %ld %s\n", r, err(r));
    int ce = signalfd(-1, &mask, SFD_CLOEXEC);
    printf("SFD_CLOEXEC: FD_CLOEXEC %d F_GETFL %o\n", fcntl(ce, F_GETFD) & FD_CLOEXEC, fcntl(ce, F_GETFL) & ~0400000);

    /* A blocking read woken by another process; then SIGCHLD of its exit. */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        usleep(100000);
        kill(getppid(), SIGUSR2);
        _exit(3);
    }
    r = read(ce, s, sizeof s[0]);
    printf("blocking read: %ld\n", r);
    show("from the child", &s[0], child);
    r = read(ce, s, sizeof s[0]);
    printf("blocking read: %ld\n", r);
    show("SIGCHLD", &s[0], child);
    waitpid(child, NULL, 0);

    /* Readiness is the reading thread's: a signal for another thread is not ours. */
    sfd_thread = sfd;
    pthread_t th;
    pthread_create(&th, NULL, other, NULL);
    while (!step) usleep(1000);
    syscall(SYS_tgkill, me, other_tid, SIGUSR1);
    printf("main thread sees: poll %x, read %s\n", ready(sfd), err(read(sfd, s, sizeof s[0])));
    fflush(stdout);
    step = 2;
    pthread_join(th, NULL);

    /* exec keeps the blocked mask, the pending signals and the signalfd. */
    kill(me, SIGUSR1);
    char fdarg[16];
    snprintf(fdarg, sizeof fdarg, "%d", sfd);
    fflush(stdout);
    execl("/proc/self/exe", argv[0], "after-exec", fdarg, (char *)NULL);
    printf("exec failed\n");
    return 1;
}
