/* timerfd_create/settime/gettime: one-shot and periodic timers with expiration counts,
 * TFD_TIMER_ABSTIME on three clocks, old values, poll readiness, TFD_NONBLOCK/TFD_CLOEXEC,
 * the _ALARM clocks (EPERM without CAP_WAKE_ALARM) and the EINVAL/EBADF/EFAULT cases.
 * Timings are printed as ok/FAIL against generous bounds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif
#ifndef CLOCK_REALTIME_ALARM
#define CLOCK_REALTIME_ALARM 8
#endif
#ifndef CLOCK_BOOTTIME_ALARM
#define CLOCK_BOOTTIME_ALARM 9
#endif

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAIL"); }

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct itimerspec its(long vs, long vns, long is, long ins)
{
    struct itimerspec t = {{is, ins}, {vs, vns}};
    return t;
}

static int ready(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) == 1 ? p.revents : 0;
}

int main(void)
{
    uint64_t ticks;
    struct itimerspec cur, old;
    long r;

    r = timerfd_create(99, 0);
    printf("bad clock: %ld %s\n", r, err(r));
    r = timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0);
    printf("cpu clock: %ld %s\n", r, err(r));
    r = timerfd_create(CLOCK_MONOTONIC, 1);
    printf("bad flags: %ld %s\n", r, err(r));

    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    timerfd_gettime(fd, &cur);
    printf("fresh: value %ld.%09ld interval %ld.%09ld\n", cur.it_value.tv_sec, cur.it_value.tv_nsec,
           cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
    r = read(fd, &ticks, 4);
    printf("4-byte read: %ld %s\n", r, err(r));
    char link[64] = "", path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    readlink(path, link, sizeof link - 1);
    printf("readlink: %s\n", link);

    /* One-shot, relative. */
    struct itimerspec t = its(0, 100000000, 0, 0);
    double t0 = now(CLOCK_MONOTONIC);
    r = timerfd_settime(fd, 0, &t, &old);
    printf("settime 100ms: %ld old %ld.%09ld\n", r, old.it_value.tv_sec, old.it_value.tv_nsec);
    timerfd_gettime(fd, &cur);
    check("gettime: 0 < left <= 100ms", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0
          && cur.it_value.tv_nsec <= 100000000);
    printf("poll before expiry: %x\n", ready(fd, 0));
    r = read(fd, &ticks, 8);
    double took = now(CLOCK_MONOTONIC) - t0;
    printf("blocking read: %ld ticks %llu\n", r, (unsigned long long)ticks);
    check("expired after 100ms..2s", took >= 0.099 && took < 2.0);
    timerfd_gettime(fd, &cur);
    printf("after expiry: value %ld.%09ld\n", cur.it_value.tv_sec, cur.it_value.tv_nsec);

    /* Non-blocking, close-on-exec. */
    int nb = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    printf("nonblock F_GETFL %o FD_CLOEXEC %d\n", fcntl(nb, F_GETFL) & ~0400000, fcntl(nb, F_GETFD) & FD_CLOEXEC);
    r = read(nb, &ticks, 8);
    printf("disarmed nonblock read: %ld %s\n", r, err(r));
    t = its(5, 0, 0, 0);
    timerfd_settime(nb, 0, &t, NULL);
    r = read(nb, &ticks, 8);
    printf("armed, not expired: %ld %s\n", r, err(r));
    t = its(0, 0, 0, 0);
    timerfd_settime(nb, 0, &t, &old);
    check("disarm returns the old value (4-5s left)", old.it_value.tv_sec == 4 || (old.it_value.tv_sec == 5
          && old.it_value.tv_nsec == 0));
    timerfd_gettime(nb, &cur);
    printf("disarmed: value %ld.%09ld\n", cur.it_value.tv_sec, cur.it_value.tv_nsec);

    /* Absolute times on each clock: the near future, and the past (fires at once). */
    clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};
    for (int i = 0; i < 3; i++) {
        int a = timerfd_create(clocks[i], TFD_NONBLOCK);
        struct timespec n;
        clock_gettime(clocks[i], &n);
        n.tv_nsec += 50000000;
        if (n.tv_nsec >= 1000000000) { n.tv_sec++; n.tv_nsec -= 1000000000; }
        t.it_interval.tv_sec = t.it_interval.tv_nsec = 0;
        t.it_value = n;
        timerfd_settime(a, TFD_TIMER_ABSTIME, &t, NULL);
        int ev = ready(a, 2000);
        r = read(a, &ticks, 8);
        printf("clock %d abstime +50ms: poll %x read %ld ticks %llu\n", clocks[i], ev, r, (unsigned long long)ticks);
        clock_gettime(clocks[i], &t.it_value);       /* now: past by the time it is set */
        timerfd_settime(a, TFD_TIMER_ABSTIME, &t, NULL);
        ev = ready(a, 2000);
        r = read(a, &ticks, 8);
        printf("clock %d abstime in the past: poll %x read %ld ticks %llu\n", clocks[i], ev, r,
               (unsigned long long)ticks);
        close(a);
    }

    /* Periodic: the count covers every period since the last read. */
    int p = timerfd_create(CLOCK_MONOTONIC, 0);
    t = its(0, 50000000, 0, 50000000);
    timerfd_settime(p, 0, &t, NULL);
    usleep(275000);
    r = read(p, &ticks, 8);
    printf("periodic read: %ld\n", r);
    check("periodic 50ms after 275ms: 4..7 expirations", ticks >= 4 && ticks <= 7);
    r = read(p, &ticks, 8);
    printf("next periodic read: %ld ticks %llu\n", r, (unsigned long long)ticks);
    timerfd_gettime(p, &cur);
    printf("periodic interval %ld.%09ld\n", cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
    check("periodic: next expiry within 50ms", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 50000000);
    /* Expired in the past with a period: the first read counts the periods missed. */
    struct timespec n;
    clock_gettime(CLOCK_MONOTONIC, &n);
    t.it_value.tv_sec = n.tv_sec - 1;
    t.it_value.tv_nsec = n.tv_nsec;
    t.it_interval.tv_sec = 0;
    t.it_interval.tv_nsec = 100000000;
    timerfd_settime(p, TFD_TIMER_ABSTIME, &t, NULL);
    r = read(p, &ticks, 8);
    check("abstime 1s ago, 100ms period: 10..12 expirations", r == 8 && ticks >= 10 && ticks <= 12);
    /* settime discards expirations not read yet. */
    t = its(0, 1000000, 0, 0);
    timerfd_settime(p, 0, &t, NULL);
    usleep(50000);
    printf("expired, poll %x\n", ready(p, 0));
    t = its(10, 0, 0, 0);
    timerfd_settime(p, 0, &t, NULL);
    printf("re-armed, poll %x\n", ready(p, 0));
    close(p);

    /* Argument errors. */
    t = its(1, 0, 0, 0);
    r = timerfd_settime(fd, 4, &t, NULL);
    printf("settime bad flags: %ld %s\n", r, err(r));
    t = its(0, 1000000000, 0, 0);
    r = timerfd_settime(fd, 0, &t, NULL);
    printf("settime nsec 1e9: %ld %s\n", r, err(r));
    t = its(-1, 0, 0, 0);
    r = timerfd_settime(fd, 0, &t, NULL);
    printf("settime negative: %ld %s\n", r, err(r));
    t = its(0, 0, 0, 1000000000);
    r = timerfd_settime(fd, 0, &t, NULL);
    printf("settime bad interval: %ld %s\n", r, err(r));
    t = its(1, 0, 0, 0);
    int e = eventfd(0, 0);
    r = timerfd_settime(e, 0, &t, NULL);
    printf("settime on an eventfd: %ld %s\n", r, err(r));
    r = timerfd_gettime(e, &cur);
    printf("gettime on an eventfd: %ld %s\n", r, err(r));
    r = timerfd_settime(77, 0, &t, NULL);
    printf("settime bad fd: %ld %s\n", r, err(r));
    r = timerfd_settime(77, 4, NULL, NULL);
    printf("settime NULL value, bad fd and flags: %ld %s\n", r, err(r));
    r = timerfd_gettime(fd, NULL);
    printf("gettime NULL: %ld %s\n", r, err(r));
    r = timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &t, NULL);
    printf("cancel-on-set on MONOTONIC: %ld %s\n", r, err(r));
    int rt = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    t.it_value.tv_sec = time(NULL) + 100;
    r = timerfd_settime(rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &t, NULL);
    printf("cancel-on-set on REALTIME: %ld %s\n", r, err(r));
    r = read(rt, &ticks, 8);
    printf("read (clock not set): %ld %s\n", r, err(r));

    /* TFD_IOC_SET_TICKS (checkpoint/restore), and the other ioctls and seeks. */
    uint64_t set = 5;
    r = ioctl(nb, TFD_IOC_SET_TICKS, &set);
    printf("TFD_IOC_SET_TICKS 5: %s, poll %x", err(r), ready(nb, 0));
    r = read(nb, &ticks, 8);
    printf(", read %ld ticks %llu\n", r, (unsigned long long)ticks);
    set = 0;
    r = ioctl(nb, TFD_IOC_SET_TICKS, &set);
    printf("TFD_IOC_SET_TICKS 0: %s\n", err(r));
    r = ioctl(nb, TFD_IOC_SET_TICKS, NULL);
    printf("TFD_IOC_SET_TICKS NULL: %s\n", err(r));
    int avail;
    r = ioctl(nb, FIONREAD, &avail);
    printf("FIONREAD: %s\n", err(r));
    r = lseek(nb, 100, SEEK_SET);
    printf("lseek: %ld %s\n", r, err(r));
    r = pread(nb, &ticks, 8, 0);
    printf("pread: %ld %s\n", r, err(r));

    /* The alarm clocks: root may, others get EPERM. */
    int al = timerfd_create(CLOCK_BOOTTIME_ALARM, 0);
    printf("BOOTTIME_ALARM as root: %s\n", err(al));
    r = timerfd_create(CLOCK_REALTIME_ALARM, 0);
    printf("REALTIME_ALARM as root: %s\n", err(r));
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        if (setresuid(65534, 65534, 65534) != 0)
            _exit(9);
        long c = timerfd_create(CLOCK_BOOTTIME_ALARM, 0);
        printf("BOOTTIME_ALARM as nobody: %s\n", err(c));
        t = its(1, 0, 0, 0);
        c = timerfd_settime(al, 0, &t, NULL);
        printf("settime of root's alarm timer as nobody: %s\n", err(c));
        c = timerfd_gettime(al, &cur);
        printf("gettime of it: %s\n", err(c));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("child status %d\n", status);
    return 0;
}
