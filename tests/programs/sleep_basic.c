/* nanosleep/clock_nanosleep/clock_getres: durations roughly right (printed as ok/FAIL), argument
 * errors, and a long sleep cut short by a fatal signal. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAIL"); fflush(stdout); }

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    struct timespec req = {0, 100 * 1000 * 1000}, rem = {7, 7};
    double t0 = now(CLOCK_MONOTONIC);
    int r = nanosleep(&req, &rem);
    double took = now(CLOCK_MONOTONIC) - t0;
    check("nanosleep 100ms returns 0", r == 0);
    check("nanosleep 100ms took 100ms..2s", took >= 0.1 && took < 2.0);
    check("nanosleep leaves rem alone", rem.tv_sec == 7 && rem.tv_nsec == 7);

    t0 = now(CLOCK_MONOTONIC);
    check("usleep 30ms", usleep(30000) == 0 && now(CLOCK_MONOTONIC) - t0 >= 0.03);

    req.tv_sec = 0; req.tv_nsec = 1000000000;
    check("nanosleep nsec 1e9 EINVAL", nanosleep(&req, NULL) == -1 && errno == EINVAL);
    req.tv_sec = -1; req.tv_nsec = 0;
    check("nanosleep negative EINVAL", nanosleep(&req, NULL) == -1 && errno == EINVAL);
    req.tv_sec = 0; req.tv_nsec = 0;
    check("nanosleep zero", nanosleep(&req, NULL) == 0);

    /* clock_nanosleep returns the error number itself. */
    req.tv_sec = 0; req.tv_nsec = 50 * 1000 * 1000;
    t0 = now(CLOCK_MONOTONIC);
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL);
    check("clock_nanosleep MONOTONIC 50ms", r == 0 && now(CLOCK_MONOTONIC) - t0 >= 0.05);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 60 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    struct timespec after;
    clock_gettime(CLOCK_MONOTONIC, &after);
    check("clock_nanosleep ABSTIME MONOTONIC reached the time", r == 0 && (after.tv_sec > until.tv_sec
          || (after.tv_sec == until.tv_sec && after.tv_nsec >= until.tv_nsec)));
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec -= 10;                         /* in the past: returns at once */
    t0 = now(CLOCK_MONOTONIC);
    r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL);
    check("clock_nanosleep ABSTIME in the past returns at once", r == 0 && now(CLOCK_MONOTONIC) - t0 < 1.0);
    r = clock_nanosleep(CLOCK_BOOTTIME, 0, &req, NULL);
    check("clock_nanosleep BOOTTIME", r == 0);
    printf("clock_nanosleep bad clock: %d\n", clock_nanosleep(12345, 0, &req, NULL));
    printf("clock_nanosleep MONOTONIC_RAW: %d\n", clock_nanosleep(CLOCK_MONOTONIC_RAW, 0, &req, NULL));
    printf("clock_nanosleep THREAD_CPUTIME: %d\n", clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL));
    req.tv_nsec = -1;
    printf("clock_nanosleep bad nsec: %d\n", clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL));

    struct timespec res;
    check("clock_getres MONOTONIC 1ns", clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0
          && res.tv_nsec == 1);
    check("clock_getres REALTIME 1ns", clock_getres(CLOCK_REALTIME, &res) == 0 && res.tv_nsec == 1);
    check("clock_getres NULL", clock_getres(CLOCK_MONOTONIC, NULL) == 0);
    check("clock_getres bad clock EINVAL", clock_getres(12345, &res) == -1 && errno == EINVAL);

    /* A 10 s sleep ends when SIGALRM's default action kills the sleeper. */
    t0 = now(CLOCK_MONOTONIC);
    pid_t pid = fork();
    if (pid == 0) {
        struct itimerval it = {{0, 0}, {0, 100000}};
        setitimer(ITIMER_REAL, &it, NULL);
        struct timespec ten = {10, 0};
        nanosleep(&ten, NULL);
        _exit(5);
    }
    int status;
    waitpid(pid, &status, 0);
    took = now(CLOCK_MONOTONIC) - t0;
    check("sleeping child killed by SIGALRM", WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM);
    check("long before the sleep would end", took < 5.0);
    return 0;
}
