/* limit_sigpending: RLIMIT_SIGPENDING as Linux 6.1's __send_signal_locked applies it.
 * Every signal queued for a user's processes takes an entry counted against the limit;
 * past it a real-time signal from sigqueue/tgkill fails with EAGAIN, but kill() of a
 * real-time signal still makes it pending -- without its siginfo (it arrives as SI_USER
 * from pid 0, and the extra kills fold into the one pending bit). A standard signal with a
 * user-made siginfo (sigqueue, tgkill: si_code < 0) loses its siginfo the same way; kill()'s
 * standard signals override the limit. An ignored signal is dropped before the limit.
 * Each POSIX timer takes an entry at timer_create (EAGAIN past the limit) until deleted. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *code_name(int code)
{
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    case SI_KERNEL: return "SI_KERNEL";
    default: return "other";
    }
}

static const char *err(long r)
{
    return r < 0 ? strerror(errno) : "ok";
}

static void set_limit(rlim_t n)
{
    struct rlimit l = { n, 1024 };
    if (setrlimit(RLIMIT_SIGPENDING, &l) < 0)
        perror("setrlimit");
}

/* Take every pending signal of `set` and print what each carried. */
static void drain(const char *what, const sigset_t *set)
{
    siginfo_t si;
    struct timespec zero = { 0, 0 };
    int got, n = 0;
    while ((got = sigtimedwait(set, &si, &zero)) > 0) {
        n++;
        char name[32];
        if (got >= SIGRTMIN)
            snprintf(name, sizeof name, "SIGRTMIN+%d", got - SIGRTMIN);
        else
            snprintf(name, sizeof name, "%s", sigabbrev_np(got));
        printf("%s: %s %s from %s\n", what, name,
               code_name(si.si_code), si.si_pid == getpid() ? "us" : si.si_pid == 0 ? "pid 0" : "another pid");
    }
    printf("%s: %d taken\n", what, n);
}

static void run(void)
{
    pid_t me = getpid();
    union sigval v = { 0 };
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN);
    sigaddset(&s, SIGRTMIN + 1);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    sigprocmask(SIG_BLOCK, &s, NULL);

    set_limit(3);
    for (int i = 0; i < 5; i++)
        printf("limit 3: kill(SIGRTMIN) %d: %s\n", i, err(kill(me, SIGRTMIN)));
    printf("limit 3: sigqueue(SIGRTMIN+1): %s\n", err(sigqueue(me, SIGRTMIN + 1, v)));
    printf("limit 3: tgkill(SIGRTMIN+1): %s\n", err(syscall(SYS_tgkill, me, me, SIGRTMIN + 1)));
    drain("limit 3", &s);

    /* Standard signals take entries too: kill(SIGUSR1) is one of the two. */
    set_limit(2);
    printf("limit 2: kill(SIGUSR1): %s\n", err(kill(me, SIGUSR1)));
    printf("limit 2: sigqueue(SIGRTMIN) 1: %s\n", err(sigqueue(me, SIGRTMIN, v)));
    printf("limit 2: sigqueue(SIGRTMIN) 2: %s\n", err(sigqueue(me, SIGRTMIN, v)));
    printf("limit 2: sigqueue(SIGUSR2): %s\n", err(sigqueue(me, SIGUSR2, v)));
    drain("limit 2", &s);

    set_limit(0);
    printf("limit 0: kill(SIGRTMIN) twice: %s %s\n", err(kill(me, SIGRTMIN)), err(kill(me, SIGRTMIN)));
    printf("limit 0: sigqueue(SIGRTMIN+1): %s\n", err(sigqueue(me, SIGRTMIN + 1, v)));
    printf("limit 0: kill(SIGUSR1): %s\n", err(kill(me, SIGUSR1)));
    printf("limit 0: tgkill(SIGUSR2): %s\n", err(syscall(SYS_tgkill, me, me, SIGUSR2)));
    drain("limit 0", &s);

    signal(SIGRTMIN + 2, SIG_IGN);
    printf("limit 0: sigqueue(ignored SIGRTMIN+2): %s\n", err(sigqueue(me, SIGRTMIN + 2, v)));
    set_limit(1024);
    printf("limit 1024: sigqueue(SIGRTMIN+1): %s\n", err(sigqueue(me, SIGRTMIN + 1, v)));
    drain("limit 1024", &s);

    /* A POSIX timer holds a queue entry from timer_create to timer_delete (its signal,
     * when it fires, uses that one). */
    set_limit(2);
    timer_t t[3];
    struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 1 };
    for (int i = 0; i < 3; i++)
        printf("limit 2: timer_create %d: %s\n", i, err(timer_create(CLOCK_MONOTONIC, &ev, &t[i])));
    printf("limit 2, two timers: sigqueue(SIGRTMIN): %s\n", err(sigqueue(me, SIGRTMIN, v)));
    struct itimerspec soon = { .it_value = { 0, 1000000 } };
    timer_settime(t[1], 0, &soon, NULL);
    usleep(20000);
    printf("limit 2, a timer's signal queued: kill(SIGRTMIN) %s\n", err(kill(me, SIGRTMIN)));
    timer_delete(t[0]);
    printf("one deleted: sigqueue(SIGRTMIN): %s\n", err(sigqueue(me, SIGRTMIN, v)));
    printf("one deleted, one queued: timer_create: %s\n", err(timer_create(CLOCK_MONOTONIC, &ev, &t[0])));
    drain("timers", &s);
}

/* exec deletes the process's timers, and gives their queue entries back. */
static void across_exec(const char *self)
{
    pid_t c = fork();
    if (c == 0) {
        set_limit(1);
        timer_t t;
        struct sigevent ev = { .sigev_notify = SIGEV_NONE };
        printf("limit 1: timer_create before exec: %s\n", err(timer_create(CLOCK_MONOTONIC, &ev, &t)));
        printf("limit 1: again: %s\n", err(timer_create(CLOCK_MONOTONIC, &ev, &t)));
        execl(self, self, "after-exec", (char *)NULL);
        _exit(4);
    }
    waitpid(c, NULL, 0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1) {
        timer_t t;
        struct sigevent ev = { .sigev_notify = SIGEV_NONE };
        printf("limit 1: timer_create after exec: %s\n", err(timer_create(CLOCK_MONOTONIC, &ev, &t)));
        return 0;
    }
    pid_t c = fork();
    if (c == 0) {
        run();
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child status: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    across_exec(argv[0]);
    return 0;
}
