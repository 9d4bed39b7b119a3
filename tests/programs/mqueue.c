/* POSIX message queues: mq_open's creation and lookup rules and attribute checks, priority
 * order, EMSGSIZE, EAGAIN with O_NONBLOCK, ETIMEDOUT, a receiver woken by another process,
 * mq_notify (SIGEV_SIGNAL with SI_MESGQ, SIGEV_NONE, EBUSY, removal), mq_getsetattr, poll,
 * the status line read from the descriptor and from a mounted mqueue filesystem, mq_unlink. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

#define NAME "/moss-mq-test"

static void show_attr(mqd_t q, const char *what)
{
    struct mq_attr a;
    mq_getattr(q, &a);
    printf("%s: flags %#lx maxmsg %ld msgsize %ld curmsgs %ld\n", what, a.mq_flags, a.mq_maxmsg, a.mq_msgsize,
           a.mq_curmsgs);
}

static void status_line(int fd, const char *what)
{
    char buf[200];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n < 0) {
        n = read(fd, buf, sizeof buf - 1);
    }
    buf[n < 0 ? 0 : n] = 0;
    strtok(buf, "\n");
    char *pid = strstr(buf, "NOTIFY_PID:");
    if (pid && atoi(pid + 11) == getpid())
        strcpy(pid + 11, "self");           /* the pid differs from one system to the other */
    printf("%s: [%s]\n", what, buf);
}

static volatile int got_signo, got_code, got_pid_ok, got_value;
static pid_t expected_pid;

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    got_signo = sig;
    got_code = si->si_code;
    got_pid_ok = si->si_pid == expected_pid;
    got_value = si->si_value.sival_int;
}

static void receive(mqd_t q, size_t size)
{
    char buf[200];
    unsigned prio = 99;
    ssize_t n = mq_receive(q, buf, size, &prio);
    if (n < 0)
        printf("  receive: %s\n", strerrorname_np(errno));
    else
        printf("  receive: %zd prio %u \"%.*s\"\n", n, prio, (int)n, buf);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    mq_unlink(NAME);
    printf("open missing: %s\n", err(mq_open(NAME, O_RDWR)));
    printf("no slash: %s\n", err(mq_open("abc", O_RDWR | O_CREAT, 0600, NULL)));
    printf("slash only: %s\n", err(mq_open("/", O_RDWR | O_CREAT, 0600, NULL)));
    printf("inner slash: %s\n", err(mq_open("/a/b", O_RDWR | O_CREAT, 0600, NULL)));
    struct mq_attr attr = {0, 0, 64, 0, {0}};
    printf("maxmsg 0: %s\n", err(mq_open(NAME, O_RDWR | O_CREAT, 0600, &attr)));
    attr.mq_maxmsg = 4;
    attr.mq_msgsize = -1;
    printf("msgsize -1: %s\n", err(mq_open(NAME, O_RDWR | O_CREAT, 0600, &attr)));
    attr.mq_msgsize = 64;
    mqd_t q = mq_open(NAME, O_RDWR | O_CREAT | O_EXCL, 0640, &attr);
    printf("create: %s cloexec %d\n", err(q), fcntl(q, F_GETFD) == FD_CLOEXEC);
    printf("again EXCL: %s\n", err(mq_open(NAME, O_RDWR | O_CREAT | O_EXCL, 0600, &attr)));
    printf("O_WRONLY|O_RDWR: %s\n", err(mq_open(NAME, O_WRONLY | O_RDWR)));
    mqd_t w = mq_open(NAME, O_WRONLY);
    printf("open write-only: %s\n", err(w));
    struct stat st;
    fstat(q, &st);
    printf("fstat: mode %o size %ld\n", st.st_mode, (long)st.st_size);
    show_attr(q, "attr");

    printf("send prio 32768: %s\n", err(mq_send(q, "x", 1, 32768)));
    char big[65] = {0};
    printf("send 65 bytes: %s\n", err(mq_send(q, big, 65, 0)));
    printf("send on stdin: %s\n", err(mq_send(0, "x", 1, 0)));
    char small[8];
    printf("receive on write-only: %s\n", err(mq_receive(w, small, 64, NULL)));
    mq_send(w, "one-a", 5, 1);
    mq_send(w, "five", 4, 5);
    mq_send(w, "one-b", 5, 1);
    mq_send(w, "three", 5, 3);
    show_attr(q, "after 4 sends");
    status_line(q, "status via mqd");
    printf("receive into 63 bytes: %s\n", err(mq_receive(q, small, 63, NULL)));
    struct pollfd pfd = {q, POLLIN | POLLOUT, 0};
    poll(&pfd, 1, 0);
    printf("poll full: %#x\n", pfd.revents);
    struct mq_attr nb = {O_NONBLOCK, 0, 0, 0, {0}}, old;
    mq_setattr(w, &nb, &old);
    printf("setattr old flags %#lx\n", old.mq_flags);
    printf("send full nonblock: %s\n", err(mq_send(w, "x", 1, 0)));
    struct mq_attr bad = {O_NONBLOCK | 1, 0, 0, 0, {0}};
    printf("setattr bad flags: %s\n", err(mq_setattr(w, &bad, NULL)));
    struct timespec past = {1, 0};
    printf("timedsend full (past deadline): %s\n", err(mq_timedsend(q, "x", 1, 0, &past)));
    struct timespec badts = {0, 2000000000};
    printf("timedsend bad timeout: %s\n", err(mq_timedsend(q, "x", 1, 0, &badts)));
    for (int i = 0; i < 4; i++)
        receive(q, 64);
    pfd.revents = 0;
    poll(&pfd, 1, 0);
    printf("poll empty: %#x\n", pfd.revents);
    struct timespec soon;
    clock_gettime(CLOCK_REALTIME, &soon);
    soon.tv_nsec += 50000000;
    if (soon.tv_nsec >= 1000000000) {
        soon.tv_sec++;
        soon.tv_nsec -= 1000000000;
    }
    printf("timedreceive empty: %s\n", err(mq_timedreceive(q, small, 64, NULL, &soon)));

    /* a receiver woken by another process */
    pid_t pid = fork();
    if (pid == 0) {
        msleep(200);
        mq_send(w, "from child", 10, 7);
        _exit(0);
    }
    receive(q, 64);
    status_of(pid);

    /* notification */
    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 4242;
    printf("notify: %s\n", err(mq_notify(q, &ev)));
    printf("notify again: %s\n", err(mq_notify(q, &ev)));
    status_line(q, "status with notify");
    pid = fork();
    if (pid == 0) {
        printf("child notify: %s\n", err(mq_notify(q, &ev)));
        _exit(0);
    }
    status_of(pid);
    pid = fork();
    expected_pid = pid;
    if (pid == 0) {
        mq_send(w, "wake", 4, 0);
        _exit(0);
    }
    status_of(pid);
    msleep(50);
    printf("signal %d code %d (SI_MESGQ %d) pid ok %d value %d\n", got_signo, got_code, SI_MESGQ, got_pid_ok,
           got_value);
    status_line(q, "status after notify");
    printf("notify once more: %s\n", err(mq_notify(q, &ev)));
    printf("remove: %s\n", err(mq_notify(q, NULL)));
    ev.sigev_notify = SIGEV_NONE;
    printf("SIGEV_NONE: %s\n", err(mq_notify(q, &ev)));
    status_line(q, "status SIGEV_NONE");
    ev.sigev_notify = 99;
    printf("bad sigev_notify: %s\n", err(mq_notify(q, &ev)));
    mq_notify(q, NULL);
    ev.sigev_notify = SIGEV_NONE;
    mq_notify(q, &ev);
    close(dup(q));                          /* the owner closing a descriptor drops it */
    status_line(q, "status after a close");
    mq_notify(q, NULL);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 65;
    printf("bad signo: %s\n", err(mq_notify(q, &ev)));
    printf("notify on stdin: %s\n", err(mq_notify(0, NULL)));

    /* the mqueue filesystem */
    mkdir("/dev/mqueue", 01777);
    printf("mount: %s\n", err(mount("mqueue", "/dev/mqueue", "mqueue", 0, NULL)));
    int fd = open("/dev/mqueue" NAME, O_RDONLY);
    status_line(fd, "status via /dev/mqueue");
    close(fd);
    stat("/dev/mqueue", &st);
    printf("/dev/mqueue mode %o\n", st.st_mode);
    stat("/dev/mqueue" NAME, &st);
    printf("queue file mode %o size %ld\n", st.st_mode, (long)st.st_size);
    fd = open("/dev/mqueue/made-by-open", O_RDWR | O_CREAT, 0600);
    printf("open(O_CREAT) in mqueue: %s\n", err(fd));
    close(fd);
    mqd_t q2 = mq_open("/made-by-open", O_RDONLY);
    show_attr(q2, "made by open");
    mq_close(q2);
    printf("unlink via fs: %s\n", err(unlink("/dev/mqueue/made-by-open")));
    printf("mkdir in mqueue: %s\n", err(mkdir("/dev/mqueue/dir", 0755)));
    printf("umount: %s\n", err(umount("/dev/mqueue")));

    /* another user */
    pid = fork();
    if (pid == 0) {
        setgid(1000);
        setuid(1000);
        printf("user 1000: open rw %s, unlink %s\n", err(mq_open(NAME, O_RDWR)), err(mq_unlink(NAME)));
        _exit(0);
    }
    status_of(pid);

    printf("unlink: %s\n", err(mq_unlink(NAME)));
    printf("unlink again: %s\n", err(mq_unlink(NAME)));
    printf("open after unlink: %s\n", err(mq_open(NAME, O_RDWR)));
    printf("still usable: send %s\n", err(mq_send(w, "late", 4, 2)));
    receive(q, 64);
    mq_close(q);
    mq_close(w);
    printf("done\n");
    return 0;
}
