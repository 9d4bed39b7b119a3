/* limit_rttime: RLIMIT_RTTIME as Linux 6.1 enforces it (sched/rt.c watchdog,
 * check_thread_timers): a SCHED_FIFO thread that runs that many microseconds of CPU without
 * sleeping gets SIGXCPU at the soft limit and each second after it, SIGKILL at the hard one.
 * A sleep (or a stop) starts the count again; a SCHED_OTHER thread is never counted. CPU times, not
 * wall times: a loaded host slows the run, not the outcome. A stretch between two sleeps stays
 * hundreds of ms under the soft limit: on a loaded host QEMU's virtual CPU stalls (0.1-0.4 s
 * seen at 96% CPU pressure), a guest without steal time counts the stall as the running
 * thread's CPU time (the thread clock jumps, and a spin that ends across one is that much
 * longer), and only Linux's rt watchdog, counting ticks, leaves most of it out. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int tell[2];

static void on_xcpu(int sig)
{
    (void)sig;
    if (write(tell[1], "x", 1) < 0)
        _exit(3);
}

static long cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void spin_ms(long ms)
{
    long end = cpu_ms() + ms;
    while (cpu_ms() < end)
        ;
}

static void run(const char *what, int policy, rlim_t soft_ms, rlim_t hard_ms, int sleeps)
{
    if (pipe(tell) < 0)
        return;
    pid_t c = fork();
    if (c == 0) {
        close(tell[0]);
        signal(SIGXCPU, on_xcpu);
        struct sched_param p = { .sched_priority = policy == SCHED_OTHER ? 0 : 1 };
        if (sched_setscheduler(0, policy, &p) < 0)
            perror("sched_setscheduler");
        struct rlimit l = { soft_ms * 1000, hard_ms * 1000 };
        if (setrlimit(RLIMIT_RTTIME, &l) < 0)
            perror("setrlimit");
        if (sleeps == 2) {                      /* a stop and SIGCONT is a wake-up too */
            spin_ms(300);
            raise(SIGSTOP);
            spin_ms(300);
            _exit(0);
        }
        if (sleeps) {
            for (int i = 0; i < 40; i++) {      /* 1.2 s of CPU, 30 ms at a time */
                spin_ms(30);
                usleep(1000);
            }
            _exit(0);
        }
        spin_ms(3000);
        _exit(0);
    }
    close(tell[1]);
    int st;
    waitpid(c, &st, WUNTRACED);
    if (WIFSTOPPED(st)) {
        kill(c, SIGCONT);
        waitpid(c, &st, 0);
    }
    char buf[64];
    ssize_t n = read(tell[0], buf, sizeof buf);
    close(tell[0]);
    printf("%s: SIGXCPU %zd times, then %s\n", what, n < 0 ? 0 : n,
           WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : WEXITSTATUS(st) ? "an error" : "exit 0");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    run("FIFO, soft 200 ms, hard 1.5 s, spinning", SCHED_FIFO, 200, 1500, 0);
    run("RR, soft 500 ms, hard 1 s, sleeping every 30 ms", SCHED_RR, 500, 1000, 1);
    run("OTHER, soft 100 ms, hard 300 ms, spinning", SCHED_OTHER, 100, 300, 0);
    run("FIFO, soft 500 ms, 300 ms, stopped, continued, 300 ms", SCHED_FIFO, 500, 1500, 2);
    return 0;
}
