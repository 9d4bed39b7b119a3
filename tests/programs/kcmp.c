/* kcmp as Linux 6.1 answers it: which kernel objects (open file, memory, fd table, fs
 * context, signal handlers, an epoll target) two tasks share, for threads, fork and vfork
 * children, dup'd and reopened files; ESRCH, EPERM, EBADF, EINVAL, ENOENT, EFAULT.
 * Prints "same", "differ" (1 or 2: the order is not stable) or the errno name. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long kcmp(pid_t a, pid_t b, int type, unsigned long i1, unsigned long i2)
{
    return syscall(SYS_kcmp, a, b, type, i1, i2);
}

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %s\n", what, r == 0 ? "same" : r == 1 || r == 2 ? "differ" : "bad value");
}

static volatile pid_t thread_tid;
static void *thread_main(void *arg)
{
    (void)arg;
    thread_tid = gettid();
    pause();
    return NULL;
}

static const char *types[] = { "FILE", "VM", "FILES", "FS", "SIGHAND", "IO", "SYSVSEM" };

static void all_types(const char *who, pid_t other)
{
    char what[64];
    for (int t = KCMP_VM; t <= KCMP_SYSVSEM; t++) {
        snprintf(what, sizeof what, "%s %s", who, types[t]);
        show(what, kcmp(getpid(), other, t, 0, 0));
    }
    snprintf(what, sizeof what, "%s FILE 0", who);
    show(what, kcmp(getpid(), other, KCMP_FILE, 0, 0));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t me = getpid();
    show("no such pid", kcmp(me, 4000000, KCMP_VM, 0, 0));
    show("no such pid first", kcmp(4000000, me, KCMP_VM, 0, 0));
    show("type 99", kcmp(me, me, 99, 0, 0));
    show("type -1", kcmp(me, me, -1, 0, 0));
    all_types("self", me);

    int a = open("/proc/self/status", O_RDONLY);
    int b = dup(a);
    int c = open("/proc/self/status", O_RDONLY);
    show("dup'd file", kcmp(me, me, KCMP_FILE, a, b));
    show("reopened file", kcmp(me, me, KCMP_FILE, a, c));
    show("bad fd", kcmp(me, me, KCMP_FILE, a, 99));
    show("bad fd first", kcmp(me, me, KCMP_FILE, 99, a));
    show("huge fd", kcmp(me, me, KCMP_FILE, a, 1UL << 40));

    pthread_t th;
    pthread_create(&th, NULL, thread_main, NULL);
    while (!thread_tid)
        sched_yield();
    all_types("thread", thread_tid);

    int p[2];
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        char x;
        read(p[0], &x, 1);
        _exit(0);
    }
    all_types("fork child", child);
    show("fork child inherited fd", kcmp(me, child, KCMP_FILE, a, a));
    show("fork child other fd", kcmp(me, child, KCMP_FILE, a, c));

    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN };
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    struct kcmp_epoll_slot slot = { .efd = ep, .tfd = p[0], .toff = 0 };
    show("epoll target", kcmp(me, me, KCMP_EPOLL_TFD, p[0], (unsigned long)&slot));
    show("epoll target in child", kcmp(me, child, KCMP_EPOLL_TFD, p[0], (unsigned long)&slot));
    show("epoll other file", kcmp(me, me, KCMP_EPOLL_TFD, a, (unsigned long)&slot));
    slot.toff = 1;
    show("epoll toff 1", kcmp(me, me, KCMP_EPOLL_TFD, p[0], (unsigned long)&slot));
    slot.toff = 0;
    slot.tfd = a;
    show("epoll unwatched tfd", kcmp(me, me, KCMP_EPOLL_TFD, p[0], (unsigned long)&slot));
    slot.efd = a;
    show("epoll efd not epoll", kcmp(me, me, KCMP_EPOLL_TFD, p[0], (unsigned long)&slot));
    slot.efd = 99;
    show("epoll bad efd", kcmp(me, me, KCMP_EPOLL_TFD, p[0], (unsigned long)&slot));
    show("epoll bad idx1", kcmp(me, me, KCMP_EPOLL_TFD, 99, (unsigned long)&slot));
    show("epoll bad slot", kcmp(me, me, KCMP_EPOLL_TFD, p[0], 8));

    pid_t user = fork();
    if (user == 0) {
        setuid(65534);
        show("user on root parent", kcmp(getppid(), getpid(), KCMP_VM, 0, 0));
        show("user on self", kcmp(getpid(), getpid(), KCMP_VM, 0, 0));
        _exit(0);
    }
    waitpid(user, NULL, 0);
    write(p[1], "x", 1);
    siginfo_t si;
    waitid(P_PID, child, &si, WEXITED | WNOWAIT);
    show("zombie FILE", kcmp(me, child, KCMP_FILE, a, a));

    pid_t v = vfork();
    if (v == 0) {
        show("vfork child VM", kcmp(getppid(), getpid(), KCMP_VM, 0, 0));
        show("vfork child FILES", kcmp(getppid(), getpid(), KCMP_FILES, 0, 0));
        _exit(0);
    }
    waitpid(v, NULL, 0);
    waitpid(child, NULL, 0);
    return 0;
}
