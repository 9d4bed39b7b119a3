/* getrusage and times report real CPU time: a child that burns CPU shows up in the
 * parent's RUSAGE_CHILDREN and tms_cutime once reaped, and not before. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double secs(struct timeval tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

/* Burn `seconds` of this process's CPU time (not wall time: on a loaded machine a wall-clock
 * burn may get only a sliver of a CPU), giving up after 60 s of wall time. */
static double since(struct timespec a, struct timespec b) {
    return (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
}

static void burn(double seconds) {
    struct timespec c0, c, t0, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    volatile unsigned long x = 1;
    do {
        for (int i = 0; i < 100000; i++) x = x * 6364136223846793005UL + 1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (since(c0, c) < seconds && since(t0, t) < 60);
}

int main(void) {
    struct rusage ru;
    struct tms tm;
    long hz = sysconf(_SC_CLK_TCK);
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("children before: %s\n", secs(ru.ru_utime) + secs(ru.ru_stime) == 0 ? "zero" : "nonzero");
    pid_t pid = fork();
    if (pid == 0) { burn(0.4); _exit(0); }
    waitpid(pid, NULL, 0);
    getrusage(RUSAGE_CHILDREN, &ru);
    double child = secs(ru.ru_utime) + secs(ru.ru_stime);
    printf("children after: %s\n", child > 0.1 && child < 5 ? "about 0.4 s" : "WRONG");
    clock_t ticks = times(&tm);
    printf("times: cutime+cstime %s, return value %s, CLK_TCK %ld\n",
           (tm.tms_cutime + tm.tms_cstime) >= 0.1 * hz ? "counted" : "WRONG",
           ticks > 0 ? "positive" : "WRONG", hz);
    burn(0.2);
    getrusage(RUSAGE_SELF, &ru);
    printf("self: %s\n", secs(ru.ru_utime) + secs(ru.ru_stime) > 0.05 ? "counted" : "WRONG");
    return 0;
}
