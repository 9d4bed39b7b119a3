/* Signal-driven I/O: fcntl F_SETOWN/F_GETOWN (pid, -pgrp), F_SETOWN_EX/F_GETOWN_EX,
 * F_SETSIG/F_GETSIG, O_ASYNC through F_SETFL and FIOASYNC, the socket ioctls
 * FIOSETOWN/FIOGETOWN/SIOCGPGRP; SIGIO (or the F_SETSIG signal with si_code POLL_*, si_band,
 * si_fd) when a pipe, a socket or an inotify fd gets data or room, SIGURG for MSG_OOB data on
 * an AF_UNIX stream, nothing for an eventfd (it has no ->fasync), and the owner's uid check
 * (sigio_perm); `fasync pty`: a pty master's O_ASYNC. Every signal is blocked and collected with sigtimedwait, so what is printed
 * is what was queued, in dequeue order. Run as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#define RT (SIGRTMIN + 1)

static const char *err(long r)
{
    if (r >= 0)
        return "ok";
    switch (errno) {
    case EINVAL: return "EINVAL";
    case ESRCH: return "ESRCH";
    case EFAULT: return "EFAULT";
    case ENOTTY: return "ENOTTY";
    case EBADF: return "EBADF";
    case EPERM: return "EPERM";
    default: return strerror(errno);
    }
}

static const char *signame(int sig)
{
    static char buf[32];
    if (sig == SIGIO) return "SIGIO";
    if (sig == SIGURG) return "SIGURG";
    if (sig == SIGUSR1) return "SIGUSR1";
    if (sig >= SIGRTMIN) {
        snprintf(buf, sizeof buf, "RTMIN+%d", sig - SIGRTMIN);
        return buf;
    }
    snprintf(buf, sizeof buf, "sig%d", sig);
    return buf;
}

/* Print every pending signal of interest, in the order sigtimedwait takes them. */
static void drain(const char *what)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGIO);
    sigaddset(&set, SIGURG);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, RT);
    struct timespec zero = {0, 0};
    printf("%s:", what);
    int n = 0;
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int sig = sigtimedwait(&set, &si, &zero);
        if (sig < 0)
            break;
        if (sig == SIGIO && si.si_code == SI_KERNEL)
            printf(" %s(kernel)", signame(sig));
        else if (sig == SIGURG)
            printf(" %s(code %d)", signame(sig), si.si_code);
        else
            printf(" %s(code %d band %#lx fd %d)", signame(sig), si.si_code, (long)si.si_band, si.si_fd);
        n++;
    }
    printf(n ? "\n" : " none\n");
}

static long raw_fcntl(int fd, int cmd, long arg)
{
    return syscall(SYS_fcntl, fd, cmd, arg);
}

static void show_owner(const char *what, int fd)
{
    struct f_owner_ex ex = {-1, -1};
    long r = raw_fcntl(fd, F_GETOWN_EX, (long)&ex);
    long own = raw_fcntl(fd, F_GETOWN, 0);
    const char *who = ex.pid == 0 ? "0" : ex.pid == getpid() ? "self" : ex.pid == getpgrp() ? "pgrp" : "other";
    const char *g = own == 0 ? "0" : own == getpid() ? "self" : own == -getpgrp() ? "-pgrp" : "other";
    printf("%s: getown %s, getown_ex %s type %d pid %s, getsig %ld\n", what, g, err(r), ex.type, who,
           raw_fcntl(fd, F_GETSIG, 0));
}

static void owner_commands(void)
{
    int p[2];
    pipe(p);
    show_owner("fresh pipe", p[0]);
    printf("setown self: %s\n", err(raw_fcntl(p[0], F_SETOWN, getpid())));
    show_owner("after setown self", p[0]);
    printf("setown -pgrp: %s\n", err(raw_fcntl(p[0], F_SETOWN, -getpgrp())));
    show_owner("after setown -pgrp", p[0]);
    printf("setown 4000000: %s\n", err(raw_fcntl(p[0], F_SETOWN, 4000000)));
    printf("setown INT_MIN: %s\n", err(raw_fcntl(p[0], F_SETOWN, INT_MIN)));
    struct f_owner_ex ex = {F_OWNER_TID, (pid_t)syscall(SYS_gettid)};
    printf("setown_ex tid: %s\n", err(raw_fcntl(p[0], F_SETOWN_EX, (long)&ex)));
    show_owner("after setown_ex tid", p[0]);
    ex.type = 3;
    printf("setown_ex type 3: %s\n", err(raw_fcntl(p[0], F_SETOWN_EX, (long)&ex)));
    ex.type = F_OWNER_PGRP;
    ex.pid = 4000000;
    printf("setown_ex pgrp 4000000: %s\n", err(raw_fcntl(p[0], F_SETOWN_EX, (long)&ex)));
    printf("setown_ex NULL: %s\n", err(raw_fcntl(p[0], F_SETOWN_EX, 0)));
    printf("getown_ex NULL: %s\n", err(raw_fcntl(p[0], F_GETOWN_EX, 0)));
    printf("setsig 65: %s\n", err(raw_fcntl(p[0], F_SETSIG, 65)));
    printf("setsig -1: %s\n", err(raw_fcntl(p[0], F_SETSIG, -1)));
    printf("setsig 64: %s\n", err(raw_fcntl(p[0], F_SETSIG, 64)));
    show_owner("after setsig 64", p[0]);
    printf("setown 0: %s\n", err(raw_fcntl(p[0], F_SETOWN, 0)));
    show_owner("after setown 0", p[0]);
    printf("glibc fcntl F_GETOWN after -pgrp: %s\n",
           (fcntl(p[0], F_SETOWN, -getpgrp()), fcntl(p[0], F_GETOWN) == -getpgrp()) ? "-pgrp" : "other");
    pid_t child = fork();
    if (child == 0)
        _exit(raw_fcntl(p[0], F_SETOWN, getpid()) ? 1 : 0);
    int status;
    waitpid(child, &status, 0);
    struct f_owner_ex gone = {-1, -1};
    long own = raw_fcntl(p[0], F_GETOWN, 0);
    raw_fcntl(p[0], F_GETOWN_EX, (long)&gone);
    printf("owner exited and reaped: getown %s, getown_ex type %d pid %s\n", own == 0 ? "0" : own == child ? "child" : "other",
           gone.type, gone.pid == 0 ? "0" : gone.pid == child ? "child" : "other");
    int opath = open("/", O_PATH);
    printf("setown on O_PATH: %s\n", err(raw_fcntl(opath, F_SETOWN, getpid())));
    close(opath);
    close(p[0]);
    close(p[1]);
}

static void pipe_signals(void)
{
    int p[2];
    pipe2(p, O_NONBLOCK);
    fcntl(p[0], F_SETOWN, getpid());
    printf("F_SETFL O_ASYNC: %s\n", err(fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK)));
    printf("F_GETFL has O_ASYNC: %d\n", !!(fcntl(p[0], F_GETFL) & O_ASYNC));
    drain("pipe after O_ASYNC on");
    write(p[1], "a", 1);
    drain("pipe write, plain SIGIO");
    write(p[1], "b", 1);
    write(p[1], "c", 1);
    drain("two more writes, SIGIO once pending");
    char buf[65536];
    read(p[0], buf, sizeof buf);
    drain("read on the async read end");
    fcntl(p[0], F_SETSIG, RT);
    int rfd = dup(p[0]);            /* si_fd stays the descriptor O_ASYNC was set through */
    write(p[1], "d", 1);
    write(p[1], "e", 1);
    drain("F_SETSIG RTMIN+1, two writes");
    read(rfd, buf, sizeof buf);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    write(p[1], "f", 1);
    drain("O_ASYNC off, write");
    fcntl(p[0], F_SETSIG, 0);
    close(rfd);
    close(p[0]);
    close(p[1]);

    /* the write end: room after the pipe was full */
    pipe2(p, O_NONBLOCK);
    fcntl(p[1], F_SETOWN, getpid());
    fcntl(p[1], F_SETSIG, RT);
    int on = 1;
    printf("FIOASYNC on write end: %s\n", err(ioctl(p[1], FIOASYNC, &on)));
    printf("F_GETFL has O_ASYNC: %d\n", !!(fcntl(p[1], F_GETFL) & O_ASYNC));
    memset(buf, 'x', 4096);
    int pages = 0;
    while (write(p[1], buf, 4096) == 4096)
        pages++;
    printf("filled with %d pages\n", pages);
    drain("writes until full");
    read(p[0], buf, 4096);
    drain("one page read from the full pipe");
    close(p[0]);
    drain("read end closed");
    close(p[1]);

    /* a process-group owner */
    pipe2(p, O_NONBLOCK);
    fcntl(p[0], F_SETOWN, -getpgrp());
    fcntl(p[0], F_SETFL, O_ASYNC);
    write(p[1], "g", 1);
    drain("pgrp owner, write");
    close(p[1]);
    drain("write end closed");
    close(p[0]);

    /* no owner: nothing */
    pipe2(p, O_NONBLOCK);
    fcntl(p[0], F_SETFL, O_ASYNC);
    write(p[1], "h", 1);
    drain("no owner, write");
    close(p[0]);
    close(p[1]);
}

static void eventfd_no_fasync(void)
{
    int e = eventfd(0, 0);
    fcntl(e, F_SETOWN, getpid());
    printf("eventfd F_SETFL O_ASYNC: %s, F_GETFL has O_ASYNC: %d\n", err(fcntl(e, F_SETFL, O_ASYNC)),
           !!(fcntl(e, F_GETFL) & O_ASYNC));
    int on = 1;
    printf("eventfd FIOASYNC: %s\n", err(ioctl(e, FIOASYNC, &on)));
    uint64_t one = 1;
    write(e, &one, 8);
    drain("eventfd write");
    close(e);
}

static void socket_signals(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int me = getpid(), got = -1;
    printf("FIOSETOWN: %s\n", err(ioctl(sv[0], FIOSETOWN, &me)));
    printf("FIOGETOWN: %s %s\n", err(ioctl(sv[0], FIOGETOWN, &got)), got == me ? "self" : "other");
    printf("SIOCGPGRP: %s %s\n", err(ioctl(sv[0], SIOCGPGRP, &got)), got == me ? "self" : "other");
    int p[2];
    pipe(p);
    printf("FIOSETOWN on a pipe: %s\n", err(ioctl(p[0], FIOSETOWN, &me)));
    close(p[0]);
    close(p[1]);
    fcntl(sv[0], F_SETSIG, RT);
    fcntl(sv[0], F_SETFL, O_ASYNC);
    send(sv[1], "a", 1, 0);
    drain("unix stream send");
    char c;
    recv(sv[0], &c, 1, 0);
    drain("recv");
    send(sv[1], "u", 1, MSG_OOB);
    drain("MSG_OOB with O_ASYNC and F_SETSIG");
    recv(sv[0], &c, 1, MSG_OOB);
    fcntl(sv[0], F_SETFL, 0);
    send(sv[1], "v", 1, MSG_OOB);
    drain("MSG_OOB, owner set, O_ASYNC off");
    recv(sv[0], &c, 1, MSG_OOB);
    fcntl(sv[0], F_SETFL, O_ASYNC);
    close(sv[1]);
    drain("peer closed");
    close(sv[0]);

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    send(sv[1], "w", 1, MSG_OOB);
    drain("MSG_OOB, no owner");
    close(sv[0]);
    close(sv[1]);

    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    fcntl(sv[0], F_SETOWN, getpid());
    fcntl(sv[0], F_SETFL, O_ASYNC);
    send(sv[1], "d", 1, 0);
    drain("unix dgram send, plain SIGIO");
    close(sv[0]);
    close(sv[1]);
}

static void tcp_signals(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(l, (struct sockaddr *)&a, sizeof a);
    getsockname(l, (struct sockaddr *)&a, &len);
    listen(l, 4);
    fcntl(l, F_SETOWN, getpid());
    fcntl(l, F_SETSIG, RT);
    fcntl(l, F_SETFL, O_ASYNC);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    printf("tcp connect: %s\n", err(connect(c, (struct sockaddr *)&a, sizeof a)));
    drain("tcp listener, a connection queued");
    int s = accept(l, NULL, NULL);
    fcntl(s, F_SETOWN, getpid());
    send(c, "u", 1, MSG_OOB);
    drain("tcp MSG_OOB, owner set, no O_ASYNC");
    fcntl(s, F_SETSIG, RT);
    fcntl(s, F_SETFL, O_ASYNC);
    send(c, "ab", 2, 0);
    drain("tcp send with O_ASYNC");
    send(c, "v", 1, MSG_OOB);
    drain("tcp MSG_OOB with O_ASYNC and F_SETSIG");
    close(s);                       /* (c's FIN would wake s: how often is TCP's business) */
    close(l);
    close(c);
    drain("tcp closed");

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    len = sizeof ua;
    bind(u, (struct sockaddr *)&ua, sizeof ua);
    getsockname(u, (struct sockaddr *)&ua, &len);
    fcntl(u, F_SETOWN, getpid());
    fcntl(u, F_SETSIG, RT);
    fcntl(u, F_SETFL, O_ASYNC);
    int v = socket(AF_INET, SOCK_DGRAM, 0);
    sendto(v, "d", 1, 0, (struct sockaddr *)&ua, sizeof ua);
    drain("udp datagram");
    close(v);
    close(u);
}

static void pty_signals(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    int sl = open(ptsname(m), O_RDWR | O_NOCTTY);
    fcntl(m, F_SETSIG, RT);
    printf("pty master O_ASYNC, no F_SETOWN: %s\n", err(fcntl(m, F_SETFL, O_ASYNC)));
    show_owner("pty master after O_ASYNC", m);
    drain("pty master O_ASYNC on");
    write(sl, "x", 1);
    drain("pty slave wrote");
    char c;
    read(m, &c, 1);
    drain("pty master read");
    close(sl);
    close(m);
}

static void inotify_signals(void)
{
    mkdir("/tmp/fasync_dir", 0755);
    int in = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(in, "/tmp/fasync_dir", IN_CREATE);
    fcntl(in, F_SETOWN, getpid());
    fcntl(in, F_SETSIG, RT);
    fcntl(in, F_SETFL, O_ASYNC | O_NONBLOCK);
    int fd = open("/tmp/fasync_dir/f", O_CREAT | O_WRONLY, 0644);
    close(fd);
    drain("inotify IN_CREATE");
    unlink("/tmp/fasync_dir/f");
    close(in);
    rmdir("/tmp/fasync_dir");
}

/* F_OWNER_TID: the signal is the owner thread's own, not the process's. */
static int tid_pipe[2], step_pipe[2], done_pipe[2];

static void *owner_thread(void *arg)
{
    (void)arg;
    struct f_owner_ex ex = {F_OWNER_TID, (pid_t)syscall(SYS_gettid)};
    raw_fcntl(tid_pipe[0], F_SETOWN_EX, (long)&ex);
    char c = 0;
    write(done_pipe[1], &c, 1);
    read(step_pipe[0], &c, 1);      /* main has written to tid_pipe and looked */
    drain("the owner thread");
    write(done_pipe[1], &c, 1);
    return NULL;
}

static void thread_owner(void)
{
    pipe2(tid_pipe, O_NONBLOCK);
    pipe(step_pipe);
    pipe(done_pipe);
    fcntl(tid_pipe[0], F_SETSIG, RT);
    fcntl(tid_pipe[0], F_SETFL, O_ASYNC | O_NONBLOCK);
    pthread_t t;
    pthread_create(&t, NULL, owner_thread, NULL);
    char c;
    read(done_pipe[0], &c, 1);
    write(tid_pipe[1], "t", 1);
    drain("F_OWNER_TID, the main thread");
    write(step_pipe[1], &c, 1);
    read(done_pipe[0], &c, 1);
    pthread_join(t, NULL);
    close(tid_pipe[0]);
    close(tid_pipe[1]);
}

/* sigio_perm: an owner set by uid 1000 may not signal a root process; one set by root may. */
static void permission(void)
{
    int p[2];
    pipe2(p, O_NONBLOCK);
    fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        if (setresuid(1000, 1000, 1000))
            _exit(1);
        _exit(raw_fcntl(p[0], F_SETOWN, parent) == 0 && write(p[1], "x", 1) == 1 ? 0 : 2);
    }
    int status;
    waitpid(child, &status, 0);
    printf("uid 1000 set the owner and wrote: status %d\n", WEXITSTATUS(status));
    drain("owner set by uid 1000");
    child = fork();
    if (child == 0) {
        _exit(write(p[1], "y", 1) == 1 ? 0 : 2);
    }
    waitpid(child, &status, 0);
    drain("same owner, root child wrote");
    fcntl(p[0], F_SETOWN, getpid());
    write(p[1], "z", 1);
    drain("owner set by root");
    close(p[0]);
    close(p[1]);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* A child in a process group of its own: F_SETOWN(-pgrp) names a real group on both
     * kernels (a program started by an initramfs shell may be in group 0). */
    pid_t runner = fork();
    if (runner > 0) {
        int status;
        waitpid(runner, &status, 0);
        printf("runner exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return 0;
    }
    printf("setpgid: %s\n", err(setpgid(0, 0)));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGIO);
    sigaddset(&set, SIGURG);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, RT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (argc > 1 && !strcmp(argv[1], "pty")) {     /* (Linux: with devpts mounted) */
        pty_signals();
        printf("done\n");
        return 0;
    }
    owner_commands();
    pipe_signals();
    eventfd_no_fasync();
    socket_signals();
    tcp_signals();
    inotify_signals();
    thread_owner();
    permission();
    printf("done\n");
    return 0;
}
