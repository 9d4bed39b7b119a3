/* POSIX timers: timer_create (NULL sigevent, SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE),
 * timer_settime/gettime (relative, TIMER_ABSTIME, periodic), si_overrun and timer_getoverrun
 * for a periodic timer whose signal waited, an ignored signal that keeps the timer running,
 * ids consumed by failed creates, no timers after fork or exec, and the EINVAL/EFAULT/EPERM
 * cases. Timings are printed as ok/FAIL against generous bounds. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

#ifndef CLOCK_BOOTTIME_ALARM
#define CLOCK_BOOTTIME_ALARM 9
#endif

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAIL"); }

static long sys_timer_create(clockid_t c, struct sigevent *ev, void *id)
{
    return syscall(SYS_timer_create, c, ev, id);
}

static void arm(int id, long value_ns, long interval_ns, int flags)
{
    struct itimerspec t = {{interval_ns / 1000000000, interval_ns % 1000000000},
                           {value_ns / 1000000000, value_ns % 1000000000}};
    syscall(SYS_timer_settime, id, flags, &t, NULL);
}

static siginfo_t wait_for(int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    sigwaitinfo(&s, &si);
    return si;
}

static volatile int hits, rt_value, rt_code;
static void on_usr1(int sig) { (void)sig; hits++; }
static void on_rt(int sig, siginfo_t *si, void *uc) { (void)sig; (void)uc; rt_value = si->si_value.sival_int; rt_code = si->si_code; }

static int thread_timer;
static pid_t thread_tid;
static volatile int thread_ready;
static void *waiter(void *arg)
{
    (void)arg;
    thread_tid = gettid();
    thread_ready = 1;
    siginfo_t si = wait_for(SIGUSR2);
    printf("thread got signo %d code %d value %d\n", si.si_signo, si.si_code, si.si_value.sival_int);
    return NULL;
}

int main(int argc, char **argv)
{
    int id;
    long r;
    struct itimerspec cur;
    if (argc > 1) {                 /* after exec: the timers are gone */
        r = syscall(SYS_timer_gettime, 0, &cur);
        printf("after exec, timer 0: %s\n", err(r));
        return 0;
    }
    sigset_t all;
    sigemptyset(&all);
    sigaddset(&all, SIGALRM);
    sigaddset(&all, SIGUSR1);
    sigaddset(&all, SIGUSR2);
    sigprocmask(SIG_BLOCK, &all, NULL);

    /* NULL sigevent: SIGALRM carrying the id. */
    r = sys_timer_create(CLOCK_MONOTONIC, NULL, &id);
    printf("create NULL sigevent: %s id %d\n", err(r), id);
    arm(id, 50000000, 0, 0);
    siginfo_t si = wait_for(SIGALRM);
    printf("SIGALRM: code %d timerid %d value %d overrun %d\n", si.si_code, si.si_timerid, si.si_value.sival_int,
           si.si_overrun);
    syscall(SYS_timer_gettime, id, &cur);
    printf("spent one-shot: %ld.%09ld interval %ld.%09ld\n", cur.it_value.tv_sec, cur.it_value.tv_nsec,
           cur.it_interval.tv_sec, cur.it_interval.tv_nsec);

    /* A periodic timer whose signal waits: the periods it missed are the overrun. */
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 77;
    int per;
    r = sys_timer_create(CLOCK_MONOTONIC, &ev, &per);
    printf("create SIGUSR1: %s id %d\n", err(r), per);
    arm(per, 20000000, 20000000, 0);
    usleep(110000);
    syscall(SYS_timer_gettime, per, &cur);
    check("periodic, signal pending: next expiry within the interval",
          cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000);
    si = wait_for(SIGUSR1);
    printf("SIGUSR1: code %d timerid %d value %d\n", si.si_code, si.si_timerid, si.si_value.sival_int);
    check("overrun 3..5 after 110ms of a 20ms period", si.si_overrun >= 3 && si.si_overrun <= 5);
    r = syscall(SYS_timer_getoverrun, per);
    check("timer_getoverrun is the delivered overrun", r == si.si_overrun);
    si = wait_for(SIGUSR1);
    check("the next period came with a small overrun", si.si_overrun <= 1);
    arm(per, 0, 0, 0);
    syscall(SYS_timer_gettime, per, &cur);
    printf("disarmed: %ld.%09ld interval %ld.%09ld\n", cur.it_value.tv_sec, cur.it_value.tv_nsec,
           cur.it_interval.tv_sec, cur.it_interval.tv_nsec);

    /* SIGEV_NONE: nothing is sent, the time left is still there to read. */
    ev.sigev_notify = SIGEV_NONE;
    int none;
    r = sys_timer_create(CLOCK_REALTIME, &ev, &none);
    printf("create SIGEV_NONE: %s id %d\n", err(r), none);
    arm(none, 1000000000, 0, 0);
    syscall(SYS_timer_gettime, none, &cur);
    check("SIGEV_NONE: 0 < left <= 1s", cur.it_value.tv_sec == 0 ? cur.it_value.tv_nsec > 0
          : cur.it_value.tv_sec == 1 && cur.it_value.tv_nsec == 0);
    arm(none, 10000000, 0, 0);
    usleep(30000);
    syscall(SYS_timer_gettime, none, &cur);
    printf("SIGEV_NONE expired: %ld.%09ld\n", cur.it_value.tv_sec, cur.it_value.tv_nsec);
    arm(none, 10000000, 30000000, 0);
    usleep(50000);
    syscall(SYS_timer_gettime, none, &cur);
    check("SIGEV_NONE periodic: 0 < left <= 30ms", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0
          && cur.it_value.tv_nsec <= 30000000);
    sigset_t pend;
    sigpending(&pend);
    printf("nothing pending: %d %d %d\n", sigismember(&pend, SIGALRM), sigismember(&pend, SIGUSR1),
           sigismember(&pend, SIGUSR2));

    /* TIMER_ABSTIME on CLOCK_REALTIME, and a one-shot whose signal is still pending. */
    int abs_id;
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    ev.sigev_value.sival_int = 5;
    sys_timer_create(CLOCK_REALTIME, &ev, &abs_id);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long ns = (now.tv_nsec + 30000000);
    struct itimerspec t = {{0, 0}, {now.tv_sec + ns / 1000000000, ns % 1000000000}};
    r = syscall(SYS_timer_settime, abs_id, TIMER_ABSTIME, &t, NULL);
    usleep(100000);
    syscall(SYS_timer_gettime, abs_id, &cur);
    printf("abstime expired, signal pending: %ld.%09ld\n", cur.it_value.tv_sec, cur.it_value.tv_nsec);
    si = wait_for(SIGUSR2);
    printf("abstime: %s, signo %d value %d\n", err(r), si.si_signo, si.si_value.sival_int);

    /* A pending signal outlives timer_delete. */
    arm(abs_id, 1000000, 0, 0);
    usleep(30000);
    r = syscall(SYS_timer_delete, abs_id);
    printf("delete: %s; again: ", err(r));
    r = syscall(SYS_timer_delete, abs_id);
    printf("%s\n", err(r));
    si = wait_for(SIGUSR2);
    printf("still delivered after delete: signo %d code %d\n", si.si_signo, si.si_code);

    /* SIGEV_THREAD_ID: the signal goes to that thread. */
    pthread_t th;
    pthread_create(&th, NULL, waiter, NULL);
    while (!thread_ready) usleep(1000);
    ev.sigev_notify = SIGEV_SIGNAL | SIGEV_THREAD_ID;
    ev.sigev_signo = SIGUSR2;
    ev.sigev_value.sival_int = 9;
    ev._sigev_un._tid = thread_tid;
    r = sys_timer_create(CLOCK_MONOTONIC, &ev, &thread_timer);
    printf("create THREAD_ID: %s id %d\n", err(r), thread_timer);
    arm(thread_timer, 20000000, 0, 0);
    fflush(stdout);
    pthread_join(th, NULL);

    /* An ignored signal: the periodic timer keeps running; a handler installed later sees it. */
    signal(SIGUSR1, SIG_IGN);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    arm(per, 10000000, 10000000, 0);
    usleep(50000);
    signal(SIGUSR1, on_usr1);
    for (int i = 0; i < 100 && hits < 2; i++)
        usleep(10000);
    check("ignored, then handled: the timer kept running", hits >= 2);
    arm(per, 0, 0, 0);

    /* A handler with SA_SIGINFO. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_rt;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN, &sa, NULL);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
    ev.sigev_value.sival_int = 1234;
    int rt;
    sys_timer_create(CLOCK_BOOTTIME, &ev, &rt);
    arm(rt, 20000000, 0, 0);
    while (!rt_value) pause();
    printf("handler: value %d code %d\n", rt_value, rt_code);

    /* CPU-time clocks: the timer runs while the process (the thread) does. */
    hits = 0;
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    int cpu, tcpu;
    r = sys_timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &cpu);
    printf("create on CLOCK_PROCESS_CPUTIME_ID: %s id %d\n", err(r), cpu);
    arm(cpu, 1000000000, 0, 0);
    syscall(SYS_timer_gettime, cpu, &cur);
    check("process CPU timer: 0 < left <= 1s", cur.it_value.tv_sec == 0 ? cur.it_value.tv_nsec > 0
          : cur.it_value.tv_sec == 1 && cur.it_value.tv_nsec == 0);
    arm(cpu, 50000000, 0, 0);
    time_t start = time(NULL);
    while (!hits && time(NULL) - start < 30) {}
    check("process CPU timer fired after 50ms of running", hits == 1);
    ev.sigev_notify = SIGEV_NONE;
    r = sys_timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &tcpu);
    printf("create on CLOCK_THREAD_CPUTIME_ID: %s id %d\n", err(r), tcpu);
    arm(tcpu, 30000000, 0, 0);
    start = time(NULL);
    do
        syscall(SYS_timer_gettime, tcpu, &cur);
    while ((cur.it_value.tv_sec || cur.it_value.tv_nsec) && time(NULL) - start < 30);
    check("thread CPU timer (SIGEV_NONE) ran out", !cur.it_value.tv_sec && !cur.it_value.tv_nsec);

    /* Errors, and the ids they use up. */
    r = sys_timer_create(99, NULL, &id);
    printf("bad clock: %s\n", err(r));
    r = sys_timer_create(CLOCK_MONOTONIC_RAW, NULL, &id);
    printf("MONOTONIC_RAW: %s\n", err(r));
    r = sys_timer_create(CLOCK_MONOTONIC, (void *)8, &id);
    printf("bad sigevent pointer: %s\n", err(r));
    ev.sigev_notify = 3;
    r = sys_timer_create(CLOCK_MONOTONIC, &ev, &id);
    printf("notify 3: %s\n", err(r));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 0;
    r = sys_timer_create(CLOCK_MONOTONIC, &ev, &id);
    printf("signo 0: %s\n", err(r));
    ev.sigev_signo = 65;
    r = sys_timer_create(CLOCK_MONOTONIC, &ev, &id);
    printf("signo 65: %s\n", err(r));
    ev.sigev_signo = SIGUSR1;
    ev.sigev_notify = SIGEV_SIGNAL | SIGEV_THREAD_ID;
    fflush(stdout);
    pid_t other = fork();
    if (other == 0) {
        pause();
        _exit(0);
    }
    ev._sigev_un._tid = other;
    r = sys_timer_create(CLOCK_MONOTONIC, &ev, &id);
    printf("thread of another process: %s\n", err(r));
    kill(other, SIGKILL);
    waitpid(other, NULL, 0);
    ev.sigev_notify = SIGEV_NONE;
    ev.sigev_signo = 0;
    r = sys_timer_create(CLOCK_MONOTONIC, &ev, &id);
    printf("SIGEV_NONE with signo 0: %s id %d\n", err(r), id);
    r = sys_timer_create(CLOCK_MONOTONIC, &ev, (void *)8);
    printf("bad id pointer: %s\n", err(r));
    r = sys_timer_create(CLOCK_MONOTONIC, &ev, &id);
    printf("next id: %d\n", id);
    r = syscall(SYS_timer_settime, id, 0, NULL, NULL);
    printf("settime NULL: %s\n", err(r));
    t.it_value.tv_nsec = 1000000000;
    r = syscall(SYS_timer_settime, id, 0, &t, NULL);
    printf("settime nsec 1e9: %s\n", err(r));
    t.it_value.tv_nsec = 0;
    r = syscall(SYS_timer_settime, 1000, 0, &t, NULL);
    printf("settime unknown id: %s\n", err(r));
    r = syscall(SYS_timer_settime, id, 0, (void *)8, NULL);
    printf("settime bad pointer: %s\n", err(r));
    r = syscall(SYS_timer_gettime, 1000, &cur);
    printf("gettime unknown id: %s\n", err(r));
    r = syscall(SYS_timer_gettime, id, NULL);
    printf("gettime NULL: %s\n", err(r));
    r = syscall(SYS_timer_getoverrun, 1000);
    printf("getoverrun unknown id: %s\n", err(r));
    r = syscall(SYS_timer_delete, -1);
    printf("delete -1: %s\n", err(r));
    r = sys_timer_create(CLOCK_BOOTTIME_ALARM, &ev, &id);
    printf("BOOTTIME_ALARM as root: %s\n", err(r));

    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        r = syscall(SYS_timer_gettime, none, &cur);
        printf("child, the parent's timer: %s\n", err(r));
        r = sys_timer_create(CLOCK_MONOTONIC, NULL, &id);
        printf("child's first timer: id %d\n", id);
        if (setresuid(65534, 65534, 65534) == 0) {
            r = sys_timer_create(CLOCK_BOOTTIME_ALARM, &ev, &id);
            printf("BOOTTIME_ALARM as nobody: %s\n", err(r));
        }
        fflush(stdout);
        execl("/proc/self/exe", argv[0], "after-exec", (char *)NULL);
        _exit(99);
    }
    int status;
    waitpid(child, &status, 0);
    printf("child status %d\n", status);
    return 0;
}
