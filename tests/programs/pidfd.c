/* pidfd_open, pidfd_send_signal, pidfd_getfd and waitid(P_PIDFD) as Linux 6.1 answers them:
 * argument errors, the file's flags and name, readiness (poll, epoll) once the process has
 * exited, signals with and without a siginfo, descriptors taken from another process, and
 * what a zombie and a reaped process answer. Prints results and errno names, never pids. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define PIDFD_NONBLOCK O_NONBLOCK

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags)
{
    return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}
static int pidfd_getfd(int fd, int target, unsigned flags) { return syscall(SYS_pidfd_getfd, fd, target, flags); }

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
}

static void yes(const char *what, long r)   /* a descriptor or pid: print only ok or the errno */
{
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: ok\n", what);
}

static int ready(int fd, int timeout)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
    int n = poll(&p, 1, timeout);
    return n <= 0 ? n : p.revents;
}

static volatile sig_atomic_t got_sig, got_code;

static void handler(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    got_sig = sig;
    got_code = si->si_code;
}

/* A child that waits for one byte on `go`, then exits with `code`. */
static pid_t waiting_child(int *go_w, int code)
{
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        char c;
        read(p[0], &c, 1);
        _exit(code);
    }
    close(p[0]);
    *go_w = p[1];
    return pid;
}

static void *thread_main(void *arg)
{
    *(pid_t *)arg = gettid();
    pause();
    return NULL;
}

static void open_errors(void)
{
    show("open flags 1", pidfd_open(getpid(), 1));
    show("open pid 0", pidfd_open(0, 0));
    show("open pid -1", pidfd_open(-1, 0));
    show("open no such pid", pidfd_open(4000000, 0));
    pthread_t th;
    volatile pid_t tid = 0;
    pthread_create(&th, NULL, thread_main, (void *)&tid);
    while (!tid)
        sched_yield();
    show("open a thread's tid", pidfd_open(tid, 0));
    int self = pidfd_open(getpid(), 0);
    yes("open self", self);
    show("self F_GETFD", fcntl(self, F_GETFD));
    printf("self F_GETFL: %o\n", fcntl(self, F_GETFL) & ~0400000);
    char link[64], name[64] = "";
    snprintf(link, sizeof link, "/proc/self/fd/%d", self);
    readlink(link, name, sizeof name - 1);
    printf("link: %s\n", name);
    struct stat st;
    fstat(self, &st);
    printf("mode %o\n", st.st_mode);
    char buf[8];
    show("read", read(self, buf, sizeof buf));
    show("write", write(self, "x", 1));
    show("poll self", ready(self, 0));
    int nb = pidfd_open(getpid(), PIDFD_NONBLOCK);
    printf("nonblock F_GETFL: %o\n", fcntl(nb, F_GETFL) & ~0400000);
    close(nb);
    close(self);
}

static void signals(void)
{
    struct sigaction sa = { .sa_sigaction = handler, .sa_flags = SA_SIGINFO };
    sigaction(SIGUSR1, &sa, NULL);
    int self = pidfd_open(getpid(), 0);
    show("send flags", pidfd_send_signal(self, SIGUSR1, NULL, 1));
    int p[2];
    pipe(p);
    show("send to a pipe", pidfd_send_signal(p[0], SIGUSR1, NULL, 0));
    show("send to fd 999", pidfd_send_signal(999, SIGUSR1, NULL, 0));
    show("send sig 0", pidfd_send_signal(self, 0, NULL, 0));
    show("send sig 100", pidfd_send_signal(self, 100, NULL, 0));
    show("send SIGUSR1", pidfd_send_signal(self, SIGUSR1, NULL, 0));
    printf("got %d code %d\n", got_sig, got_code);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR2;
    info.si_code = SI_QUEUE;
    show("send info signo mismatch", pidfd_send_signal(self, SIGUSR1, &info, 0));
    info.si_signo = SIGUSR1;
    info.si_code = SI_USER;
    got_sig = 0;
    show("send SI_USER info to self", pidfd_send_signal(self, SIGUSR1, &info, 0));
    printf("got %d code %d\n", got_sig, got_code);
    show("send bad info pointer", pidfd_send_signal(self, SIGUSR1, (siginfo_t *)8, 0));

    int go;
    pid_t child = waiting_child(&go, 0);
    int cfd = pidfd_open(child, 0);
    show("send SI_USER info to child", pidfd_send_signal(cfd, SIGUSR1, &info, 0));
    info.si_code = SI_TKILL;
    show("send SI_TKILL info to child", pidfd_send_signal(cfd, SIGUSR1, &info, 0));
    info.si_code = SI_QUEUE;
    info.si_signo = SIGTERM;
    show("send SI_QUEUE SIGTERM to child", pidfd_send_signal(cfd, SIGTERM, &info, 0));
    siginfo_t w;
    memset(&w, 0, sizeof w);
    show("waitid P_PIDFD", waitid(P_PIDFD, cfd, &w, WEXITED));
    printf("child %s, code %d status %d\n", w.si_pid == child ? "matches" : "differs", w.si_code, w.si_status);
    show("poll reaped", ready(cfd, 0));
    show("send to reaped", pidfd_send_signal(cfd, SIGUSR1, NULL, 0));
    show("send sig 100 to reaped", pidfd_send_signal(cfd, 100, NULL, 0));
    show("getfd of reaped", pidfd_getfd(cfd, 0, 0));
    show("waitid P_PIDFD reaped", waitid(P_PIDFD, cfd, &w, WEXITED));
    close(cfd);
    close(go);
    close(self);
    close(p[0]);
    close(p[1]);
}

static void exits(void)
{
    int go;
    pid_t child = waiting_child(&go, 7);
    int cfd = pidfd_open(child, 0);
    int nb = pidfd_open(child, PIDFD_NONBLOCK);
    show("poll running", ready(cfd, 0));
    siginfo_t w;
    memset(&w, 0, sizeof w);
    show("waitid nonblock pidfd", waitid(P_PIDFD, nb, &w, WEXITED));
    show("waitid nonblock pidfd WNOHANG", waitid(P_PIDFD, nb, &w, WEXITED | WNOHANG));
    printf("si_pid %d\n", w.si_pid);
    show("waitid WNOHANG", waitid(P_PIDFD, cfd, &w, WEXITED | WNOHANG));
    int p[2];
    pipe(p);
    show("waitid P_PIDFD on a pipe", waitid(P_PIDFD, p[0], &w, WEXITED));
    show("waitid P_PIDFD -1", waitid(P_PIDFD, -1, &w, WEXITED));
    show("waitid P_PIDFD 999", waitid(P_PIDFD, 999, &w, WEXITED));
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 42 };
    show("epoll_ctl add pidfd", epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev));
    show("epoll_wait running", epoll_wait(ep, &ev, 1, 0));
    write(go, "x", 1);
    int n = epoll_wait(ep, &ev, 1, 5000);
    printf("epoll_wait after exit: %d events %x data %u\n", n, ev.events, ev.data.u32);
    show("poll zombie", ready(cfd, 1000));
    yes("open zombie", pidfd_open(child, 0));
    show("send to zombie", pidfd_send_signal(cfd, SIGUSR1, NULL, 0));
    show("getfd of zombie", pidfd_getfd(cfd, 0, 0));
    memset(&w, 0, sizeof w);
    show("waitid nonblock zombie", waitid(P_PIDFD, nb, &w, WEXITED));
    printf("code %d status %d\n", w.si_code, w.si_status);
    close(ep);
    close(cfd);
    close(nb);
    close(go);
}

static void proc_dirs(void)
{
    struct sigaction sa = { .sa_sigaction = handler, .sa_flags = SA_SIGINFO };
    sigaction(SIGUSR2, &sa, NULL);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", getpid());
    int dir = open(path, O_DIRECTORY | O_RDONLY);
    got_sig = 0;
    show("send through /proc/<pid>", pidfd_send_signal(dir, SIGUSR2, NULL, 0));
    printf("got %d\n", got_sig);
    snprintf(path, sizeof path, "/proc/%d/task/%d", getpid(), getpid());
    int task = open(path, O_DIRECTORY | O_RDONLY);
    show("send through /proc/<pid>/task/<tid>", pidfd_send_signal(task, SIGUSR2, NULL, 0));
    int opath = open("/proc/self", O_PATH);
    show("send through O_PATH /proc/self", pidfd_send_signal(opath, SIGUSR2, NULL, 0));
    show("send through /proc", pidfd_send_signal(open("/proc", O_DIRECTORY | O_RDONLY), SIGUSR2, NULL, 0));
    show("getfd through /proc/<pid>", pidfd_getfd(dir, 0, 0));
    siginfo_t w;
    show("waitid through /proc/<pid>", waitid(P_PIDFD, dir, &w, WEXITED | WNOHANG));
    int go;
    pid_t child = waiting_child(&go, 0);
    snprintf(path, sizeof path, "/proc/%d", child);
    int cdir = open(path, O_DIRECTORY | O_RDONLY);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGUSR2;
    info.si_code = SI_USER;
    show("send SI_USER info through the child's dir", pidfd_send_signal(cdir, SIGUSR2, &info, 0));
    show("send SIGTERM through the child's dir", pidfd_send_signal(cdir, SIGTERM, NULL, 0));
    waitpid(child, NULL, 0);
    show("send through a reaped child's dir", pidfd_send_signal(cdir, SIGUSR2, NULL, 0));
    close(go);
    close(cdir);
    close(dir);
    close(task);
    close(opath);
}

static void getfds(void)
{
    int fd = open("/tmp/pidfd_file", O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(fd, "0123456789", 10);
    lseek(fd, 3, SEEK_SET);
    int go;
    pid_t child = waiting_child(&go, 0);
    close(fd);
    int cfd = pidfd_open(child, 0);
    show("getfd flags", pidfd_getfd(cfd, fd, 1));
    show("getfd bad target", pidfd_getfd(cfd, 500, 0));
    show("getfd target -1", pidfd_getfd(cfd, -1, 0));
    show("getfd of a pipe", pidfd_getfd(go, fd, 0));
    int got = pidfd_getfd(cfd, fd, 0);
    yes("getfd", got);
    show("got F_GETFD", fcntl(got, F_GETFD));
    show("got offset shared", lseek(got, 0, SEEK_CUR));
    char buf[4] = "";
    read(got, buf, 3);
    printf("read %.3s\n", buf);
    write(go, "x", 1);
    waitpid(child, NULL, 0);
    close(got);
    close(cfd);
    close(go);
    unlink("/tmp/pidfd_file");

    pid_t user = fork();
    if (user == 0) {
        int pfd = pidfd_open(getppid(), 0);
        setuid(65534);
        show("user getfd of root", pidfd_getfd(pfd, 1, 0));
        show("user send to root", pidfd_send_signal(pfd, SIGUSR1, NULL, 0));
        show("user send 0 to root", pidfd_send_signal(pfd, 0, NULL, 0));
        int me = pidfd_open(getpid(), 0);
        yes("user getfd of self", pidfd_getfd(me, 1, 0));
        _exit(0);
    }
    waitpid(user, NULL, 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    open_errors();
    signals();
    exits();
    proc_dirs();
    getfds();
    return 0;
}
