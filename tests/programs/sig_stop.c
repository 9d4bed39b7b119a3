/* Job-control signals between processes: SIGSTOP/SIGCONT seen by waitpid with WUNTRACED
 * and WCONTINUED, SIGCHLD with CLD_STOPPED/CLD_CONTINUED/CLD_KILLED to a SA_SIGINFO
 * handler, SA_NOCLDSTOP silencing the stop reports, SIGKILL ending a stopped child,
 * SIGTSTP caught by a handler, kill(0, sig) reaching the whole process group, and a
 * child killed by a signal it does not handle. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int chld_codes[8], chld_n;
static volatile int tstp_hits;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    if (chld_n < 8)
        chld_codes[chld_n++] = si->si_code;
}

static void on_tstp(int sig)
{
    (void)sig;
    tstp_hits++;
}

static void describe(const char *what, int st)
{
    if (WIFSTOPPED(st))
        printf("%s: stopped by %s\n", what, strsignal(WSTOPSIG(st)));
    else if (WIFCONTINUED(st))
        printf("%s: continued\n", what);
    else if (WIFSIGNALED(st))
        printf("%s: killed by %s\n", what, strsignal(WTERMSIG(st)));
    else
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
}

/* Linux sends a continued child's CLD_CONTINUED SIGCHLD only when that child next runs
 * (get_signal), so waitpid(WCONTINUED) may return first; and a SIGCHLD still pending when the
 * next stop sends one merges with it (standard signals do not queue). Wait until the handler
 * has seen `n` reports, so the codes printed do not depend on the scheduler. */
static void await_chld(int n)
{
    sigset_t s, o;
    sigemptyset(&s);
    sigaddset(&s, SIGCHLD);
    sigprocmask(SIG_BLOCK, &s, &o);
    while (chld_n < n)
        sigsuspend(&o);
    sigprocmask(SIG_SETMASK, &o, NULL);
}

static pid_t spawn_looper(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

static void codes(const char *what)
{
    sigset_t s, o;
    sigemptyset(&s);
    sigaddset(&s, SIGCHLD);
    sigprocmask(SIG_BLOCK, &s, &o);
    printf("%s SIGCHLD codes:", what);
    for (int i = 0; i < chld_n; i++)
        printf(" %s", chld_codes[i] == CLD_STOPPED ? "CLD_STOPPED" : chld_codes[i] == CLD_CONTINUED ? "CLD_CONTINUED"
               : chld_codes[i] == CLD_KILLED ? "CLD_KILLED" : chld_codes[i] == CLD_EXITED ? "CLD_EXITED" : "?");
    printf("\n");
    chld_n = 0;
    sigprocmask(SIG_SETMASK, &o, NULL);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);

    int st;
    pid_t c = spawn_looper();
    kill(c, SIGSTOP);
    waitpid(c, &st, WUNTRACED);
    describe("after SIGSTOP", st);
    kill(c, SIGCONT);
    waitpid(c, &st, WCONTINUED);
    describe("after SIGCONT", st);
    await_chld(2);                          /* CLD_STOPPED, CLD_CONTINUED */
    printf("nothing more to report: %d\n", waitpid(c, &st, WNOHANG | WUNTRACED | WCONTINUED));
    kill(c, SIGSTOP);
    waitpid(c, &st, WUNTRACED);
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    describe("SIGKILL while stopped", st);
    codes("with a handler:");

    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    c = spawn_looper();
    kill(c, SIGSTOP);
    waitpid(c, &st, WUNTRACED);
    describe("SA_NOCLDSTOP: after SIGSTOP", st);
    kill(c, SIGCONT);
    waitpid(c, &st, WCONTINUED);
    kill(c, SIGTERM);
    waitpid(c, &st, 0);
    describe("SA_NOCLDSTOP: SIGTERM", st);
    codes("with SA_NOCLDSTOP:");

    /* a stop and a continue while the child sleeps in read: the read just carries on */
    int fds[2];
    pipe(fds);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        char buf[8] = { 0 };
        ssize_t n = read(fds[0], buf, sizeof buf);
        _exit(n == 5 && memcmp(buf, "hello", 5) == 0 ? 9 : 1);
    }
    for (volatile int i = 0; i < 2000000; i++)
        ;
    kill(c, SIGSTOP);
    waitpid(c, &st, WUNTRACED);
    describe("reader stopped", st);
    kill(c, SIGCONT);
    waitpid(c, &st, WCONTINUED);
    write(fds[1], "hello", 5);
    waitpid(c, &st, 0);
    describe("reader after SIGCONT and a write (9: read the 5 bytes)", st);
    close(fds[0]);
    close(fds[1]);
    codes("stopped reader:");

    /* a caught SIGTSTP does not stop */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        signal(SIGTSTP, on_tstp);
        kill(getpid(), SIGTSTP);
        _exit(tstp_hits == 1 ? 7 : 1);
    }
    waitpid(c, &st, WUNTRACED);
    describe("child catching SIGTSTP", st);
    codes("caught SIGTSTP:");

    /* kill(0, sig) reaches every process of the group: done in a child with a group of its own */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        int ready[2];
        pipe(ready);
        signal(SIGUSR1, SIG_IGN);           /* both children inherit it; one resets it */
        pid_t ignorer = fork();
        if (ignorer == 0) {
            write(ready[1], "i", 1);
            for (;;)
                pause();
        }
        pid_t dfl = fork();
        if (dfl == 0) {
            signal(SIGUSR1, SIG_DFL);
            write(ready[1], "d", 1);
            for (;;)
                pause();
        }
        char two[2];
        read(ready[0], two, 1);
        read(ready[0], two + 1, 1);
        printf("kill(0, SIGUSR1) = %d\n", kill(0, SIGUSR1));
        waitpid(dfl, &st, 0);
        describe("group member with SIG_DFL", st);
        kill(ignorer, SIGKILL);
        waitpid(ignorer, &st, 0);
        describe("group member that ignores it (then SIGKILL)", st);
        fflush(stdout);
        _exit(3);
    }
    waitpid(c, &st, 0);
    describe("the group's leader, which ignored it", st);
    codes("group kill:");
    printf("kill(-99999, SIGUSR1) = %d %s\n", kill(-99999, SIGUSR1), strerrorname_np(errno));
    return 0;
}
