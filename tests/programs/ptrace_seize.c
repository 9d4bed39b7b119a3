/* PTRACE_SEIZE semantics, compared with Linux: INTERRUPT of a tracee asleep in a syscall
 * (PTRACE_EVENT_STOP, the syscall restarted), SIGSTOP's signal-delivery stop, then the
 * group stop reported as PTRACE_EVENT_STOP, LISTEN and SIGCONT, TRACEFORK auto-attach
 * (the new pid in GETEVENTMSG, the child's own EVENT_STOP), the exec event, the real
 * parent's wait after the tracer collected the exit, TracerPid, DETACH while stopped,
 * and EXITKILL. Prints no pids. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long pt(long req, long pid, long addr, long data) {
    return syscall(SYS_ptrace, req, pid, addr, data);
}

static int cmd[2];

static void report(const char *what, pid_t pid) {
    int st;
    pid_t got = waitpid(pid, &st, __WALL);
    if (got != pid) { printf("%s: waitpid %d errno %d\n", what, got, errno); exit(1); }
    if (WIFSTOPPED(st))
        printf("%s: stopped sig %d event %d\n", what, WSTOPSIG(st), st >> 16);
    else if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else
        printf("%s: killed by %d\n", what, WTERMSIG(st));
}

static int tracee(void) {
    char c;
    for (;;) {
        ssize_t n = read(cmd[0], &c, 1);
        if (n < 0 && errno == EINTR) { printf("tracee: read EINTR\n"); continue; }
        if (n <= 0 || c == 'q') return 0;
        if (c == 'f') {
            pid_t g = fork();
            if (g == 0) {
                execl("/tests/ptrace_seize", "ptrace_seize", "exec", (char *)NULL);
                _exit(127);
            }
            int st;
            while (waitpid(g, &st, 0) < 0 && errno == EINTR) {}
            printf("tracee: grandchild exited %d\n", WEXITSTATUS(st));
            raise(SIGUSR1);
        }
    }
}

static int tracer_pid_of(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    int tp = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "TracerPid: %d", &tp) == 1) break;
    if (f) fclose(f);
    return tp;
}

static char state_of(pid_t pid) {
    char path[64], line[256], st = '?';
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "State: %c", &st) == 1) break;
    if (f) fclose(f);
    return st;
}

int main(int argc, char **argv) {
    (void)argv;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) { printf("exec'd grandchild\n"); return 3; }
    pipe(cmd);
    pid_t pid = fork();
    if (pid == 0) { close(cmd[1]); return tracee(); }
    close(cmd[0]);
    usleep(100000);                           /* the tracee sleeps in read */

    printf("SEIZE with addr: %ld errno %d\n", pt(PTRACE_SEIZE, pid, 1, 0), errno);
    errno = 0;
    printf("SEIZE bad option: %ld errno %d\n", pt(PTRACE_SEIZE, pid, 0, 1 << 30), errno);
    printf("SEIZE: %ld\n", pt(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACEFORK | PTRACE_O_TRACEEXEC));
    errno = 0;
    printf("CONT while running: %ld errno %d\n", pt(PTRACE_CONT, pid, 0, 0), errno);
    printf("TracerPid is me: %d\n", tracer_pid_of(pid) == getpid());

    printf("INTERRUPT: %ld\n", pt(PTRACE_INTERRUPT, pid, 0, 0));
    report("interrupt", pid);
    siginfo_t si;
    pt(PTRACE_GETSIGINFO, pid, 0, (long)&si);
    printf("siginfo: signo %d code %#x\n", si.si_signo, si.si_code);
    pt(PTRACE_CONT, pid, 0, 0);
    usleep(50000);

    kill(pid, SIGSTOP);
    report("sigstop", pid);
    pt(PTRACE_CONT, pid, 0, SIGSTOP);          /* let it stop: the group stop */
    report("group stop", pid);
    pt(PTRACE_GETSIGINFO, pid, 0, (long)&si);
    printf("siginfo: signo %d code %#x\n", si.si_signo, si.si_code);
    printf("LISTEN: %ld\n", pt(PTRACE_LISTEN, pid, 0, 0));
    errno = 0;
    printf("GETSIGINFO while listening: %ld errno %d\n", pt(PTRACE_GETSIGINFO, pid, 0, (long)&si), errno);
    kill(pid, SIGCONT);
    report("after SIGCONT", pid);
    pt(PTRACE_CONT, pid, 0, 0);
    report("sigcont", pid);
    pt(PTRACE_CONT, pid, 0, 0);                /* SIGCONT has no handler: nothing to see */
    usleep(50000);

    write(cmd[1], "f", 1);                     /* fork + exec: the events */
    report("fork event", pid);
    unsigned long msg = 0;
    pt(PTRACE_GETEVENTMSG, pid, 0, (long)&msg);
    pid_t g = (pid_t)msg;
    report("new child", g);
    printf("new child traced by me: %d\n", tracer_pid_of(g) == getpid());
    pt(PTRACE_CONT, pid, 0, 0);
    pt(PTRACE_CONT, g, 0, 0);
    report("exec event", g);
    pt(PTRACE_GETEVENTMSG, g, 0, (long)&msg);
    printf("exec event msg is the tid: %d\n", (pid_t)msg == g);
    pt(PTRACE_CONT, g, 0, 0);
    report("grandchild", g);
    report("sigchld", pid);
    pt(PTRACE_CONT, pid, 0, 0);                /* suppressed: its waitpid goes on */
    report("sigusr1", pid);
    printf("DETACH: %ld\n", pt(PTRACE_DETACH, pid, 0, 0));
    printf("TracerPid after detach: %d\n", tracer_pid_of(pid));
    errno = 0;
    printf("CONT after detach: %ld errno %d\n", pt(PTRACE_CONT, pid, 0, 0), errno);
    write(cmd[1], "q", 1);
    report("tracee", pid);

    /* EXITKILL: a tracer that exits takes the tracee with it */
    pid_t victim = fork();
    if (victim == 0) { for (;;) pause(); }
    pid_t t2 = fork();
    if (t2 == 0) {
        long r = pt(PTRACE_SEIZE, victim, 0, PTRACE_O_EXITKILL);
        _exit(r == 0 ? 0 : 1);
    }
    report("second tracer", t2);
    report("victim", victim);

    /* DETACH from a group stop: the task stays stopped until SIGCONT */
    pid_t held = fork();
    if (held == 0) { for (;;) pause(); }
    pt(PTRACE_SEIZE, held, 0, 0);
    kill(held, SIGSTOP);
    report("held sigstop", held);
    pt(PTRACE_CONT, held, 0, SIGSTOP);
    report("held group stop", held);
    printf("DETACH in group stop: %ld\n", pt(PTRACE_DETACH, held, 0, 0));
    usleep(50000);
    printf("state after detach: %c\n", state_of(held));
    kill(held, SIGCONT);
    usleep(50000);
    printf("state after SIGCONT: %c\n", state_of(held));
    kill(held, SIGKILL);
    report("held", held);
    return 0;
}
