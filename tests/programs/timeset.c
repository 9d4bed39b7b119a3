/* Setting the wall clock (run as root): clock_settime/settimeofday/adjtimex/clock_adjtime
 * errors in Linux's order, EPERM without CAP_SYS_TIME, then the clock set forward a day and
 * back: every wall-clock reader moves (clock_gettime and gettimeofday through the vDSO and
 * the syscall, time(), file timestamps, /proc/stat btime), a cancel-on-set timerfd fails
 * with ECANCELED, absolute realtime timers and sleepers fire, relative ones do not. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define DAY 86400LL

static long settime(clockid_t clk, const struct timespec *ts)
{
    return syscall(SYS_clock_settime, clk, ts);
}

static long long rt_sec(void)
{
    struct timespec ts;
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

static long long btime(void)
{
    char buf[4096];
    FILE *f = fopen("/proc/stat", "r");
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strstr(buf, "btime ");
    return p ? atoll(p + 6) : -1;
}

static int near(long long got, long long want)
{
    return got >= want - 2 && got <= want + 2;
}

static void errors(void)
{
    struct timespec ok = {rt_sec(), 0}, bad;
    rc("settime MONOTONIC", settime(CLOCK_MONOTONIC, &ok));
    rc("settime BOOTTIME", settime(CLOCK_BOOTTIME, &ok));
    rc("settime PROCESS_CPUTIME", settime(CLOCK_PROCESS_CPUTIME_ID, &ok));
    rc("settime TAI", settime(CLOCK_TAI, &ok));
    rc("settime clock 10", settime(10, &ok));
    rc("settime clock 12", settime(12, &ok));
    rc("settime MONOTONIC NULL", settime(CLOCK_MONOTONIC, NULL));
    rc("settime REALTIME NULL", settime(CLOCK_REALTIME, NULL));
    bad = (struct timespec){ok.tv_sec, 1000000000};
    rc("settime nsec 1e9", settime(CLOCK_REALTIME, &bad));
    bad = (struct timespec){ok.tv_sec, -1};
    rc("settime nsec -1", settime(CLOCK_REALTIME, &bad));
    bad = (struct timespec){-1, 0};
    rc("settime sec -1", settime(CLOCK_REALTIME, &bad));
    bad = (struct timespec){0, 0};
    rc("settime before boot", settime(CLOCK_REALTIME, &bad));
    clockid_t cpu = -6;                         /* MAKE_PROCESS_CPUCLOCK(0, CPUCLOCK_SCHED) */
    rc("settime own cpu clock", settime(cpu, &ok));
    rc("settime own thread clock", settime(-2 /* MAKE_THREAD_CPUCLOCK(0, CPUCLOCK_SCHED) */, &ok));
    rc("settime dead pid clock", settime(-8000000 + 2 /* MAKE_PROCESS_CPUCLOCK(999999, SCHED) */, &ok));

    struct timeval tv = {ok.tv_sec, 1000000};
    struct timezone tz = {16 * 60, 0};
    rc("settimeofday NULL NULL", syscall(SYS_settimeofday, NULL, NULL));
    rc("settimeofday usec 1e6", syscall(SYS_settimeofday, &tv, NULL));
    tv.tv_usec = -1;
    rc("settimeofday usec -1 bad tz", syscall(SYS_settimeofday, &tv, (void *)8));
    tv = (struct timeval){-1, 0};
    rc("settimeofday sec -1 bad tz", syscall(SYS_settimeofday, &tv, (void *)8));
    rc("settimeofday sec -1", syscall(SYS_settimeofday, &tv, NULL));
    rc("settimeofday tz 16h", syscall(SYS_settimeofday, NULL, &tz));
    tz = (struct timezone){-60, 1};
    rc("settimeofday tz only", syscall(SYS_settimeofday, NULL, &tz));
    struct timezone got = {7, 7};
    syscall(SYS_gettimeofday, NULL, &got);
    printf("gettimeofday tz: %d %d\n", got.tz_minuteswest, got.tz_dsttime);
    tz = (struct timezone){0, 0};
    rc("settimeofday tz restore", syscall(SYS_settimeofday, NULL, &tz));

    struct timex tx;
    memset(&tx, 0, sizeof tx);
    long r = syscall(SYS_adjtimex, &tx);
    printf("adjtimex read: %ld status %#x maxerror %ld esterror %ld constant %ld precision %ld "
           "tolerance %ld tick %ld offset %ld freq %ld tai %d time %s\n", r, tx.status, tx.maxerror,
           tx.esterror, tx.constant, tx.precision, tx.tolerance, tx.tick, tx.offset, tx.freq, tx.tai,
           near(tx.time.tv_sec, rt_sec()) ? "now" : "wrong");
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_OFFSET_SS_READ;
    rc("adjtimex ss read", syscall(SYS_adjtimex, &tx));
    tx.modes = 0x8000;                      /* the kernel's ADJ_ADJTIME, no SINGLESHOT */
    rc("adjtimex ADJTIME alone", syscall(SYS_adjtimex, &tx));
    tx.modes = ADJ_TICK;
    tx.tick = 1;
    rc("adjtimex tick 1", syscall(SYS_adjtimex, &tx));
    rc("adjtimex NULL", syscall(SYS_adjtimex, NULL));
    memset(&tx, 0, sizeof tx);
    rc("clock_adjtime REALTIME", syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
    rc("clock_adjtime MONOTONIC", syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, &tx));
    rc("clock_adjtime TAI", syscall(SYS_clock_adjtime, CLOCK_TAI, &tx));
    rc("clock_adjtime clock 10", syscall(SYS_clock_adjtime, 10, &tx));
    rc("clock_adjtime clock 99", syscall(SYS_clock_adjtime, 99, &tx));
    rc("clock_adjtime own cpu clock", syscall(SYS_clock_adjtime, cpu, &tx));
    rc("clock_adjtime 99 NULL", syscall(SYS_clock_adjtime, 99, NULL));
}

static void unprivileged(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (setuid(65534) < 0)
            _exit(1);
        struct timespec ok = {rt_sec(), 0}, bad = {rt_sec(), -1};
        struct timezone tz = {0, 0};
        struct timex tx;
        rc("nobody settime", settime(CLOCK_REALTIME, &ok));
        rc("nobody settime bad nsec", settime(CLOCK_REALTIME, &bad));
        rc("nobody settime MONOTONIC", settime(CLOCK_MONOTONIC, &ok));
        rc("nobody settimeofday tz", syscall(SYS_settimeofday, NULL, &tz));
        rc("nobody settimeofday NULL NULL", syscall(SYS_settimeofday, NULL, NULL));
        memset(&tx, 0, sizeof tx);
        rc("nobody adjtimex read", syscall(SYS_adjtimex, &tx));
        tx.modes = ADJ_OFFSET_SS_READ;
        rc("nobody adjtimex ss read", syscall(SYS_adjtimex, &tx));
        tx.modes = ADJ_OFFSET_SINGLESHOT;
        rc("nobody adjtimex singleshot", syscall(SYS_adjtimex, &tx));
        tx.modes = ADJ_TICK;
        tx.tick = 1;
        rc("nobody adjtimex tick 1", syscall(SYS_adjtimex, &tx));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
}

static int readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms);
}

static void set_forward_and_back(void)
{
    long long t0 = rt_sec(), b0 = btime();
    struct itimerspec cancel = {{0, 0}, {t0 + 1000, 0}}, hour = {{0, 0}, {t0 + 3600, 0}};
    struct itimerspec rel = {{0, 0}, {3600, 0}};
    int fcancel = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    int fabs = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    int frel = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    rc("timerfd cancel-on-set", timerfd_settime(fcancel, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &cancel, NULL));
    rc("timerfd absolute", timerfd_settime(fabs, TFD_TIMER_ABSTIME, &hour, NULL));
    rc("timerfd relative", timerfd_settime(frel, 0, &rel, NULL));

    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigaddset(&usr1, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    sigdelset(&usr1, SIGUSR2);
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    timer_t timer;
    timer_create(CLOCK_REALTIME, &sev, &timer);
    rc("timer_settime absolute", timer_settime(timer, TIMER_ABSTIME, &hour, NULL));
    struct sigevent sev2 = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    timer_t timer2;
    timer_create(CLOCK_REALTIME, &sev2, &timer2);
    rc("timer_settime relative", timer_settime(timer2, 0, &rel, NULL));

    pid_t sleeper = fork();
    if (sleeper == 0) {
        alarm(20);                              /* not woken: SIGALRM ends it */
        struct timespec until = {t0 + 3600, 0};
        _exit(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL) == 0 ? 7 : 8);
    }
    usleep(300000);

    struct timespec fwd = {t0 + DAY, 0};
    rc("settime +1 day", settime(CLOCK_REALTIME, &fwd));
    struct timespec ts;
    struct timeval tv;
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("clock_gettime (libc) moved: %d\n", near(ts.tv_sec, t0 + DAY));
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
    printf("clock_gettime (syscall) moved: %d\n", near(ts.tv_sec, t0 + DAY));
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    printf("REALTIME_COARSE moved: %d\n", near(ts.tv_sec, t0 + DAY));
    gettimeofday(&tv, NULL);
    printf("gettimeofday (libc) moved: %d\n", near(tv.tv_sec, t0 + DAY));
    syscall(SYS_gettimeofday, &tv, NULL);
    printf("gettimeofday (syscall) moved: %d\n", near(tv.tv_sec, t0 + DAY));
    printf("time() moved: %d\n", near(time(NULL), t0 + DAY));
    clock_gettime(CLOCK_MONOTONIC, &ts);
    printf("btime moved: %d\n", near(btime(), b0 + DAY));

    int fd = open("/tmp/timeset.stamp", O_CREAT | O_TRUNC | O_WRONLY, 0644);
    struct stat st;
    fstat(fd, &st);
    printf("new file mtime moved: %d ctime: %d\n", near(st.st_mtime, t0 + DAY), near(st.st_ctime, t0 + DAY));
    close(fd);
    unlink("/tmp/timeset.stamp");

    unsigned long long ticks = 0;
    printf("cancel-on-set readable: %d\n", readable(fcancel, 2000));
    rc("read cancel-on-set", read(fcancel, &ticks, sizeof ticks));
    rc("read cancel-on-set again", read(fcancel, &ticks, sizeof ticks));
    printf("absolute readable: %d\n", readable(fabs, 2000));
    rc("read absolute", read(fabs, &ticks, sizeof ticks));
    printf("ticks %llu\n", ticks);
    printf("relative readable: %d\n", readable(frel, 200));
    struct itimerspec left;
    timerfd_gettime(frel, &left);
    printf("relative left about an hour: %d\n", left.it_value.tv_sec > 3500 && left.it_value.tv_sec <= 3600);
    struct timespec wait = {2, 0};
    printf("timer signal: %d\n", sigtimedwait(&usr1, NULL, &wait));
    sigset_t pending;
    sigpending(&pending);
    printf("relative timer signal pending: %d\n", sigismember(&pending, SIGUSR2));
    struct itimerspec left2;
    timer_gettime(timer2, &left2);
    printf("relative timer left about an hour: %d\n", left2.it_value.tv_sec > 3500 && left2.it_value.tv_sec <= 3600);
    int status = 0;
    waitpid(sleeper, &status, 0);
    printf("absolute sleeper: %s %d\n", WIFEXITED(status) ? "exit" : "signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));

    /* Back: the clock a day behind where it is now. */
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
    ts.tv_sec -= DAY;
    rc("settime -1 day", settime(CLOCK_REALTIME, &ts));
    printf("back: %d\n", near(rt_sec(), t0));
    printf("btime back: %d\n", near(btime(), b0));
    rc("timerfd cancel-on-set re-armed", timerfd_settime(fcancel, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &cancel, NULL));
    struct timeval now;
    syscall(SYS_gettimeofday, &now, NULL);
    rc("settimeofday same time", syscall(SYS_settimeofday, &now, NULL));
    rc("read cancel-on-set after settimeofday", read(fcancel, &ticks, sizeof ticks));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    errors();
    unprivileged();
    set_forward_and_back();
    return 0;
}
