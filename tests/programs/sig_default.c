/* Default actions seen from the parent: children killed by SIGTERM/SIGINT/SIGUSR1
 * (terminate), SIGQUIT/SIGABRT/SIGSEGV/SIGILL/SIGFPE/SIGBUS/SIGTRAP/SIGSYS (terminate with
 * the core-dump flag), a stop (SIGTSTP, then SIGKILL) and ignored ones (SIGCHLD, SIGURG,
 * SIGWINCH, SIGCONT: the child goes on and exits 0). The core flag appears only once the
 * child has raised RLIMIT_CORE above 0, as on Linux. SIGTSTP is ignored when the process
 * group is orphaned (as the group of a child of init is). Compared with Linux booted in QEMU
 * (under qemu-aarch64 the core flag would depend on the host's limits and core_pattern). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    /* Start from the dispositions Linux gives a fresh process, whatever started us: an
     * interactive shell (the Linux oracle's console) leaves SIGQUIT ignored in its children,
     * and an ignored disposition survives fork and exec. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < 32; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);

    static const int sigs[] = { SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGILL, SIGFPE,
                                SIGBUS, SIGTRAP, SIGSYS, SIGXCPU, SIGCHLD, SIGURG, SIGWINCH, SIGCONT, SIGSTOP, SIGTSTP };
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        int sig = sigs[i];
        if (i == 0)
            printf("with RLIMIT_CORE 1 MiB: ");
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            if (i == 0) {
                struct rlimit rl = { 1 << 20, 1 << 20 };
                setrlimit(RLIMIT_CORE, &rl);
                sig = SIGQUIT;
            }
            raise(sig);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, WUNTRACED);
        if (WIFSTOPPED(st)) {
            printf("%-8s stopped by %s\n", sigabbrev_np(sig), sigabbrev_np(WSTOPSIG(st)));
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        }
        if (WIFSIGNALED(st))
            printf("%-8s killed by %s%s (shell status %d)\n", sigabbrev_np(sig), sigabbrev_np(WTERMSIG(st)),
                   WCOREDUMP(st) ? ", core dumped" : "", 128 + WTERMSIG(st));
        else
            printf("%-8s exited %d\n", sigabbrev_np(sig), WEXITSTATUS(st));
    }
    return 0;
}
