/* fcntl record locks between processes: argument checks (EINVAL, EOVERFLOW, EBADF), F_GETLK
 * showing the holder, splitting and merging of ranges, negative lengths, EAGAIN, EDEADLK across
 * two processes, F_SETLKW woken by an unlock and interrupted by a signal (EINTR), release at
 * the close of *any* descriptor of the file and at exit, OFD locks owned by the open file, and
 * /proc/locks. Pids are printed as who they are (parent, child), not as numbers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

#define PATH "/tmp/locks_posix.dat"

static pid_t parent_pid, child_pid;

static int lk(int fd, int cmd, short type, short whence, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = whence, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

static const char *who(pid_t pid)
{
    if (pid == parent_pid) return "parent";
    if (pid == child_pid && pid) return "child";
    if (pid == getpid()) return "self";
    if (pid == -1) return "-1";
    if (pid == 0) return "0";
    return "other";
}

static void getlk(const char *label, int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    int r = fcntl(fd, cmd, &fl);
    if (r < 0) {
        printf("%s: %s\n", label, err(r));
        return;
    }
    if (fl.l_type == F_UNLCK) {
        printf("%s: unlocked (whence %d start %lld len %lld pid %s)\n", label, fl.l_whence,
               (long long)fl.l_start, (long long)fl.l_len, who(fl.l_pid));
        return;
    }
    printf("%s: %s whence %d start %lld len %lld pid %s\n", label, fl.l_type == F_WRLCK ? "WRLCK" : "RDLCK",
           fl.l_whence, (long long)fl.l_start, (long long)fl.l_len, who(fl.l_pid));
}

/* A child that runs fn(fd) with the file open on its own descriptor table (inherited). */
static pid_t spawn(void (*fn)(int), int fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        fn(fd);
        fflush(stdout);
        _exit(0);
    }
    return pid;
}

static void reap(pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        printf("child status %d\n", status);
}

static void check_args(int fd)
{
    int ro = open(PATH, O_RDONLY), wo = open(PATH, O_WRONLY);
    struct flock fl;
    printf("GETLK F_UNLCK: %s\n", err(lk(fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 0)));
    printf("GETLK type 9: %s\n", err(lk(fd, F_GETLK, 9, SEEK_SET, 0, 0)));
    printf("SETLK type 9: %s\n", err(lk(fd, F_SETLK, 9, SEEK_SET, 0, 0)));
    printf("SETLK type 9 whence 7: %s\n", err(lk(fd, F_SETLK, 9, 7, 0, 0)));
    printf("whence 3: %s\n", err(lk(fd, F_SETLK, F_WRLCK, 3, 0, 0)));
    printf("start -1: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 1)));
    printf("len below 0: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, -6)));
    printf("start+len overflow: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, LLONG_MAX, 2)));
    printf("SEEK_END overflow: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_END, LLONG_MAX, 1)));
    printf("len 1 at LLONG_MAX: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, LLONG_MAX, 1)));
    printf("unlock it: %s\n", err(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, LLONG_MAX, 1)));
    printf("RDLCK on O_WRONLY: %s\n", err(lk(wo, F_SETLK, F_RDLCK, SEEK_SET, 0, 1)));
    printf("WRLCK on O_RDONLY: %s\n", err(lk(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1)));
    printf("UNLCK on O_RDONLY: %s\n", err(lk(ro, F_SETLK, F_UNLCK, SEEK_SET, 0, 1)));
    printf("GETLK WRLCK on O_RDONLY: %s\n", err(lk(ro, F_GETLK, F_WRLCK, SEEK_SET, 0, 1)));
    fl = (struct flock){.l_type = F_WRLCK, .l_pid = 5};
    printf("OFD_SETLK l_pid 5: %s\n", err(fcntl(fd, F_OFD_SETLK, &fl)));
    fl = (struct flock){.l_type = F_WRLCK, .l_pid = 1};
    printf("OFD_GETLK l_pid 1: %s\n", err(fcntl(fd, F_OFD_GETLK, &fl)));
    fl = (struct flock){.l_type = F_WRLCK, .l_pid = 1234};
    printf("SETLK l_pid ignored: %s\n", err(fcntl(fd, F_SETLK, &fl)));
    printf("and unlocked: %s\n", err(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0)));
    printf("bad fd: %s\n", err(lk(99, F_SETLK, F_WRLCK, SEEK_SET, 0, 0)));
    printf("bad pointer: %s\n", err(fcntl(fd, F_SETLK, (void *)16)));
    close(ro);
    close(wo);
}

static void child_views(int fd)
{
    getlk("child [0,1] WR", fd, F_GETLK, F_WRLCK, 0, 2);
    getlk("child [5,7] WR (the hole)", fd, F_GETLK, F_WRLCK, 5, 3);
    getlk("child [6,10] WR", fd, F_GETLK, F_WRLCK, 6, 5);
    getlk("child [20,29] RD", fd, F_GETLK, F_RDLCK, 20, 10);
    getlk("child [25,25] WR", fd, F_GETLK, F_WRLCK, 25, 1);
    getlk("child [20,21] RD", fd, F_GETLK, F_RDLCK, 20, 2);
    getlk("child [23,23] RD", fd, F_GETLK, F_RDLCK, 23, 1);
    getlk("child [36,39] WR", fd, F_GETLK, F_WRLCK, 36, 4);
    getlk("child [1000,EOF] RD", fd, F_GETLK, F_RDLCK, 1000, 0);
    getlk("child [50,59] WR", fd, F_GETLK, F_WRLCK, 50, 10);
    getlk("child OFD [0,1] WR", fd, F_OFD_GETLK, F_WRLCK, 0, 2);
    printf("child SETLK [0,1] WR: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 2)));
    printf("child SETLK [20,21] RD: %s\n", err(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 20, 2)));
    printf("child SETLK [36,39] RD: %s\n", err(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 36, 4)));
}

static void ranges(int fd)
{
    printf("WR [0,9]: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10)));
    printf("UN [5,7]: %s\n", err(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 5, 3)));
    printf("RD [20,29]: %s\n", err(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 20, 10)));
    printf("RD [30,34] merges: %s\n", err(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 30, 5)));
    printf("WR [22,24] splits: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 22, 3)));
    lseek(fd, 60, SEEK_SET);
    printf("WR cur-10 len -10 = [40,49]: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_CUR, -10, -10)));
    printf("WR end-50 len 10 = [50,59]: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_END, -50, 10)));
    printf("WR [1000,EOF]: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1000, 0)));
    getlk("parent sees own", fd, F_GETLK, F_WRLCK, 0, 0);
    child_pid = spawn(child_views, fd);
    reap(child_pid);
    child_pid = 0;
}

static int sync_pipe[2];

static void holder(int fd)
{
    char c = 'x';
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 200, 1);
    write(sync_pipe[1], &c, 1);
    msleep(300);
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 200, 1);
    msleep(300);
}

static void waits_and_releases(int fd)
{
    char c;
    pipe(sync_pipe);
    child_pid = spawn(holder, fd);
    read(sync_pipe[0], &c, 1);
    getlk("held by child", fd, F_GETLK, F_RDLCK, 0, 0);
    printf("SETLK [200]: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 200, 1)));
    printf("SETLKW [200] until the child unlocks: %s\n", err(lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 200, 1)));
    reap(child_pid);
    child_pid = 0;
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 200, 1);
    close(sync_pipe[0]);
    close(sync_pipe[1]);
}

static void deadlocker(int fd)
{
    char c = 'x';
    printf("child WR [301]: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 301, 1)));
    write(sync_pipe[1], &c, 1);
    fflush(stdout);
    int r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 300, 1);
    printf("child SETLKW [300] after the parent let go: %s\n", err(r));
}

static void deadlock(int fd)
{
    char c;
    pipe(sync_pipe);
    printf("parent WR [300]: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 300, 1)));
    fflush(stdout);
    child_pid = spawn(deadlocker, fd);
    read(sync_pipe[0], &c, 1);
    msleep(300);                                   /* the child is asleep in F_SETLKW */
    printf("parent SETLKW [301]: %s\n", err(lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 301, 1)));
    printf("parent UN [300]: %s\n", err(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 300, 1)));
    fflush(stdout);
    reap(child_pid);
    child_pid = 0;
    getlk("after the child exited", fd, F_GETLK, F_WRLCK, 0, 0);
    close(sync_pipe[0]);
    close(sync_pipe[1]);
}

static void on_alarm(int sig) { (void)sig; }

static void interrupted(int fd)
{
    struct sigaction sa = {.sa_handler = on_alarm};      /* no SA_RESTART */
    char c;
    pipe(sync_pipe);
    child_pid = spawn(holder, fd);
    read(sync_pipe[0], &c, 1);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    printf("SETLKW interrupted by SIGALRM: %s\n", err(lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 200, 1)));
    reap(child_pid);
    child_pid = 0;
    close(sync_pipe[0]);
    close(sync_pipe[1]);
}

static void child_probe(int fd)
{
    getlk("child probe", fd, F_GETLK, F_WRLCK, 0, 0);
}

static void close_releases(int fd)
{
    printf("WR [0,9]: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10)));
    int other = open(PATH, O_RDONLY);
    int dup_fd = dup(fd);
    close(dup_fd);
    child_pid = spawn(child_probe, fd);     /* a dup closed: the lock went */
    reap(child_pid);
    printf("WR [0,9] again: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10)));
    close(other);                            /* another open file of the same inode: gone too */
    child_pid = spawn(child_probe, fd);
    reap(child_pid);
    child_pid = 0;
}

static void ofd(int fd)
{
    int a = open(PATH, O_RDWR), b = open(PATH, O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    printf("OFD WR [0,9] on a: %s\n", err(fcntl(a, F_OFD_SETLK, &fl)));
    fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
    printf("OFD RD [5] on b: %s\n", err(fcntl(b, F_OFD_SETLK, &fl)));
    printf("OFD RD [5] on a (same owner): %s\n", err(fcntl(a, F_OFD_SETLK, &fl)));
    getlk("OFD_GETLK on b", b, F_OFD_GETLK, F_RDLCK, 0, 0);
    getlk("GETLK on fd (posix vs ofd)", fd, F_GETLK, F_RDLCK, 0, 0);
    printf("POSIX WR [3] on fd: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 3, 1)));
    printf("POSIX WR [20] on fd: %s\n", err(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 20, 1)));
    getlk("OFD_GETLK on a sees posix", a, F_OFD_GETLK, F_WRLCK, 15, 10);
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
    close(b);                                            /* not a's: a keeps its lock */
    getlk("after closing b", fd, F_GETLK, F_WRLCK, 0, 0);
    int a2 = dup(a);
    close(a);
    getlk("after closing a dup", fd, F_GETLK, F_WRLCK, 0, 0);
    close(a2);
    getlk("after closing the last", fd, F_GETLK, F_WRLCK, 0, 0);
}

static void proc_locks(int fd)
{
    struct stat st;
    char line[256];
    fstat(fd, &st);
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 7, 5);
    int o = open(PATH, O_RDONLY);
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 0};
    fcntl(o, F_OFD_SETLK, &fl);
    FILE *f = fopen("/proc/locks", "r");
    if (!f) {
        printf("/proc/locks: %s\n", strerrorname_np(errno));
        return;
    }
    char out[8][256];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned maj, min;
        unsigned long ino;
        int pid;
        char kind[16], adv[16], type[16], start[32], end[32];
        if (sscanf(line, "%*d: %15s %15s %15s %d %x:%x:%lu %31s %31s", kind, adv, type, &pid, &maj, &min,
                   &ino, start, end) != 9 || ino != st.st_ino)
            continue;
        const char *rest = strchr(line, ' ');
        int dev_ok = (dev_t)makedev(maj, min) == st.st_dev;
        if (n < 8)
            snprintf(out[n++], sizeof out[0], "/proc/locks: %s %s %s %s dev %s %s %s | %.*s", kind, adv, type,
                     who(pid), dev_ok ? "ok" : "BAD", start, end, (int)(strstr(rest, type) - rest + 5), rest);
    }
    fclose(f);
    qsort(out, n, sizeof out[0], (int (*)(const void *, const void *))strcmp);   /* per-CPU lists: any order */
    for (int i = 0; i < n; i++)
        printf("%s\n", out[i]);
    close(o);
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    parent_pid = getpid();
    int fd = open(PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char buf[100];
    memset(buf, 'a', sizeof buf);
    write(fd, buf, sizeof buf);
    check_args(fd);
    ranges(fd);
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
    waits_and_releases(fd);
    deadlock(fd);
    interrupted(fd);
    close_releases(fd);
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
    ofd(fd);
    proc_locks(fd);
    close(fd);
    unlink(PATH);
    printf("done\n");
    return 0;
}
