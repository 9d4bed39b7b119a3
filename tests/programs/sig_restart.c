/* Interrupted syscalls: a handler with SA_RESTART makes a blocking pipe read carry on
 * (it returns the byte written later); without SA_RESTART the read fails with EINTR.
 * sigsuspend (and sigtimedwait, when another signal's handler runs) always returns
 * EINTR after the handler ran, with the handler running under
 * the temporary mask and the old mask back afterwards. A child process sends the signal
 * while the parent sleeps in read (it waits 100 ms first, then 100 ms more before
 * writing). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int hits;
static volatile int mask_had_usr2;

static void handler(int sig)
{
    sigset_t now;
    (void)sig;
    hits++;
    sigprocmask(SIG_BLOCK, NULL, &now);
    mask_had_usr2 = sigismember(&now, SIGUSR2);
}

static void spin_ms(int ms)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

static void read_interrupted(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigaction(SIGUSR1, &sa, NULL);
    int fds[2];
    pipe(fds);
    hits = 0;
    fflush(stdout);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        spin_ms(100);
        kill(parent, SIGUSR1);
        spin_ms(100);
        write(fds[1], "x", 1);
        _exit(0);
    }
    char c = 0;
    ssize_t n = read(fds[0], &c, 1);
    int e = errno;
    printf("%s: read = %zd %s%s, handler ran %d\n", flags & SA_RESTART ? "SA_RESTART" : "no SA_RESTART",
           n, n < 0 ? strerrorname_np(e) : "", n == 1 && c == 'x' ? "(got the byte written later)" : "", hits);
    waitpid(pid, NULL, 0);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    read_interrupted(SA_RESTART);
    read_interrupted(0);

    /* sigsuspend with the signal already pending: no other process needed */
    signal(SIGUSR1, handler);
    sigset_t block, wait_mask, after;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR1);
    hits = 0;
    sigemptyset(&wait_mask);
    sigaddset(&wait_mask, SIGUSR2);
    int r = sigsuspend(&wait_mask);
    int e = errno;
    sigprocmask(SIG_BLOCK, NULL, &after);
    printf("sigsuspend = %d %s, handler ran %d, handler saw the temporary mask (USR2 blocked) %d, "
           "USR1 blocked again after %d, USR2 not blocked after %d\n",
           r, strerrorname_np(e), hits, mask_had_usr2, sigismember(&after, SIGUSR1), !sigismember(&after, SIGUSR2));

    /* sigsuspend woken by another process */
    fflush(stdout);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        spin_ms(100);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    hits = 0;
    sigemptyset(&wait_mask);
    r = sigsuspend(&wait_mask);
    e = errno;
    printf("sigsuspend until a child's kill = %d %s, handler ran %d\n", r, strerrorname_np(e), hits);
    waitpid(pid, NULL, 0);

    /* sigtimedwait for SIGUSR2 is interrupted by a handled SIGUSR1: EINTR, never restarted */
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        spin_ms(100);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    hits = 0;
    struct timespec five = { 5, 0 };
    r = sigtimedwait(&usr2, NULL, &five);
    e = errno;
    printf("sigtimedwait interrupted by a handled signal = %d %s, handler ran %d\n", r, strerrorname_np(e), hits);
    waitpid(pid, NULL, 0);

    /* nanosleep: a handler means EINTR even with SA_RESTART, with the time left in rem */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        spin_ms(100);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    hits = 0;
    struct timespec req = { 2, 0 }, rem = { 0, 0 };
    r = nanosleep(&req, &rem);
    e = errno;
    printf("nanosleep 2 s, SA_RESTART handler after 0.1 s = %d %s, handler ran %d, rem between 1 and 2 s: %d\n",
           r, strerrorname_np(e), hits, rem.tv_sec == 1);
    waitpid(pid, NULL, 0);

    /* ... while a stop and a continue (no handler runs) let it sleep the rest */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct timespec a, b, want = { 0, 400 * 1000 * 1000 };
        clock_gettime(CLOCK_MONOTONIC, &a);
        int rr = nanosleep(&want, NULL);
        clock_gettime(CLOCK_MONOTONIC, &b);
        long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
        _exit(rr == 0 && ms >= 400 ? 0 : 1);
    }
    spin_ms(100);
    kill(pid, SIGSTOP);
    int st;
    waitpid(pid, &st, WUNTRACED);
    kill(pid, SIGCONT);
    waitpid(pid, &st, 0);
    printf("nanosleep 0.4 s across SIGSTOP/SIGCONT returned 0 after sleeping it all: %d\n",
           WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return 0;
}
