/* ITIMER_REAL with a SIGALRM handler: interval reloads, and sleeps cut short by a handled
 * signal (nanosleep and clock_nanosleep: EINTR with the time left). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAIL"); fflush(stdout); }

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    /* Interval timer: three SIGALRMs 20 ms apart, each ending a pause(). */
    struct itimerval every = {{0, 20000}, {0, 20000}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &every, NULL);
    while (alarms < 3)
        pause();
    setitimer(ITIMER_REAL, &off, NULL);
    check("three SIGALRMs from one interval timer", alarms == 3);

    /* nanosleep interrupted by a handled SIGALRM: EINTR and the time left in rem. */
    alarms = 0;
    struct itimerval once = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &once, NULL);
    struct timespec req = {10, 0}, rem = {0, 0};
    int r = nanosleep(&req, &rem);
    check("nanosleep EINTR", r == -1 && errno == EINTR && alarms == 1);
    check("rem between 5 and 10 s", rem.tv_sec >= 5 && rem.tv_sec < 10);

    /* SA_RESTART does not restart a sleep. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &once, NULL);
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
    check("clock_nanosleep returns EINTR even with SA_RESTART", r == EINTR && rem.tv_sec >= 5 && rem.tv_sec < 10);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 10;
    setitimer(ITIMER_REAL, &once, NULL);
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    check("absolute clock_nanosleep EINTR", r == EINTR);

    /* alarm() through setitimer, caught. */
    alarms = 0;
    alarm(1);
    pause();
    check("alarm(1) caught", alarms == 1);
    return 0;
}
