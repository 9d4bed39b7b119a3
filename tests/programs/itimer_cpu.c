/* ITIMER_VIRTUAL and ITIMER_PROF: a process spinning in user mode is ended by SIGVTALRM /
 * SIGPROF (default action) once it used the CPU time asked for; a sleeping one is not. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAIL"); fflush(stdout); }

static int spin_until_killed(int which)
{
    pid_t pid = fork();
    if (pid == 0) {
        alarm(30);                              /* safety net: SIGALRM would mean FAIL */
        struct itimerval it = {{0, 0}, {0, 100000}};
        setitimer(which, &it, NULL);
        for (volatile unsigned long i = 0;; i++) {}
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
}

int main(void)
{
    check("spinning child killed by SIGVTALRM", spin_until_killed(ITIMER_VIRTUAL) == SIGVTALRM);
    check("spinning child killed by SIGPROF", spin_until_killed(ITIMER_PROF) == SIGPROF);

    struct itimerval it = {{1, 0}, {5, 0}}, got;
    setitimer(ITIMER_VIRTUAL, &it, NULL);
    getitimer(ITIMER_VIRTUAL, &got);
    check("VIRTUAL interval kept", got.it_interval.tv_sec == 1 && got.it_interval.tv_usec == 0);
    check("VIRTUAL value about 5 s", got.it_value.tv_sec == 4 || got.it_value.tv_sec == 5);
    struct timespec nap = {0, 100000000};
    nanosleep(&nap, NULL);                      /* sleeping uses no CPU time: nothing fires */
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_VIRTUAL, &off, &got);
    check("VIRTUAL disarmed, old value returned", got.it_interval.tv_sec == 1);
    getitimer(ITIMER_VIRTUAL, &got);
    check("VIRTUAL now idle", got.it_value.tv_sec == 0 && got.it_value.tv_usec == 0);
    return 0;
}
