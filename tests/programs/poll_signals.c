/* poll/select and signals: a handled signal ends the wait with EINTR (even with SA_RESTART),
 * ppoll/pselect's temporary mask lets a blocked signal in for the wait only, and a blocking
 * pipe read restarts with SA_RESTART or fails with EINTR without it. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAIL"); fflush(stdout); }

static void handle(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = flags;
    sigaction(SIGALRM, &sa, NULL);
}

static void arm_ms(int ms)
{
    struct itimerval once = {{0, 0}, {0, ms * 1000}};
    setitimer(ITIMER_REAL, &once, NULL);
}

static int alrm_blocked(void)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, SIGALRM);
}

int main(void)
{
    int p[2];
    char buf[16];
    pipe(p);
    struct pollfd pf = {p[0], POLLIN, 0};

    handle(SA_RESTART);
    arm_ms(50);
    int n = poll(&pf, 1, 10000);
    check("poll EINTR despite SA_RESTART", n == -1 && errno == EINTR && alarms == 1);

    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    arm_ms(50);
    n = select(p[0] + 1, &rd, NULL, NULL, NULL);
    check("select EINTR", n == -1 && errno == EINTR && alarms == 2);

    /* ppoll: SIGALRM blocked outside, pending before the call; the call's empty mask lets it in. */
    sigset_t block, none;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &block, NULL);
    arm_ms(20);
    usleep(80000);
    check("blocked SIGALRM stays pending", alarms == 2);
    struct timespec ten = {10, 0};
    n = ppoll(&pf, 1, &ten, &none);
    check("ppoll with an unblocking mask EINTR", n == -1 && errno == EINTR && alarms == 3);
    check("ppoll restored the blocking mask", alrm_blocked());

    /* ppoll mask without any signal: restored on a normal return. */
    struct timespec short_wait = {0, 10000000};
    n = ppoll(&pf, 1, &short_wait, &none);
    check("ppoll timeout keeps the caller's mask", n == 0 && alrm_blocked());

    /* pselect: the same with a signal arriving during the wait. */
    arm_ms(50);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    n = pselect(p[0] + 1, &rd, NULL, NULL, &ten, &none);
    check("pselect with an unblocking mask EINTR", n == -1 && errno == EINTR && alarms == 4);
    check("pselect restored the blocking mask", alrm_blocked());
    sigprocmask(SIG_UNBLOCK, &block, NULL);

    /* Blocking pipe read: SA_RESTART restarts it (data arrives later); without, EINTR. */
    pid_t pid = fork();
    if (pid == 0) {
        usleep(300000);
        write(p[1], "late", 4);
        _exit(0);
    }
    arm_ms(50);
    n = read(p[0], buf, sizeof buf);
    check("read restarted by SA_RESTART gets the data", n == 4 && alarms == 5);
    waitpid(pid, NULL, 0);
    handle(0);
    arm_ms(50);
    n = read(p[0], buf, sizeof buf);
    check("read without SA_RESTART EINTR", n == -1 && errno == EINTR && alarms == 6);
    return 0;
}
