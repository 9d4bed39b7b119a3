/* setitimer/getitimer/alarm without signal handlers: values round-trip, the timer counts down,
 * alarm() reports what was left, and ITIMER_REAL's SIGALRM (default action) kills the process. */
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

int main(void)
{
    struct itimerval it = {{0, 0}, {0, 0}}, old;
    check("getitimer idle", getitimer(ITIMER_REAL, &it) == 0 && it.it_value.tv_sec == 0
          && it.it_value.tv_usec == 0 && it.it_interval.tv_sec == 0);

    struct itimerval set = {{2, 500000}, {100, 0}};
    check("setitimer REAL", setitimer(ITIMER_REAL, &set, &old) == 0);
    check("old value was zero", old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);
    usleep(20000);
    getitimer(ITIMER_REAL, &it);
    check("interval kept", it.it_interval.tv_sec == 2 && it.it_interval.tv_usec == 500000);
    check("value counts down", it.it_value.tv_sec == 99 && it.it_value.tv_usec > 0);
    struct itimerval off = {{0, 0}, {0, 0}};
    check("disarm returns the old setting", setitimer(ITIMER_REAL, &off, &old) == 0
          && old.it_value.tv_sec == 99 && old.it_interval.tv_sec == 2);
    getitimer(ITIMER_REAL, &it);
    check("disarmed", it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0);

    /* Errors: bad which, bad timeval. */
    check("setitimer bad which EINVAL", setitimer(7, &set, NULL) == -1 && errno == EINVAL);
    check("getitimer bad which EINVAL", getitimer(7, &it) == -1 && errno == EINVAL);
    struct itimerval bad = {{0, 0}, {0, 1000000}};
    check("setitimer usec 1e6 EINVAL", setitimer(ITIMER_REAL, &bad, NULL) == -1 && errno == EINVAL);
    bad.it_value.tv_usec = -1;
    check("setitimer negative usec EINVAL", setitimer(ITIMER_REAL, &bad, NULL) == -1 && errno == EINVAL);

    /* alarm() is setitimer underneath on arm64. */
    check("alarm 50 returns 0", alarm(50) == 0);
    unsigned left = alarm(0);
    check("alarm 0 returns what was left (50)", left == 50);

    /* SIGALRM with its default action ends a process that waits for it. */
    pid_t pid = fork();
    if (pid == 0) {
        struct itimerval once = {{0, 0}, {0, 50000}};
        setitimer(ITIMER_REAL, &once, NULL);
        for (;;)
            pause();
    }
    int status;
    waitpid(pid, &status, 0);
    check("child killed by SIGALRM", WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM);

    /* The timer belongs to the process: a forked child does not inherit it. */
    alarm(100);
    pid = fork();
    if (pid == 0) {
        getitimer(ITIMER_REAL, &it);
        _exit(it.it_value.tv_sec == 0 ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    check("fork does not inherit the timer", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    alarm(0);
    return 0;
}
