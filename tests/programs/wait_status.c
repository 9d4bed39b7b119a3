/* wait4/waitpid/waitid: exit codes, deaths by signal, WNOHANG, ECHILD, WNOWAIT, pid selection. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t spawn_exit(int code) {
    pid_t pid = fork();
    if (pid == 0) _exit(code);
    return pid;
}

static void describe(const char *what, int status) {
    if (WIFEXITED(status)) printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) printf("%s: killed by %d%s\n", what, WTERMSIG(status), WCOREDUMP(status) ? " (core)" : "");
    else printf("%s: other %#x\n", what, status);
}

int main(void) {
    int status;
    errno = 0;
    printf("no children: %d %s\n", (int)wait(&status), strerror(errno));

    pid_t a = spawn_exit(3), b = spawn_exit(4);
    printf("waitpid(b) is b: %s\n", waitpid(b, &status, 0) == b ? "yes" : "no");
    describe("b", status);
    printf("waitpid(a) is a: %s\n", waitpid(a, &status, 0) == a ? "yes" : "no");
    describe("a", status);

    pid_t c = fork();
    if (c == 0) { volatile int *volatile bad = (int *)16; *bad = 1; _exit(0); }
    waitpid(c, &status, 0);
    describe("segv child", status);

    int fds[2];
    pipe(fds);
    pid_t d = fork();
    if (d == 0) { char x; close(fds[1]); read(fds[0], &x, 1); _exit(9); }
    close(fds[0]);
    printf("WNOHANG while running: %d\n", (int)waitpid(d, &status, WNOHANG));
    close(fds[1]);                         /* EOF: the child exits */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    printf("waitid WNOWAIT: %d\n", waitid(P_PID, d, &si, WEXITED | WNOWAIT));
    printf("  si_signo=%d si_code=%d si_status=%d pid ok=%s\n", si.si_signo, si.si_code, si.si_status,
           si.si_pid == d ? "yes" : "no");
    struct rusage ru;
    printf("wait4 after WNOWAIT is d: %s\n", wait4(d, &status, 0, &ru) == d ? "yes" : "no");
    describe("d", status);

    errno = 0;
    printf("waitpid(d) again: %d %s\n", (int)waitpid(d, &status, 0), strerror(errno));
    errno = 0;
    printf("bad options: %d %s\n", (int)waitpid(-1, &status, 0x4000), strerror(errno));
    errno = 0;
    printf("waitid without WEXITED: %d %s\n", waitid(P_ALL, 0, &si, WNOHANG), strerror(errno));
    return 0;
}
