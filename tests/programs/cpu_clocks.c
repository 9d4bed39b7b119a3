/* The CPU-time clocks read the task's own time: CLOCK_THREAD_CPUTIME_ID and
 * CLOCK_PROCESS_CPUTIME_ID grow while the caller computes and hardly while it sleeps;
 * pthread_getcpuclockid and clock_getcpuclockid name other threads and processes;
 * clock_getres; EINVAL for clocks of no one; clock_nanosleep on a process's CPU time. Prints categories, never raw times. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

static long long ns_of(clockid_t c)
{
    struct timespec ts;
    if (syscall(SYS_clock_gettime, c, &ts) < 0)
        return -1;
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void spin_ms(long ms)
{
    long long end = ns_of(CLOCK_THREAD_CPUTIME_ID) + ms * 1000000LL;
    while (ns_of(CLOCK_THREAD_CPUTIME_ID) < end)
        ;
}

static volatile int stop;

static void *burner(void *arg)
{
    (void)arg;
    spin_ms(100);
    while (!stop)
        ;
    return NULL;
}

static const char *yes(int b) { return b ? "yes" : "no"; }

#define MAKE_PROCESS_CPUCLOCK(pid, which) ((clockid_t)((~(unsigned)(pid) << 3) | (which)))
#define MAKE_THREAD_CPUCLOCK(tid, which) (MAKE_PROCESS_CPUCLOCK(tid, which) | 4)


static void bad(const char *what, clockid_t c)
{
    struct timespec ts;
    rc(what, syscall(SYS_clock_gettime, c, &ts));
    char res[64];
    snprintf(res, sizeof res, "%s getres", what);
    rc(res, syscall(SYS_clock_getres, c, &ts));
}

/* clock_nanosleep on the CPU clocks while another thread computes. */
static void sleeps(clockid_t other_thread)
{
    struct timespec d = {0, 50000000}, left = {7, 7};
    long long p0 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    rc("nanosleep 50 ms of process CPU time", syscall(SYS_clock_nanosleep, CLOCK_PROCESS_CPUTIME_ID, 0, &d, &left));
    printf("process clock advanced 50 ms or more: %s\n", yes(ns_of(CLOCK_PROCESS_CPUTIME_ID) - p0 >= 50000000LL));
    long long target = ns_of(CLOCK_PROCESS_CPUTIME_ID) + 30000000LL;
    struct timespec abs = {target / 1000000000LL, target % 1000000000LL};
    rc("absolute, 30 ms ahead", syscall(SYS_clock_nanosleep, CLOCK_PROCESS_CPUTIME_ID, TIMER_ABSTIME, &abs, NULL));
    printf("reached: %s\n", yes(ns_of(CLOCK_PROCESS_CPUTIME_ID) >= target));
    long long t0 = ns_of(other_thread);
    rc("the other thread's clock, 20 ms", syscall(SYS_clock_nanosleep, other_thread, 0, &(struct timespec){0, 20000000}, NULL));
    printf("it advanced 20 ms or more: %s\n", yes(ns_of(other_thread) - t0 >= 20000000LL));
    rc("CLOCK_THREAD_CPUTIME_ID", syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &d, NULL));
    rc("own thread clock by id", syscall(SYS_clock_nanosleep, MAKE_THREAD_CPUCLOCK(0, 2), 0, &d, NULL));
    rc("own thread clock by tid", syscall(SYS_clock_nanosleep, MAKE_THREAD_CPUCLOCK(gettid(), 2), 0, &d, NULL));
    rc("fd clock", syscall(SYS_clock_nanosleep, MAKE_PROCESS_CPUCLOCK(100, 3), 0, &d, NULL));
    rc("bad timespec", syscall(SYS_clock_nanosleep, CLOCK_PROCESS_CPUTIME_ID, 0, (void *)8, NULL));
    rc("which 3", syscall(SYS_clock_nanosleep, MAKE_PROCESS_CPUCLOCK(0, 3), 0, &d, NULL));
    rc("bad timespec, thread clock", syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, (void *)8, NULL));
}

int main(void)
{
    long long t0 = ns_of(CLOCK_THREAD_CPUTIME_ID), m0 = ns_of(CLOCK_MONOTONIC);
    spin_ms(200);
    long long t1 = ns_of(CLOCK_THREAD_CPUTIME_ID), m1 = ns_of(CLOCK_MONOTONIC);
    printf("spin 200 ms: thread clock advanced 200 ms or more: %s, not past wall time: %s\n",
           yes(t1 - t0 >= 200000000LL), yes(t1 - t0 <= m1 - m0 + 1000000LL));
    msleep(300);
    long long t2 = ns_of(CLOCK_THREAD_CPUTIME_ID);
    printf("sleep 300 ms: thread clock advanced under 100 ms: %s\n", yes(t2 - t1 < 100000000LL));
    long long mine = ns_of(CLOCK_THREAD_CPUTIME_ID), all = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    printf("process clock (read after) >= thread clock: %s\n", yes(all >= mine));
    printf("virt (user) <= prof: %s\n",
           yes(ns_of(MAKE_PROCESS_CPUCLOCK(0, 1)) <= ns_of(MAKE_PROCESS_CPUCLOCK(0, 0))));

    pthread_t th;
    pthread_create(&th, NULL, burner, NULL);
    clockid_t tc;
    printf("pthread_getcpuclockid: %s\n", strerror(pthread_getcpuclockid(th, &tc)));
    long long p0 = ns_of(CLOCK_PROCESS_CPUTIME_ID), mine0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
    while (ns_of(tc) < 100000000LL)
        msleep(10);
    long long mine1 = ns_of(CLOCK_THREAD_CPUTIME_ID), p1 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    printf("other thread's clock reached 100 ms: yes; mine advanced under 60 ms meanwhile: %s; process clock advanced 80 ms or more: %s\n",
           yes(mine1 - mine0 < 60000000LL), yes(p1 - p0 >= 80000000LL));
    sleeps(tc);
    stop = 1;
    pthread_join(th, NULL);

    clockid_t pc;
    printf("clock_getcpuclockid(self): %s\n", strerror(clock_getcpuclockid(0, &pc)));
    printf("own process clock through it >= 300 ms: %s\n", yes(ns_of(pc) >= 300000000LL));
    pid_t child = fork();
    if (child == 0) {
        spin_ms(150);
        pause();
        _exit(0);
    }
    clockid_t cc;
    printf("clock_getcpuclockid(child): %s\n", strerror(clock_getcpuclockid(child, &cc)));
    while (ns_of(cc) < 150000000LL)
        msleep(10);
    printf("child's process clock reached 150 ms: yes\n");
    bad("child's thread clock from here", MAKE_THREAD_CPUCLOCK(child, 2));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    bad("reaped child's clock", cc);
    bad("which 3", MAKE_PROCESS_CPUCLOCK(0, 3));
    bad("fd clock of fd 100", MAKE_PROCESS_CPUCLOCK(100, 3));
    struct timespec res = {9, 9};
    rc("getres CLOCK_THREAD_CPUTIME_ID", syscall(SYS_clock_getres, CLOCK_THREAD_CPUTIME_ID, &res));
    printf("resolution %ld.%09ld\n", (long)res.tv_sec, res.tv_nsec);
    rc("getres CLOCK_PROCESS_CPUTIME_ID", syscall(SYS_clock_getres, CLOCK_PROCESS_CPUTIME_ID, &res));
    printf("resolution %ld.%09ld\n", (long)res.tv_sec, res.tv_nsec);
    return 0;
}
